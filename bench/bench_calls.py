"""Per-call overhead benchmark (part of ``make bench``); prints Markdown tables.

One local HTTP server (``bench/_server.py``) runs in a separate process and answers a
fast-sdxl-shaped output (4 images). A separate process rather than a thread: a server thread
would share this process's GIL and its time would be charged to whichever client case is
running, and on 2 cores the server and the client each get one. In this process, after a
warm-up, the cases take turns in rounds of ``--calls`` calls (interleaved, so a machine
that gets busier or quieter shifts them all alike):

- (a) raw ``httpx.Client.post(url, json=...)`` + ``.json()``;
- (b) ``fal_typed.FalClient.run`` (untyped);
- (c) the generated ``fast_sdxl(...)`` with ``client=``: validate the input, send, parse the
  typed output;
- (d) ``fal_client`` (the official package): ``SyncClient(key=...).run``, pointed at the
  local server by replacing ``fal_client.client.RUN_URL_FORMAT`` (it is always
  ``https://$FAL_RUN_HOST/``, and the server speaks plain HTTP); everything else is its own
  code path (two-layer ``httpx.Client`` with its backup-domain transport, retry wrapper,
  status and header handling).

Each case's figure is the median over rounds of the mean time per call. Also reported: (c)
with a 100-image answer, and the time spent validating alone (input model validation and
JSON encoding, output ``model_validate_json``), measured without any I/O.
``--profile`` prints a cProfile of (c) and (a) instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fal_client
import fal_client.client
import httpx
from _env import machine, median, paired_ratio, table, verdict

from fal_typed import FalClient
from fal_typed.models.fal_ai.fast_sdxl import FastSdxlInput, FastSdxlOutput, fast_sdxl

SERVER = Path(__file__).with_name("_server.py")
ENDPOINT = "fal-ai/fast-sdxl"
ARGUMENTS: dict[str, Any] = {"prompt": "a cat", "image_size": "landscape_4_3", "num_images": 4}
KEY = "bench-key-id:bench-key-secret"


@contextmanager
def server() -> Iterator[str]:
    """Start the server process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


Case = Callable[[], object]


def cases(base: str) -> tuple[dict[str, Case], list[Callable[[], None]]]:
    """The four cases (plus (c) with 100 images) and their clean-ups."""
    raw = httpx.Client(headers={"Authorization": f"Key {KEY}"})
    ours = FalClient(key=KEY, base_url=base)
    big = FalClient(key=KEY, base_url=f"{base}/big")
    fal_client.client.RUN_URL_FORMAT = f"{base}/"
    theirs = fal_client.SyncClient(key=KEY)
    url = f"{base}/{ENDPOINT}"

    def a() -> object:
        return raw.post(url, json=ARGUMENTS).json()

    def b() -> object:
        return ours.run(ENDPOINT, ARGUMENTS)

    def c() -> object:
        return fast_sdxl(prompt="a cat", image_size="landscape_4_3", num_images=4, client=ours)

    def c100() -> object:
        result = fast_sdxl(prompt="a cat", image_size="landscape_4_3", num_images=4, client=big)
        assert len(result.images) == 100
        return result

    def d() -> object:
        return theirs.run(ENDPOINT, ARGUMENTS)

    found = {"a": a, "b": b, "c": c, "d": d, "c100": c100}
    for case in found.values():  # every case works and gets the expected answer
        result = case()
        if isinstance(result, FastSdxlOutput):
            images: list[Any] = result.images
        else:
            assert isinstance(result, dict)
            images = result["images"]
        assert len(images) in (4, 100), case
    return found, [raw.close, ours.close, big.close]


def per_call(case: Case, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        case()
    return (time.perf_counter() - started) / calls


def per_call_cpu(case: Case, calls: int) -> tuple[float, float]:
    """(wall, this process's CPU) seconds per call."""
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(calls):
        case()
    return (time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls


Samples = dict[str, list[tuple[float, float]]]


def measure(found: dict[str, Case], calls: int, rounds: int) -> Samples:
    """(wall, CPU) seconds per call of each case, one figure per round; cases interleaved."""
    for case in found.values():  # warm-up: connections, lazy model building, caches
        per_call(case, max(50, calls // 10))
    samples: Samples = {name: [] for name in found}
    for n in range(rounds):
        # Rotate the order too, so no case always follows the same one.
        names = list(found)[n % len(found) :] + list(found)[: n % len(found)]
        for name in names:
            gc.collect()
            samples[name].append(per_call_cpu(found[name], calls))
    return samples


def validation_only(repeat: int) -> tuple[float, float, float]:
    """Seconds per call: input (validate + encode), output 4 images, output 100 images."""
    from _server import output

    small, big = output(4), output(100)

    def inputs() -> None:
        model = FastSdxlInput.model_validate(
            {"prompt": "a cat", "image_size": "landscape_4_3", "num_images": 4}
        )
        model.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def out_small() -> None:
        FastSdxlOutput.model_validate_json(small)

    def out_big() -> None:
        FastSdxlOutput.model_validate_json(big)

    figures = []
    for fn in (inputs, out_small, out_big):
        per_call(fn, 100)
        figures.append(median([per_call(fn, repeat) for _ in range(7)]))
    return figures[0], figures[1], figures[2]


def profile(found: dict[str, Case], calls: int) -> None:
    for name in ("c", "a"):
        per_call(found[name], 200)
        profiler = cProfile.Profile()
        profiler.enable()
        per_call(found[name], calls)
        profiler.disable()
        print(f"## cProfile of ({name}), {calls} calls\n")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per case per round")
    parser.add_argument("--rounds", type=int, default=60, help="rounds (calls x rounds >= 2000)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of (c) and (a)")
    args = parser.parse_args()

    with server() as base:
        found, cleanups = cases(base)
        try:
            if args.profile:
                profile(found, args.calls * args.rounds)
                return
            samples = measure(found, args.calls, args.rounds)
        finally:
            for cleanup in cleanups:
                cleanup()
    inputs, out4, out100 = validation_only(2000)

    m = {name: median([w for w, _ in values]) for name, values in samples.items()}
    cpu = {name: median([c for _, c in values]) for name, values in samples.items()}

    def per_round(x: str, y: str) -> float:
        return paired_ratio(samples[x], samples[y])

    ratio_ca, ratio_cd = per_round("c", "a"), per_round("c", "d")
    n = args.calls * args.rounds
    print(f"## Per-call overhead against a local server ({n} calls per case, interleaved)\n")
    print(f"Machine: {machine()}\n")
    print(
        "Ratios are medians of the per-round ratios (wall clock); the CPU column is this "
        "process's CPU time per call (the server's excluded), a steadier view on a busy machine.\n"
    )

    def line(name: str, label: str, ratio: str, target: str = "", status: str = "") -> list[str]:
        return [label, us(m[name]), us(cpu[name]), ratio, target, status]

    print(
        table(
            ["case", "wall per call", "CPU per call", "ratio", "target", "status"],
            [
                line("a", "(a) httpx.Client.post + .json()", "1.00x", "baseline"),
                line("b", "(b) FalClient.run (untyped)", f"{per_round('b', 'a'):.3f}x of (a)"),
                line(
                    "c",
                    "(c) fast_sdxl(...) typed",
                    f"{ratio_ca:.3f}x of (a); CPU {cpu['c'] / cpu['a']:.3f}x",
                    "<= 1.02x of (a)",
                    verdict(ratio_ca <= 1.02),
                ),
                line(
                    "c",
                    "(c) vs (d)",
                    f"{ratio_cd:.3f}x of (d); CPU {cpu['c'] / cpu['d']:.3f}x",
                    "<= 0.93x of (d)",
                    verdict(ratio_cd <= 0.93),
                ),
                line("c", "(c) vs (b): what typing adds", f"{per_round('c', 'b'):.3f}x of (b)"),
                line("d", "(d) fal_client.run", f"{per_round('d', 'a'):.3f}x of (a)"),
                line(
                    "c100", "(c) with a 100-image answer", f"{per_round('c100', 'c'):.2f}x of (c)"
                ),
            ],
        )
    )
    print()
    print(
        table(
            ["validation alone (no I/O)", "median per call", "share of (c)"],
            [
                ["input: validate + encode JSON", us(inputs), f"{inputs / m['c']:.1%}"],
                ["output: model_validate_json, 4 images", us(out4), f"{out4 / m['c']:.1%}"],
                [
                    "output: model_validate_json, 100 images",
                    us(out100),
                    f"{out100 / m['c100']:.1%}",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()

"""Emulator round trip benchmark (part of ``make bench``); prints a Markdown table.

``FalEmulator(schemas=["schemas/"])`` serves in a thread of this process, as it does in a test
suite; the calls go over one keep-alive loopback connection:

- (a) raw ``httpx.Client.post(emu.url + "/fal-ai/fast-sdxl", json=...)`` + ``.json()``;
- (b) ``emu.client().run("fal-ai/fast-sdxl", {...})`` (``FalClient``).

Each run makes ``--calls`` calls per case (after a warm-up); the figure is the median over
``--runs`` runs of the mean time per call. It covers the emulator's whole answer (routing,
input validation, output synthesis) plus the client. Goal: (a) <= 2 ms per call. Every call
after the first on a connection once took ~44 ms: the answer's head and body went out as two
writes and the body waited for the client's delayed ACK (Nagle's algorithm).

Also: (q) the emulator's queue, with raw httpx: submit a job that runs 50 ms, follow its
status stream, and on the ``COMPLETED`` event GET the result; the figure is the time from the
job's completion (the emulator's own clock, same process) to the parsed result in hand, the
median over ``--jobs`` jobs. Goal: <= 20 ms (the event must not wait for anything).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _env import machine, median, table, verdict

from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
ENDPOINT = "fal-ai/fast-sdxl"
ARGUMENTS = {"prompt": "x"}
GOAL = 0.002
QUEUE_GOAL = 0.020


def per_call(case: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        case()
    return (time.perf_counter() - started) / calls


def queue_latencies(emu: FalEmulator, raw: httpx.Client, jobs: int) -> list[float]:
    """Seconds from each job's completion to its result parsed, following the stream."""
    emu.set_queue_timing(ENDPOINT, run_time=0.05)
    found = []
    for _ in range(jobs + 2):  # the first two warm up
        job = raw.post(f"{emu.queue_url}/{ENDPOINT}", json=ARGUMENTS).json()
        with raw.stream("GET", job["status_url"] + "/stream") as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and json.loads(line[6:])["status"] == "COMPLETED":
                    break
        result = raw.get(job["response_url"])
        assert result.status_code == 200, result.text
        result.json()
        in_hand = time.monotonic()
        finished = emu._queue._jobs[job["request_id"]].finished_at  # the emulator's clock
        assert finished is not None
        found.append(in_hand - finished)
    emu.reset()
    return found[2:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per case per run")
    parser.add_argument("--runs", type=int, default=15, help="runs (median reported)")
    parser.add_argument("--jobs", type=int, default=40, help="queue jobs (median reported)")
    args = parser.parse_args()

    with FalEmulator(schemas=[SCHEMAS]) as emu:
        raw = httpx.Client(headers={"Authorization": f"Key {emu.key}"})
        client = emu.client()
        url = f"{emu.url}/{ENDPOINT}"

        def a() -> object:
            response = raw.post(url, json=ARGUMENTS)
            assert response.status_code == 200, response.text
            return response.json()

        def b() -> object:
            return client.run(ENDPOINT, ARGUMENTS)

        cases = {"a": a, "b": b}
        samples: dict[str, list[float]] = {name: [] for name in cases}
        try:
            for case in cases.values():
                per_call(case, 20)  # warm-up: connection, validators, caches
            for _ in range(args.runs):
                for name, case in cases.items():
                    samples[name].append(per_call(case, args.calls))
            latencies = queue_latencies(emu, raw, args.jobs)
        finally:
            raw.close()
            client.close()

    m = {name: median(values) for name, values in samples.items()}
    spread = {name: (min(values), max(values)) for name, values in samples.items()}

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.2f} ms"

    print(f"## Emulator round trip ({args.runs} runs x {args.calls} calls, keep-alive loopback)\n")
    print(f"Machine: {machine()}\n")
    print(
        table(
            ["case", "median per call", "runs (min-max)", "target", "status"],
            [
                [
                    "(a) httpx.Client.post to the emulator",
                    ms(m["a"]),
                    f"{ms(spread['a'][0])}-{ms(spread['a'][1])}",
                    "<= 2 ms",
                    verdict(m["a"] <= GOAL),
                ],
                [
                    "(b) emu.client().run",
                    ms(m["b"]),
                    f"{ms(spread['b'][0])}-{ms(spread['b'][1])}",
                    "reported",
                    "",
                ],
                [
                    "(q) queue: completion to result in hand (stream + GET)",
                    ms(median(latencies)),
                    f"{ms(min(latencies))}-{ms(max(latencies))} ({len(latencies)} jobs)",
                    "<= 20 ms",
                    verdict(median(latencies) <= QUEUE_GOAL),
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()

"""Queue benchmark (part of ``make bench``): latency after completion, and requests per job.

Both clients follow queued jobs of ``fal-ai/fast-sdxl`` on the same in-process ``FalEmulator``
(real time: ``time_scale=1``), side by side, alternating in every round:

- (a) ``fast_sdxl.subscribe(...)`` (fal-typed: status stream, then the result);
- (b) ``fal_client.SyncClient.subscribe(...)`` (fal's client: polls the status every 0.1 s),
  pointed at the emulator by replacing ``fal_client.client.QUEUE_URL_FORMAT``.

Latency: the time from the job's completion (the emulator's clock, the same process's
``time.monotonic``) to the typed result being returned to the caller; median over
``--jobs`` jobs of ``--run-time`` seconds plus 0 to 93 ms (spread over fal_client's poll
interval, the same for both). Goal: (a) <= 20 ms.
Requests per job: every request the emulator's queue server received for one job of 10 s
(submit included); both clients follow one such job at the same time. Goal: (a) <= 4.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Any

import fal_client
import fal_client.client
from _env import machine, median, table, verdict

from fal_typed.models.fal_ai.fast_sdxl import fast_sdxl
from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
ENDPOINT = "fal-ai/fast-sdxl"
LATENCY_GOAL = 0.020
REQUESTS_GOAL = 4


def finished_at(emu: FalEmulator, request_id: str) -> float:
    job = emu._queue._jobs[request_id]
    assert job.finished_at is not None
    return job.finished_at


def requests_for(emu: FalEmulator, request_id: str, submit_prompt: str) -> int:
    def of_job(request: Any) -> bool:
        if request_id in request.path:
            return True
        return request.method == "POST" and (request.json or {}).get("prompt") == submit_prompt

    return sum(1 for r in emu.requests if r.server == "queue" and of_job(r))


def ours(emu: FalEmulator, client: Any, prompt: str) -> tuple[float, str]:
    ids: list[str] = []
    result = fast_sdxl.subscribe(prompt=prompt, client=client, on_enqueue=ids.append)
    returned = time.monotonic()
    assert result.prompt == prompt
    return returned - finished_at(emu, ids[0]), ids[0]


def theirs(emu: FalEmulator, client: fal_client.SyncClient, prompt: str) -> tuple[float, str]:
    ids: list[str] = []
    result = client.subscribe(ENDPOINT, {"prompt": prompt}, on_enqueue=ids.append)
    returned = time.monotonic()
    assert result["prompt"] == prompt
    return returned - finished_at(emu, ids[0]), ids[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per client (latency)")
    parser.add_argument("--run-time", type=float, default=0.3, help="seconds per job (latency)")
    parser.add_argument("--long", type=float, default=10.0, help="seconds of the counted job")
    args = parser.parse_args()

    with FalEmulator(schemas=[SCHEMAS], time_scale=1.0) as emu:
        fal_client.client.QUEUE_URL_FORMAT = f"{emu.queue_url}/"
        theirs_client = fal_client.SyncClient(key=emu.key)
        with emu.client() as our_client:
            # Each job runs alone: no queueing behind the other client's job.
            emu.set_queue_timing(ENDPOINT, run_time=args.run_time, concurrency=4)
            ours(emu, our_client, "warm-a")
            theirs(emu, theirs_client, "warm-b")
            latency: dict[str, list[float]] = {"a": [], "b": []}
            for job in range(args.jobs):
                # Run times spread over a poll interval, the same for both clients: a fixed
                # one could complete just before (or after) every one of fal_client's polls.
                run_time = args.run_time + (job % 10) * 0.0103
                emu.set_queue_timing(ENDPOINT, run_time=run_time)
                latency["a"].append(ours(emu, our_client, f"a{job}")[0])
                latency["b"].append(theirs(emu, theirs_client, f"b{job}")[0])

            emu.set_queue_timing(ENDPOINT, run_time=args.long)
            counted: dict[str, int] = {}

            def follow(name: str) -> None:
                prompt = f"long-{name}"
                if name == "a":
                    _, request_id = ours(emu, our_client, prompt)
                else:
                    _, request_id = theirs(emu, theirs_client, prompt)
                counted[name] = requests_for(emu, request_id, prompt)

            threads = [threading.Thread(target=follow, args=(name,)) for name in ("a", "b")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    m = {name: median(values) for name, values in latency.items()}

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.1f} ms"

    print(f"## Queue: completion to result, requests per job ({args.jobs} jobs per client)\n")
    print(f"Machine: {machine()}\n")
    print(
        table(
            [
                "case",
                "completion -> result (median)",
                "min - max",
                f"requests, {args.long:g} s job",
            ],
            [
                [
                    "(a) fast_sdxl.subscribe (status stream)",
                    ms(m["a"]),
                    f"{ms(min(latency['a']))} - {ms(max(latency['a']))}",
                    str(counted["a"]),
                ],
                [
                    "(b) fal_client.subscribe (polls every 0.1 s)",
                    ms(m["b"]),
                    f"{ms(min(latency['b']))} - {ms(max(latency['b']))}",
                    str(counted["b"]),
                ],
            ],
        )
    )
    print()
    print(
        f"- (a) completion -> result {ms(m['a'])}, goal <= {ms(LATENCY_GOAL)}: "
        f"{verdict(m['a'] <= LATENCY_GOAL)}; (b) / (a) = {m['b'] / m['a']:.1f}x"
    )
    print(
        f"- (a) {counted['a']} requests for a {args.long:g} s job, goal <= {REQUESTS_GOAL}: "
        f"{verdict(counted['a'] <= REQUESTS_GOAL)}; (b) made {counted['b']}"
    )


if __name__ == "__main__":
    main()

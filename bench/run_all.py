"""``make bench``: every benchmark, one after the other; each prints its Markdown tables.

1. ``bench_calls.py``: per-call overhead (typed call vs raw httpx vs fal_client);
2. ``bench_generate.py``: generation of 1,000 endpoints (full, unchanged, one changed; memory);
3. ``bench_import.py``: import cost with 14 vs 1,000 endpoints, vs fal_client; memory;
4. ``bench_emulator.py``: the emulator's round trip per call on a keep-alive connection;
5. ``bench_queue.py``: queue latency from completion to result, requests per job, vs fal_client.

``--quick`` runs fewer repetitions (for a smoke test; figures are then noisier). Exit code 1
if a benchmark failed to run (a target that is not met is reported, not an error).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

FULL: list[tuple[str, list[str]]] = [
    ("bench_calls.py", []),
    ("bench_generate.py", []),
    ("bench_import.py", []),
    ("bench_emulator.py", []),
    ("bench_queue.py", []),
]
QUICK: list[tuple[str, list[str]]] = [
    ("bench_calls.py", ["--calls", "100", "--rounds", "20"]),
    ("bench_generate.py", ["--runs", "3"]),
    ("bench_import.py", ["--runs", "10"]),
    ("bench_emulator.py", ["--runs", "5"]),
    ("bench_queue.py", ["--jobs", "5", "--long", "2"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    failed = []
    for script, options in QUICK if args.quick else FULL:
        started = time.monotonic()
        print(f"# {script} {' '.join(options)}".rstrip() + "\n", flush=True)
        code = subprocess.run([sys.executable, str(BENCH / script), *options]).returncode
        print(f"\n({script}: {time.monotonic() - started:.0f} s)\n", flush=True)
        if code != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

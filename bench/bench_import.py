"""Import-cost and memory benchmark (``make bench``); prints Markdown tables.

Each figure is measured in fresh interpreter processes (median of ``--runs``), timed inside the
process with ``perf_counter`` around the statement, so interpreter start-up noise is excluded.
fal-typed and fal_client are each installed alone into a fresh virtual environment, as users get
them (the development environment has optional packages, e.g. click, that httpx imports when
present):

- ``get_endpoint`` in a package generated from ``schemas/`` (the 14 real endpoints) versus the
  same call in a synthetic catalogue of ``--catalogue`` endpoints (``bench/_corpus.py``: the
  real documents plus variants with new ids, renamed and re-ordered fields and varied enums;
  target: at most 1.05x), and versus ``import fal_client`` (target: no more).
- ``import fal_typed`` alone, and resident memory after importing one endpoint module.
- Where the time goes: ``import httpx``, ``from pydantic import BaseModel, Field``, and
  ``get_endpoint`` with httpx's import skipped (a stand-in module), i.e. the floor if httpx
  were imported on first use.

Fresh-process times vary by ~12 % (one standard deviation) on the 2-core machine this was
written on, hence the 41 runs by default and ratios taken per round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _corpus import SCHEMAS, build_corpus
from _env import machine, paired_ratio, row, venv, verdict

ENDPOINT = "fal-ai/fast-sdxl"

TIMED = """
import time
t0 = time.perf_counter()
{stmt}
t1 = time.perf_counter()
import resource
print(t1 - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# What get_endpoint would cost if httpx were imported on first use instead (not done: see
# BENCHMARKS.md): a stand-in module answers every attribute, so only httpx's import is skipped.
WITHOUT_HTTPX = """
import sys, types
class _Any:
    def __init__(self, *args, **kwargs): pass
stub = types.ModuleType("httpx")
stub.__getattr__ = lambda name: _Any
sys.modules["httpx"] = stub
"""

Case = tuple[Path, str, "Path | None"]  # python, statement, PYTHONPATH


def _run(case: Case) -> tuple[float, float]:
    python, stmt, pythonpath = case
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run(
        [str(python), "-c", TIMED.format(stmt=stmt)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    return float(out[0]), float(out[1])


Samples = list[list[tuple[float, float]]]


def measure(cases: list[Case], runs: int) -> Samples:
    """(seconds, peak RSS in KiB) of each case in each round, over fresh processes.

    The cases take turns (one run of each per round), so a machine that gets busier or
    quieter during the benchmark shifts them all alike and their ratios stay fair; the order
    rotates every round, so no case always runs right after the same one.
    """
    samples: Samples = [[] for _ in cases]
    for n in range(runs):
        order = list(range(len(cases)))
        for i in order[n % len(order) :] + order[: n % len(order)]:
            samples[i].append(_run(cases[i]))
    return samples


def medians(samples: Samples) -> list[tuple[float, float]]:
    """Median seconds and median peak RSS (KiB) of each case."""
    return [
        (statistics.median(t for t, _ in s), statistics.median(r for _, r in s)) for s in samples
    ]


def generate(docs: Path, out: Path, cache: Path) -> None:
    """Generate package ``catalogue`` from ``docs`` into ``out``, compiled to bytecode."""
    subprocess.run(
        [
            str(Path(sys.executable).parent / "fal-typed"),
            "generate",
            str(docs),
            "--out",
            str(out),
            "--package",
            "catalogue",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "FAL_TYPED_CACHE_DIR": str(cache)},
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(out)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41, help="fresh processes per figure (>= 10)")
    parser.add_argument(
        "--catalogue", type=int, default=1000, help="endpoints in the big catalogue"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = venv(tmp, "fal-typed", str(SCHEMAS.parent))
        theirs = venv(tmp, "fal-client", "fal-client==1.0.3")
        big_docs = build_corpus(tmp, args.catalogue)
        generate(SCHEMAS, tmp / "small", tmp / "cache")
        generate(big_docs, tmp / "big", tmp / "cache")
        n_big = len(list(big_docs.rglob("*.json")))
        stmt = f"from catalogue import get_endpoint; get_endpoint({ENDPOINT!r})"
        samples = measure(
            [
                (ours, stmt, tmp / "small"),
                (ours, stmt, tmp / "big"),
                (theirs, "import fal_client", None),
                (ours, "import fal_typed", None),
                (ours, "import fal_typed.models.fal_ai.fast_sdxl", None),
                (ours, "pass", None),
                (ours, "import httpx", None),
                (ours, "from pydantic import BaseModel, Field", None),
                (ours, WITHOUT_HTTPX + stmt, tmp / "small"),
            ],
            args.runs,
        )
        results = medians(samples)
        (small, _), (big, _), (fal_client, _), (runtime, _), (one, rss_one), (_, rss_bare) = (
            results[:6]
        )
        (httpx_alone, _), (pydantic_alone, _), (no_httpx, _) = results[6:]

    ratio_big = paired_ratio(samples[1], samples[0])
    ratio_client = paired_ratio(samples[1], samples[2])
    print(f"## get_endpoint({ENDPOINT!r}) in a fresh process (median of {args.runs})\n")
    print(f"Machine: {machine()}\n")
    print("Ratios are medians of per-round ratios (the cases run in turn, order rotated).\n")
    print(row(["case", "median", "ratio", "target", "status"]))
    print(row(["---"] * 5))
    print(row(["14 real endpoints", f"{small * 1000:.1f} ms", "1.00x", "baseline", ""]))
    print(
        row(
            [
                f"{n_big} endpoints",
                f"{big * 1000:.1f} ms",
                f"{ratio_big:.3f}x",
                "<= 1.05x",
                verdict(ratio_big <= 1.05),
            ]
        )
    )
    print(
        row(
            [
                "import fal_client",
                f"{fal_client * 1000:.1f} ms",
                f"{ratio_client:.3f}x (ours / fal_client)",
                "ours <= fal_client",
                verdict(ratio_client <= 1.0),
            ]
        )
    )
    print(f"\n## Import cost and memory (median of {args.runs})\n")
    print(row(["measure", "median", "target"]))
    print(row(["---"] * 3))
    print(row(["import fal_typed (runtime only)", f"{runtime * 1000:.1f} ms", "reported"]))
    print(row(["import fal_typed.models.fal_ai.fast_sdxl", f"{one * 1000:.1f} ms", "reported"]))
    print(row(["peak RSS after importing one endpoint", f"{rss_one / 1024:.1f} MiB", "reported"]))
    print(row(["peak RSS of a bare interpreter", f"{rss_bare / 1024:.1f} MiB", "reference"]))
    print("\n## Where the time goes (same environments, median of the same runs)\n")
    print(row(["measure", "median", "ratio to import fal_client"]))
    print(row(["---"] * 3))
    for label, value in [
        ("import httpx (both packages need it)", httpx_alone),
        ("from pydantic import BaseModel, Field (typed models need it)", pydantic_alone),
        ("get_endpoint, 14 endpoints, httpx's import skipped (stand-in)", no_httpx),
    ]:
        print(row([label, f"{value * 1000:.1f} ms", f"{value / fal_client:.2f}x"]))


if __name__ == "__main__":
    main()

"""Import-cost and memory benchmark (``make bench``); prints Markdown tables.

Each figure is measured in fresh interpreter processes (median of ``--runs``), timed inside the
process with ``perf_counter`` around the statement, so interpreter start-up noise is excluded.
fal-typed and fal_client are each installed alone into a fresh virtual environment, as users get
them (the development environment has optional packages, e.g. click, that httpx imports when
present):

- ``get_endpoint`` in a package generated from ``schemas/`` (the 14 real endpoints) versus the
  same call in a synthetic catalogue of ``--catalogue`` endpoints generated from the same
  documents under other ids (target: at most 1.05x), and versus ``import fal_client`` (target:
  no more).
- ``import fal_typed`` alone, and resident memory after importing one endpoint module.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENDPOINT = "fal-ai/fast-sdxl"

TIMED = """
import time
t0 = time.perf_counter()
{stmt}
t1 = time.perf_counter()
import resource
print(t1 - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
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


def measure(cases: list[Case], runs: int) -> list[tuple[float, float]]:
    """Median seconds and median peak RSS (KiB) of each case, over fresh processes.

    The cases take turns (one run of each per round), so a machine that gets busier or
    quieter during the benchmark shifts them all alike and their ratios stay fair.
    """
    samples: list[list[tuple[float, float]]] = [[] for _ in cases]
    for _ in range(runs):
        for i, case in enumerate(cases):
            samples[i].append(_run(case))
    return [
        (statistics.median(t for t, _ in s), statistics.median(r for _, r in s)) for s in samples
    ]


def build_catalogue(root: Path, size: int) -> Path:
    """Copies of the real documents under ``size`` distinct endpoint ids (``bench/eNNN-...``)."""
    docs = sorted((REPO / "schemas").rglob("*.json"))
    out = root / "docs"
    out.mkdir()
    # the real ids first, so the measured endpoint is the same module in both packages
    for doc in docs:
        dest = out / doc.relative_to(REPO / "schemas")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(doc, dest)
    for n in range(size - len(docs)):
        src = docs[n % len(docs)]
        data = json.loads(src.read_text())
        openapi = data["openapi"] if isinstance(data.get("openapi"), dict) else data
        old_id = "/".join(src.relative_to(REPO / "schemas").with_suffix("").parts)
        new_id = f"bench-owner{n % 7}/e{n:04d}-{src.stem}"
        openapi["paths"] = {
            path.replace(f"/{old_id}", f"/{new_id}", 1): item
            for path, item in openapi["paths"].items()
        }
        openapi["info"].setdefault("x-fal-metadata", {})["endpointId"] = new_id
        dest = out / f"{new_id}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps({"endpoint_id": new_id, "metadata": {}, "openapi": openapi}))
    return out


def generate(docs: Path, out: Path) -> None:
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
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(out)], check=True)


def venv(root: Path, name: str, *requirements: str) -> Path:
    """A fresh virtual environment with only ``requirements``; returns its python."""
    uv = REPO / ".tools" / "bin" / "uv"
    path = root / name
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(path)], check=True)
    python = path / "bin" / "python"
    # Compiled like a pip install, so no run pays for compiling (PYTHONDONTWRITEBYTECODE may be
    # set, and uv does not compile by default).
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(python),
            *requirements,
        ],
        check=True,
    )
    return python


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per figure (>= 10)")
    parser.add_argument("--catalogue", type=int, default=500, help="endpoints in the big catalogue")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = venv(tmp, "fal-typed", str(REPO))
        theirs = venv(tmp, "fal-client", "fal-client==1.0.3")
        big_docs = build_catalogue(tmp, args.catalogue)
        generate(REPO / "schemas", tmp / "small")
        generate(big_docs, tmp / "big")
        n_big = len(list(big_docs.rglob("*.json")))
        stmt = f"from catalogue import get_endpoint; get_endpoint({ENDPOINT!r})"
        results = measure(
            [
                (ours, stmt, tmp / "small"),
                (ours, stmt, tmp / "big"),
                (theirs, "import fal_client", None),
                (ours, "import fal_typed", None),
                (ours, "import fal_typed.models.fal_ai.fast_sdxl", None),
                (ours, "pass", None),
            ],
            args.runs,
        )
        (small, _), (big, _), (fal_client, _), (runtime, _), (one, rss_one), (_, rss_bare) = results

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    ratio_big = big / small
    ratio_client = big / fal_client
    print(f"## get_endpoint({ENDPOINT!r}) in a fresh process (median of {args.runs})\n")
    print(row(["case", "median", "ratio", "target", "status"]))
    print(row(["---"] * 5))
    print(row(["14 real endpoints", f"{small * 1000:.1f} ms", "1.00x", "baseline", ""]))
    print(
        row(
            [
                f"{n_big} endpoints",
                f"{big * 1000:.1f} ms",
                f"{ratio_big:.2f}x",
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
                f"{ratio_client:.2f}x (ours / fal_client)",
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


if __name__ == "__main__":
    main()

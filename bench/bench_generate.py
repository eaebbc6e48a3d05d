"""Generation benchmark at fal's scale (part of ``make bench``); prints Markdown tables.

A synthetic corpus of ``--size`` documents (``bench/_corpus.py``: the 14 real documents plus
deterministic variants with new ids, renamed and re-ordered fields and varied enums) is built
in a temporary directory. fal-typed[codegen] is installed alone into a fresh virtual
environment, compiled to bytecode as pip would (otherwise the first run pays for compiling
datamodel-code-generator's sources). Each figure is the wall-clock time of a fresh
``fal-typed generate`` process, interpreter start-up included, with a private cache directory
(``FAL_TYPED_CACHE_DIR``):

- full generation, empty cache, with the default workers (one per CPU) and with ``--jobs 1``
  (target: <= 20 s); the two outputs must be byte-identical;
- regeneration with nothing changed (warm cache, output present; target: <= 1 s);
- regeneration after one document changed (a different document each run; target: <= 2 s);
- peak resident memory of the full run: the main process, and the largest child (a worker
  or ruff).
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import tempfile
import time
from pathlib import Path

from _corpus import build_corpus, touch_one
from _env import REPO, clean_env, machine, median, table, venv, verdict

MEASURE = """
import contextlib, io, resource, sys
from fal_typed_codegen.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def generate(
    python: Path, docs: Path, out: Path, cache: Path, *options: str
) -> tuple[float, int, int]:
    """One ``fal-typed generate`` process: (seconds, main peak RSS KiB, largest child KiB)."""
    args = [str(docs), "--out", str(out), "--package", "catalogue", *options]
    started = time.perf_counter()
    result = subprocess.run(
        [str(python), "-c", MEASURE, "generate", *args],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(FAL_TYPED_CACHE_DIR=str(cache)),
    )
    elapsed = time.perf_counter() - started
    code, rss, children = result.stdout.split()
    if code != "0":
        raise SystemExit(f"fal-typed generate failed ({code}):\n{result.stderr}")
    return elapsed, int(rss), int(children)


def same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="documents in the corpus")
    parser.add_argument("--full-runs", type=int, default=1, help="full generations per mode")
    parser.add_argument("--runs", type=int, default=5, help="incremental regenerations (>= 3)")
    args = parser.parse_args()

    print(f"## Generation of {args.size} endpoints\n")
    print(f"Machine: {machine()}\n")
    with tempfile.TemporaryDirectory(prefix="fal-typed-bench-") as tmp_name:
        tmp = Path(tmp_name)
        python = venv(tmp, "venv", f"{REPO}[codegen]")
        docs = build_corpus(tmp, args.size)
        full: dict[str, list[tuple[float, int, int]]] = {"default": [], "serial": []}
        for n in range(args.full_runs):
            # Interleaved, so a machine that gets busier affects both modes alike.
            for mode, options in (("default", ()), ("serial", ("--jobs", "1"))):
                out, cache = tmp / f"out-{mode}-{n}", tmp / f"cache-{mode}-{n}"
                full[mode].append(generate(python, docs, out, cache, *options))
        identical = same_tree(tmp / "out-default-0", tmp / "out-serial-0")
        out, cache = tmp / "out-default-0", tmp / "cache-default-0"
        unchanged = [generate(python, docs, out, cache)[0] for _ in range(args.runs)]
        one_changed = []
        for n in range(args.runs):
            touch_one(docs, n)
            one_changed.append(generate(python, docs, out, cache)[0])
        fal_typed = str(python.with_name("fal-typed"))
        check = subprocess.run(
            [
                fal_typed,
                "generate",
                str(docs),
                "--out",
                str(out),
                "--package",
                "catalogue",
                "--check",
            ],
            capture_output=True,
            env=clean_env(),
        ).returncode

    default = median([t for t, _, _ in full["default"]])
    serial = median([t for t, _, _ in full["serial"]])
    main_rss = max(r for _, r, _ in full["default"])
    child_rss = max(c for _, _, c in full["default"])
    serial_rss = max(r for _, r, _ in full["serial"])
    print(
        table(
            ["measure", "median", "ratio", "target", "status"],
            [
                [
                    "full generation, default workers (empty cache)",
                    f"{default:.1f} s",
                    f"{default / serial:.2f}x of --jobs 1",
                    "<= 20 s",
                    verdict(default <= 20),
                ],
                ["full generation, --jobs 1", f"{serial:.1f} s", "1.00x", "reference", ""],
                [
                    "regeneration, nothing changed",
                    f"{median(unchanged):.2f} s",
                    f"{median(unchanged) / default:.3f}x of full",
                    "<= 1 s",
                    verdict(median(unchanged) <= 1),
                ],
                [
                    "regeneration, one document changed",
                    f"{median(one_changed):.2f} s",
                    f"{median(one_changed) / default:.3f}x of full",
                    "<= 2 s",
                    verdict(median(one_changed) <= 2),
                ],
            ],
        )
    )
    print()
    print(
        table(
            ["peak resident memory of the full run", "value"],
            [
                ["main process (default workers)", f"{main_rss / 1024:.0f} MiB"],
                ["largest child (a worker or ruff)", f"{child_rss / 1024:.0f} MiB"],
                ["main process with --jobs 1", f"{serial_rss / 1024:.0f} MiB"],
            ],
        )
    )
    print()
    print(
        table(
            ["determinism", "result"],
            [
                ["default workers vs --jobs 1: byte-identical", "yes" if identical else "NO"],
                [
                    "--check --no-cache after cached regenerations",
                    "clean" if check == 0 else "DIFF",
                ],
            ],
        )
    )
    print(
        f"\nfull runs per mode: {args.full_runs}; incremental runs: {args.runs} "
        "(times are wall clock of a fresh process, start-up included)"
    )
    if not identical or check != 0:
        raise SystemExit("generation is not deterministic across workers/cache states")


if __name__ == "__main__":
    main()

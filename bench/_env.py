"""Helpers shared by the benchmarks: clean virtual environments and Markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UV = REPO / ".tools" / "bin" / "uv"


def venv(root: Path, name: str, *requirements: str) -> Path:
    """A fresh virtual environment with only ``requirements``; returns its python.

    Installed compiled to bytecode, like a pip install, so no run pays for compiling
    (PYTHONDONTWRITEBYTECODE may be set, and uv does not compile by default).
    """
    path = root / name
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [
            str(UV),
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


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without PYTHONPATH, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratio(xs: Sequence[tuple[float, float]], ys: Sequence[tuple[float, float]]) -> float:
    """Median over rounds of x's time divided by y's in the same round (first of each pair)."""
    return statistics.median(x[0] / y[0] for x, y in zip(xs, ys, strict=True))


def row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [row(header), row(["---"] * len(header))]
    lines.extend(row(r) for r in rows)
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def machine() -> str:
    """Cores, CPU model, Python version and load, for the record."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpus} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load}"
    )

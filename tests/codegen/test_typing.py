"""One ``mypy --strict`` run over all generated code and the typing checks.

It covers the golden package, ``fal_typed.models`` and ``tests/generated/typing_check.py``
(zero errors expected), and ``tests/generated/typing_errors.py.txt`` (an error expected on
exactly the lines marked ``# error``, proving mypy really checks these files).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ._paths import GOLDEN, GOLDEN_PACKAGE, ROOT

GENERATED_MODELS = ROOT / "generated" / "fal_typed" / "models"
MODELS = "fal_typed.models"
CHECK = Path("tests/generated/typing_check.py")
# Not a .py file, so `mypy tests` and ruff leave its deliberate errors alone.
ERRORS = Path("tests/generated/typing_errors.py.txt")


def _every_module() -> list[str]:
    """Every generated module of the golden package and of ``fal_typed.models``."""
    names = []
    for root, package in ((GOLDEN / GOLDEN_PACKAGE, GOLDEN_PACKAGE), (GENERATED_MODELS, MODELS)):
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join((package, *parts)))
    return names


def test_mypy_strict_over_generated_code_and_typing_checks(tmp_path: Path) -> None:
    # mypy takes packages or files, not both: one file imports every generated module, and mypy
    # checks whatever is imported.
    everything = tmp_path / "import_everything.py"
    everything.write_text("".join(f"import {name}\n" for name in _every_module()))
    env = {**os.environ, "MYPYPATH": str(GOLDEN)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(everything),
            str(CHECK),
            str(ERRORS),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    expected = {
        number
        for number, line in enumerate((ROOT / ERRORS).read_text().splitlines(), start=1)
        if line.rstrip().endswith("# error")
    }
    reported = {
        int(m.group(1))
        for line in errors
        if (m := re.match(rf"{re.escape(ERRORS.as_posix())}:(\d+): error", line))
    }
    others = [line for line in errors if not line.startswith(ERRORS.as_posix())]
    assert others == [], "\n".join(others)
    assert reported == expected, result.stdout
    assert result.returncode == 1, result.stdout + result.stderr

"""Paths and commands shared by the generator tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "codegen" / "fixtures"
GOLDEN = ROOT / "tests" / "codegen" / "golden"
GOLDEN_PACKAGE = "goldenpkg"
SCHEMAS = ROOT / "schemas"
GENERATED = ROOT / "generated"
FAL_TYPED = str(Path(sys.executable).with_name("fal-typed"))
# The one command that refreshes the golden files (run from the repository root):
REFRESH_GOLDEN = (
    ".venv/bin/fal-typed generate tests/codegen/fixtures --out tests/codegen/golden "
    "--package goldenpkg"
)


def golden_on_path() -> None:
    """Make the golden package importable (``import goldenpkg.fixtures.const``)."""
    if str(GOLDEN) not in sys.path:
        sys.path.insert(0, str(GOLDEN))

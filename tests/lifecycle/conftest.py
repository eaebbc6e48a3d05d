"""Shared fixtures: one emulator over schemas/ (reset per test) and helpers to run the CLI."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fal_typed.testing import FalEmulator
from fal_typed_codegen.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KEY = "lifecycle-key"


@dataclass
class Run:
    """The outcome of one in-process ``fal-typed`` invocation."""

    code: int
    out: str
    err: str


@pytest.fixture(scope="package")
def package_emulator() -> Iterator[FalEmulator]:
    with FalEmulator(schemas=[SCHEMAS], key=KEY) as emulator:
        yield emulator


@pytest.fixture
def emu(package_emulator: FalEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FalEmulator]:
    # Nothing here may reach fal.ai: both URLs point at the emulator, credentials are explicit.
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAL_TYPED_OPENAPI_URL", package_emulator.openapi_url)
    monkeypatch.setenv("FAL_TYPED_MODELS_URL", package_emulator.models_url)
    package_emulator.reset()
    yield package_emulator
    package_emulator.reset()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``fal-typed ARGS...`` in this process; returns exit code and captured output."""

    def run(*args: str | Path) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def openapi_of(endpoint_path: str) -> dict[str, Any]:
    """The OpenAPI document inside ``schemas/<endpoint_path>.json`` (whatever its shape)."""
    data = read_json(SCHEMAS / f"{endpoint_path}.json")
    return copy.deepcopy(data["openapi"] if isinstance(data.get("openapi"), dict) else data)

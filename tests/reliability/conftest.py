from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import fal_typed._client
from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

CANARY = "canary-5e1f0c-DO-NOT-LEAK"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry back-off waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(fal_typed._client, "_sleep", waited.append)
    return waited


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FAL_RUN_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[FalEmulator]:
    with FalEmulator(schemas=[SCHEMAS], key=CANARY) as emulator:
        yield emulator


@pytest.fixture
def emu(module_emulator: FalEmulator) -> Iterator[FalEmulator]:
    module_emulator.reset()
    yield module_emulator
    module_emulator.reset()

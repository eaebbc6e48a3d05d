from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

CANARY = "canary-5e1f0c-DO-NOT-LEAK"


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[FalEmulator]:
    with FalEmulator(schemas=[SCHEMAS], key=CANARY) as emulator:
        yield emulator


@pytest.fixture
def emu(module_emulator: FalEmulator) -> Iterator[FalEmulator]:
    module_emulator.reset()
    yield module_emulator
    module_emulator.reset()

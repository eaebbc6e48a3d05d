from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fal_typed.testing import FalEmulator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KEY = "emu-key"


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[FalEmulator]:
    # Simulated start delays and timeouts run 10x faster than real time in these tests.
    with FalEmulator(schemas=[SCHEMAS], key=KEY, time_scale=0.1) as emulator:
        yield emulator


@pytest.fixture
def emu(module_emulator: FalEmulator) -> Iterator[FalEmulator]:
    module_emulator.reset()
    yield module_emulator
    module_emulator.reset()


@pytest.fixture
def http(emu: FalEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Key {KEY}"}
    with httpx.Client(base_url=emu.url, headers=headers, timeout=5.0) as client:
        yield client

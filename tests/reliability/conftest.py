from __future__ import annotations

import pytest

import fal_typed._client

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

from __future__ import annotations

from collections.abc import Iterator

import pytest

import fal_typed._client
from fal_typed import FalClient

from ._server import RecordingServer

KEY = "test-key-123"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: RecordingServer) -> Iterator[FalClient]:
    with FalClient(KEY, base_url=server.url, timeout=5.0) as c:
        yield c


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

from __future__ import annotations

from collections.abc import Iterator

import pytest

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

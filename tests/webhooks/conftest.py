from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks._jwks_server import Clock, JWKSServer
from tests.webhooks._signing import Signer, jwks


@pytest.fixture(autouse=True)
def _no_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAL_TYPED_JWKS_URL", raising=False)


@pytest.fixture
def signer() -> Signer:
    return Signer("key-1")


@pytest.fixture
def server(signer: Signer) -> Iterator[JWKSServer]:
    with JWKSServer(jwks(signer)) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()

"""The API key never leaks into reprs, error messages, error attributes or log records."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from fal_typed import FalClient, FalError

from ._server import RecordingServer, Reply

CANARY = "canary-7f3a9e-SECRET"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return [repr(value)]


def test_key_absent_from_reprs_errors_and_logs(
    server: RecordingServer, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    echo = f"Invalid key: Key {CANARY}"
    server.script(
        Reply(401, {"detail": echo, "error_type": "unauthorized"}, {"x-fal-request-id": "r"}),
        Reply(422, {"detail": [{"loc": ["body", "k"], "msg": echo, "type": "x"}]}),
        Reply(503, f"<title>{CANARY}</title>"),
        Reply(503, "gateway"),
        Reply(503, "gateway"),
        Reply(close=True),
    )
    errors: list[FalError] = []
    with FalClient(CANARY, base_url=server.url) as client:
        assert CANARY not in repr(client) and CANARY not in str(client)
        for _ in range(4):
            try:
                client.run("fal-ai/x", {})
            except FalError as exc:
                errors.append(exc)
    assert len(errors) == 4
    assert server.requests[0].headers["authorization"] == f"Key {CANARY}"  # it was sent
    for err in errors:
        assert CANARY not in str(err)
        assert CANARY not in repr(err)
        attributes = {k: v for k, v in vars(err).items() if k != "response"}
        for text in _strings(attributes):
            assert CANARY not in text
        response = getattr(err, "response", None)
        if response is not None:  # httpx redacts the Authorization header
            assert CANARY not in repr(response.request.headers)
    for record in caplog.records:
        assert CANARY not in record.getMessage()
    assert any(r.name == "fal_typed" for r in caplog.records)


def test_key_id_secret_absent_from_errors(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY_ID", "id")
    monkeypatch.setenv("FAL_KEY_SECRET", CANARY)
    server.script(Reply(403, {"detail": f"key id:{CANARY} may not"}, {"x-fal-request-id": "r"}))
    with FalClient(base_url=server.url) as client, pytest.raises(FalError) as info:
        client.run("fal-ai/x", {})
    assert CANARY not in str(info.value)
    assert CANARY not in str(getattr(info.value, "body", ""))

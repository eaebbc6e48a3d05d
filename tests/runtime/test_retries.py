"""The billing-safe retry policy: retry only what provably did not run."""

from __future__ import annotations

import email.utils
import logging
import time

import pytest

from fal_typed import (
    BadRequestError,
    FalClient,
    InternalServerError,
    RateLimitError,
    StartTimeoutError,
)
from fal_typed._constants import MAX_RETRY_AFTER

from ._server import RecordingServer, Reply

OK = Reply(200, {"ok": True}, {"x-fal-request-id": "r-ok"})


def run(client: FalClient) -> object:
    return client.run("fal-ai/x", {"prompt": "p"})


def test_gateway_503_then_200(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(Reply(503, "<html><title>503 Service Unavailable</title></html>"), OK)
    assert run(client) == {"ok": True}
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.5


def test_429_honours_retry_after_seconds(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(
        Reply(429, {"detail": "slow down"}, {"Retry-After": "3", "x-fal-request-id": "r"}), OK
    )
    assert run(client) == {"ok": True}
    assert sleeps == [3.0]
    assert len(server.requests) == 2


def test_retry_after_http_date(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    server.script(Reply(429, {"detail": "x"}, {"Retry-After": when}), OK)
    run(client)
    assert 15 < sleeps[0] <= 21


def test_retry_after_is_capped(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(Reply(429, {"detail": "x"}, {"Retry-After": "86400"}), OK)
    run(client)
    assert sleeps == [MAX_RETRY_AFTER]


def test_retries_exhausted(server: RecordingServer, client: FalClient, sleeps: list[float]) -> None:
    server.script(*[Reply(429, {"detail": "busy"}, {"x-fal-request-id": "r"})] * 5)
    with pytest.raises(RateLimitError):
        run(client)
    assert len(server.requests) == 3  # first try + max_retries=2
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] * 1.4  # exponential: 0.5*[.75,1] then 1.0*[.75,1]


def test_max_retries_zero(server: RecordingServer, sleeps: list[float]) -> None:
    server.script(Reply(503, "gateway"), OK)
    with (
        FalClient("k", base_url=server.url, max_retries=0) as c,
        pytest.raises(InternalServerError),
    ):
        run(c)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "error_type",
    ["runner_scheduling_failure", "runner_connection_refused", "startup_timeout"],
)
def test_platform_503_that_did_not_run_is_retried(
    server: RecordingServer, client: FalClient, sleeps: list[float], error_type: str
) -> None:
    server.script(
        Reply(503, {"detail": "x", "error_type": error_type}, {"x-fal-request-id": "r1"}), OK
    )
    assert run(client) == {"ok": True}
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (503, "runner_disconnected"),
        (502, "runner_incomplete_response"),
        (500, "runner_server_error"),
        (504, "request_timeout"),
        (500, None),
    ],
)
def test_platform_errors_after_running_are_not_retried(
    server: RecordingServer,
    client: FalClient,
    sleeps: list[float],
    status: int,
    error_type: str | None,
) -> None:
    body = {"detail": "x", **({"error_type": error_type} if error_type else {})}
    server.script(Reply(status, body, {"x-fal-request-id": "r1"}), OK)
    with pytest.raises(InternalServerError):
        run(client)
    assert len(server.requests) == 1
    assert sleeps == []


def test_retryable_header_true_wins(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(
        Reply(500, {"detail": "x"}, {"x-fal-request-id": "r", "X-Fal-Retryable": "true"}), OK
    )
    assert run(client) == {"ok": True}
    assert len(server.requests) == 2


def test_retryable_header_false_wins(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(Reply(503, "gateway", {"X-Fal-Retryable": "false"}), OK)
    with pytest.raises(InternalServerError) as info:
        run(client)
    assert info.value.retryable is False
    assert len(server.requests) == 1


def test_user_start_timeout_never_retried(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    # no request id and X-Fal-Retryable: true would otherwise both allow a retry
    headers = {"X-Fal-Request-Timeout-Type": "user", "X-Fal-Retryable": "true"}
    server.script(Reply(504, {"detail": "timeout"}, headers), OK)
    with pytest.raises(StartTimeoutError):
        run(client)
    assert len(server.requests) == 1


def test_other_4xx_never_retried(
    server: RecordingServer, client: FalClient, sleeps: list[float]
) -> None:
    server.script(Reply(400, {"detail": "bad"}), OK)
    with pytest.raises(BadRequestError):
        run(client)
    assert len(server.requests) == 1


def test_retries_are_logged(
    server: RecordingServer,
    client: FalClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fal_typed")
    server.script(Reply(503, "gateway"), OK)
    run(client)
    messages = [r.getMessage() for r in caplog.records if r.name == "fal_typed"]
    assert any("POST fal-ai/x -> 503" in m and "retries=0" in m for m in messages)
    assert any(m.startswith("retrying fal-ai/x in") and "retry 1 of 2" in m for m in messages)
    assert any(
        "POST fal-ai/x -> 200" in m and "request_id=r-ok" in m and "retries=1" in m
        for m in messages
    )

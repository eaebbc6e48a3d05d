"""The transport fault matrix: every fault a server or network can produce, against a real
server on 127.0.0.0/8.

Each case states how many requests the server must have received, the error (or success), and
how many back-off waits (retries) the client made. Every case also checks that the call returned
within its timeout, that nothing was re-sent after a request reached the server unless the
policy allows it, that retries never exceed ``max_retries``, and that no connection is left
open (neither in the client's pool nor on the server once the client is closed).

Faults are repeated more often than the client may retry, so a retried fault shows up as
``max_retries + 1`` requests and a fault that is not retried as exactly one.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from fal_typed import (
    BadRequestError,
    FalClient,
    FalConnectionError,
    InternalServerError,
    InvalidResponseError,
    RateLimitError,
    RedirectError,
    RequestOutcomeUnknownError,
    StartTimeoutError,
    UnprocessableEntityError,
)
from fal_typed._constants import MAX_RETRY_AFTER

from ._server import Answer, RawServer, refusing_port, unanswered_port
from .conftest import CANARY

MAX_RETRIES = 2
REPEAT = 5  # a fault is scripted more often than the client may retry
READ_TIMEOUT = 0.5
CONNECT_TIMEOUT = 0.3
TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
# No call may take longer than this (all timeouts are short and back-off is not slept).
HANG_BOUND = 4 * READ_TIMEOUT + 3 * CONNECT_TIMEOUT + 1.0
BACKOFF = ((0.375, 0.5), (0.75, 1.0))  # 0.5 s and 1 s, each with up to 25% jitter off

NGINX = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    answers: tuple[Answer, ...]
    error: type[Exception] | None  # None: the call succeeds
    requests: int  # requests the server must have received
    retries: int = 0  # back-off waits
    waits: tuple[tuple[float, float], ...] | None = None  # bounds of each wait, when known

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


def _status_answer(
    status: int,
    body: str,
    *,
    request_id: bool = False,
    retryable: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Answer:
    if body == "json":
        kind = "runner_server_error" if status == 500 else "runner_disconnected"
        answer = Answer.json(status, {"detail": "the runner failed", "error_type": kind})
    elif body == "html":
        answer = Answer.text(status, NGINX.format(status=status))
    else:
        answer = Answer(status, b"", ())
    headers = list(answer.headers) + list(extra)
    if request_id:
        headers.append(("x-fal-request-id", "req-123"))
    if retryable is not None:
        headers.append(("X-Fal-Retryable", retryable))
    return replace(answer, headers=tuple(headers))


def _repeat(answer: Answer) -> tuple[Answer, ...]:
    return (answer,) * REPEAT


def _outcome(retried: bool) -> tuple[int, int]:
    """(requests, retries) for a repeated fault."""
    return (MAX_RETRIES + 1, MAX_RETRIES) if retried else (1, 0)


def _transport_cases() -> list[Case]:
    unknown = RequestOutcomeUnknownError
    big = json.dumps({"images": [{"url": "x" * 1000}] * 200}).encode()
    return [
        Case("closed-without-answer", _repeat(Answer(close=True)), unknown, 1),
        Case("reset-before-answer", _repeat(Answer(raw=b"", reset=True)), unknown, 1),
        Case("reset-after-headers", _repeat(Answer(body=big, reset=True)), unknown, 1),
        Case("reset-mid-body", _repeat(Answer(body=big, reset=True, reset_after=5000)), unknown, 1),
        Case(
            "partial-body-content-length-too-large",
            _repeat(Answer(body=b'{"ok": tr', content_length=1000)),
            unknown,
            1,
        ),
        Case(
            "503-gateway-page-cut-short",
            _repeat(replace(Answer.text(503, NGINX.format(status=503)), content_length=10_000)),
            unknown,
            1,
        ),
        Case("slow-past-read-timeout", _repeat(Answer(delay=10)), unknown, 1),
        Case("stall-after-headers", _repeat(Answer(stall=10)), unknown, 1),
        Case(
            "garbage-instead-of-http", _repeat(Answer(raw=b"SSH-2.0-OpenSSH\r\n\r\n")), unknown, 1
        ),
        Case(
            "headers-cut-short",
            _repeat(Answer(raw=b"HTTP/1.1 200 OK\r\nContent-Type: appl")),
            unknown,
            1,
        ),
    ]


def _5xx_cases() -> list[Case]:
    cases = []
    for status in (500, 502, 503, 504):
        for body in ("json", "html", "empty"):
            for request_id in (True, False):
                answer = _status_answer(status, body, request_id=request_id)
                # 502/503/504 without fal's request id come from the gateway: nothing ran.
                retried = status != 500 and not request_id
                rid = "with-request-id" if request_id else "no-request-id"
                cases.append(
                    Case(
                        f"{status}-{body}-{rid}",
                        _repeat(answer),
                        InternalServerError,
                        *_outcome(retried),
                    )
                )
    return cases


def _retryable_header_cases() -> list[Case]:
    cases = []
    for status in (502, 503, 504):
        for request_id in (True, False):
            for retryable in ("true", "false"):
                answer = _status_answer(status, "json", request_id=request_id, retryable=retryable)
                rid = "with-request-id" if request_id else "no-request-id"
                cases.append(
                    Case(
                        f"{status}-{rid}-retryable-{retryable}",
                        _repeat(answer),
                        InternalServerError,
                        *_outcome(retryable == "true"),
                    )
                )
    for status, retryable, error in [
        (500, "true", InternalServerError),
        (500, "TRUE", InternalServerError),
        (400, "true", BadRequestError),
        (422, "false", UnprocessableEntityError),
        (429, "false", RateLimitError),
        (503, "maybe", InternalServerError),  # not a boolean: ignored (no request id: retried)
    ]:
        answer = _status_answer(status, "json", retryable=retryable)
        retried = retryable.lower() == "true" or (status == 503 and retryable == "maybe")
        cases.append(
            Case(f"{status}-retryable-{retryable}", _repeat(answer), error, *_outcome(retried))
        )
    for error_type in (
        "runner_scheduling_failure",
        "runner_connection_refused",
        "runner_connection_timeout",
        "startup_timeout",
    ):
        answer = Answer.json(
            503, {"detail": "no runner", "error_type": error_type}, x_fal_request_id="r"
        )
        cases.append(
            Case(f"503-{error_type}", _repeat(answer), InternalServerError, *_outcome(True))
        )
    return cases


def _start_timeout_cases() -> list[Case]:
    cases = []
    for request_id in (True, False):
        for retryable in (None, "true"):
            extra = (("X-Fal-Request-Timeout-Type", "user"),)
            answer = _status_answer(
                504, "json", request_id=request_id, retryable=retryable, extra=extra
            )
            rid = "with-request-id" if request_id else "no-request-id"
            cases.append(
                Case(
                    f"504-user-timeout-{rid}-retryable-{retryable}",
                    _repeat(answer),
                    StartTimeoutError,
                    1,
                )
            )
    return cases


# Retry-After values and the waits they must produce (checked for both retries).
HTTP_DATE_IN_20S = "@now+20"  # replaced by an HTTP date 20 s from now when the test runs
RETRY_AFTER: list[tuple[str, str | None, tuple[float, float] | None]] = [
    ("absent", None, None),
    ("seconds", "3", (3.0, 3.0)),
    ("seconds-padded", " 7 ", (7.0, 7.0)),
    ("fractional", "1.5", (1.5, 1.5)),
    ("zero", "0", (0.0, 0.0)),
    ("negative", "-5", (0.0, 0.0)),
    ("huge", "86400", (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
    ("overflowing-float", "1e400", (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
    ("infinity", "inf", (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
    ("nan", "nan", None),
    ("http-date", HTTP_DATE_IN_20S, (15.0, 20.0)),
    ("http-date-past", "Wed, 21 Oct 2015 07:28:00 GMT", (0.0, 0.0)),
    ("http-date-far-future", "Fri, 31 Dec 9999 23:59:59 GMT", (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
    ("http-date-no-timezone", "Wed, 21 Oct 2015 07:28:00 -0000", None),
    ("http-date-year-out-of-range", "Mon, 01 Jan 99999 00:00:00 GMT", None),
    ("http-date-day-overflow", "Mon, 99999999999999999999 Jan 2020 00:00:00 GMT", None),
    ("http-date-bad-offset", "Wed, 21 Oct 2015 07:28:00 +9999", None),
    ("garbage", "soon", None),
    ("empty", "", None),
    ("two-values", "3, 5", None),
]


def _429_cases() -> list[Case]:
    cases = []
    for name, value, wait in RETRY_AFTER:
        extra = () if value is None else (("Retry-After", value),)
        answer = _status_answer(429, "json", request_id=True, extra=extra)
        waits = BACKOFF if wait is None else (wait, wait)
        cases.append(
            Case(
                f"429-retry-after-{name}",
                _repeat(answer),
                RateLimitError,
                MAX_RETRIES + 1,
                MAX_RETRIES,
                waits,
            )
        )
    return cases


def _success_body_cases() -> list[Case]:
    page = "<html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"
    return [
        Case(
            "200-malformed-json",
            (Answer(200, b'{"images": [{"url": '),),
            InvalidResponseError,
            1,
        ),
        Case("200-empty-body", (Answer(200, b""),), InvalidResponseError, 1),
        Case("200-html-page", (Answer.text(200, page),), InvalidResponseError, 1),
        Case(
            "200-binary-garbage",
            (Answer(200, bytes(range(256)), (("Content-Type", "application/octet-stream"),)),),
            InvalidResponseError,
            1,
        ),
        # The content type is not trusted either way: the body decides.
        Case("200-json-labelled-text-html", (Answer.text(200, '{"ok": true}'),), None, 1),
        Case("200-json-without-content-type", (Answer(200, b'{"ok": true}', ()),), None, 1),
    ]


def _recovery_cases() -> list[Case]:
    ok = Answer.json(200, {"ok": True}, x_fal_request_id="r-ok")
    return [
        Case("503-gateway-then-200", (_status_answer(503, "html"), ok), None, 2, 1, (BACKOFF[0],)),
        Case(
            "429-retry-after-1-then-200",
            (_status_answer(429, "json", extra=(("Retry-After", "1"),)), ok),
            None,
            2,
            1,
            ((1.0, 1.0),),
        ),
        Case(
            "502-twice-then-200",
            (_status_answer(502, "empty"), _status_answer(502, "html"), ok),
            None,
            3,
            2,
            BACKOFF,
        ),
    ]


MATRIX = [
    *_transport_cases(),
    *_5xx_cases(),
    *_retryable_header_cases(),
    *_start_timeout_cases(),
    *_429_cases(),
    *_success_body_cases(),
    *_recovery_cases(),
]


# -- running a case --------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer() as srv:
        yield srv


def _timed(call: Callable[[], Any], bound: float = HANG_BOUND) -> tuple[Any, float]:
    """Run ``call`` in a thread; fail if it has not returned within ``bound`` seconds."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(bound)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"the call hung: still running after {bound:.1f}s"
    return outcome[0], elapsed


def _pool(client: FalClient) -> Any:
    return client._http._transport._pool  # type: ignore[attr-defined]


def _check_no_leak(
    client: FalClient, server: RawServer | None, broken: bool, http: httpx.Client | None = None
) -> None:
    pool = _pool(client)
    assert pool._requests == []  # nothing waiting for or holding a connection
    assert all(conn.is_idle() for conn in pool.connections)
    if broken:  # a broken connection is closed and dropped, never reused
        assert pool.connections == []
    client.close()
    if http is not None:  # a caller-supplied client is the caller's to close
        http.close()
    if server is not None:
        assert server.wait_closed(), f"{server.open_connections} connection(s) left open"


def _resolve(answer: Answer) -> Answer:
    headers = tuple(
        (name, email.utils.formatdate(time.time() + 20, usegmt=True))
        if value == HTTP_DATE_IN_20S
        else (name, value)
        for name, value in answer.headers
    )
    return replace(answer, headers=headers)


def _check_outcome(case: Case, outcome: Any, sleeps: list[float]) -> None:
    if case.error is None:
        assert not isinstance(outcome, BaseException), repr(outcome)
    else:
        assert type(outcome) is case.error, repr(outcome)
        assert str(outcome)  # a readable message
        assert CANARY not in str(outcome)
    assert len(sleeps) == case.retries <= MAX_RETRIES
    assert all(0 <= s <= MAX_RETRY_AFTER for s in sleeps)
    if case.waits is not None:
        for wait, (low, high) in zip(sleeps, case.waits, strict=True):
            assert low <= wait <= high, (sleeps, case.waits)


@pytest.mark.parametrize("case", [c.param() for c in MATRIX])
def test_fault(case: Case, server: RawServer, sleeps: list[float]) -> None:
    server.script(*map(_resolve, case.answers))
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT, max_retries=MAX_RETRIES)
    outcome, elapsed = _timed(lambda: client.run("fal-ai/fast-sdxl", {"prompt": "a cat"}))

    _check_outcome(case, outcome, sleeps)
    assert len(server.requests) == case.requests
    for request in server.requests:  # a retry re-sends the same request, nothing else
        assert request.method == "POST" and request.path == "/fal-ai/fast-sdxl"
        assert json.loads(request.body) == {"prompt": "a cat"}
        assert request.headers["authorization"] == f"Key {CANARY}"
    if case.error is None:
        assert outcome == {"ok": True}
    broken = case.error is RequestOutcomeUnknownError
    if broken:
        assert "may have run and been billed" in str(outcome)
        assert elapsed < READ_TIMEOUT + 1.0
    _check_no_leak(client, server, broken)


# -- faults before the server: nothing was sent, retried ---------------------------------------


@pytest.mark.parametrize("max_retries", [0, 2, 4])
def test_connection_refused(sleeps: list[float], max_retries: int) -> None:
    with refusing_port() as url:
        client = FalClient(CANARY, base_url=url, timeout=TIMEOUT, max_retries=max_retries)
        outcome, elapsed = _timed(lambda: client.run("fal-ai/x", {}))
    assert type(outcome) is FalConnectionError
    assert "could not connect" in str(outcome)
    assert len(sleeps) == max_retries
    assert elapsed < 1.0
    _check_no_leak(client, None, broken=True)


@pytest.mark.parametrize("max_retries", [0, 2])
def test_connect_timeout(sleeps: list[float], max_retries: int) -> None:
    with unanswered_port() as url:
        client = FalClient(CANARY, base_url=url, timeout=TIMEOUT, max_retries=max_retries)
        outcome, elapsed = _timed(lambda: client.run("fal-ai/x", {}))
    assert type(outcome) is FalConnectionError, repr(outcome)
    assert "ConnectTimeout" in str(outcome)
    assert len(sleeps) == max_retries
    attempts = max_retries + 1
    assert attempts * CONNECT_TIMEOUT * 0.9 <= elapsed < attempts * CONNECT_TIMEOUT + 1.0
    _check_no_leak(client, None, broken=True)


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
def test_retries_never_exceed_max_retries(
    server: RawServer, sleeps: list[float], max_retries: int
) -> None:
    server.script(*[_status_answer(503, "html")] * 10)
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT, max_retries=max_retries)
    outcome, _ = _timed(lambda: client.run("fal-ai/x", {}))
    assert type(outcome) is InternalServerError
    assert len(server.requests) == max_retries + 1
    assert len(sleeps) == max_retries
    _check_no_leak(client, server, broken=False)


def test_idle_connection_closed_by_server_is_not_an_unknown_outcome(
    server: RawServer, sleeps: list[float]
) -> None:
    """A keep-alive connection the server closed while idle is replaced, not written to."""
    server.script(Answer(), Answer())
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT)
    first, _ = _timed(lambda: client.run("fal-ai/x", {}))
    # The server now closes the idle connection (as servers do after a keep-alive timeout).
    _kill_idle(server)
    second, _ = _timed(lambda: client.run("fal-ai/x", {}))
    assert first == second == {"ok": True}
    assert len(server.requests) == 2
    assert server.accepted == 2
    assert sleeps == []
    _check_no_leak(client, server, broken=False)


def _kill_idle(server: RawServer) -> None:
    import socket as socket_module

    with server._lock:
        conns = list(server._conns)
    for conn in conns:
        conn.shutdown(socket_module.SHUT_RDWR)
    assert server.wait_closed()
    time.sleep(0.05)  # let the FIN reach the client's socket


# -- a very large answer ------------------------------------------------------------------------


def test_very_large_response_is_read_whole(server: RawServer, sleeps: list[float]) -> None:
    """40 MB of JSON (e.g. images as data URIs with sync_mode) is returned, not truncated."""
    data = {"images": [{"url": "data:image/png;base64," + "A" * 4_000_000} for _ in range(10)]}
    body = json.dumps(data).encode()
    assert len(body) > 40_000_000
    server.script(Answer(200, body))
    client = FalClient(CANARY, base_url=server.url, timeout=httpx.Timeout(5.0, connect=1.0))
    outcome, _ = _timed(lambda: client.run("fal-ai/x", {}), bound=20)
    assert outcome == data
    assert len(server.requests) == 1
    _check_no_leak(client, server, broken=False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<title>" * 400_000, id="unclosed-titles"),
        pytest.param("<" * 2_000_000, id="unclosed-tags"),
        pytest.param("<a" * 1_000_000, id="unclosed-attribute-tags"),
        pytest.param("x" * 5_000_000, id="plain-text"),
    ],
)
def test_huge_hostile_error_pages_are_summarised_quickly(
    server: RawServer, sleeps: list[float], body: str
) -> None:
    server.script(Answer.text(500, body, x_fal_request_id="r"))
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT)
    outcome, _ = _timed(lambda: client.run("fal-ai/x", {}), bound=3)
    assert type(outcome) is InternalServerError
    assert len(str(outcome)) < 2000
    assert outcome.body == body  # nothing is lost
    _check_no_leak(client, server, broken=False)


def test_huge_error_detail_is_shortened_in_the_message(
    server: RawServer, sleeps: list[float]
) -> None:
    detail = "the runner failed: " + "x" * 1_000_000
    server.script(Answer.json(500, {"detail": detail}, x_fal_request_id="r"))
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT)
    outcome, _ = _timed(lambda: client.run("fal-ai/x", {}))
    assert type(outcome) is InternalServerError
    assert str(outcome).startswith("500 fal-ai/x: the runner failed: xxx")
    assert len(str(outcome)) < 2000
    assert "request_id=r" in str(outcome)
    assert outcome.detail == detail
    _check_no_leak(client, server, broken=False)


# -- redirects: never followed ------------------------------------------------------------------

LOCATIONS = {
    "other-host": "http://{host2}/fal-ai/fast-sdxl",
    "other-port": "http://{port2}/fal-ai/fast-sdxl",
    "http-downgrade": "http://{host2}/fal-ai/fast-sdxl",
    "https-other-host": "https://{host2}/fal-ai/fast-sdxl",
    "scheme-relative": "//{host2}/fal-ai/fast-sdxl",
    "userinfo-trick-https": "https://fal.run@{host2}/fal-ai/fast-sdxl",
    "userinfo-trick-http": "http://fal.run@{host2}/fal-ai/fast-sdxl",
    "same-server-other-path": "/fal-ai/other",
}


@pytest.fixture
def elsewhere() -> Iterator[tuple[RawServer, RawServer]]:
    """Two servers a redirect could point to: another host (127.0.0.2) and another port."""
    try:
        other_host = RawServer("127.0.0.2")
    except OSError:  # pragma: no cover - systems without the whole 127.0.0.0/8 on loopback
        other_host = RawServer("127.0.0.1")
    with other_host, RawServer("127.0.0.1") as other_port:
        yield other_host, other_port


REDIRECTS = [
    pytest.param(status, location, follows, id=f"{status}-{location}-{label}")
    for follows, label, locations in [
        (False, "own-client", list(LOCATIONS)),
        # an http_client configured to follow redirects: the SDK still does not
        (True, "http-client-follows", ["other-host", "userinfo-trick-http"]),
    ]
    for status in (301, 302, 303, 307, 308)
    for location in locations
]


@pytest.mark.parametrize(("status", "location", "http_client_follows"), REDIRECTS)
def test_redirect_never_followed(
    server: RawServer,
    elsewhere: tuple[RawServer, RawServer],
    sleeps: list[float],
    status: int,
    location: str,
    http_client_follows: bool,
) -> None:
    other_host, other_port = elsewhere
    target = LOCATIONS[location].format(
        host2=f"{other_host.host}:{other_host.port}", port2=f"127.0.0.1:{other_port.port}"
    )
    server.script(*_repeat(Answer(status, b"", (("Location", target),))))
    http = httpx.Client(follow_redirects=True, timeout=TIMEOUT) if http_client_follows else None
    client = FalClient(CANARY, base_url=server.url, timeout=TIMEOUT, http_client=http)
    outcome, _ = _timed(lambda: client.run("fal-ai/fast-sdxl", {"prompt": "secret prompt"}))
    assert type(outcome) is RedirectError
    assert outcome.status_code == status
    assert repr(target) in str(outcome)
    assert len(server.requests) == 1
    assert sleeps == []
    # Neither the key nor the body went anywhere else: not even a connection was opened.
    assert other_host.accepted == other_port.accepted == 0
    assert other_host.requests == other_port.requests == []
    _check_no_leak(client, server, broken=False, http=http)

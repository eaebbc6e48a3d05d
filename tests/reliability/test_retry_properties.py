"""Property-based tests of ``Retry-After`` parsing, the retry decision and the retry loop.

The decision is checked against the README's table, restated here rule by rule; the loop is
checked for the billing-safe invariants on random sequences of answers and transport errors.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fal_typed._client
from fal_typed import (
    FalAPIError,
    FalClient,
    FalConnectionError,
    RequestOutcomeUnknownError,
)
from fal_typed._constants import MAX_RETRY_AFTER, MAX_RETRY_DELAY
from fal_typed._retry import NOT_RUN_ERROR_TYPES, backoff_delay, retry_after, should_retry

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_750_000_000  # a fixed "now" (2025) so date arithmetic is exact


def _response(
    status: int = 429, headers: list[tuple[bytes, bytes]] | None = None
) -> httpx.Response:
    return httpx.Response(status, headers=headers or [])


def _with_retry_after(value: bytes) -> httpx.Response:
    return _response(429, [(b"retry-after", value)])


# -- Retry-After -------------------------------------------------------------------------------

DAYS = st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz", ""])
MONTHS = st.sampled_from(["Jan", "Feb", "Dec", "jan", "Foo", ""])
WILD_INT = st.one_of(st.integers(-100, 10_000), st.integers(-(10**30), 10**30))
ZONES = st.one_of(
    st.sampled_from(["GMT", "UTC", "UT", "EST", "Z", "-0000", "+0000", "", "XYZ"]),
    st.from_regex(r"\A[+-][0-9]{1,6}\Z"),
)


@st.composite
def date_like(draw: Callable[..., Any]) -> str:
    """Strings shaped like HTTP dates, with every part possibly out of range."""
    day, month, zone = draw(DAYS), draw(MONTHS), draw(ZONES)
    d, y, hh, mm, ss = (draw(WILD_INT) for _ in range(5))
    return f"{day}, {d} {month} {y} {hh}:{mm}:{ss} {zone}".strip()


HEADER_VALUES = st.one_of(
    st.binary(max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    date_like().map(str.encode),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
    st.integers(-(10**400), 10**400).map(lambda i: str(i).encode()),
)


@SETTINGS
@given(HEADER_VALUES)
def test_retry_after_never_raises_and_stays_in_bounds(value: bytes) -> None:
    seconds = retry_after(_with_retry_after(value), now=NOW)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER
    assert seconds is None or not math.isnan(seconds)


@SETTINGS
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_retry_after_seconds_round_trip(seconds: float) -> None:
    parsed = retry_after(_with_retry_after(repr(seconds).encode()))
    assert parsed == min(max(seconds, 0.0), MAX_RETRY_AFTER)


@SETTINGS
@given(st.integers(-(10**7), 10**7))
def test_retry_after_http_date_round_trip(offset: int) -> None:
    value = email.utils.formatdate(NOW + offset, usegmt=True)
    assert retry_after(_with_retry_after(value.encode()), now=NOW) == min(
        max(float(offset), 0.0), MAX_RETRY_AFTER
    )


def test_retry_after_absent() -> None:
    assert retry_after(_response()) is None
    assert retry_after(None) is None


@SETTINGS
@given(st.integers(0, 5000), st.one_of(st.none(), HEADER_VALUES))
def test_backoff_delay_is_bounded(attempt: int, value: bytes | None) -> None:
    response = None if value is None else _with_retry_after(value)
    delay = backoff_delay(attempt, response)
    assert 0.0 <= delay <= max(MAX_RETRY_DELAY, MAX_RETRY_AFTER)
    if retry_after(response) is None:
        assert 0.0 < delay <= MAX_RETRY_DELAY


# -- the retry decision ------------------------------------------------------------------------

RETRYABLE = st.sampled_from(
    [None, "true", "false", "True", "FALSE", " true ", "false ", "yes", "1", "", "maybe"]
)
TIMEOUT_TYPE = st.sampled_from([None, "user", "USER", "User", "runner", "", "users"])
ERROR_TYPES = st.one_of(
    st.none(),
    st.sampled_from(sorted(NOT_RUN_ERROR_TYPES)),
    st.sampled_from(["runner_server_error", "runner_disconnected", "request_timeout", ""]),
    st.text(max_size=20),
)


@st.composite
def failed_responses(draw: Callable[..., Any]) -> tuple[httpx.Response, str | None]:
    status = draw(st.one_of(st.integers(300, 599), st.sampled_from([429, 500, 502, 503, 504])))
    headers: list[tuple[bytes, bytes]] = []
    retryable, timeout_type = draw(RETRYABLE), draw(TIMEOUT_TYPE)
    if retryable is not None:
        headers.append((b"x-fal-retryable", retryable.encode()))
    if timeout_type is not None:
        headers.append((b"x-fal-request-timeout-type", timeout_type.encode()))
    if draw(st.booleans()):
        headers.append((b"x-fal-request-id", b"req-1"))
    if draw(st.booleans()):
        headers.append((b"retry-after", draw(HEADER_VALUES)))
    return _response(status, headers), draw(ERROR_TYPES)


def _readme_table(response: httpx.Response, error_type: str | None) -> bool:
    """The README's "Retry policy" table, row by row, in its order of precedence."""
    status, headers = response.status_code, response.headers
    if status == 504 and headers.get("x-fal-request-timeout-type", "").lower() == "user":
        return False  # StartTimeoutError: wins over every other rule
    flag = headers.get("x-fal-retryable", "").strip().lower()
    if flag == "true":
        return True
    if flag == "false":
        return False
    if status == 429:
        return True
    if status in (502, 503, 504):
        return "x-fal-request-id" not in headers or error_type in NOT_RUN_ERROR_TYPES
    return False  # other 5xx, other 4xx, 3xx


@SETTINGS
@given(failed_responses())
def test_should_retry_follows_the_readme_table(case: tuple[httpx.Response, str | None]) -> None:
    response, error_type = case
    assert should_retry(response, error_type) is _readme_table(response, error_type)


@SETTINGS
@given(failed_responses())
def test_user_start_timeout_is_never_retried(case: tuple[httpx.Response, str | None]) -> None:
    response, error_type = case
    user = response.headers.get("x-fal-request-timeout-type", "").lower() == "user"
    if response.status_code == 504 and user:
        assert not should_retry(response, error_type)


@SETTINGS
@given(failed_responses())
def test_client_errors_are_retried_only_when_allowed(
    case: tuple[httpx.Response, str | None],
) -> None:
    response, error_type = case
    flag = response.headers.get("x-fal-retryable", "").strip().lower()
    if response.status_code < 500 and response.status_code != 429 and flag != "true":
        assert not should_retry(response, error_type)
    if flag == "false":
        assert not should_retry(response, error_type)


# -- the retry loop ----------------------------------------------------------------------------

TRANSPORT_ERRORS: dict[str, tuple[type[httpx.TransportError], bool]] = {
    # name: (exception, raised before anything was sent)
    "ConnectError": (httpx.ConnectError, True),
    "ConnectTimeout": (httpx.ConnectTimeout, True),
    "PoolTimeout": (httpx.PoolTimeout, True),
    "ReadTimeout": (httpx.ReadTimeout, False),
    "ReadError": (httpx.ReadError, False),
    "WriteError": (httpx.WriteError, False),
    "WriteTimeout": (httpx.WriteTimeout, False),
    "RemoteProtocolError": (httpx.RemoteProtocolError, False),
}

STEP = st.one_of(
    failed_responses(),
    st.sampled_from(sorted(TRANSPORT_ERRORS)),
    st.just("ok"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=8), st.integers(0, 4))
def test_the_loop_is_billing_safe(steps: list[Any], max_retries: int) -> None:
    """Whatever the answers: at most ``max_retries`` retries; a retry only after a fault that
    provably did not run; the loop stops at the first answer it may not retry."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        step = steps[min(len(calls), len(steps) - 1)]
        calls.append(request)
        if step == "ok":
            return httpx.Response(200, json={"ok": True})
        if isinstance(step, str):
            raise TRANSPORT_ERRORS[step][0]("boom", request=request)
        response, error_type = step
        body = {"detail": "x", **({"error_type": error_type} if error_type is not None else {})}
        return httpx.Response(response.status_code, headers=response.headers, json=body)

    # The expected run, from the rules alone.
    expected_calls = 0
    expected_error: type[Exception] | None = None
    for index in range(max_retries + 1):
        step = steps[min(index, len(steps) - 1)]
        expected_calls += 1
        if step == "ok":
            expected_error = None
            break
        if isinstance(step, str):
            before_sending = TRANSPORT_ERRORS[step][1]
            expected_error = FalConnectionError if before_sending else RequestOutcomeUnknownError
            if not before_sending:
                break
            continue
        response, error_type = step
        expected_error = FalAPIError
        if not _readme_table(response, error_type):
            break

    waits: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fal_typed._client, "_sleep", waits.append)
        client = FalClient("k", http_client=http, max_retries=max_retries)
        try:
            client.run("fal-ai/x", {"n": 1})
            error: type[Exception] | None = None
        except (FalAPIError, FalConnectionError, RequestOutcomeUnknownError) as exc:
            error = type(exc)
    http.close()

    assert len(calls) == expected_calls <= max_retries + 1
    assert len(waits) == len(calls) - 1
    assert all(0 <= w <= MAX_RETRY_AFTER for w in waits)
    assert all(call.content == b'{"n": 1}' for call in calls)
    if expected_error is None:
        assert error is None
    else:
        assert error is not None and issubclass(error, expected_error)

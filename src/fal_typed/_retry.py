"""The retry policy: billed requests are retried only when provably not run; reads freely.

A synchronous request (``fal.run``) or a queue submit that reached fal may be billed even if its
answer is lost, so it is retried only when it provably did not run (:func:`should_retry`).
The queue's status, status stream, result and cancel calls are free and idempotent: they are
retried on every transport failure, 408, 429 and 5xx (:func:`should_retry_read`), within the
caller's deadline. Both use :func:`backoff_delay` (``Retry-After`` first).
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

from ._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY
from ._exceptions import parse_retryable

__all__ = [
    "backoff_delay",
    "read_delay",
    "retry_after",
    "should_retry",
    "should_retry_read",
    "should_retry_read_error",
]

# fal error types that say no runner ran the request.
NOT_RUN_ERROR_TYPES = frozenset(
    {
        "runner_scheduling_failure",
        "runner_connection_refused",
        "runner_connection_timeout",
        "startup_timeout",
    }
)


def should_retry(response: httpx.Response, error_type: str | None) -> bool:
    """Whether a failed response may be retried without risking a second billed run."""
    status = response.status_code
    if status == 504 and response.headers.get("x-fal-request-timeout-type", "").lower() == "user":
        return False  # the caller's own deadline: retrying would defeat it
    retryable = parse_retryable(response.headers.get("x-fal-retryable"))
    if retryable is not None:
        return retryable
    if status == 429:
        return True
    if status in (502, 503, 504):
        # fal's platform stamps every request it handles; an answer without the id comes from
        # the gateway in front of it, before any runner was involved.
        if "x-fal-request-id" not in response.headers:
            return True
        return error_type in NOT_RUN_ERROR_TYPES
    return False


def retry_after(response: httpx.Response | None, now: float | None = None) -> float | None:
    """Seconds asked for by ``Retry-After`` (seconds or an HTTP date), capped; None if absent."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        # Anything a server sends must not break the call: unparsable dates (a day or year
        # out of range overflows, a bad offset) mean "no usable value", like garbage does.
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_delay(attempt: int, response: httpx.Response | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): ``Retry-After`` if given, else
    exponential backoff with jitter."""
    asked = retry_after(response)
    if asked is not None:
        return asked
    # The exponent is bounded: 2**attempt would overflow a float for max_retries > 1023.
    delay = min(INITIAL_RETRY_DELAY * (2 ** min(attempt, 32)), MAX_RETRY_DELAY)
    # Jitter spreads clients that failed together so they do not come back together.
    jittered: float = delay * random.uniform(0.75, 1.0)
    return jittered


def should_retry_read(status_code: int) -> bool:
    """Whether a failed answer to an idempotent queue read may be retried."""
    return status_code in (408, 429) or status_code >= 500


def should_retry_read_error(error: Exception) -> bool:
    """Whether a transport failure of an idempotent queue read may be retried.

    Everything but a URL or proxy set-up the client itself got wrong.
    """
    return isinstance(error, httpx.TransportError) and not isinstance(
        error, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)
    )


def read_delay(
    failures: int,
    max_retries: int,
    response: httpx.Response | None,
    remaining: float | None,
) -> float | None:
    """Delay before retrying a read after ``failures`` consecutive failures, or None to give up
    (retries used up, or the wait would pass the caller's deadline: ``remaining`` seconds)."""
    if failures > max_retries:
        return None
    delay = backoff_delay(failures - 1, response)
    if remaining is not None and delay >= remaining:
        return None
    return delay

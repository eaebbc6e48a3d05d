"""Queued requests, synchronously: follow the status stream, fetch the result, cancel.

The protocol decisions (URLs, status parsing, which failures are retried and for how long) are
the pure functions of ``_queue`` and ``_retry``; this module is the blocking I/O around them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._exceptions import (
    FalAPIError,
    FalConnectionError,
    InvalidResponseError,
    NotFoundError,
    QueueTimeoutError,
    RequestCancelledError,
    api_error,
    redact,
)
from ._queue import (
    Completed,
    QueueURLs,
    Status,
    app_id,
    decode_status,
    is_cancellation,
    poll_delay,
    queue_urls,
)
from ._retry import read_delay, should_retry_read, should_retry_read_error

if TYPE_CHECKING:
    from ._client import FalClient

__all__ = ["QueueHandle"]

logger = logging.getLogger("fal_typed")
# Module-level so tests can record waits instead of sleeping through them.
_sleep = time.sleep

ResultT = TypeVar("ResultT")

try:  # the ``sse`` extra; without it the status is polled
    from httpx_sse import EventSource, SSEError

    HAVE_SSE = True
except ImportError:  # pragma: no cover - exercised by monkeypatching HAVE_SSE
    HAVE_SSE = False


class _StreamUnavailable(Exception):
    """The server does not offer the status stream: fall back to polling."""


class _Reconnect(Exception):
    """The stream went quiet past the read timeout: reconnect at once (not a failure)."""


class _RetryableRead(Exception):
    """A read failed in a way worth retrying (kept: the answer, for Retry-After)."""

    def __init__(self, error: Exception, response: httpx.Response | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


class QueueHandle(Generic[ResultT]):
    """One request in fal's queue: follow it, wait for it, fetch its result, cancel it.

    Returned by ``submit``; rebuilt from a stored id by ``client.get_handle(endpoint_id,
    request_id)`` (or ``endpoint.get_handle(request_id)``). Only :attr:`request_id` needs to be
    stored. Status, result and cancel are free, idempotent reads: they are retried on
    connection failures, 408, 429 and 5xx; nothing here ever submits the request again.
    """

    def __init__(
        self,
        client: FalClient,
        endpoint_id: str,
        request_id: str,
        *,
        urls: QueueURLs | None = None,
        parse: Callable[[httpx.Response], ResultT],
    ) -> None:
        self._client = client
        self._endpoint_id = endpoint_id
        self._request_id = request_id
        self._urls = urls or queue_urls(client.queue_url, endpoint_id, request_id)
        self._parse = parse
        self._completed: Completed | None = None

    @property
    def request_id(self) -> str:
        """fal's id of the request: store it to resume with ``get_handle``."""
        return self._request_id

    @property
    def endpoint_id(self) -> str:
        return self._endpoint_id

    def __repr__(self) -> str:
        return f"QueueHandle({self._endpoint_id!r}, request_id={self._request_id!r})"

    # -- reads -------------------------------------------------------------------------------

    def status(self, *, logs: bool = False) -> Status:
        """The current status: ``Queued``, ``InProgress`` or ``Completed``."""
        response = self._read("GET", self._urls.status, params=_logs_param(logs))
        status = decode_status(self._endpoint_id, self._request_id, response.content)
        if isinstance(status, Completed):
            self._completed = status
        return status

    def iter_status(self, *, logs: bool = False, timeout: float | None = None) -> Iterator[Status]:
        """Yield the status each time it changes, ending with ``Completed``.

        Follows fal's status stream (server-sent events) when available, reconnecting when it
        breaks; otherwise polls with back-off. ``timeout``: seconds to wait in all, then
        ``QueueTimeoutError`` (the request is not cancelled).
        """
        deadline = _deadline(timeout)
        for status in self._follow(logs, deadline):
            if isinstance(status, Completed):
                self._completed = status
            yield status

    def wait(
        self,
        *,
        logs: bool = False,
        on_status: Callable[[Status], object] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        """Block until the request completes; ``on_status`` sees every change."""
        deadline = _deadline(timeout)
        if self._completed is not None:
            return self._completed
        for status in self._follow(logs, deadline):
            if on_status is not None:
                on_status(status)
            if isinstance(status, Completed):
                self._completed = status
                return status
        raise AssertionError("the status stream ended without completion")  # pragma: no cover

    def result(
        self,
        *,
        timeout: float | None = None,
        logs: bool = False,
        on_status: Callable[[Status], object] | None = None,
    ) -> ResultT:
        """Wait for completion (fetched the moment it completes) and return the result.

        Raises the same ``FalAPIError`` subclasses as a synchronous call when the request
        failed (e.g. ``UnprocessableEntityError`` with the 422 detail list),
        ``RequestCancelledError`` when it was cancelled, ``QueueTimeoutError`` after
        ``timeout`` seconds (the request goes on; call ``result()`` again later).
        """
        deadline = _deadline(timeout)
        completed = self._completed or self.wait(logs=logs, on_status=on_status, timeout=timeout)
        if is_cancellation(completed):
            raise RequestCancelledError(
                f"{self._endpoint_id}: request {self._request_id} was cancelled"
                + (f" ({completed.error})" if completed.error else ""),
                endpoint_id=self._endpoint_id,
                request_id=self._request_id,
            )
        # A request that failed answers its error here: that answer is final, not retried.
        response = self._read(
            "GET", self._urls.result, deadline=deadline, retry_status=completed.ok
        )
        return self._parse(response)

    def cancel(self) -> bool:
        """Ask fal to cancel the request.

        Returns True when the cancellation was accepted (the request then completes as
        cancelled), False when the request had already completed. An unknown id raises
        ``NotFoundError``.
        """
        response = self._read("PUT", self._urls.cancel, accept=(400,))
        if response.status_code == 400:
            body = _json_or_none(response)
            if isinstance(body, dict) and body.get("status") == "ALREADY_COMPLETED":
                return False
            raise self._error(response)
        logger.info("cancel %s request %s: accepted", self._endpoint_id, self._request_id)
        return True

    # -- following ---------------------------------------------------------------------------

    def _follow(self, logs: bool, deadline: float | None) -> Iterator[Status]:
        last: Status | None = None
        failures = 0
        unchanged = 0
        client = self._client
        use_stream = HAVE_SSE and not client._stream_unavailable
        while True:
            if use_stream:
                progressed = False
                try:
                    for status in self._stream(logs, deadline):
                        if status != last:
                            progressed = True
                            last = status
                            yield status
                        if isinstance(status, Completed):
                            return
                    # Ended without COMPLETED (a proxy's cut, a server restart): reconnect.
                    raise _RetryableRead(ConnectionError("the status stream ended early"))
                except _Reconnect:
                    continue
                except _StreamUnavailable:
                    logger.info("status stream unavailable on %s; polling", client.queue_url)
                    client._stream_unavailable = True
                    use_stream = False
                    continue
                except _RetryableRead as failure:
                    if progressed:
                        # The stream worked until it broke: reconnect at once, and back off
                        # only when reconnecting brings nothing new.
                        logger.info("status stream of %r broke (%s); reconnecting", self, failure)
                        failures = 0
                        continue
                    failures += 1
                    delay = read_delay(
                        failures, client.max_retries, failure.response, _remaining(deadline)
                    )
                    if delay is None:
                        self._check_deadline(deadline)
                        raise self._final(failure) from failure.error
                    logger.info(
                        "status stream of %s request %s broke (%s); reconnecting in %.2fs",
                        self._endpoint_id,
                        self._request_id,
                        failure,
                        delay,
                    )
                    _sleep(delay)
                    continue
            status = self.status(logs=logs)
            if status != last:
                last = status
                unchanged = 0
                yield status
            else:
                unchanged += 1
            if isinstance(status, Completed):
                return
            remaining = _remaining(deadline)
            delay = poll_delay(unchanged)
            if remaining is not None and remaining <= delay:
                _sleep(max(remaining, 0.0))
                self._check_deadline(deadline)
            _sleep(delay)

    def _stream(self, logs: bool, deadline: float | None) -> Iterator[Status]:
        """One connection to the status stream; yields each parsed event."""
        client = self._client
        remaining = self._check_deadline(deadline)
        try:
            with client._http.stream(
                "GET",
                self._urls.stream,
                params=_logs_param(logs),
                headers=self._headers("text/event-stream"),
                timeout=client._read_timeout(remaining),
                follow_redirects=False,
            ) as response:
                if not response.is_success:
                    response.read()
                    self._stream_refused(response)
                try:
                    events = EventSource(response).iter_sse()
                    for event in events:
                        if not event.data.strip():
                            continue
                        try:
                            status = decode_status(self._endpoint_id, self._request_id, event.data)
                        except InvalidResponseError as exc:
                            # Not a status (a keep-alive or another event type): skip it.
                            logger.debug("skipped a status stream event: %s", exc)
                            continue
                        yield status
                except SSEError as exc:
                    raise _StreamUnavailable(str(exc)) from None
        except httpx.ReadTimeout as exc:
            self._check_deadline(deadline)
            # A quiet stream (a long job without logs) is not a failure: reconnect at once.
            logger.debug("status stream idle past the read timeout; reconnecting")
            raise _Reconnect() from exc
        except httpx.TransportError as exc:
            if not should_retry_read_error(exc):
                raise self._connection_error("GET", exc) from exc
            raise _RetryableRead(exc) from exc

    def _stream_refused(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (405, 406, 501):
            raise _StreamUnavailable(f"status stream answered {status}")
        if status == 404:
            # An unknown id, or a queue without the stream route: the status read tells.
            self.status()
            raise _StreamUnavailable("status stream answered 404")
        error = self._error(response)
        if should_retry_read(status):
            raise _RetryableRead(error, response)
        raise error

    # -- one read ----------------------------------------------------------------------------

    def _read(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        deadline: float | None = None,
        accept: tuple[int, ...] = (),
        retry_status: bool = True,
    ) -> httpx.Response:
        """One idempotent request, retried on transport failures (and 408/429/5xx)."""
        client = self._client
        failures = 0
        while True:
            remaining = self._check_deadline(deadline)
            response: httpx.Response | None = None
            try:
                response = client._http.request(
                    method,
                    url,
                    params=params,
                    headers=self._headers("application/json"),
                    timeout=client._read_timeout(remaining),
                    follow_redirects=False,
                )
            except httpx.TransportError as exc:
                if not should_retry_read_error(exc):
                    raise self._connection_error(method, exc) from exc
                failure: Exception = exc
            else:
                if response.is_success or response.status_code in accept:
                    return response
                error = self._error(response)
                if not (retry_status and should_retry_read(response.status_code)):
                    raise error
                failure = error
            failures += 1
            delay = read_delay(failures, client.max_retries, response, _remaining(deadline))
            if delay is None:
                self._check_deadline(deadline)
                if isinstance(failure, FalAPIError):
                    raise failure
                raise self._connection_error(method, failure) from failure
            logger.info(
                "%s %s request %s failed (%s); retry %d in %.2fs",
                method,
                self._endpoint_id,
                self._request_id,
                failure,
                failures,
                delay,
            )
            _sleep(delay)

    def _headers(self, accept: str) -> dict[str, str]:
        return {"Authorization": f"Key {self._client._require_key()}", "Accept": accept}

    def _error(self, response: httpx.Response) -> FalAPIError:
        secret = self._client._secrets()
        error = api_error(self._endpoint_id, response, secret=secret)
        if error.request_id is None:
            error.request_id = self._request_id
        if isinstance(error, NotFoundError):
            error.args = (
                f"404 {self._endpoint_id}: no queued request {self._request_id!r} under "
                f"{app_id(self._endpoint_id)!r} (an unknown or expired id, or one of another "
                f"endpoint): {redact(str(error.detail or ''), secret)}",
            )
        return error

    def _connection_error(self, method: str, exc: Exception) -> FalConnectionError:
        return FalConnectionError(
            f"{method} {self._endpoint_id} request {self._request_id}: could not reach "
            f"{self._client.queue_url} ({type(exc).__name__}: {exc}). Nothing was lost: the "
            "request is still in fal's queue; call this again.",
            endpoint_id=self._endpoint_id,
        )

    def _final(self, failure: _RetryableRead) -> Exception:
        if isinstance(failure.error, FalAPIError):
            return failure.error
        return self._connection_error("GET", failure.error)

    def _check_deadline(self, deadline: float | None) -> float | None:
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            raise QueueTimeoutError(
                f"{self._endpoint_id}: request {self._request_id} did not complete in time; it "
                "was not cancelled: fetch it later with get_handle(...).result()",
                endpoint_id=self._endpoint_id,
                request_id=self._request_id,
            )
        return remaining


def _logs_param(logs: bool) -> dict[str, str] | None:
    return {"logs": "1"} if logs else None


def _deadline(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be seconds or None, not {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    return time.monotonic() + timeout


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None

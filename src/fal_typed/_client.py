"""The synchronous transport: one pooled ``httpx.Client`` speaking fal's ``fal.run`` API."""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_QUEUE_URL,
    DEFAULT_REST_URL,
    DEFAULT_TIMEOUT,
)
from ._exceptions import (
    FalConnectionError,
    FalError,
    InvalidResponseError,
    MissingCredentialsError,
    QueueTimeoutError,
    RequestOutcomeUnknownError,
    api_error,
    describe_text,
    redact,
)
from ._handle import QueueHandle, ResultT
from ._options import (
    lifecycle_header,
    start_timeout_header,
    validate_endpoint_id,
    validate_path,
)
from ._queue import (
    Priority,
    Status,
    priority_header,
    submit_answer,
    submit_url,
    urls_from_submit,
    webhook_query,
)
from ._retry import backoff_delay, should_retry
from ._types import NOT_GIVEN, NotGiven
from ._upload_plan import (
    DEFAULT_MULTIPART_THRESHOLD,
    DEFAULT_PARALLELISM,
    DEFAULT_PART_SIZE,
    CdnToken,
    Uploadable,
)
from ._version import __version__

__all__ = ["FalClient", "default_client"]

logger = logging.getLogger("fal_typed")
# Module-level so tests can record back-off waits instead of sleeping through them.
_sleep = time.sleep

TimeoutTypes = float | httpx.Timeout | None

# Sent with every request (a caller's http_client may add its own).
_STATIC_HEADERS = {
    "User-Agent": f"fal-typed/{__version__}",
    "Content-Type": "application/json",
    "Accept": "application/json",
}
_MAX_CACHED_URLS = 1024

# What HTTP allows in a header name (a token) and value (visible ASCII, spaces and tabs inside).
# Checked before sending: h11 would refuse them only after the connection is open, and its
# error quotes the value, which for the Authorization header is the key.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?|")
_KEY = re.compile(r"[\x21-\x7e]+")


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        pass


_NO_COOKIES = _NoCookies()


class _StatelessHTTPClient(httpx.Client):
    """The ``httpx.Client`` a ``FalClient`` makes for itself: it keeps no cookies.

    fal's API is stateless, and storing the cookies of every answer (httpx builds urllib request
    and response wrappers for its cookie jar on each one) costs ~10 % of a call's CPU time.
    """

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        pass


def _key_from_env() -> str | None:
    key = os.environ.get("FAL_KEY")
    if key:
        return key
    key_id, secret = os.environ.get("FAL_KEY_ID"), os.environ.get("FAL_KEY_SECRET")
    if key_id and secret:
        return f"{key_id}:{secret}"
    return None


def _url_from_env(variable: str, default: str) -> str:
    host = os.environ.get(variable)
    if not host:
        return default
    # fal's client takes a bare host[:port]; a full URL is accepted too (handy for emulators).
    return host if "://" in host else f"https://{host}"


def _host_url(value: str | None, variable: str, default: str, what: str) -> str:
    """A validated API host URL: the argument, else ``$variable``, else ``default``."""
    url = (value or _url_from_env(variable, default)).rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError(f"{what} must be an http(s) URL, got {url!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{what} must be an http(s) URL, got {url!r}")
    return url


class FalClient:
    """A client for fal's synchronous API (``POST https://fal.run/{endpoint_id}``).

    Args:
        key: the API key. Default: ``FAL_KEY``, else ``FAL_KEY_ID`` + ``FAL_KEY_SECRET``
            (sent as ``id:secret``), read when a request is made.
        base_url: default ``FAL_RUN_HOST`` (``host[:port]``) if set, else ``https://fal.run``.
        queue_url: the queue host (``submit``, ``subscribe``); default ``FAL_QUEUE_RUN_HOST``
            (``host[:port]`` or a URL) if set, else ``https://queue.fal.run``.
        rest_url: fal's REST host (file uploads, :meth:`upload`); default
            ``FAL_TYPED_REST_URL`` if set, else ``https://rest.fal.ai``.
        timeout: default HTTP timeout of every request (seconds > 0 or ``httpx.Timeout``;
            None disables it). Default: 600 s (10 s to connect), or the ``http_client``'s own
            timeout when one is given.
        max_retries: retries of requests that provably did not run (see the README's table).
        http_client: an ``httpx.Client`` to use as is (proxies, custom transports). The
            caller keeps ownership: ``close()`` does not close it.

    One client holds one connection pool and is safe to share between threads.
    """

    def __init__(
        self,
        key: str | None = None,
        *,
        base_url: str | None = None,
        queue_url: str | None = None,
        rest_url: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.base_url = _host_url(base_url, "FAL_RUN_HOST", DEFAULT_BASE_URL, "base_url")
        self.queue_url = _host_url(queue_url, "FAL_QUEUE_RUN_HOST", DEFAULT_QUEUE_URL, "queue_url")
        self.rest_url = _host_url(rest_url, "FAL_TYPED_REST_URL", DEFAULT_REST_URL, "rest_url")
        self._key = key or None
        self.max_retries = max_retries
        self._owns_http_client = http_client is None
        if http_client is None:
            self.timeout = DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
            http_client = _StatelessHTTPClient(timeout=self.timeout, headers=_STATIC_HEADERS)
            # httpx's defaults (Accept-Encoding, ...) merged with ours once, not on every call;
            # .raw keeps the names' case as given.
            self._base_headers = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in http_client.headers.raw
            }
        else:
            self.timeout = http_client.timeout if isinstance(timeout, NotGiven) else timeout
            self._base_headers = dict(_STATIC_HEADERS)  # the caller's client merges in its own
        self._http = http_client
        self._foreign: httpx.Client | None = None
        self._foreign_lock = threading.Lock()
        # Each (base URL, endpoint id, path) is validated and parsed once, not on every call.
        self._urls: dict[tuple[str, str, str | None], httpx.URL] = {}
        # Set once a queue host turns out not to offer the status stream: then it is polled.
        self._stream_unavailable = False
        # The CDN upload token (upload()), fetched once and shared by every thread until it
        # is about to expire.
        self._cdn_token: CdnToken | None = None
        self._cdn_token_lock = threading.Lock()

    @property
    def timeout(self) -> TimeoutTypes:
        """The HTTP timeout of every request that does not pass its own."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: TimeoutTypes) -> None:
        self._timeout_parts = _timeout_extension(value)  # validated here, not at the first call
        self._timeout = value

    def __repr__(self) -> str:
        return (
            f"FalClient(base_url={self.base_url!r}, queue_url={self.queue_url!r}, "
            f"max_retries={self.max_retries})"
        )

    def __enter__(self) -> FalClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pools (not a caller-supplied ``http_client``)."""
        if self._owns_http_client:
            self._http.close()
        with self._foreign_lock:
            if self._foreign is not None:
                self._foreign.close()
                self._foreign = None

    def _foreign_http(self) -> httpx.Client:
        """The pool for hosts a server named (CDN uploads, pre-signed URLs, downloads).

        Never the caller's ``http_client``, whose auth, headers or cookies could carry
        credentials, and never an Authorization header: those hosts are not fal's API.
        Redirects are followed (nothing secret is sent).
        """
        foreign = self._foreign
        if foreign is None:
            with self._foreign_lock:
                foreign = self._foreign
                if foreign is None:
                    foreign = _StatelessHTTPClient(
                        timeout=httpx.Timeout(**self._timeout_parts),
                        headers={"User-Agent": _STATIC_HEADERS["User-Agent"]},
                        follow_redirects=True,
                    )
                    self._foreign = foreign
        return foreign

    def run(
        self,
        endpoint_id: str,
        arguments: Mapping[str, Any],
        *,
        path: str | None = None,
        start_timeout: float | datetime.timedelta | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Run an endpoint synchronously and return the decoded JSON answer.

        Args:
            endpoint_id: e.g. ``"fal-ai/fast-sdxl"``.
            arguments: the JSON input, sent as is.
            path: optional subpath, ``POST {base_url}/{endpoint_id}/{path}``.
            start_timeout: seconds (>= 1) to wait for a runner to start
                (``X-Fal-Request-Timeout``); expiry raises ``StartTimeoutError``.
            object_lifecycle: seconds generated files stay available
                (``X-Fal-Object-Lifecycle-Preference``).
            timeout: HTTP timeout for this call; default: the client's.
            headers: extra request headers.
        """
        content = encode_arguments(arguments)
        response = self.send(
            endpoint_id,
            content,
            path=path,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=headers,
        )
        return decode_json(endpoint_id, response, secret=self._secrets())

    def send(
        self,
        endpoint_id: str,
        content: bytes,
        *,
        path: str | None = None,
        start_timeout: float | datetime.timedelta | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST an already encoded JSON body; return the 2xx response or raise a ``FalError``.

        The lower-level half of :meth:`run`, used by typed endpoints to parse the raw bytes.
        """
        url = self._url(endpoint_id, path)
        request_headers: dict[str, str] | httpx.Headers
        if start_timeout is None and object_lifecycle is None and not headers:
            request_headers = dict(self._base_headers)  # the common case, kept cheap
        else:
            request_headers = self._headers(start_timeout, object_lifecycle, headers)
        return self._post_billed(url, endpoint_id, content, request_headers, timeout)

    def _post_billed(
        self,
        url: httpx.URL,
        endpoint_id: str,
        content: bytes,
        request_headers: dict[str, str] | httpx.Headers,
        timeout: TimeoutTypes | NotGiven,
        *,
        operation: str = "run",
        webhook_url: str | None = None,
    ) -> httpx.Response:
        """POST a billed request (a run or a submit): retried only when provably not sent."""
        key = self._require_key()
        request_headers["Authorization"] = f"Key {key}"
        secrets = _secrets(key)
        if isinstance(timeout, NotGiven):
            request_timeout, timeout_parts = self._timeout, self._timeout_parts
        else:
            request_timeout, timeout_parts = timeout, _timeout_extension(timeout)
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                if self._owns_http_client:
                    # Built directly: this client has no base URL, params, cookies or auth to
                    # merge (its default headers are in _base_headers), and ``post`` would
                    # merge them on every call (~5 % of a call). A copy of the timeout dict:
                    # httpx keeps the one it is given on the request.
                    request = httpx.Request(
                        "POST",
                        url,
                        content=content,
                        headers=request_headers,
                        extensions={"timeout": dict(timeout_parts)},
                    )
                    response = self._http.send(request, follow_redirects=False)
                else:
                    # A caller's client, through its public entry point: its own headers,
                    # cookies, params, auth, hooks and any overridden request() apply.
                    response = self._http.post(
                        url,
                        content=content,
                        headers=request_headers,
                        timeout=request_timeout,
                        follow_redirects=False,
                    )
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.PoolTimeout,
                httpx.ProxyError,
                httpx.UnsupportedProtocol,
            ) as exc:
                # Raised before a byte of the request went out: nothing ran.
                error = FalConnectionError(
                    f"could not connect to {url.scheme}://{url.netloc.decode()} for "
                    f"{endpoint_id}: {type(exc).__name__}: {exc}",
                    endpoint_id=endpoint_id,
                )
                if attempt < self.max_retries:
                    attempt = self._wait(endpoint_id, attempt, str(error), None)
                    continue
                raise error from exc
            except httpx.TransportError as exc:
                # Past this point the request may have been sent: never retried.
                raise outcome_unknown(endpoint_id, exc, operation, webhook_url) from exc
            elapsed = time.monotonic() - started
            request_id = redact(response.headers.get("x-fal-request-id"), secrets)
            logger.info(
                "POST %s%s -> %d in %.3fs (request_id=%s, retries=%d)",
                "queue " if operation == "submit" else "",
                endpoint_id,
                response.status_code,
                elapsed,
                request_id,
                attempt,
            )
            if response.is_success:
                return response
            error_obj = api_error(endpoint_id, response, secret=secrets)
            if attempt < self.max_retries and should_retry(response, error_obj.error_type):
                attempt = self._wait(endpoint_id, attempt, str(error_obj), response)
                continue
            raise error_obj

    # -- storage -----------------------------------------------------------------------------

    def upload(
        self,
        source: Uploadable,
        *,
        content_type: str | None = None,
        file_name: str | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> str:
        """Upload a file to fal's storage; return its URL, for a model's file input.

        The file is streamed, never read whole: a path or file object costs constant memory
        (multipart: at most ``parallelism`` parts of a stream that cannot seek). It goes to
        fal's CDN with a short-lived token (fetched with the key, cached); the key itself is
        sent to ``rest_url`` only. Failed requests are retried (transport errors, 408, 429,
        5xx; a multipart part alone); if the CDN stays down (5xx, unreachable) fal's storage
        fallback (a pre-signed upload) is used.

        Args:
            source: bytes, a path (``str``/``os.PathLike``) or a binary file object (read
                from its current position; one that cannot seek is read once, in order).
            content_type: default: guessed from the file name, else
                ``application/octet-stream``.
            file_name: the stored name (``X-Fal-File-Name``); default: the path's or file
                object's base name, none for bytes.
            object_lifecycle: seconds the file stays available (``X-Fal-Object-Lifecycle``).
            multipart_threshold: larger files are sent in parts (default 100 MiB).
            part_size: bytes per part (default 10 MiB; raised to stay within 10 000 parts).
            parallelism: parts sent at once (default 4).

        Raises:
            FileNotFoundError, IsADirectoryError, PermissionError: a bad path, before any
                request. TypeError: a text-mode file or another source type.
            FalAPIError: a refused request (e.g. ``AuthenticationError``, ``BadRequestError``).
            FalConnectionError: a host unreachable after the retries.
            InvalidResponseError: an answer that is not what fal's storage API sends.
        """
        from ._upload import upload  # imported on first use: most programs never upload

        return upload(
            self,
            source,
            content_type=content_type,
            file_name=file_name,
            object_lifecycle=object_lifecycle,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            parallelism=parallelism,
        )

    # -- the queue ---------------------------------------------------------------------------

    def submit(
        self,
        endpoint_id: str,
        arguments: Mapping[str, Any],
        *,
        path: str | None = None,
        webhook_url: str | None = None,
        priority: Priority | None = None,
        start_timeout: float | datetime.timedelta | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> QueueHandle[Any]:
        """Put a request in fal's queue (``POST {queue_url}/{endpoint_id}``) and return its handle.

        The submit is the billed step: like :meth:`run`, it is retried only when it provably
        did not reach fal, never after it was sent. Follow the request with the handle
        (``status``, ``iter_status``, ``result``, ``cancel``); its ``request_id`` is all that
        is needed to resume elsewhere (:meth:`get_handle`).

        Args:
            webhook_url: fal POSTs the result there on completion (``?fal_webhook=``); an
                absolute http(s) URL.
            priority: ``"normal"`` or ``"low"`` (``X-Fal-Queue-Priority``).
            The others: as for :meth:`run`.
        """
        content = encode_arguments(arguments)
        return self.submit_content(
            endpoint_id,
            content,
            path=path,
            webhook_url=webhook_url,
            priority=priority,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=headers,
            parse=self._decoder(endpoint_id),
        )

    def submit_content(
        self,
        endpoint_id: str,
        content: bytes,
        *,
        parse: Callable[[httpx.Response], ResultT],
        path: str | None = None,
        webhook_url: str | None = None,
        priority: Priority | None = None,
        start_timeout: float | datetime.timedelta | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> QueueHandle[ResultT]:
        """:meth:`submit` for an encoded JSON body; ``parse`` turns the result answer into the
        handle's result type. Used by typed endpoints."""
        validate_endpoint_id(endpoint_id)
        url = httpx.URL(
            submit_url(self.queue_url, endpoint_id, None if path is None else validate_path(path)),
            params=webhook_query(webhook_url) if webhook_url is not None else None,
        )
        request_headers = self._headers(start_timeout, object_lifecycle, headers)
        if priority is not None:
            request_headers["X-Fal-Queue-Priority"] = priority_header(priority)
        response = self._post_billed(
            url,
            endpoint_id,
            content,
            request_headers,
            timeout,
            operation="submit",
            webhook_url=webhook_url,
        )
        data = decode_json(endpoint_id, response, secret=self._secrets())
        request_id = submit_answer(endpoint_id, data, response, self._secrets())
        urls = urls_from_submit(data, self.queue_url, endpoint_id, request_id)
        logger.info("queued %s as request %s", endpoint_id, request_id)
        return QueueHandle(self, endpoint_id, request_id, urls=urls, parse=parse)

    def get_handle(self, endpoint_id: str, request_id: str) -> QueueHandle[Any]:
        """The handle of a request submitted earlier (maybe by another process), from its id."""
        validate_endpoint_id(endpoint_id)
        return QueueHandle(self, endpoint_id, request_id, parse=self._decoder(endpoint_id))

    def subscribe(
        self,
        endpoint_id: str,
        arguments: Mapping[str, Any],
        *,
        path: str | None = None,
        on_enqueue: Callable[[str], object] | None = None,
        on_status: Callable[[Status], object] | None = None,
        logs: bool = False,
        client_timeout: float | None = None,
        webhook_url: str | None = None,
        priority: Priority | None = None,
        start_timeout: float | datetime.timedelta | None = None,
        object_lifecycle: int | datetime.timedelta | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Submit, follow the request until it completes and return its result.

        Args:
            on_enqueue: called with the request id once queued (store it to resume).
            on_status: called with every status change (``Queued``, ``InProgress``, ...).
            logs: include runner logs in the statuses.
            client_timeout: seconds to wait in all; then the request is cancelled and
                ``QueueTimeoutError`` (with ``request_id``) is raised.
            The others: as for :meth:`submit`.
        """
        handle = self.submit(
            endpoint_id,
            arguments,
            path=path,
            webhook_url=webhook_url,
            priority=priority,
            start_timeout=start_timeout,
            object_lifecycle=object_lifecycle,
            timeout=timeout,
            headers=headers,
        )
        return follow_to_result(handle, on_enqueue, on_status, logs, client_timeout)

    def _decoder(self, endpoint_id: str) -> Callable[[httpx.Response], Any]:
        def decode(response: httpx.Response) -> Any:
            return decode_json(endpoint_id, response, secret=self._secrets())

        return decode

    def _read_timeout(self, remaining: float | None) -> httpx.Timeout:
        """The per-request timeout of a queue read, no longer than what is left of a wait."""
        parts = dict(self._timeout_parts)
        if remaining is not None:
            for name, seconds in parts.items():
                parts[name] = remaining if seconds is None else min(seconds, remaining)
        return httpx.Timeout(**parts)

    def _wait(
        self, endpoint_id: str, attempt: int, reason: str, response: httpx.Response | None
    ) -> int:
        delay = backoff_delay(attempt, response)
        logger.info(
            "retrying %s in %.2fs (retry %d of %d): %s",
            endpoint_id,
            delay,
            attempt + 1,
            self.max_retries,
            reason,
        )
        _sleep(delay)
        return attempt + 1

    def _url(self, endpoint_id: str, path: str | None) -> httpx.URL:
        cacheable = type(endpoint_id) is str and (path is None or type(path) is str)
        cache_key = (self.base_url, endpoint_id, path)
        url = self._urls.get(cache_key) if cacheable else None
        if url is None:
            text = f"{self.base_url}/{validate_endpoint_id(endpoint_id)}"
            if path is not None:
                text = f"{text}/{validate_path(path)}"
            url = httpx.URL(text)
            if cacheable:
                if len(self._urls) >= _MAX_CACHED_URLS:
                    self._urls.clear()
                self._urls[cache_key] = url
        return url

    def _headers(
        self,
        start_timeout: float | datetime.timedelta | None,
        object_lifecycle: int | datetime.timedelta | None,
        extra: Mapping[str, str] | None,
    ) -> httpx.Headers:
        headers = httpx.Headers(self._base_headers)
        if start_timeout is not None:
            headers["X-Fal-Request-Timeout"] = start_timeout_header(start_timeout)
        if object_lifecycle is not None:
            headers["X-Fal-Object-Lifecycle-Preference"] = lifecycle_header(object_lifecycle)
        if extra:
            for name, value in extra.items():
                _check_header(name, value)
            headers.update(extra)
        return headers

    def _require_key(self) -> str:
        key = self._key or _key_from_env()
        if not key:
            raise MissingCredentialsError(
                "no fal API key: pass FalClient(key=...) or set FAL_KEY "
                "(or FAL_KEY_ID and FAL_KEY_SECRET)"
            )
        if not _KEY.fullmatch(key):
            # Never quote the key: this message may end up in logs.
            raise ValueError(
                "the fal API key contains whitespace or characters not allowed in an HTTP "
                "header (a trailing newline from a file?); strip it"
            )
        return key

    def _secrets(self) -> tuple[str, ...]:
        """What to scrub from errors built from server answers (the key and its secret part)."""
        return _secrets(self._key or _key_from_env())


def encode_arguments(arguments: Mapping[str, Any]) -> bytes:
    """The JSON body of an untyped call (NaN and infinities are refused, not sent)."""
    if not isinstance(arguments, Mapping):
        raise TypeError(f"arguments must be a mapping, not {type(arguments).__name__}")
    return json.dumps(dict(arguments), ensure_ascii=False, allow_nan=False).encode()


def follow_to_result(
    handle: QueueHandle[ResultT],
    on_enqueue: Callable[[str], object] | None,
    on_status: Callable[[Status], object] | None,
    logs: bool,
    client_timeout: float | None,
) -> ResultT:
    """``subscribe`` after the submit: follow, fetch; cancel when ``client_timeout`` expires."""
    if on_enqueue is not None:
        on_enqueue(handle.request_id)
    try:
        return handle.result(timeout=client_timeout, logs=logs, on_status=on_status)
    except QueueTimeoutError as exc:
        try:
            cancelled = handle.cancel()
        except FalError as cancel_error:
            logger.warning("could not cancel %r after its timeout: %s", handle, cancel_error)
            cancelled = False
        raise QueueTimeoutError(
            f"{handle.endpoint_id}: request {handle.request_id} did not complete within "
            f"client_timeout={client_timeout}s; "
            + ("it was cancelled." if cancelled else "cancelling it failed or it had completed."),
            endpoint_id=handle.endpoint_id,
            request_id=handle.request_id,
            cancelled=cancelled,
        ) from exc


def outcome_unknown(
    endpoint_id: str, exc: Exception, operation: str, webhook_url: str | None
) -> RequestOutcomeUnknownError:
    """The error for a billed request whose connection broke after it was sent."""
    sent_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    logger.warning(
        "POST %s: connection lost after sending (%s); outcome unknown",
        endpoint_id,
        type(exc).__name__,
    )
    if operation == "submit":
        recovery = (
            "The request may have been queued and billed; it was not submitted again. No "
            f"request id was received: look for the request sent at {sent_at.isoformat()} in "
            "fal's request history"
            + (f", or wait for its webhook at {webhook_url}" if webhook_url else "")
            + "."
        )
    else:
        recovery = (
            "The request may have run and been billed; it was not retried. For long jobs use "
            "the queue (client.submit/subscribe, or .submit/.subscribe on a typed endpoint): "
            "once submitted, a lost status or result is fetched again by request id."
        )
    return RequestOutcomeUnknownError(
        f"{endpoint_id}: the connection broke after the {operation} request was sent "
        f"({type(exc).__name__}: {exc}). {recovery}",
        endpoint_id=endpoint_id,
        operation=operation,
        sent_at=sent_at,
        webhook_url=webhook_url,
    )


def _secrets(key: str | None) -> tuple[str, ...]:
    if not key:
        return ()
    _, _, secret = key.partition(":")  # FAL_KEY_ID:FAL_KEY_SECRET
    return (key, secret) if secret else (key,)


def _timeout_extension(value: object) -> dict[str, float | None]:
    """httpx's per-request timeout for ``value``; a bad one is refused before anything is sent.

    httpx itself would accept a str or a negative number here and fail only when connecting,
    with an error that does not say which argument was wrong.
    """
    if isinstance(value, httpx.Timeout):
        parts: dict[str, Any] = value.as_dict()
    elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        parts = httpx.Timeout(value).as_dict()
    else:
        raise TypeError(
            "timeout must be seconds (int or float), an httpx.Timeout or None, "
            f"not {type(value).__name__}"
        )
    for name, seconds in parts.items():
        if seconds is None:
            continue
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout {name} must be seconds or None, not {type(seconds).__name__}")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(
                f"timeout must be a finite number of seconds > 0 (None disables it), "
                f"got {name}={seconds!r}"
            )
    return parts


def _check_header(name: object, value: object) -> None:
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(
            f"extra header names and values must be str, got {type(name).__name__}: "
            f"{type(value).__name__}"
        )
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"invalid extra header name {name!r}")
    if not _HEADER_VALUE.fullmatch(value):
        # The value is not quoted: it may be a credential.
        raise ValueError(
            f"invalid value for extra header {name!r}: only visible ASCII characters, "
            "with spaces or tabs between them, are allowed"
        )


def decode_json(endpoint_id: str, response: httpx.Response, *, secret: tuple[str, ...] = ()) -> Any:
    """Decode a 2xx JSON body, raising ``InvalidResponseError`` (never JSONDecodeError).

    ``secret`` (the key) is scrubbed from the error, in case a server echoes it.
    """
    try:
        return json.loads(response.content)
    except ValueError as exc:
        reason = str(exc)  # where decoding failed; the error's .doc holds the whole body
    # Raised outside the ``except``: the decoder's error is not chained, since it keeps the
    # unredacted body.
    request_id = redact(response.headers.get("x-fal-request-id"), secret)
    text = redact(response.text, secret)
    raise InvalidResponseError(
        f"{response.status_code} {endpoint_id}: the answer is not valid JSON "
        f"(request_id={request_id}): {describe_text(text) or 'empty body'!s} ({reason})",
        endpoint_id=endpoint_id,
        status_code=response.status_code,
        request_id=request_id,
        text=text[:1000],
    )


_default_client: FalClient | None = None
_default_lock = threading.Lock()


def default_client() -> FalClient:
    """The shared client used when no ``client=`` is passed, created on first use."""
    global _default_client
    if _default_client is None:
        with _default_lock:
            if _default_client is None:
                _default_client = FalClient()
    return _default_client

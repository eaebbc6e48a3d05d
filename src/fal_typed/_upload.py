"""The synchronous uploader behind ``FalClient.upload``: sends what ``_upload_plan`` builds.

Only I/O lives here (the retry loop, threads for parts, the token cache's lock); every URL,
header, body, answer check and decision comes from ``_upload_plan``, which an async twin
shares.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

import httpx

from ._exceptions import FalAPIError, FalConnectionError, FalError, api_error, redact
from ._options import lifecycle_header
from ._retry import read_delay, should_retry_read, should_retry_read_error
from ._upload_plan import (
    CHUNK_SIZE,
    CdnToken,
    Multipart,
    Part,
    Step,
    check_content_type,
    check_file_name,
    check_options,
    complete_step,
    falls_back,
    head_limit,
    initiate_step,
    multipart_step,
    parse_access_url,
    parse_etag,
    parse_initiate,
    parse_multipart,
    parse_token,
    part_step,
    plan_parts,
    presigned_step,
    resolve_content_type,
    resolve_file_name,
    single_step,
    token_is_fresh,
    token_owner,
    token_step,
    use_multipart,
)
from ._upload_source import Source, open_source

if TYPE_CHECKING:
    import datetime

    from ._client import FalClient

__all__ = ["upload"]

logger = logging.getLogger("fal_typed")
# Module-level so tests can record back-off waits and move the clock.
_sleep = time.sleep
_now = time.time

# The most of an answer that is read: they are small JSON objects, and a server-named host
# must not make the client buffer an endless body.
MAX_ANSWER = 1024 * 1024

BodyFactory = Callable[[], Iterable[bytes]]


def upload(
    client: FalClient,
    source: object,
    *,
    content_type: str | None,
    file_name: str | None,
    object_lifecycle: int | datetime.timedelta | None,
    multipart_threshold: int,
    part_size: int,
    parallelism: int,
) -> str:
    """``FalClient.upload``: check everything, open the source, then send."""
    check_options(multipart_threshold, part_size, parallelism)
    content_type = check_content_type(content_type)
    file_name = check_file_name(file_name)
    lifecycle = None if object_lifecycle is None else lifecycle_header(object_lifecycle)
    key = client._require_key()
    with open_source(source) as opened:
        name = resolve_file_name(file_name, opened.name)
        job = _Upload(
            client,
            key,
            opened,
            name=name,
            content_type=resolve_content_type(content_type, name),
            lifecycle=lifecycle,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            parallelism=parallelism,
        )
        return job.run()


class _Upload:
    """One upload: the CDN flow, and the storage fallback when the CDN is down."""

    def __init__(
        self,
        client: FalClient,
        key: str,
        source: Source,
        *,
        name: str | None,
        content_type: str,
        lifecycle: str | None,
        multipart_threshold: int,
        part_size: int,
        parallelism: int,
    ) -> None:
        self.client = client
        self.key = key
        self.source = source
        self.name = name
        self.content_type = content_type
        self.lifecycle = lifecycle
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.parallelism = parallelism
        self.owner = token_owner(client.rest_url, key)
        self.secrets: tuple[str, ...] = client._secrets()
        # Every CDN token this upload sent, scrubbed from whatever it reports.
        self.tokens: list[str] = []
        # A stream's first bytes, when they were all of it: sent (and resent) from memory.
        self.buffered: bytearray | None = None
        self.size = source.size
        self.multipart = False

    # -- the flows -------------------------------------------------------------------------

    def run(self) -> str:
        started = time.monotonic()
        try:
            url = self._cdn()
        except FalError as exc:
            if not falls_back(exc):
                raise
            if self._body() is None:
                exc.args = (
                    f"{exc} (fal's storage fallback was not tried: the source is a stream that "
                    "cannot seek and was already read; pass bytes, a path or a seekable file "
                    "to let the upload be retried)",
                )
                raise
            logger.warning("CDN upload failed (%s); using fal's storage fallback", exc)
            url = self._fallback()
        logger.info(
            "uploaded %s (%s bytes%s) in %.3fs",
            self.name or "bytes",
            self.size,
            ", multipart" if self.multipart else "",
            time.monotonic() - started,
        )
        return url

    def _cdn(self) -> str:
        if self.size is None:
            limit = head_limit(self.multipart_threshold, self.part_size)
            head = self.source.read_stream(limit + 1)
            if len(head) <= limit:
                self.buffered, self.size = head, len(head)
                return self._single()
            parts = self._stream_parts(head)
            del head  # the parts own it now: held here, it would be one buffered part too many
            return self._multipart(parts)
        if use_multipart(self.size, self.multipart_threshold):
            return self._multipart(self._planned_parts(self.size))
        return self._single()

    def _single(self) -> str:
        size, body = self.size, self._body()
        assert size is not None and body is not None
        response = self._send(
            lambda: single_step(self._token(), self.content_type, self.name, self.lifecycle, size),
            cdn=True,
            body=body,
        )
        return parse_access_url(response, self._secrets())

    def _multipart(self, parts: Iterator[tuple[Part, BodyFactory]]) -> str:
        self.multipart = True
        response = self._send(
            lambda: multipart_step(self._token(), self.content_type, self.name, self.lifecycle),
            cdn=True,
        )
        started = parse_multipart(response, self._secrets())
        etags = self._send_parts(started, parts)
        self._send(lambda: complete_step(self._token(), started, etags), cdn=True)
        return started.access_url

    def _fallback(self) -> str:
        size, body = self.size, self._body()
        assert size is not None and body is not None
        rest_url = self.client.rest_url
        response = self._send(
            lambda: initiate_step(rest_url, self.key, self.name, self.content_type, self.lifecycle)
        )
        target = parse_initiate(response, self._secrets())
        self._send(
            lambda: presigned_step(target, self.content_type, size),
            body=body,
            foreign=True,
            # The signature in its query grants write access: kept out of errors too.
            extra_secrets=(httpx.URL(target.upload_url).query.decode(),),
        )
        return target.file_url

    # -- bodies and parts ------------------------------------------------------------------

    def _body(self) -> BodyFactory | None:
        """The whole source from its start, again on every call; None once a stream is
        consumed."""
        buffered, size = self.buffered, self.size
        if buffered is not None:
            return lambda: _memory_chunks(buffered)
        if self.source.rereadable and size is not None:
            return lambda: self.source.read_range(0, size)
        return None

    def _planned_parts(self, size: int) -> Iterator[tuple[Part, BodyFactory]]:
        for part in plan_parts(size, self.part_size):
            yield part, _range_body(self.source, part)

    def _stream_parts(self, head: bytearray) -> Iterator[tuple[Part, BodyFactory]]:
        """A stream's parts, each read (and held) only when a slot for it is free."""
        carry = head
        del head
        number, offset = 1, 0
        while True:
            if len(carry) >= self.part_size:
                data, carry = carry, carry[self.part_size :]
                del data[self.part_size :]
            else:
                data = bytearray(self.part_size)
                data[: len(carry)] = carry
                del data[self.source.read_into(data, len(carry)) :]
                carry = bytearray()
            if not data and number > 1:
                break
            yield Part(number, offset, len(data)), _memory_body(data)
            offset += len(data)
            if len(data) < self.part_size:
                break
            number += 1
        self.size = offset

    def _send_parts(
        self, started: Multipart, parts: Iterator[tuple[Part, BodyFactory]]
    ) -> list[tuple[int, str]]:
        """Send the parts, at most ``parallelism`` at a time (and so in memory, for a stream);
        a failed part is retried alone. Returns (number, ETag) pairs."""
        slots = threading.Semaphore(self.parallelism)
        failed = threading.Event()
        futures: list[Future[tuple[int, str]]] = []

        def done(future: Future[tuple[int, str]]) -> None:
            if not future.cancelled() and future.exception() is not None:
                failed.set()
            slots.release()

        pool = ThreadPoolExecutor(self.parallelism, thread_name_prefix="fal-typed-upload")
        try:
            while True:
                slots.acquire()
                if failed.is_set():
                    break
                item = next(parts, None)  # a stream's next part is read here, in a free slot
                if item is None:
                    break
                part, body = item
                # The body goes in a list the worker empties: the pool keeps a task's
                # arguments until after its slot is released, and a stream's next part would
                # then be read while the finished one is still in memory.
                future = pool.submit(self._send_part, started, part, [body])
                del item, body
                future.add_done_callback(done)
                futures.append(future)
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                error = future.exception() if future.done() and not future.cancelled() else None
                if error is not None:
                    raise error
            return [future.result() for future in futures]
        finally:
            # After a failure the parts not yet started are dropped; those in flight finish.
            pool.shutdown(wait=True, cancel_futures=True)

    def _send_part(
        self, started: Multipart, part: Part, holder: list[BodyFactory]
    ) -> tuple[int, str]:
        body = holder.pop()
        response = self._send(
            lambda: part_step(self._token(), started, part, self.content_type),
            cdn=True,
            body=body,
        )
        return part.number, parse_etag(response, part, self._secrets())

    # -- the token -------------------------------------------------------------------------

    def _token(self) -> CdnToken:
        """The cached CDN token, fetched once for all threads when missing or stale."""
        client = self.client
        token: CdnToken | None = client._cdn_token
        if token_is_fresh(token, self.owner, _now()):
            assert token is not None
            return token
        with client._cdn_token_lock:
            token = client._cdn_token
            if not token_is_fresh(token, self.owner, _now()):
                response = self._send(lambda: token_step(client.rest_url, self.key))
                token = parse_token(response, self.owner, _now(), self._secrets())
                client._cdn_token = token
            assert token is not None
            return token

    def _drop_token(self, token: str) -> None:
        client = self.client
        with client._cdn_token_lock:
            cached = client._cdn_token
            if cached is not None and cached.token == token:
                client._cdn_token = None

    def _secrets(self) -> tuple[str, ...]:
        return (*self.secrets, *self.tokens)

    # -- one request -----------------------------------------------------------------------

    def _send(
        self,
        build: Callable[[], Step],
        *,
        cdn: bool = False,
        foreign: bool = False,
        body: BodyFactory | None = None,
        extra_secrets: tuple[str, ...] = (),
    ) -> httpx.Response:
        """Send a step, retried like any idempotent call (transport errors, 408, 429, 5xx).

        ``build`` runs before every attempt (a retry may need a fresh token) and ``body``
        restarts the body from its first byte. A CDN 401 drops the cached token and retries
        once with a new one. CDN and pre-signed hosts go through the credential-free pool.
        """
        client = self.client
        http = client._foreign_http() if cdn or foreign else client._http
        failures = 0
        renewed = False
        while True:
            step = build()
            token = ""
            if cdn:
                token = step.headers["Authorization"].partition(" ")[2]
                if token not in self.tokens:
                    self.tokens.append(token)
            secrets = (*self._secrets(), *extra_secrets)
            response: httpx.Response | None = None
            try:
                response = _exchange(http, step, body, client._read_timeout(None))
            except httpx.TransportError as exc:
                if not should_retry_read_error(exc):
                    raise _connection_error(step, exc, secrets) from exc
                failure: Exception = exc
            else:
                if response.is_success:
                    return response
                error = api_error(step.what, response, secret=secrets)
                if cdn and response.status_code == 401 and not renewed:
                    # The cached token was revoked or expired early: fetch a new one.
                    renewed = True
                    self._drop_token(token)
                    logger.info("%s: %s; retrying with a new CDN token", step.what, error)
                    continue
                if not should_retry_read(response.status_code):
                    raise error
                failure = error
            failures += 1
            delay = read_delay(failures, client.max_retries, response, None)
            if delay is None:
                if isinstance(failure, FalAPIError):
                    raise failure
                raise _connection_error(step, failure, secrets) from failure
            logger.info(
                "%s failed (%s); retry %d of %d in %.2fs",
                step.what,
                redact(str(failure), secrets),
                failures,
                client.max_retries,
                delay,
            )
            _sleep(delay)


def _exchange(
    http: httpx.Client, step: Step, body: BodyFactory | None, timeout: httpx.Timeout
) -> httpx.Response:
    """Send one request and read at most ``MAX_ANSWER`` of its answer."""
    content: bytes | Iterable[bytes] | None = body() if body is not None else step.content
    with http.stream(
        step.method,
        step.url,
        content=content,
        headers=step.headers,
        timeout=timeout,
        follow_redirects=False,  # a body cannot be replayed, and the token must not travel
    ) as response:
        received = bytearray()
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) > MAX_ANSWER:
                break
    # Decoded already: a Content-Encoding header would make httpx decode it twice.
    headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=bytes(received[:MAX_ANSWER]),
        request=response.request,
    )


def _connection_error(step: Step, exc: Exception, secrets: tuple[str, ...]) -> FalConnectionError:
    url = httpx.URL(step.url)
    return FalConnectionError(
        redact(
            f"{step.what}: {step.method} to {url.scheme}://{url.netloc.decode()} failed: "
            f"{type(exc).__name__}: {exc}",
            secrets,
        ),
        endpoint_id=step.what,
    )


def _memory_chunks(data: bytearray) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK_SIZE):
        yield bytes(view[start : start + CHUNK_SIZE])


def _memory_body(data: bytearray) -> BodyFactory:
    return lambda: _memory_chunks(data)


def _range_body(source: Source, part: Part) -> BodyFactory:
    return lambda: source.read_range(part.offset, part.length)

"""Fakes of fal's storage hosts for the upload tests: real threaded HTTP servers on 127.0.0.1.

Three separate servers, as in production: fal's REST host (token, fallback initiate), the CDN
(single-shot and multipart) and the pre-signed upload host. Each records every request
(method, path, query, headers, body length and sha256; small bodies kept) and can be told to
fail a route a given number of times. No tests here: it is named like the upload tests only
to stay with them.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

KEY = "fal-key-id:fal-key-secret-8d1f"
KEY_SECRET = "fal-key-secret-8d1f"
CDN_TOKEN_PREFIX = "cdn-token-c4f2"
KEPT_BODY = 64 * 1024


@dataclass(frozen=True)
class Seen:
    """One received request."""

    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]  # lower-cased names
    length: int
    sha256: str
    body: bytes  # kept only when at most KEPT_BODY bytes
    chunked: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: float
    body: Any = None  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


Answer = tuple[int, dict[str, str], bytes]


def _json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class FakeHost:
    """A recording HTTP server; ``route(seen) -> (status, headers, body)`` answers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay: dict[str, float] = {}  # method + " " + path regex -> seconds before answering
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                outer._handle(self)

            do_GET = do_POST = do_PUT = handle_any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    # -- to override -------------------------------------------------------------------------

    def route(self, seen: Seen) -> Answer:
        return _json_answer(404, {"detail": f"no route {seen.method} {seen.path}"})

    # -- test helpers ------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int = 503,
        *,
        times: float = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        """Answer ``status`` (or drop the connection) to the next ``times`` matching requests."""
        with self._lock:
            self.faults.append(
                Fault(method, re.compile(path), status, times, body, headers or {}, close)
            )

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            requests = list(self.requests)
        return [
            r
            for r in requests
            if (method is None or r.method == method)
            and (path is None or re.fullmatch(path, r.path))
        ]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    # -- the server --------------------------------------------------------------------------

    def _read_body(self, handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes, bool]:
        digest = hashlib.sha256()
        kept = bytearray()
        length = 0

        def take(chunk: bytes) -> None:
            nonlocal length
            digest.update(chunk)
            length += len(chunk)
            if len(kept) <= KEPT_BODY:
                kept.extend(chunk[: KEPT_BODY + 1 - len(kept)])

        chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            while True:
                size = int(handler.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    handler.rfile.readline()
                    break
                take(handler.rfile.read(size))
                handler.rfile.readline()
        else:
            remaining = int(handler.headers.get("Content-Length", "0"))
            while remaining:
                chunk = handler.rfile.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                take(chunk)
                remaining -= len(chunk)
        body = bytes(kept) if length <= KEPT_BODY else b""
        return length, digest.hexdigest(), body, chunked

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        is_put = handler.command == "PUT"
        if is_put:
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            length, sha, body, chunked = self._read_body(handler)
            seen = Seen(
                handler.command,
                unquote(parts.path),
                parts.query,
                {k.lower(): v for k, v in handler.headers.items()},
                length,
                sha,
                body,
                chunked,
            )
            with self._lock:
                self.requests.append(seen)
                fault = next(
                    (
                        f
                        for f in self.faults
                        if f.times > 0 and f.method == seen.method and f.path.fullmatch(seen.path)
                    ),
                    None,
                )
                if fault is not None:
                    fault.times -= 1
            for pattern, seconds in self.delay.items():
                method, _, path = pattern.partition(" ")
                if method == seen.method and re.fullmatch(path, seen.path):
                    time.sleep(seconds)
            if fault is not None and fault.close:
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            if fault is not None and isinstance(fault.body, bytes):
                status, headers, payload = fault.status, fault.headers, fault.body
            elif fault is not None:
                status, headers, payload = _json_answer(
                    fault.status,
                    fault.body if fault.body is not None else {"detail": "injected fault"},
                    fault.headers,
                )
            elif chunked:
                status, headers, payload = _json_answer(411, {"detail": "chunked body"})
            else:
                status, headers, payload = self.route(seen)
        finally:
            if is_put:
                with self._lock:
                    self.in_flight -= 1
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class Clock:
    """The fakes' notion of now (epoch seconds), shiftable by tests."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class FakeRest(FakeHost):
    """fal's REST host: CDN tokens and the storage fallback's initiate."""

    def __init__(self, clock: Clock) -> None:
        super().__init__("rest")
        self.clock = clock
        self.cdn_url = ""
        self.presigned_url = ""
        self.token_lifetime = 3600.0
        self.issued: list[str] = []
        self.expires_at: Callable[[float], Any] = _iso

    def route(self, seen: Seen) -> Answer:
        if seen.headers.get("authorization") != f"Key {KEY}":
            return _json_answer(401, {"detail": "bad key"})
        if seen.method == "POST" and seen.path == "/storage/auth/token":
            if seen.query != "storage_type=fal-cdn-v3" or seen.json() != {}:
                return _json_answer(400, {"detail": "bad token request"})
            with self._lock:
                token = f"{CDN_TOKEN_PREFIX}-{len(self.issued) + 1}"
                self.issued.append(token)
            return _json_answer(
                200,
                {
                    "token": token,
                    "token_type": "Bearer",
                    "base_url": self.cdn_url,
                    "expires_at": self.expires_at(self.clock() + self.token_lifetime),
                },
            )
        if seen.method == "POST" and seen.path == "/storage/upload/initiate":
            body = seen.json()
            if seen.query != "storage_type=gcs" or set(body) != {"file_name", "content_type"}:
                return _json_answer(400, {"detail": "bad initiate request"})
            name = body["file_name"]
            return _json_answer(
                200,
                {
                    "upload_url": f"{self.presigned_url}/bucket/{name}?X-Goog-Signature=sig-5e1b",
                    "file_url": f"https://storage.example/bucket/{name}",
                },
            )
        return super().route(seen)


def _iso(epoch: float) -> str:
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeCdn(FakeHost):
    """fal's CDN: single-shot and multipart uploads, token-checked."""

    def __init__(self, rest: FakeRest) -> None:
        super().__init__("cdn")
        self.rest = rest
        self.uploads = 0
        # upload id -> {part number: etag} of the parts received
        self.parts: dict[str, dict[int, str]] = {}
        self.completed: dict[str, list[dict[str, Any]]] = {}

    def route(self, seen: Seen) -> Answer:
        auth = seen.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.rest.issued:
            return _json_answer(401, {"detail": "bad token"})
        name = seen.headers.get("x-fal-file-name", "file")
        if seen.method == "POST" and seen.path == "/files/upload":
            return _json_answer(200, {"access_url": f"{self.url}/files/single/{name}"})
        if seen.method == "POST" and seen.path == "/files/upload/multipart":
            with self._lock:
                self.uploads += 1
                upload_id = f"up-{self.uploads}"
                self.parts[upload_id] = {}
            return _json_answer(
                200, {"access_url": f"{self.url}/files/mp/{name}", "uploadId": upload_id}
            )
        match = re.fullmatch(r"/files/mp/[^/]+/multipart/([^/]+)/(\d+|complete)", seen.path)
        if match and match[1] in self.parts:
            upload_id = match[1]
            if seen.method == "PUT" and match[2] != "complete":
                etag = f'"{seen.sha256[:16]}"'
                with self._lock:
                    self.parts[upload_id][int(match[2])] = etag
                return 200, {"ETag": etag}, b""
            if seen.method == "POST" and match[2] == "complete":
                parts = seen.json()["parts"]
                expected = [
                    {"partNumber": n, "etag": e} for n, e in sorted(self.parts[upload_id].items())
                ]
                if parts != expected:
                    return _json_answer(400, {"detail": "parts do not match"})
                self.completed[upload_id] = parts
                return _json_answer(200, {"ok": True})
        return super().route(seen)


class FakePresigned(FakeHost):
    """The pre-signed upload host of the fallback (a GCS-like bucket)."""

    def __init__(self) -> None:
        super().__init__("presigned")

    def route(self, seen: Seen) -> Answer:
        if (
            seen.method == "PUT"
            and seen.path.startswith("/bucket/")
            and seen.query == "X-Goog-Signature=sig-5e1b"
        ):
            return 200, {}, b""
        return super().route(seen)


@dataclass
class Fakes:
    clock: Clock
    rest: FakeRest
    cdn: FakeCdn
    presigned: FakePresigned

    @property
    def hosts(self) -> tuple[FakeHost, ...]:
        return (self.rest, self.cdn, self.presigned)

    def total(self) -> int:
        return sum(len(h.requests) for h in self.hosts)

    def check_secrets(self) -> None:
        """The key reached only the REST host; CDN tokens only the CDN; nothing Authorization
        reached the pre-signed host."""
        secrets = (KEY, KEY_SECRET)
        for host in (self.cdn, self.presigned):
            for seen in host.requests:
                for name, value in seen.headers.items():
                    assert not any(s in value for s in secrets), (host.name, name)
                assert not any(s in seen.query or s in seen.path for s in secrets)
        for seen in self.presigned.requests:
            assert "authorization" not in seen.headers
            assert CDN_TOKEN_PREFIX not in str(seen.headers)
        for seen in self.rest.requests:
            assert CDN_TOKEN_PREFIX not in str(seen.headers)
            assert CDN_TOKEN_PREFIX.encode() not in seen.body


def start_fakes() -> Iterator[Fakes]:
    clock = Clock()
    rest = FakeRest(clock)
    cdn = FakeCdn(rest)
    presigned = FakePresigned()
    rest.cdn_url = cdn.url
    rest.presigned_url = presigned.url
    fakes = Fakes(clock, rest, cdn, presigned)
    try:
        yield fakes
    finally:
        for host in fakes.hosts:
            host.stop()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

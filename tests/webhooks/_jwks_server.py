"""A real HTTP server on 127.0.0.1 serving a JWK set that tests can change."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class JWKSServer:
    """Serves ``jwks`` (or ``status``/``raw`` when set) and records each request's headers."""

    def __init__(self, jwks: Any) -> None:
        self.jwks = jwks
        self.status = 200
        self.raw: bytes | None = None
        self.requests: list[dict[str, str]] = []  # lower-cased header names
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append({k.lower(): v for k, v in self.headers.items()})
                    status, raw = outer.status, outer.raw
                    body = raw if raw is not None else json.dumps(outer.jwks).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def fetches(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> JWKSServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class Clock:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

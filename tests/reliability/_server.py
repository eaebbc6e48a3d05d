"""A raw-socket HTTP/1.1 server on 127.0.0.0/8 for transport faults.

Unlike ``http.server`` it can misbehave on purpose: close without answering, reset the
connection (RST) mid-answer, declare a longer body than it sends, stall, or send garbage. It
records every complete request it read, counts the connections it accepted and knows how many
are still open, so tests can check that the client neither re-sent a request nor leaked a
connection.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What the server does with one request.

    ``close``: read the request, then close the connection without answering.
    ``raw``: send these bytes instead of a well-formed answer, then close.
    ``content_length``: the declared length (default: the body's); a larger value sends the
    body and closes, leaving the client short of bytes.
    ``reset``: after sending the head and ``body[:reset_after]`` (or ``raw``), reset the
    connection (RST).
    ``delay``: seconds to wait before answering; ``stall``: seconds to wait between the head
    and the body.
    """

    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    content_length: int | None = None
    close: bool = False
    raw: bytes | None = None
    reset: bool = False
    reset_after: int = 0
    delay: float = 0.0
    stall: float = 0.0
    keep_alive: bool = True

    @staticmethod
    def json(status: int, value: Any, **headers: str) -> Answer:
        return Answer(
            status,
            json.dumps(value).encode(),
            (("Content-Type", "application/json"), *_headers(headers)),
        )

    @staticmethod
    def text(status: int, text: str, content_type: str = "text/html", **headers: str) -> Answer:
        return Answer(status, text.encode(), (("Content-Type", content_type), *_headers(headers)))


def _headers(headers: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name.replace("_", "-"), value) for name, value in headers.items())


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    header_lines: tuple[str, ...] = ()  # as sent: names in their case, in order


_REASONS = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error"}


class RawServer:
    """Answers each request with the next scripted :class:`Answer` (default 200 ``{"ok": true}``).

    The port is bound at once, but connections are refused until :meth:`start` (a server that
    is not up yet).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Request] = []
        self.accepted = 0
        self._open = 0
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # -- control -----------------------------------------------------------------------

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def clear_script(self) -> None:
        with self._lock:
            self._script.clear()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    def wait_closed(self, timeout: float = 2.0) -> bool:
        """Whether every accepted connection was closed within ``timeout`` seconds."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self.open_connections == 0:
                return True
            deadline.wait(0.01)
        return self.open_connections == 0

    def start(self) -> RawServer:
        self._sock.listen(64)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        if self._thread.ident is not None:  # started
            self._thread.join(5)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)
        self._sock.close()

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self._stop.is_set():
                conn.close()
                return
            with self._lock:
                self.accepted += 1
                self._open += 1
                self._conns.add(conn)
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    answer = self._script.popleft() if self._script else Answer()
                if not self._answer(conn, answer):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._open -= 1
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            rest += chunk
        return Request(method, path, headers, rest[:length], tuple(lines[1:])), rest[length:]

    def _wait(self, conn: socket.socket, seconds: float) -> bool:
        """Wait; False as soon as the server stops or the client hangs up."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([conn], [], [], min(left, 0.02))
            if self._stop.is_set():
                return False
            if readable and not conn.recv(1, socket.MSG_PEEK):
                return False  # the client closed its end
        return True

    def _answer(self, conn: socket.socket, answer: Answer) -> bool:
        """Send ``answer``; whether the connection stays open for another request."""
        if answer.delay and not self._wait(conn, answer.delay):
            return False
        if answer.close:
            conn.shutdown(socket.SHUT_RDWR)
            return False
        if answer.raw is not None:
            conn.sendall(answer.raw)
            if answer.reset:
                _reset(conn)
            return False
        declared = len(answer.body) if answer.content_length is None else answer.content_length
        reason = _REASONS.get(answer.status, "Status")
        lines = [f"HTTP/1.1 {answer.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in answer.headers]
        lines.append(f"Content-Length: {declared}")
        if not answer.keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not (answer.stall or answer.reset):  # one write: no Nagle/delayed-ACK pause
            conn.sendall(head + answer.body)
            return answer.keep_alive and declared == len(answer.body)
        conn.sendall(head)
        if answer.stall and not self._wait(conn, answer.stall):
            return False
        if answer.reset:
            conn.sendall(answer.body[: answer.reset_after])
            _reset(conn)
            return False
        conn.sendall(answer.body)
        return answer.keep_alive and declared == len(answer.body)


def _reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@contextlib.contextmanager
def refusing_port() -> Iterator[str]:
    """A URL whose port refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def unanswered_port() -> Iterator[str]:
    """A URL where connecting times out: a listener that never accepts, its backlog full.

    Linux drops SYNs to a listener whose accept queue is full, so the client's connect()
    waits for a SYN-ACK that never comes, like a black-holed host, without leaving 127.0.0.1.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(64):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(address)
            _, writable, _ = select.select([], [filler], [], 0.2)
            if not writable:
                break  # this one is stuck in SYN-SENT: the queue is full
        else:  # pragma: no cover - a kernel that never fills the queue
            raise RuntimeError("could not fill the listen backlog")
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()

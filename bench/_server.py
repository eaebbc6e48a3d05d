"""A minimal, fast HTTP/1.1 server for the per-call benchmark (run as a separate process).

It answers every POST with a fixed fast-sdxl-shaped JSON output: 4 images, or 100 images when
the path starts with ``/big/``. Keep-alive, no parsing beyond the request line and
Content-Length, nothing logged: as little server time per call as possible, so the client's
overhead dominates the figures. Prints the port it listens on, then serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any


def output(images: int) -> bytes:
    """A FastSdxlOutput with ``images`` images."""
    data: dict[str, Any] = {
        "images": [
            {
                "url": f"https://v3.fal.media/files/bench/image-{i:03d}.jpeg",
                "width": 1024,
                "height": 768,
                "content_type": "image/jpeg",
            }
            for i in range(images)
        ],
        "timings": {"inference": 0.8123},
        "seed": 1234567,
        "has_nsfw_concepts": [False] * images,
        "prompt": "a cat",
    }
    return json.dumps(data).encode()


def response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-fal-request-id: 00000000-0000-0000-0000-000000000000\r\n"
        "\r\n"
    )
    return head.encode() + body


SMALL = response(output(4))
BIG = response(output(100))


class Handler(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            path = head.split(" ", 2)[1]
            assert self.transport is not None
            self.transport.write(BIG if path.startswith("/big/") else SMALL)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Handler, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    # Stop when the parent closes our stdin (or dies).
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())

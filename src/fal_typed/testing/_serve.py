"""``fal-typed emulate``: serve the emulator from the shell until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from fal_typed._document import DocumentError

from ._emulator import FalEmulator

__all__ = ["emulate_command"]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def emulate_command(paths: list[Path], *, port: int, key: str | None) -> int:
    """Run the emulator for ``paths`` (default ``schemas/``) on 127.0.0.1:``port``.

    Prints the URL, the endpoints and how to point the SDK at it, then serves until
    interrupted. Returns the exit code: 0 after Ctrl-C/SIGTERM, 2 for unusable documents or
    an unavailable port.
    """
    try:
        emulator = FalEmulator(schemas=paths or [Path("schemas")], key=key, port=port, log=_log)
    except (DocumentError, ValueError) as exc:
        print(f"fal-typed emulate: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except OSError as exc:
        print(f"fal-typed emulate: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        shown_key = key if key is not None else "any non-empty key"
        lines = [
            f"fal emulator listening on {emulator.url}",
            f"queue (fal's queue.fal.run) on {emulator.queue_url}",
            f"key: {shown_key}",
            f"endpoints ({len(emulator.endpoints)}):",
            *(f"  POST {emulator.url}/{endpoint_id}" for endpoint_id in emulator.endpoints),
            "point the SDK at it:",
            f"  export FAL_RUN_HOST={emulator.url} FAL_QUEUE_RUN_HOST={emulator.queue_url} "
            f"FAL_KEY={key or 'test-key'}",
            f"  or FalClient(key=..., base_url={emulator.url!r}, queue_url={emulator.queue_url!r})",
            "documents for `fal-typed pull`:",
            f"  export FAL_TYPED_OPENAPI_URL={emulator.openapi_url}",
            f"  export FAL_TYPED_MODELS_URL={emulator.models_url}",
            "Ctrl-C stops it.",
        ]
        print("\n".join(lines), flush=True)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.close()
    print("fal emulator stopped.", flush=True)
    return 0

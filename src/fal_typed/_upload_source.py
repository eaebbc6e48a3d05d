"""The caller's upload source, opened and sized: local reads only, never the network.

Shared by the sync uploader and its future async twin. Nothing is ever read whole: bodies are
streamed in ``CHUNK_SIZE`` pieces, so a path or a seekable file costs constant memory, and any
byte range can be read again for a retry. A stream that cannot seek is read once, in order.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from ._upload_plan import CHUNK_SIZE, chunk_ranges

__all__ = ["Source", "open_source"]


class Source:
    """An opened upload source.

    Attributes:
        name: the path's or the file object's name (None for bytes and unnamed files).
        size: the number of bytes to upload; None for a stream that cannot seek.
        rereadable: whether :meth:`read_range` can read any range again (not a stream).
    """

    def __init__(
        self,
        *,
        name: str | None,
        size: int | None,
        view: memoryview | None = None,
        file: Any = None,
        start: int = 0,
        owned: bool = False,
    ) -> None:
        self.name = name
        self.size = size
        self.rereadable = size is not None
        self._view = view
        self._file = file
        self._start = start
        self._owned = owned
        # Parts are read by several threads from one file object: seek and read go together.
        self._lock = threading.Lock()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file opened from a path (never a file object the caller passed)."""
        if self._owned:
            self._file.close()

    def read_range(self, offset: int, length: int) -> Iterator[bytes]:
        """Stream ``length`` bytes at ``offset`` (of a rereadable source) in chunks.

        Raises RuntimeError when the file turns out shorter than it was: it changed while
        being uploaded.
        """
        for position, size in chunk_ranges(offset, length):
            if self._view is not None:
                yield bytes(self._view[position : position + size])
                continue
            with self._lock:
                self._file.seek(self._start + position)
                chunk = _read_exactly(self._file, size)
            if len(chunk) < size:
                raise RuntimeError(
                    f"upload source {self._label()} changed while being uploaded: it ended "
                    f"{offset + length - position - len(chunk)} bytes short of its size at "
                    f"the start ({self.size} bytes)"
                )
            yield chunk

    def read_stream(self, limit: int) -> bytearray:
        """Up to ``limit`` next bytes of a stream (fewer only at its end)."""
        buffer = bytearray(limit)
        del buffer[self.read_into(buffer, 0) :]
        return buffer

    def read_into(self, buffer: bytearray, start: int) -> int:
        """Fill ``buffer[start:]`` with the stream's next bytes; return where they end (short
        of ``len(buffer)`` only at the stream's end). The buffer is allocated once, at its
        final size: growing it chunk by chunk would over-allocate and copy."""
        position = start
        while position < len(buffer):
            chunk = self._file.read(min(CHUNK_SIZE, len(buffer) - position))
            if chunk is None:
                raise OSError(f"upload source {self._label()} is non-blocking and had no data")
            _check_bytes(chunk)
            if not chunk:
                break
            if len(chunk) > len(buffer) - position:
                raise ValueError(f"upload source {self._label()} returned more than asked for")
            buffer[position : position + len(chunk)] = chunk
            position += len(chunk)
        return position

    def _label(self) -> str:
        return repr(self.name) if self.name else "(file object)"


def _check_bytes(chunk: object) -> None:
    if not isinstance(chunk, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"upload source file object returned {type(chunk).__name__}, not bytes: "
            "open the file in binary mode ('rb')"
        )


def _read_exactly(file: Any, size: int) -> bytes:
    """``size`` bytes, fewer only at the end (raw files may return short reads)."""
    data = file.read(size)
    _check_bytes(data)
    if len(data) == size or not data:
        return bytes(data)
    pieces = [data]
    got = len(data)
    while got < size:
        more = file.read(size - got)
        if not more:
            break
        _check_bytes(more)
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)


def open_source(source: object) -> Source:
    """Open and size ``source``: bytes-like, a path (str or os.PathLike) or a binary file
    object. A missing, unreadable or directory path, a text-mode or closed file object, or
    another type fails here, before anything is sent."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        try:
            view = memoryview(source).cast("B")
        except TypeError:
            raise TypeError("a memoryview source must be C-contiguous") from None
        return Source(name=None, size=view.nbytes, view=view)
    if isinstance(source, (str, os.PathLike)):
        return _open_path(source)
    if hasattr(source, "read"):
        return _from_file(source, owned=False)
    raise TypeError(
        "upload source must be bytes, a path (str or os.PathLike) or a binary file object, "
        f"not {type(source).__name__}"
    )


def _open_path(source: str | os.PathLike[Any]) -> Source:
    path = os.fsdecode(os.fspath(source))
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "upload source is a directory, not a file", path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by Source.close()
    except FileNotFoundError:
        hint = "upload source does not exist"
        if path.startswith(("http://", "https://", "data:")):
            hint += " (a URL is not uploaded: pass it to the model as it is)"
        raise FileNotFoundError(errno.ENOENT, hint, path) from None
    except PermissionError:
        raise PermissionError(errno.EACCES, "upload source is not readable", path) from None
    try:
        return _from_file(file, owned=True, name=path)
    except BaseException:
        file.close()
        raise


def _from_file(file: Any, *, owned: bool, name: str | None = None) -> Source:
    if isinstance(file, io.TextIOBase):
        raise TypeError("upload source is a text-mode file: open it in binary mode ('rb')")
    if getattr(file, "closed", False) is True:
        raise ValueError("upload source file object is closed")
    # read(0) costs nothing and returns '' from a text-mode object that is not a TextIOBase.
    probe = file.read(0)
    if probe is not None:
        _check_bytes(probe)
    if name is None:
        file_name = getattr(file, "name", None)
        name = os.fsdecode(file_name) if isinstance(file_name, (str, bytes)) else None
    start, size = _seekable_span(file)
    return Source(name=name, size=size, file=file, start=start, owned=owned)


def _seekable_span(file: Any) -> tuple[int, int | None]:
    """(current position, bytes from it to the end), or (0, None) for a stream that cannot
    seek. The upload starts at the current position, as ``read()`` would."""
    try:
        seekable = file.seekable() if hasattr(file, "seekable") else True
        if not seekable:
            return 0, None
        start = file.tell()
        file.seek(0, io.SEEK_END)
        end = file.tell()
        file.seek(start)
    except (AttributeError, OSError, ValueError):
        return 0, None
    if not isinstance(start, int) or not isinstance(end, int) or end < start:
        return 0, None
    return start, end - start

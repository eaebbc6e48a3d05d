"""Local files as inputs: the type generated models give file fields, and its resolution.

A file field (``image_url``, ``image_urls``, ...) takes a URL string as fal defines it, or a
local file: a ``pathlib.Path`` (any ``os.PathLike``), ``bytes``, a binary file object or a PIL
image. Validation checks local files (a missing path fails there, naming the field); when the
call is made, every local file is uploaded to fal's storage (or inlined as a ``data:`` URI)
and replaced by its URL. A plain ``str`` is always a URL and passes through untouched.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import PlainSerializer, PlainValidator, SerializationInfo

if TYPE_CHECKING:
    import pydantic

__all__ = [
    "DEFAULT_INLINE_LIMIT",
    "FileInput",
    "FilesMode",
    "LocalFile",
    "encode_arguments_with_files",
    "encode_model_with_files",
    "local_file_size",
    "sniff_content_type",
]

FilesMode = Literal["upload", "inline"]
"""How local files in an input are sent: uploaded to fal's storage, or inlined as data URIs."""

DEFAULT_INLINE_LIMIT = 10 * 1024 * 1024
"""The largest local file inlined as a ``data:`` URI (it grows by 4/3 in the request)."""


def _check_local_file(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value) if not isinstance(value, bytes) else value
    if isinstance(value, os.PathLike):
        path = Path(value)
        if not path.is_file():
            reason = "is a directory" if path.is_dir() else "does not exist"
            raise ValueError(f"local file {str(path)!r} {reason}")
        return path
    if _is_pil_image(value):
        return value
    if isinstance(value, io.TextIOBase):
        raise ValueError("a file object must be opened in binary mode ('rb')")
    if callable(getattr(value, "read", None)):
        return value
    raise ValueError(
        "expected a URL string, or a local file: a pathlib.Path, bytes, a binary file object "
        f"or a PIL image; got {type(value).__name__}"
    )


def _serialize_local_file(value: Any, info: SerializationInfo) -> Any:
    context = info.context
    if isinstance(context, _Files):
        return context.url_for(value)
    raise ValueError(
        "a local file in a model cannot be written as JSON before it is uploaded; pass the "
        "model to the endpoint call (or client.upload() the file and use its URL)"
    )


LocalFile = Annotated[
    Union[os.PathLike[str], bytes, IO[bytes]],  # noqa: UP007 - evaluated at runtime on 3.10
    PlainValidator(_check_local_file),
    PlainSerializer(_serialize_local_file, when_used="json"),
]
"""The local-file half of a file field: a path, bytes, a binary file object (or a PIL image)."""

FileInput = Union[str, os.PathLike[str], bytes, IO[bytes]]  # noqa: UP007
"""What a file field accepts: a URL (``https://...`` or ``data:...``) or a local file."""


def _is_pil_image(value: object) -> bool:
    module = type(value).__module__
    return module.startswith("PIL.") and callable(getattr(value, "save", None))


class _Files:
    """Serialization context: collects local files (first pass), then maps them to URLs."""

    def __init__(self) -> None:
        self.found: dict[int, Any] = {}
        self.urls: dict[int, str] | None = None

    def url_for(self, value: Any, checked: Any = None) -> str:
        """``value``'s URL; in the first pass, record it (``checked``: its validated form)."""
        if self.urls is None:
            self.found.setdefault(id(value), value if checked is None else checked)
            return ""
        return self.urls[id(value)]


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"WAVE", 8, "audio/wav"),
    (b"ID3", 0, "audio/mpeg"),
    (b"fLaC", 0, "audio/flac"),
    (b"OggS", 0, "audio/ogg"),
    (b"ftyp", 4, "video/mp4"),
    (b"%PDF-", 0, "application/pdf"),
    (b"glTF", 0, "model/gltf-binary"),
)


def sniff_content_type(head: bytes) -> str | None:
    """The media type of a few common formats from their first bytes, else None."""
    for magic, offset, content_type in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    return None


def local_file_size(value: Any) -> int | None:
    """The size of a local file value in bytes, when it can be known without reading it."""
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Path):
        return value.stat().st_size
    if hasattr(value, "seek") and hasattr(value, "tell"):
        try:
            start = value.tell()
            end = value.seek(0, os.SEEK_END)
            value.seek(start)
            return int(end - start)
        except (OSError, ValueError):
            return None
    return None


def _describe(value: Any) -> str:
    if isinstance(value, Path):
        return repr(str(value))
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    name = getattr(value, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(value).__name__}>"


def _pil_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _read_all(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, Path):
        return value.read_bytes()
    data = value.read()
    if not isinstance(data, bytes):
        raise TypeError(f"file object {_describe(value)} returned {type(data).__name__}, not bytes")
    return data


def _inline(value: Any, limit: int) -> str:
    if _is_pil_image(value):
        value = _pil_png(value)
    size = local_file_size(value)
    if size is not None and size > limit:
        raise ValueError(
            f"local file {_describe(value)} is {size} bytes, above the {limit}-byte limit for "
            "inline data URIs; upload it instead (files='upload')"
        )
    data = _read_all(value)
    if len(data) > limit:
        raise ValueError(
            f"local file {_describe(value)} is {len(data)} bytes, above the {limit}-byte limit "
            "for inline data URIs; upload it instead (files='upload')"
        )
    content_type = sniff_content_type(data[:16]) or _guess_type(value) or "application/octet-stream"
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def _guess_type(value: Any) -> str | None:
    import mimetypes

    name = value if isinstance(value, Path) else getattr(value, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return mimetypes.guess_type(os.fspath(name))[0]
    return None


Uploader = Callable[..., str]


def _resolve(files: _Files, mode: FilesMode, upload: Uploader, inline_limit: int) -> None:
    if mode not in ("upload", "inline"):
        raise ValueError(f"files must be 'upload' or 'inline', got {mode!r}")
    # Checked again right before anything is uploaded: a file may have gone since validation.
    for value in files.found.values():
        if isinstance(value, Path) and not value.is_file():
            raise FileNotFoundError(f"local file {str(value)!r} no longer exists")
    urls: dict[int, str] = {}
    if mode == "inline":
        for key, value in files.found.items():
            urls[key] = _inline(value, inline_limit)
    else:
        for key, value in files.found.items():
            if _is_pil_image(value):
                urls[key] = upload(_pil_png(value), content_type="image/png")
            elif isinstance(value, bytes):
                urls[key] = upload(value, content_type=sniff_content_type(value[:16]))
            else:
                urls[key] = upload(value)
    files.urls = urls


def encode_model_with_files(
    model: pydantic.BaseModel,
    *,
    mode: FilesMode,
    upload: Uploader,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> bytes:
    """The JSON body of a validated input model, its local files uploaded or inlined first.

    Without local files this is one ``model_dump_json``; ``upload`` is called only once the
    whole input is known to be valid.
    """
    files = _Files()
    content = model.model_dump_json(by_alias=True, exclude_unset=True, context=files)
    if not files.found:
        return content.encode()
    _resolve(files, mode, upload, inline_limit)
    return model.model_dump_json(by_alias=True, exclude_unset=True, context=files).encode()


def encode_arguments_with_files(
    arguments: Mapping[str, Any],
    *,
    mode: FilesMode,
    upload: Uploader,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> bytes:
    """The JSON body of an untyped call; ``Path``/bytes/file values anywhere are local files."""
    if not isinstance(arguments, Mapping):
        raise TypeError(f"arguments must be a mapping, not {type(arguments).__name__}")
    files = _Files()

    def default(value: Any) -> Any:
        if not isinstance(value, (bytes, bytearray, memoryview, os.PathLike)) and not (
            _is_pil_image(value) or callable(getattr(value, "read", None))
        ):
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        return files.url_for(value, _check_local_file(value))

    def dump() -> bytes:
        return json.dumps(
            dict(arguments), ensure_ascii=False, allow_nan=False, default=default
        ).encode()

    content = dump()
    if not files.found:
        return content
    _resolve(files, mode, upload, inline_limit)
    return dump()

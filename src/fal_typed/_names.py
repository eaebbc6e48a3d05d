"""File names for saved outputs: derived from what the server sent, made safe, made unique.

Everything here is pure (no I/O), so the synchronous and asynchronous savers share it.

A server-named file (``file_name``, or the last segment of its URL) may be anything; the name it
is saved under is always a single plain component inside the target directory:

* no path separators (``/`` and ``\\`` become ``_``), no ``..`` (runs of dots become one dot),
  no leading or trailing dots or white space (so never ``.``/``..``, no hidden dot-files, none of
  the trailing dots and spaces Windows drops);
* none of the characters Windows forbids (``<>:"|?*``, so no drive letters like ``C:x``), no
  control characters (C0, DEL, C1, NUL), no bidirectional-override or line-separator characters
  and no unpaired surrogates: each becomes ``_``;
* not a Windows device name (``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``-``COM9``,
  ``LPT0``-``LPT9``, ``CONIN$``, ``CONOUT$``; any case, with or without an extension, which
  Windows ignores): those get a ``_`` prefix;
* at most :data:`MAX_NAME_BYTES` bytes of UTF-8 (the extension is kept), NFC-normalised;
* never empty: a name with nothing left falls back to ``<stem><.ext>``.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
import urllib.parse
from collections.abc import Iterator, Sequence

__all__ = [
    "MAX_NAME_BYTES",
    "derive_name",
    "extension_for",
    "name_from_url",
    "numbered",
    "plan_names",
    "sanitize_name",
    "split_extension",
]

MAX_NAME_BYTES = 200
"""The longest saved name, in UTF-8 bytes. File systems allow 255; the rest leaves room for a
`` (n)`` collision suffix."""

# Replaced by "_": separators, what Windows forbids in names, control characters (C0, DEL, C1),
# direction overrides/isolates and marks (they make a name display as something else), line and
# paragraph separators, the byte-order mark and unpaired surrogates (not encodable as UTF-8).
_UNSAFE = re.compile(
    '[\x00-\x1f\x7f-\x9f<>:"/\\\\|?*\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff'
    "\ud800-\udfff]"
)
_DOTS = re.compile(r"\.{2,}")
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")

# Windows device names (with or without an extension; case-insensitive).
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{device}{digit}" for device in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"}
)

# Preferred extensions of common media types (the mimetypes table varies between systems).
_EXTENSIONS = {
    "application/json": ".json",
    "application/octet-stream": ".bin",
    "application/zip": ".zip",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "audio/wave": ".wav",
    "audio/webm": ".weba",
    "audio/x-wav": ".wav",
    "image/avif": ".avif",
    "image/gif": ".gif",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/webp": ".webp",
    "model/gltf-binary": ".glb",
    "model/gltf+json": ".gltf",
    "text/plain": ".txt",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}


def split_extension(name: str) -> tuple[str, str]:
    """``("photo", ".png")`` for ``"photo.png"``; an extension is 1-10 ASCII letters/digits."""
    match = _EXTENSION.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def extension_for(content_type: str | None) -> str:
    """The file extension (``".png"``) of a media type, or ``""`` when unknown."""
    if not content_type:
        return ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    extension = _EXTENSIONS.get(media_type)
    if extension is None:
        extension = mimetypes.guess_extension(media_type, strict=False) or ""
    return extension if _EXTENSION.fullmatch(extension) else ""


def name_from_url(url: str) -> str | None:
    """The last path segment of an http(s) URL, percent-decoded; None if there is none."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return None
    segment = parts.path.rsplit("/", 1)[-1]
    return urllib.parse.unquote(segment, errors="replace") or None


def _utf8_prefix(text: str, limit: int) -> str:
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", "ignore")


def _clean(name: str, max_bytes: int) -> str:
    """``name`` made safe, or ``""`` when nothing usable is left."""
    name = unicodedata.normalize("NFC", _UNSAFE.sub("_", _EDGES.sub("", name)))
    name = _EDGES.sub("", _DOTS.sub(".", name))
    if not name:
        return ""
    stem, extension = split_extension(name)
    # One byte kept free for a device-name prefix.
    stem = _EDGES.sub("", _utf8_prefix(stem, max_bytes - 1 - len(extension)))
    if not stem:
        return ""
    if stem.split(".", 1)[0].rstrip(" ").lower() in _RESERVED:
        stem = "_" + stem
    return stem + extension


def sanitize_name(name: str, *, fallback: str = "file", max_bytes: int = MAX_NAME_BYTES) -> str:
    """A safe single-component file name for ``name`` (see the module's rules); never empty."""
    if max_bytes < 16:
        raise ValueError(f"max_bytes must be >= 16, got {max_bytes!r}")
    return _clean(name, max_bytes) or _clean(fallback, max_bytes) or "file"


def derive_name(
    file_name: str | None,
    url: str | None,
    content_type: str | None,
    *,
    stem: str = "file",
    max_bytes: int = MAX_NAME_BYTES,
) -> str:
    """The name to save a file under, before collisions are considered.

    ``file_name`` if usable, else the URL's last path segment, else ``stem`` (e.g. ``images_0``);
    the content type's extension is appended when the name has none.
    """
    extension = extension_for(content_type)
    for candidate in (file_name, name_from_url(url) if url else None):
        if isinstance(candidate, str):
            name = _clean(candidate, max_bytes)
            if name:
                if extension and not split_extension(name)[1]:
                    name = _clean(name + extension, max_bytes)
                return name
    return sanitize_name(stem + extension, max_bytes=max_bytes)


def numbered(name: str, number: int) -> str:
    """``name`` for ``number`` 0, else ``"stem (number).ext"``."""
    if number == 0:
        return name
    stem, extension = split_extension(name)
    return f"{stem} ({number}){extension}"


def plan_names(names: Sequence[str]) -> list[tuple[str, int]]:
    """Distinct names for one batch, in order: ``(name, number)`` pairs for :func:`numbered`.

    Repeats get `` (1)``, `` (2)``, ... in order. Names are compared case-insensitively, as
    macOS and Windows file systems do, so the result is the same on every system.
    """
    used: set[str] = set()
    planned: list[tuple[str, int]] = []
    for name in names:
        number = 0
        while numbered(name, number).casefold() in used:
            number += 1
        used.add(numbered(name, number).casefold())
        planned.append((name, number))
    return planned


def candidates(
    name: str, number: int = 0, *, avoid: frozenset[str] = frozenset(), limit: int = 10_000
) -> Iterator[str]:
    """Names to try, in order, for a file planned as ``numbered(name, number)``.

    The planned name first, then higher numbers, skipping names (case-folded) in ``avoid``:
    the names planned for the other files of the same batch.
    """
    planned = numbered(name, number)
    yield planned
    for later in range(number + 1, number + 1 + limit):
        candidate = numbered(name, later)
        if candidate.casefold() not in avoid:
            yield candidate

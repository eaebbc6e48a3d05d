"""The provenance manifest of pulled documents: ``MANIFEST.tsv`` next to the schemas.

One tab-separated line per endpoint, sorted by endpoint id, after two ``#`` comment lines::

    # fal-typed schema manifest: written by `fal-typed pull`; one line per document.
    # endpoint_id<TAB>sha256<TAB>fetched_at<TAB>source
    fal-ai/flux/dev<TAB>3f2a...<TAB>2026-05-01T12:00:00Z<TAB>https://fal.ai/api/openapi/...

``sha256`` is the hash of the saved file's bytes, ``fetched_at`` (UTC) when those bytes were
fetched, ``source`` the URL they came from. The name does not end in ``.json`` on purpose: the
generator and the emulator load every ``*.json`` below ``schemas/``. Nothing reads the manifest
to generate code.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "ManifestEntry",
    "atomic_write",
    "read_manifest",
    "render_manifest",
    "write_manifest",
]

MANIFEST_NAME = "MANIFEST.tsv"
_HEADER = (
    "# fal-typed schema manifest: written by `fal-typed pull`; one line per document.\n"
    "# endpoint_id\tsha256\tfetched_at\tsource\n"
)


@dataclass(frozen=True)
class ManifestEntry:
    """Where one saved document came from."""

    endpoint_id: str
    sha256: str
    fetched_at: str
    """UTC ISO 8601 time, e.g. ``2026-05-01T12:00:00Z``."""
    source: str


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory + ``os.replace``.

    Readers see the old or the new file, never a partial one; an interrupted write leaves at
    most a hidden ``.<name>.*.tmp`` file behind.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """The entries of a manifest file by endpoint id (an absent file has none).

    Lines that do not have the four fields are skipped (they are dropped on the next write).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    entries: dict[str, ManifestEntry] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) == 4:
            entries[fields[0]] = ManifestEntry(*fields)
    return entries


def render_manifest(entries: Mapping[str, ManifestEntry]) -> bytes:
    """The manifest text: header, then one line per entry sorted by endpoint id."""
    lines = [
        "\t".join((e.endpoint_id, e.sha256, e.fetched_at, e.source))
        for _, e in sorted(entries.items())
    ]
    return (_HEADER + "".join(line + "\n" for line in lines)).encode("utf-8")


def write_manifest(path: Path, entries: Mapping[str, ManifestEntry]) -> bool:
    """Write the manifest atomically unless its bytes would not change; True if written."""
    data = render_manifest(entries)
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return True

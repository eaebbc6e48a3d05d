"""A content-addressed cache of generated files, so regenerating unchanged endpoints is instant.

Every generated file is a pure function of its inputs; the cache maps a SHA-256 of all of them
to the file's final (formatted) bytes:

- the generator itself: the source of every ``fal_typed_codegen`` module and template and of
  ``fal_typed._document``, the versions of datamodel-code-generator, ruff, jinja2 and pydantic,
  and the Python version (a different generator never sees another's entries);
- for an endpoint module: its document's content (canonical JSON: key order and whitespace do
  not matter), its source name (in the header line), module and owner names, the package name
  and the regenerate command;
- for every file: the package's top-level names (ruff's import sorting looks at them).

Location: ``$FAL_TYPED_CACHE_DIR``, else ``$XDG_CACHE_HOME/fal-typed``, else
``~/.cache/fal-typed``; entries are ``generate-v1/<2 hex>/<64 hex>``. Entries are shared safely
between projects and runs (content-addressed; written to a temporary file and renamed). Each
entry carries a checksum of its payload: a truncated, corrupt or unreadable entry is ignored
(a miss) and rewritten, and any I/O error only disables caching; so the cache can speed up a
run but never change what it writes. It is safe to delete at any time; nothing prunes it (an
entry is about the size of the module it holds).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "GenerationCache", "default_cache_dir", "document_digest", "entry_key"]

CACHE_ENV = "FAL_TYPED_CACHE_DIR"
_FORMAT = "generate-v1"
_MAGIC = b"fal-typed-cache-entry 1\n"
_DEPENDENCIES = ("datamodel-code-generator", "ruff", "jinja2", "pydantic")


def default_cache_dir() -> Path:
    """``$FAL_TYPED_CACHE_DIR``, else ``$XDG_CACHE_HOME/fal-typed``, else ``~/.cache/fal-typed``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "fal-typed"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


@cache
def generator_fingerprint() -> str:
    """A digest of everything besides the documents that generated output depends on."""
    import fal_typed._document

    digest = hashlib.sha256(_FORMAT.encode())
    digest.update(f"python {sys.version_info[0]}.{sys.version_info[1]}\n".encode())
    for name in _DEPENDENCIES:
        digest.update(f"{name} {_version(name)}\n".encode())
    package = Path(__file__).resolve().parent
    sources = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    document = Path(fal_typed._document.__file__).resolve()
    for path in [*sources, document]:
        name = path.relative_to(package).as_posix() if path.is_relative_to(package) else "_doc"
        data = path.read_bytes()
        digest.update(f"{name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def entry_key(*parts: str) -> str:
    """The cache key of a file generated from ``parts`` (length-prefixed, so unambiguous)."""
    digest = hashlib.sha256(generator_fingerprint().encode())
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(f"\n{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def document_digest(fields: dict[str, Any]) -> str:
    """Canonical JSON of a loaded document's fields: equal content, equal digest."""
    return hashlib.sha256(
        json.dumps(
            fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr
        ).encode("utf-8", "surrogatepass")
    ).hexdigest()


class GenerationCache:
    """Generated files by key, in ``directory``; ``read_only`` caches never write.

    Never raises: a problem reading an entry makes it a miss, a problem writing one turns
    writing off for the rest of the run.
    """

    def __init__(self, directory: Path, *, read_only: bool = False) -> None:
        self.directory = directory / _FORMAT
        self.read_only = read_only
        self.hits = 0
        self.misses = 0
        self._writable = not read_only

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"GenerationCache({self.directory.as_posix()!r}, {mode})"

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str) -> bytes | None:
        """The entry's bytes, or None (absent, unreadable or corrupt)."""
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            self.misses += 1
            return None
        header_end = len(_MAGIC) + 65
        data = raw[header_end:]
        if (
            raw[: len(_MAGIC)] != _MAGIC
            or raw[header_end - 1 : header_end] != b"\n"
            or raw[len(_MAGIC) : header_end - 1] != hashlib.sha256(data).hexdigest().encode()
        ):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The entries found among ``keys``."""
        found = {}
        for key in keys:
            data = self.get(key)
            if data is not None:
                found[key] = data
        return found

    def put(self, key: str, data: bytes) -> None:
        """Store an entry (atomically: concurrent runs and crashes leave no partial entry)."""
        if not self._writable:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(_MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            self._writable = False

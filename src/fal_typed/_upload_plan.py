"""Planning for ``FalClient.upload``: every decision, request and answer check, without I/O.

Like h11, this module never touches a socket or a file: the uploader feeds it facts (a name,
a size, the time, each answer) and sends the requests it builds. The sync uploader
(``_upload.py``) and its future async twin share all of it.

The protocol (fal's storage API):

1. ``POST {rest_url}/storage/auth/token?storage_type=fal-cdn-v3`` (Key auth) → a CDN token and
   the CDN's ``base_url``; reused until shortly before it expires.
2. Single-shot: ``POST {base_url}/files/upload`` with the bytes → ``access_url``. Multipart:
   ``POST {base_url}/files/upload/multipart`` → ``access_url`` + ``uploadId``; ``PUT
   {access_url}/multipart/{uploadId}/{n}`` per part → ``ETag``; ``POST .../complete``.
3. Fallback: ``POST {rest_url}/storage/upload/initiate?storage_type=gcs`` (Key auth) →
   ``upload_url`` (pre-signed, no Authorization) + ``file_url``; ``PUT upload_url``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias
from urllib.parse import quote

import httpx

from ._exceptions import (
    FalAPIError,
    FalConnectionError,
    InvalidResponseError,
    describe_text,
    redact,
)

__all__ = [
    "DEFAULT_MULTIPART_THRESHOLD",
    "DEFAULT_PARALLELISM",
    "DEFAULT_PART_SIZE",
    "CdnToken",
    "Multipart",
    "Part",
    "PresignedTarget",
    "Readable",
    "Step",
    "Uploadable",
    "check_content_type",
    "check_file_name",
    "check_options",
    "complete_step",
    "fallback_file_name",
    "falls_back",
    "head_limit",
    "initiate_step",
    "multipart_step",
    "parse_access_url",
    "parse_etag",
    "parse_expiry",
    "parse_initiate",
    "parse_multipart",
    "parse_token",
    "part_step",
    "plan_parts",
    "presigned_step",
    "resolve_content_type",
    "resolve_file_name",
    "single_step",
    "token_is_fresh",
    "token_owner",
    "token_step",
    "use_multipart",
]

# fal's own client goes multipart above 100 MB with 10 MB parts (10 in flight); 4 in flight
# keep a stream's buffered parts (one part each) at 40 MB while still filling most uplinks.
DEFAULT_MULTIPART_THRESHOLD = 100 * 1024**2
DEFAULT_PART_SIZE = 10 * 1024**2
DEFAULT_PARALLELISM = 4
# S3-style multipart uploads take at most 10 000 parts: bigger files get bigger parts.
MAX_PARTS = 10_000
# The unit in which bodies are streamed: what a single-shot upload holds in memory at a time.
CHUNK_SIZE = 256 * 1024
# A cached token is replaced this long before it expires (or halfway, for short-lived ones),
# so a request never starts with a token about to lapse.
TOKEN_MARGIN = 60.0
# How long a token whose answer has no usable ``expires_at`` is reused.
UNKNOWN_EXPIRY_LIFETIME = 300.0

# Visible ASCII with inner spaces: what may go into a header value as is.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
_MEDIA_TYPE = re.compile(
    r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;[\x20-\x7e]*)?"
)
# What a URL path segment may hold unescaped (RFC 3986 pchar, minus '%').
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# A compressed file's type when ``mimetypes`` names only its encoding (``.tar.gz``).
_ENCODING_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}
OCTET_STREAM = "application/octet-stream"


class Readable(Protocol):
    """A binary file object: anything with ``read(size) -> bytes``."""

    def read(self, size: int = ..., /) -> bytes | None: ...


# What ``FalClient.upload`` takes: bytes, a path, or a binary file object.
Uploadable: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str] | Readable"


# -- options, names and types ----------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


def check_options(multipart_threshold: int, part_size: int, parallelism: int) -> None:
    """Refuse bad multipart options before anything is read or sent."""
    _check_int("multipart_threshold", multipart_threshold, 0)
    _check_int("part_size", part_size, 1)
    _check_int("parallelism", parallelism, 1)


def check_content_type(content_type: object) -> str | None:
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise TypeError(f"content_type must be a str, not {type(content_type).__name__}")
    if not _MEDIA_TYPE.fullmatch(content_type):
        raise ValueError(
            f"content_type must be a media type like 'image/png', got {content_type!r}"
        )
    return content_type


def check_file_name(file_name: object) -> str | None:
    if file_name is None:
        return None
    if not isinstance(file_name, str):
        raise TypeError(f"file_name must be a str, not {type(file_name).__name__}")
    if not file_name.strip():
        raise ValueError("file_name must not be empty (pass None for no name)")
    return file_name


def resolve_file_name(file_name: str | None, source_name: str | None) -> str | None:
    """The name sent: the caller's, else the basename of the path or file object's name."""
    if file_name is not None:
        return file_name
    if not source_name:
        return None
    base = re.split(r"[\\/]", source_name.rstrip("\\/"))[-1]
    # An unnamed temporary file's name is a number or "<stdin>"-like: not a file name.
    if not base or (base.startswith("<") and base.endswith(">")):
        return None
    return base


def resolve_content_type(content_type: str | None, name: str | None) -> str:
    """The caller's type, else the one ``mimetypes`` guesses from the name, else octet-stream."""
    if content_type is not None:
        return content_type
    if name:
        import mimetypes  # reads the system's type tables: only when a type is guessed

        guessed, encoding = mimetypes.guess_type(name, strict=False)
        if encoding is not None:
            return _ENCODING_TYPES.get(encoding, OCTET_STREAM)
        if guessed:
            return guessed
    return OCTET_STREAM


def name_header(name: str) -> str:
    """The ``X-Fal-File-Name`` value: the name itself when it is visible ASCII, otherwise its
    UTF-8 percent-encoding (a header value cannot carry other characters)."""
    if _HEADER_SAFE.fullmatch(name):
        return name
    return quote(name.strip(), safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%"))


def fallback_file_name(name: str | None, content_type: str) -> str:
    """The storage fallback needs a name: the file's, else ``upload`` + the type's extension."""
    if name:
        return name
    import mimetypes

    return "upload" + (mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin")


# -- parts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a multipart upload: ``length`` bytes at ``offset`` of the source."""

    number: int  # 1-based, as the CDN numbers them
    offset: int
    length: int


def use_multipart(size: int, multipart_threshold: int) -> bool:
    return size > multipart_threshold


def head_limit(multipart_threshold: int, part_size: int) -> int:
    """How much of a stream of unknown length is buffered to decide how to send it.

    A stream that ends within this many bytes is sent single-shot from memory (so it can be
    retried); a longer one goes multipart, one buffered part at a time.
    """
    return min(multipart_threshold, part_size)


def plan_parts(size: int, part_size: int) -> list[Part]:
    """The parts of a ``size``-byte source; ``part_size`` grows if needed to stay within
    ``MAX_PARTS``."""
    part_size = max(part_size, math.ceil(size / MAX_PARTS))
    count = max(1, math.ceil(size / part_size))
    return [Part(n + 1, n * part_size, min(part_size, size - n * part_size)) for n in range(count)]


def chunk_ranges(
    offset: int, length: int, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[int, int]]:
    """(offset, length) of each streamed chunk of a byte range."""
    end = offset + length
    while offset < end:
        step = min(chunk_size, end - offset)
        yield offset, step
        offset += step


# -- the CDN token ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CdnToken:
    """A CDN upload token. Its secret parts are kept out of the repr."""

    base_url: str
    expires_at: float
    refresh_at: float  # when to stop reusing it (before expires_at)
    token: str = field(repr=False)
    token_type: str = field(repr=False)
    owner: str = field(repr=False)  # token_owner() of the key and host that fetched it

    @property
    def authorization(self) -> str:
        return f"{self.token_type} {self.token}"


def token_owner(rest_url: str, key: str) -> str:
    """A digest of what a token was fetched with: a cached token is never used after the key
    or host changed, and the cache holds no copy of the key."""
    return hashlib.sha256(f"{rest_url}\n{key}".encode()).hexdigest()


def token_is_fresh(token: CdnToken | None, owner: str, now: float) -> bool:
    """Whether a cached token may be used for a request starting at ``now`` (epoch seconds)."""
    return token is not None and token.owner == owner and now < token.refresh_at


def parse_expiry(value: object) -> float | None:
    """``expires_at`` as epoch seconds: an ISO time (``Z``, offsets, any fraction digits; no
    zone means UTC) or a number of epoch seconds. None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
        # Milliseconds, as JavaScript servers write them.
        return seconds / 1000 if seconds > 1e11 else seconds if math.isfinite(seconds) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes exactly 3 or 6 fraction digits.
    match = re.fullmatch(r"(.*?T?[\d:]+)\.(\d+)(.*)", text)
    if match:
        text = f"{match[1]}.{match[2][:6].ljust(6, '0')}{match[3]}"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request to send. ``what`` names it in errors and logs; ``content`` is a small body
    (JSON); large bodies are streamed by the uploader."""

    what: str
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None = None


@dataclass(frozen=True)
class Multipart:
    """A started multipart upload."""

    access_url: str
    upload_id: str

    def part_url(self, number: int) -> str:
        return f"{self.access_url}/multipart/{quote(self.upload_id, safe=_SEGMENT_SAFE)}/{number}"

    def complete_url(self) -> str:
        return f"{self.access_url}/multipart/{quote(self.upload_id, safe=_SEGMENT_SAFE)}/complete"


@dataclass(frozen=True)
class PresignedTarget:
    """The fallback's destination: ``upload_url`` (pre-signed; its query is a credential)."""

    upload_url: str = field(repr=False)
    file_url: str


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def token_step(rest_url: str, key: str) -> Step:
    return Step(
        "storage token",
        "POST",
        f"{rest_url}/storage/auth/token?storage_type=fal-cdn-v3",
        {
            "Authorization": f"Key {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        b"{}",
    )


def _cdn_headers(
    token: CdnToken, content_type: str, name: str | None, lifecycle: str | None
) -> dict[str, str]:
    headers = {
        "Authorization": token.authorization,
        "Accept": "application/json",
        "Content-Type": content_type,
    }
    if name is not None:
        headers["X-Fal-File-Name"] = name_header(name)
    if lifecycle is not None:
        headers["X-Fal-Object-Lifecycle"] = lifecycle
    return headers


def single_step(
    token: CdnToken, content_type: str, name: str | None, lifecycle: str | None, size: int
) -> Step:
    """The single-shot upload; its body (``size`` bytes) is streamed."""
    headers = _cdn_headers(token, content_type, name, lifecycle)
    # Explicit: with a streamed body httpx would otherwise send it chunked.
    headers["Content-Length"] = str(size)
    return Step("CDN upload", "POST", f"{token.base_url}/files/upload", headers)


def multipart_step(
    token: CdnToken, content_type: str, name: str | None, lifecycle: str | None
) -> Step:
    return Step(
        "CDN multipart start",
        "POST",
        f"{token.base_url}/files/upload/multipart",
        _cdn_headers(token, content_type, name, lifecycle),
        b"",
    )


def part_step(token: CdnToken, upload: Multipart, part: Part, content_type: str) -> Step:
    """One part's PUT; its body (``part.length`` bytes) is streamed."""
    headers = {
        "Authorization": token.authorization,
        "Content-Type": content_type,
        "Content-Length": str(part.length),
    }
    return Step(f"CDN part {part.number}", "PUT", upload.part_url(part.number), headers)


def complete_step(token: CdnToken, upload: Multipart, etags: list[tuple[int, str]]) -> Step:
    """``complete`` with every part's ETag, in part order."""
    parts = [{"partNumber": number, "etag": etag} for number, etag in sorted(etags)]
    return Step(
        "CDN multipart complete",
        "POST",
        upload.complete_url(),
        {
            "Authorization": token.authorization,
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        _json({"parts": parts}),
    )


def initiate_step(
    rest_url: str, key: str, name: str | None, content_type: str, lifecycle: str | None
) -> Step:
    headers = {
        "Authorization": f"Key {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    if lifecycle is not None:
        headers["X-Fal-Object-Lifecycle-Preference"] = lifecycle
    body = {"file_name": fallback_file_name(name, content_type), "content_type": content_type}
    return Step(
        "storage initiate",
        "POST",
        f"{rest_url}/storage/upload/initiate?storage_type=gcs",
        headers,
        _json(body),
    )


def presigned_step(target: PresignedTarget, content_type: str, size: int) -> Step:
    """The fallback's PUT: pre-signed, so it carries no Authorization at all."""
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    return Step("pre-signed upload", "PUT", target.upload_url, headers)


# -- answers ---------------------------------------------------------------------------------


def _invalid(
    what: str, response: httpx.Response, reason: str, secrets: tuple[str, ...]
) -> InvalidResponseError:
    request_id = redact(response.headers.get("x-fal-request-id"), secrets)
    text = redact(response.text, secrets)
    return InvalidResponseError(
        f"{response.status_code} {what}: {reason} "
        f"(answer: {describe_text(text) or 'empty body'!s})",
        endpoint_id=what,
        status_code=response.status_code,
        request_id=request_id,
        text=text[:1000],
    )


def _object(what: str, response: httpx.Response, secrets: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except ValueError:
        raise _invalid(what, response, "the answer is not valid JSON", secrets) from None
    if not isinstance(data, dict):
        raise _invalid(what, response, "the answer is not a JSON object", secrets)
    return data


def _string(
    data: dict[str, Any], name: str, what: str, response: httpx.Response, secrets: tuple[str, ...]
) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(what, response, f"the answer has no {name!r} string", secrets)
    return value


def _http_url(
    value: str, name: str, what: str, response: httpx.Response, secrets: tuple[str, ...]
) -> str:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise _invalid(what, response, f"{name!r} is not an http(s) URL", secrets)
    return value


def parse_token(
    response: httpx.Response, owner: str, now: float, secrets: tuple[str, ...]
) -> CdnToken:
    """The token answer: ``{"token", "token_type", "base_url", "expires_at"}``."""
    what = "storage token"
    data = _object(what, response, secrets)
    token = _string(data, "token", what, response, secrets)
    secrets = (*secrets, token)  # a bad answer's text may hold it
    token_type = _string(data, "token_type", what, response, secrets)
    # The token goes into an Authorization header: a bad one must fail here, without quoting
    # it, not inside h11 (whose error would).
    if not _TOKEN_CHARS.fullmatch(token) or not _TOKEN_CHARS.fullmatch(token_type):
        raise _invalid(what, response, "the token has characters not allowed in a header", secrets)
    base_url = _http_url(
        _string(data, "base_url", what, response, secrets), "base_url", what, response, secrets
    )
    expires_at = parse_expiry(data.get("expires_at"))
    if expires_at is None:
        expires_at = now + UNKNOWN_EXPIRY_LIFETIME
    lifetime = max(expires_at - now, 0.0)
    return CdnToken(
        base_url=base_url.rstrip("/"),
        expires_at=expires_at,
        refresh_at=expires_at - min(TOKEN_MARGIN, lifetime / 2),
        token=token,
        token_type=token_type,
        owner=owner,
    )


def parse_access_url(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    """The single-shot answer: ``{"access_url"}``."""
    what = "CDN upload"
    data = _object(what, response, secrets)
    return _http_url(
        _string(data, "access_url", what, response, secrets), "access_url", what, response, secrets
    )


def parse_multipart(response: httpx.Response, secrets: tuple[str, ...]) -> Multipart:
    """The multipart start answer: ``{"access_url", "uploadId"}``."""
    what = "CDN multipart start"
    data = _object(what, response, secrets)
    access_url = _http_url(
        _string(data, "access_url", what, response, secrets), "access_url", what, response, secrets
    )
    upload_id = _string(data, "uploadId", what, response, secrets)
    if upload_id in (".", ".."):
        raise _invalid(what, response, "'uploadId' is not a usable path segment", secrets)
    return Multipart(access_url.rstrip("/"), upload_id)


def parse_etag(response: httpx.Response, part: Part, secrets: tuple[str, ...]) -> str:
    """A part's ``ETag`` header, kept as sent (quotes included): ``complete`` wants it so."""
    etag: str | None = response.headers.get("etag")
    if not etag:
        raise _invalid(
            f"CDN part {part.number}", response, "the answer has no ETag header", secrets
        )
    return etag


def parse_initiate(response: httpx.Response, secrets: tuple[str, ...]) -> PresignedTarget:
    """The fallback's answer: ``{"upload_url", "file_url"}``."""
    what = "storage initiate"
    data = _object(what, response, secrets)
    upload_url = _string(data, "upload_url", what, response, secrets)
    secrets = (*secrets, upload_url)
    _http_url(upload_url, "upload_url", what, response, secrets)
    file_url = _http_url(
        _string(data, "file_url", what, response, secrets), "file_url", what, response, secrets
    )
    return PresignedTarget(upload_url, file_url)


def falls_back(error: Exception) -> bool:
    """Whether a failed CDN upload (after its retries) should go to the storage fallback:
    the CDN or its token service is down or unreachable, not refusing this request."""
    if isinstance(error, FalConnectionError):
        return True
    if isinstance(error, FalAPIError):
        if error.endpoint_id == "storage token" and error.status_code in (404, 405, 501):
            return True  # a REST host without the CDN token service
        return error.status_code >= 500
    return False

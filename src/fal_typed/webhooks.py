"""Receiving fal webhooks: check the signature, then parse the body into a typed event.

fal POSTs a JSON body to the ``fal_webhook`` URL of a queue request when it completes, signed
with Ed25519 (keys published as a JWKS at ``https://rest.alpha.fal.ai/.well-known/jwks.json``).
:func:`verify` checks the signature and the timestamp against the **raw body bytes**;
:func:`parse_event` (or a generated endpoint's ``parse_webhook``) turns the body into a
:class:`WebhookEvent` whose ``payload`` is the endpoint's output model.

Verifying needs the ``cryptography`` package: ``pip install 'fal-typed[webhooks]'``.

A receiver with the standard library (any framework works the same way: pass the raw body
bytes and the request's headers)::

    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from fal_typed import webhooks
    from fal_typed.models import fast_sdxl

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw_body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                webhooks.verify(raw_body, self.headers)
            except webhooks.WebhookVerificationError as exc:
                self.send_error(401, exc.reason)  # e.g. "bad_signature"
                return
            event = fast_sdxl.parse_webhook(raw_body)  # a WebhookEvent[fast_sdxl.Output]
            if event.ok and event.payload is not None:
                save(event.request_id, event.payload.images)
            else:
                record_failure(event.request_id, event.error, event.error_payload)
            self.send_response(204)
            self.end_headers()

    ThreadingHTTPServer(("", 8000), Handler).serve_forever()

fal retries a delivery that fails or takes longer than 15 s (up to 10 times over about two
hours), so answer quickly and handle each ``request_id`` idempotently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import httpx
import pydantic

from ._exceptions import FalError, ResponseValidationError, describe_detail, describe_text
from ._version import __version__

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "DEFAULT_JWKS_URL",
    "DEFAULT_REFETCH_INTERVAL",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TTL",
    "JWKS_URL_ENV",
    "REQUEST_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "USER_ID_HEADER",
    "HeadersLike",
    "InvalidWebhookError",
    "JWKSCache",
    "VerifiedWebhook",
    "WebhookEvent",
    "WebhookRequestFailedError",
    "WebhookVerificationError",
    "default_jwks_cache",
    "parse_event",
    "verify",
]

DEFAULT_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
JWKS_URL_ENV = "FAL_TYPED_JWKS_URL"
DEFAULT_TOLERANCE = 300.0
DEFAULT_TTL = 24 * 60 * 60.0
DEFAULT_REFETCH_INTERVAL = 60.0

REQUEST_ID_HEADER = "X-Fal-Webhook-Request-Id"
USER_ID_HEADER = "X-Fal-Webhook-User-Id"
TIMESTAMP_HEADER = "X-Fal-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Fal-Webhook-Signature"
_HEADERS = (REQUEST_ID_HEADER, USER_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
_BY_LOWER_NAME = {name.lower(): name for name in _HEADERS}

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")  # 64 bytes
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_ED25519_KEY_SIZE = 32
_MAX_JWKS_SIZE = 1024 * 1024
_INSTALL_HINT = "pip install 'fal-typed[webhooks]'"

OutputT = TypeVar("OutputT", bound=pydantic.BaseModel)

Reason = Literal[
    "missing_header",
    "duplicate_header",
    "malformed_timestamp",
    "stale_timestamp",
    "future_timestamp",
    "malformed_signature",
    "bad_signature",
    "no_usable_key",
    "fetch_failed",
]


class WebhookVerificationError(FalError):
    """A webhook request failed verification: answer it with 401 and do not trust its body.

    ``reason`` says why, as one of ``missing_header``, ``duplicate_header``,
    ``malformed_timestamp``, ``stale_timestamp``, ``future_timestamp``, ``malformed_signature``,
    ``bad_signature``, ``no_usable_key`` or ``fetch_failed`` (the key set could not be fetched).
    """

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.reason: Reason = reason


class InvalidWebhookError(FalError, ValueError):
    """A webhook body that is not JSON or lacks the fields fal always sends."""


class WebhookRequestFailedError(FalError):
    """Raised by :meth:`WebhookEvent.raise_for_error`: the request failed or has no payload.

    Attributes:
        request_id: fal's request id.
        endpoint_id: the endpoint, when known.
        error: fal's ``error`` text.
        error_payload: the raw error body (e.g. ``{"detail": [...]}``), or None.
        payload_error: why fal could not serialise the result, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        endpoint_id: str | None,
        error: str | None,
        error_payload: Any,
        payload_error: str | None,
    ) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.endpoint_id = endpoint_id
        self.error = error
        self.error_payload = error_payload
        self.payload_error = payload_error


class HeadersLike(Protocol):
    """Anything with ``items()`` yielding (name, value) pairs.

    A dict (names in any case), ``httpx.Headers``, Starlette's ``Headers``, Werkzeug's
    ``Headers``, Django's ``request.headers``, ``http.server``'s ``self.headers``, ...
    """

    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True)
class VerifiedWebhook:
    """What :func:`verify` checked: the signed header values and the key that matched."""

    request_id: str
    user_id: str
    timestamp: int
    key_id: str | None


# --- cryptography, imported only when a signature is checked ------------------------------


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise ImportError(
            "verifying fal webhooks needs the 'cryptography' package: " + _INSTALL_HINT,
            name="cryptography",
        ) from exc
    return ed25519


def _invalid_signature() -> type[Exception]:
    from cryptography.exceptions import InvalidSignature

    return InvalidSignature


@dataclass(frozen=True)
class _Key:
    kid: str | None
    public_key: Ed25519PublicKey


def _parse_key(jwk: object) -> _Key | None:
    """The Ed25519 public key of one JWK, or None when it is not a usable Ed25519 key."""
    if not isinstance(jwk, Mapping):
        return None
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    x = jwk.get("x")
    if not isinstance(x, str) or not _BASE64URL.fullmatch(x):
        return None
    try:
        raw = base64.urlsafe_b64decode(x.rstrip("=") + "=" * (-len(x.rstrip("=")) % 4))
    except ValueError:
        return None
    if len(raw) != _ED25519_KEY_SIZE:
        return None
    try:
        public_key = _ed25519().Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None
    kid = jwk.get("kid")
    return _Key(kid if isinstance(kid, str) else None, public_key)


def _parse_jwks(jwks: object) -> tuple[_Key, ...] | None:
    """The usable keys of a JWK set (others are skipped), or None when it is not a JWK set."""
    if not isinstance(jwks, Mapping):
        return None
    keys = jwks.get("keys")
    if not isinstance(keys, (list, tuple)):
        return None
    return tuple(key for key in map(_parse_key, keys) if key is not None)


# --- the key set ----------------------------------------------------------------------------


def _check_url(url: str) -> str:
    parsed = httpx.URL(url)
    if parsed.userinfo:
        # httpx would send it as an Authorization header; the key set is public.
        raise ValueError("the JWKS URL must not contain credentials")
    if parsed.scheme == "https" and parsed.host:
        return url
    if parsed.scheme == "http" and parsed.host in ("127.0.0.1", "::1", "localhost"):
        return url
    raise ValueError(
        f"the JWKS URL must be https (or http on localhost: keys fetched over plain HTTP can "
        f"be forged), got {url!r}"
    )


@dataclass(frozen=True)
class _Fetched:
    keys: tuple[_Key, ...]
    at: float
    generation: int


class JWKSCache:
    """fal's public keys, fetched over HTTPS and cached; safe to share between threads.

    Args:
        url: the JWKS URL. Default: ``FAL_TYPED_JWKS_URL`` if set, else fal's
            (``https://rest.alpha.fal.ai/.well-known/jwks.json``). Plain ``http`` is allowed
            only for localhost.
        ttl: seconds a fetched key set is used before it is fetched again (default 24 h).
            If that fetch fails, verification fails too: expired keys are not trusted.
        refetch_interval: when a signature matches no cached key (fal may have rotated its
            keys), the set is fetched again, but not sooner than this many seconds after the
            previous fetch attempt; a failed fetch is not retried sooner either (default 60).
        timeout: HTTP timeout of a fetch, in seconds.
        clock: a monotonic clock in seconds (tests inject one).

    No credentials are sent: the key set is public.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("ttl", ttl), ("refetch_interval", refetch_interval)):
            _check_seconds(name, value, allow_zero=True)
        _check_seconds("timeout", timeout, allow_zero=False)
        self.url = _check_url(url or os.environ.get(JWKS_URL_ENV) or DEFAULT_JWKS_URL)
        self.ttl = float(ttl)
        self.refetch_interval = float(refetch_interval)
        self.timeout = float(timeout)
        self._clock = clock
        self._lock = threading.Lock()
        self._fetched: _Fetched | None = None
        self._failure: tuple[float, str] | None = None  # (when, message) of the last failure

    def __repr__(self) -> str:
        return f"JWKSCache({self.url!r}, ttl={self.ttl}, refetch_interval={self.refetch_interval})"

    def refresh(self) -> None:
        """Fetch the key set now (e.g. at start-up), whatever the cache holds.

        Raises ``WebhookVerificationError`` (``reason="fetch_failed"``) when it cannot.
        """
        with self._lock:
            self._fetch()

    @property
    def key_ids(self) -> tuple[str | None, ...]:
        """The ``kid`` of every cached usable key (empty before the first fetch)."""
        fetched = self._fetched
        return tuple(key.kid for key in fetched.keys) if fetched else ()

    def _current(self) -> _Fetched:
        """The cached keys, fetched first when there are none or they are older than ttl."""
        fetched = self._fetched
        if fetched is not None and self._clock() - fetched.at < self.ttl:
            return fetched
        with self._lock:
            fetched = self._fetched
            now = self._clock()
            if fetched is not None and now - fetched.at < self.ttl:
                return fetched  # another thread fetched it meanwhile
            if self._failure is not None:
                failed_at, message = self._failure
                wait = self.refetch_interval - (now - failed_at)
                if wait > 0:
                    raise WebhookVerificationError(
                        f"{message} (not retried for another {wait:.0f} s)", reason="fetch_failed"
                    )
            return self._fetch()

    def _after_miss(self, generation: int) -> _Fetched | None:
        """Keys newer than ``generation``, fetched if the rate limit allows, else None."""
        with self._lock:
            fetched = self._fetched
            if fetched is not None and fetched.generation != generation:
                return fetched  # another thread fetched a newer set meanwhile
            attempts = [self._failure[0]] if self._failure else []
            if fetched is not None:
                attempts.append(fetched.at)
            if attempts and self._clock() - max(attempts) < self.refetch_interval:
                return None
            return self._fetch()

    def _fetch(self) -> _Fetched:
        started = self._clock()
        try:
            keys = _download(self.url, self.timeout)
        except WebhookVerificationError as exc:
            self._failure = (started, str(exc))
            raise
        previous = self._fetched
        self._failure = None
        self._fetched = _Fetched(keys, started, previous.generation + 1 if previous else 1)
        return self._fetched


def _download(url: str, timeout: float) -> tuple[_Key, ...]:
    def failed(why: str) -> WebhookVerificationError:
        return WebhookVerificationError(
            f"could not fetch the key set from {url}: {why}", reason="fetch_failed"
        )

    headers = {"Accept": "application/json", "User-Agent": f"fal-typed/{__version__}"}
    try:
        # A client of its own: no caller defaults (an Authorization header) can leak into it.
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, headers=headers, auth=None)
    except httpx.HTTPError as exc:
        raise failed(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        text = describe_text(response.text) or response.reason_phrase
        raise failed(f"HTTP {response.status_code} ({text})")
    if len(response.content) > _MAX_JWKS_SIZE:
        raise failed(f"the answer is larger than {_MAX_JWKS_SIZE} bytes")
    try:
        data = json.loads(response.content)
    except ValueError:
        raise failed(f"the answer is not JSON: {describe_text(response.text)!r}") from None
    keys = _parse_jwks(data)
    if keys is None:
        raise failed('the answer is not a JWK set ({"keys": [...]})')
    return keys


def _check_seconds(name: str, value: object, *, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}")


_default_caches: dict[str, JWKSCache] = {}
_default_lock = threading.Lock()


def default_jwks_cache() -> JWKSCache:
    """The shared cache :func:`verify` uses when no ``jwks`` is given.

    One per URL (``FAL_TYPED_JWKS_URL`` if set, else fal's), created on first use.
    """
    url = os.environ.get(JWKS_URL_ENV) or DEFAULT_JWKS_URL
    cache = _default_caches.get(url)
    if cache is None:
        with _default_lock:
            cache = _default_caches.get(url)
            if cache is None:
                cache = _default_caches[url] = JWKSCache(url)
    return cache


# --- verify ---------------------------------------------------------------------------------


def _decode(text: str | bytes) -> str:
    return text.decode("latin-1") if isinstance(text, bytes) else text


def _signed_headers(headers: HeadersLike) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers.items():
        canonical = _BY_LOWER_NAME.get(_decode(name).lower())
        if canonical is None:
            continue
        value = _decode(value).strip()
        if found.get(canonical, value) != value:
            raise WebhookVerificationError(
                f"header {canonical} is given more than once", reason="duplicate_header"
            )
        found[canonical] = value
    for name in _HEADERS:
        if not found.get(name):
            raise WebhookVerificationError(f"missing header {name}", reason="missing_header")
    return found


def verify(
    body: bytes | bytearray | memoryview,
    headers: Mapping[str, str] | HeadersLike,
    *,
    jwks: Mapping[str, Any] | JWKSCache | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> VerifiedWebhook:
    """Check that a webhook request comes from fal; raise ``WebhookVerificationError`` if not.

    Args:
        body: the raw request body, exactly as received (not re-serialised JSON).
        headers: the request headers, names in any case.
        jwks: fal's public keys: a JWK set (``{"keys": [...]}``) or a :class:`JWKSCache`.
            Default: a shared :class:`JWKSCache` of fal's key set (see
            :func:`default_jwks_cache`), fetched on first use and again when a signature
            matches no cached key.
        tolerance: the largest accepted difference, in seconds, between the signed
            ``X-Fal-Webhook-Timestamp`` and ``now`` (in either direction).
        now: the current Unix time; default ``time.time()``.

    Returns the verified header values: use ``request_id`` to process each delivery once.
    Raises ``ImportError`` when ``cryptography`` is not installed.
    """
    if isinstance(body, str):
        raise TypeError(
            "body must be the raw request bytes, not str: the signature covers the exact bytes "
            "fal sent, which decoding or re-serialising JSON can change"
        )
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be the raw request bytes, not {type(body).__name__}")
    _check_seconds("tolerance", tolerance, allow_zero=True)
    if not (jwks is None or isinstance(jwks, (JWKSCache, Mapping))):
        raise TypeError(
            f"jwks must be a JWK set mapping, a JWKSCache or None, not {type(jwks).__name__}"
        )
    _ed25519()  # fails early and clearly when cryptography is missing

    values = _signed_headers(headers)
    request_id, user_id = values[REQUEST_ID_HEADER], values[USER_ID_HEADER]
    timestamp, signature_hex = values[TIMESTAMP_HEADER], values[SIGNATURE_HEADER]

    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookVerificationError(
            f"malformed header {TIMESTAMP_HEADER}: {timestamp[:40]!r} is not Unix seconds",
            reason="malformed_timestamp",
        )
    signed_at = int(timestamp)
    current = time.time() if now is None else now
    age = current - signed_at
    if age > tolerance:
        raise WebhookVerificationError(
            f"stale timestamp: signed {age:.0f} s ago, more than the {tolerance:g} s tolerance "
            "(a replayed request?)",
            reason="stale_timestamp",
        )
    if -age > tolerance:
        raise WebhookVerificationError(
            f"timestamp in the future: {-age:.0f} s ahead, more than the {tolerance:g} s "
            "tolerance (is this machine's clock right?)",
            reason="future_timestamp",
        )
    if not _SIGNATURE.fullmatch(signature_hex):
        raise WebhookVerificationError(
            f"malformed signature: {SIGNATURE_HEADER} must be 128 hex digits (an Ed25519 "
            f"signature), got {len(signature_hex)} characters",
            reason="malformed_signature",
        )
    signature = bytes.fromhex(signature_hex)
    message = "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode(
        "utf-8"
    )

    def matching(keys: tuple[_Key, ...]) -> _Key | None:
        invalid = _invalid_signature()
        for key in keys:
            try:
                key.public_key.verify(signature, message)
            except invalid:
                continue
            return key
        return None

    if isinstance(jwks, JWKSCache) or jwks is None:
        cache = jwks if jwks is not None else default_jwks_cache()
        where = cache.url
        fetched = cache._current()
        keys = fetched.keys
        key = matching(keys)
        refetch_error: str | None = None
        if key is None:
            # Perhaps fal rotated its keys since they were cached.
            try:
                newer = cache._after_miss(fetched.generation)
            except WebhookVerificationError as exc:
                newer, refetch_error = None, str(exc)
            if newer is not None:
                keys = newer.keys
                key = matching(keys)
    else:
        where, refetch_error = "given", None
        parsed = _parse_jwks(jwks)
        if parsed is None:
            raise ValueError('jwks must be a JWK set: a mapping with a "keys" list')
        keys = parsed
        key = matching(keys)

    if key is not None:
        return VerifiedWebhook(request_id, user_id, signed_at, key.kid)
    suffix = f"; refetching the key set failed: {refetch_error}" if refetch_error else ""
    if not keys:
        raise WebhookVerificationError(
            f"no usable key: the key set ({where}) has no Ed25519 key{suffix}",
            reason="no_usable_key",
        )
    raise WebhookVerificationError(
        f"bad signature: none of the {len(keys)} key(s) in the key set ({where}) verifies "
        f"it{suffix}",
        reason="bad_signature",
    )


# --- the event ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent(Generic[OutputT]):
    """A decoded fal webhook.

    Attributes:
        request_id: fal's request id (the one ``submit`` returned).
        gateway_request_id: fal's gateway request id, when sent.
        status: ``"OK"`` or ``"ERROR"``.
        payload: the output, parsed with the endpoint's output model, when ``status`` is OK
            and fal could serialise it; else None.
        error: fal's ``error`` text (set when ``status`` is ERROR).
        error_payload: the raw body of a failed request (e.g. ``{"detail": [...]}``), else None.
        payload_error: why fal could not serialise the output (``payload`` is then None).
        raw: the decoded JSON body.
        endpoint_id: the endpoint, when the parser was told it.
    """

    request_id: str
    gateway_request_id: str | None
    status: Literal["OK", "ERROR"]
    payload: OutputT | None
    error: str | None
    error_payload: Any
    payload_error: str | None
    raw: dict[str, Any] = field(repr=False)
    endpoint_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the request succeeded (``payload`` may still be None: see payload_error)."""
        return self.status == "OK"

    def raise_for_error(self) -> OutputT:
        """Return the payload; raise ``WebhookRequestFailedError`` if the request failed or
        the webhook carries no payload."""
        if self.status == "OK" and self.payload is not None:
            return self.payload
        where = f"{self.endpoint_id}: " if self.endpoint_id else ""
        if self.status == "ERROR":
            text = self.error or "no error text"
            detail = (
                self.error_payload.get("detail")
                if isinstance(self.error_payload, Mapping)
                else self.error_payload
            )
            if detail not in (None, "", [], {}):
                described = describe_detail(detail)
                text = f"{text}: {described[:1500]}{'...' if len(described) > 1500 else ''}"
            message = f"{where}request {self.request_id} failed: {text}"
        elif self.payload_error:
            message = (
                f"{where}request {self.request_id} succeeded but fal could not send its "
                f"output: {self.payload_error}"
            )
        else:
            message = f"{where}request {self.request_id} succeeded but the webhook has no payload"
        raise WebhookRequestFailedError(
            message,
            request_id=self.request_id,
            endpoint_id=self.endpoint_id,
            error=self.error,
            error_payload=self.error_payload,
            payload_error=self.payload_error,
        )


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidWebhookError(
        f"invalid webhook body: {name!r} must be a string or null, not {type(value).__name__}"
    )


def parse_event(
    body: bytes | bytearray | memoryview | str | Mapping[str, Any],
    output_model: type[OutputT],
    *,
    endpoint_id: str | None = None,
) -> WebhookEvent[OutputT]:
    """Decode a webhook body into a :class:`WebhookEvent` with a typed ``payload``.

    Call :func:`verify` on the raw body first. ``body`` is that raw body, its text, or the
    already decoded JSON object.

    Raises ``InvalidWebhookError`` (also a ``ValueError``) when the body is not JSON or lacks
    ``request_id`` / a valid ``status``, and ``fal_typed.ResponseValidationError`` (raw data on
    ``.data``) when an OK payload does not match ``output_model``.
    """
    if not (isinstance(output_model, type) and issubclass(output_model, pydantic.BaseModel)):
        raise TypeError(f"output_model must be a pydantic model class, not {output_model!r}")
    if isinstance(body, (bytes, bytearray, memoryview, str)):
        text = bytes(body) if isinstance(body, memoryview) else body
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidWebhookError(f"invalid webhook body: not JSON ({exc})") from None
    elif isinstance(body, Mapping):
        data = body
    else:
        raise TypeError(f"body must be bytes, str or a mapping, not {type(body).__name__}")
    if not isinstance(data, Mapping):
        raise InvalidWebhookError(
            f"invalid webhook body: expected a JSON object, got {type(data).__name__}"
        )
    raw = dict(data)
    request_id = raw.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise InvalidWebhookError("invalid webhook body: no 'request_id' string")
    status = raw.get("status")
    if status != "OK" and status != "ERROR":
        raise InvalidWebhookError(
            f'invalid webhook body: \'status\' must be "OK" or "ERROR", got {status!r}'
        )
    gateway_request_id = _optional_str(raw, "gateway_request_id")
    error = _optional_str(raw, "error")
    payload_error = _optional_str(raw, "payload_error")
    payload_data = raw.get("payload")

    payload: OutputT | None = None
    error_payload: Any = None
    if status == "ERROR":
        error_payload = payload_data
    elif payload_data is not None:
        try:
            payload = output_model.model_validate(payload_data)
        except pydantic.ValidationError as exc:
            where = f"{endpoint_id}: " if endpoint_id else ""
            raise ResponseValidationError(
                f"{where}the webhook payload does not match {output_model.__name__} "
                f"(request_id={request_id}); the raw data is on .data: {exc}",
                endpoint_id=endpoint_id or "",
                request_id=request_id,
                data=payload_data,
                errors=exc.errors(include_url=False),
            ) from None
    return WebhookEvent(
        request_id=request_id,
        gateway_request_id=gateway_request_id,
        status=status,
        payload=payload,
        error=error,
        error_payload=error_payload,
        payload_error=payload_error,
        raw=raw,
        endpoint_id=endpoint_id,
    )

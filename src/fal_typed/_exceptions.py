"""Every error the SDK raises derives from :class:`FalError`."""

from __future__ import annotations

import datetime
import html
import json
import re
from typing import Any

import httpx

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "FalAPIError",
    "FalConnectionError",
    "FalError",
    "InternalServerError",
    "InvalidResponseError",
    "MissingCredentialsError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueTimeoutError",
    "RateLimitError",
    "RedirectError",
    "RequestCancelledError",
    "RequestOutcomeUnknownError",
    "ResponseValidationError",
    "StartTimeoutError",
    "UnprocessableEntityError",
]

_SNIPPET = 200


class FalError(Exception):
    """Base class of every error raised by fal-typed."""


class MissingCredentialsError(FalError):
    """No API key: none was passed and the environment has none."""


class FalConnectionError(FalError):
    """The request never reached fal (connection refused, DNS, connect timeout).

    Nothing ran and nothing was billed; it is safe to try again.
    """

    def __init__(self, message: str, *, endpoint_id: str) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id


class RequestOutcomeUnknownError(FalError):
    """The connection broke or timed out after a billed request (a run or a submit) was sent.

    The model may have run, and a run is billed even when its answer is lost. The SDK never
    retries this case. With the queue (``submit``/``subscribe``) only the submit itself can end
    here; once a request id is known, a lost status or result is fetched again.

    Attributes:
        endpoint_id: the endpoint called.
        operation: ``"run"`` (``fal.run``) or ``"submit"`` (the queue).
        sent_at: when the request was sent (UTC): look for it in fal's request history.
        webhook_url: for a submit with a webhook, where fal will POST the result if it ran.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_id: str,
        operation: str = "run",
        sent_at: datetime.datetime | None = None,
        webhook_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.operation = operation
        self.sent_at = sent_at
        self.webhook_url = webhook_url


class RequestCancelledError(FalError):
    """The queued request was cancelled (by ``cancel()`` or elsewhere); it has no result."""

    def __init__(self, message: str, *, endpoint_id: str, request_id: str) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.request_id = request_id


class QueueTimeoutError(FalError, TimeoutError):
    """Waiting for a queued request took longer than the caller allowed.

    ``request_id`` identifies the request: unless ``cancelled`` is True it may still complete,
    and ``client.get_handle(endpoint_id, request_id)`` fetches its result later.
    """

    def __init__(
        self, message: str, *, endpoint_id: str, request_id: str, cancelled: bool = False
    ) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.request_id = request_id
        self.cancelled = cancelled


class FalAPIError(FalError):
    """fal answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        endpoint_id: the endpoint that was called.
        request_id: fal's ``x-fal-request-id`` header, or None (gateway errors have none).
        error_type: the body's ``error_type`` or the ``X-Fal-Error-Type`` header.
        retryable: ``X-Fal-Retryable`` as a bool, None when the header is absent.
        detail: the body's ``detail`` (a string, or the list of validation errors).
        body: the decoded JSON body, or the raw text when it is not JSON.
        response: the ``httpx.Response`` (its request headers are redacted by httpx).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_id: str,
        status_code: int,
        request_id: str | None,
        error_type: str | None,
        retryable: bool | None,
        detail: Any,
        body: Any,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.status_code = status_code
        self.request_id = request_id
        self.error_type = error_type
        self.retryable = retryable
        self.detail = detail
        self.body = body
        self.response = response


class RedirectError(FalAPIError):
    """A 3xx answer. Never followed: it would replay a billed request, key included, elsewhere."""


class BadRequestError(FalAPIError):
    """400: the request was malformed (e.g. an invalid header value)."""


class AuthenticationError(FalAPIError):
    """401: no key or an invalid key."""


class PermissionDeniedError(FalAPIError):
    """403: the key may not call this endpoint."""


class NotFoundError(FalAPIError):
    """404: no such endpoint or path."""


class UnprocessableEntityError(FalAPIError):
    """422: the model rejected the input; ``detail`` lists the errors by field."""


class RateLimitError(FalAPIError):
    """429: too many requests."""


class InternalServerError(FalAPIError):
    """5xx: fal or the model failed. fal does not bill 5xx answers."""


class StartTimeoutError(FalAPIError):
    """504 with ``X-Fal-Request-Timeout-Type: user``: no runner started within ``start_timeout``.

    The model did not run. This is never retried automatically.
    """


class InvalidResponseError(FalError):
    """A 2xx answer whose body is not valid JSON."""

    def __init__(
        self, message: str, *, endpoint_id: str, status_code: int, request_id: str | None, text: str
    ) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.status_code = status_code
        self.request_id = request_id
        self.text = text


class ResponseValidationError(FalError):
    """A 2xx JSON answer that does not match the endpoint's output model.

    Nothing is lost: ``data`` is the decoded JSON and ``request_id`` identifies the run.
    ``errors`` is pydantic's error list.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_id: str,
        request_id: str | None,
        data: Any,
        errors: list[Any],
    ) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.request_id = request_id
        self.data = data
        self.errors = errors


_STATUS_ERRORS: dict[int, type[FalAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class(response: httpx.Response) -> type[FalAPIError]:
    """The FalAPIError subclass for a non-2xx response."""
    status = response.status_code
    if status == 504 and response.headers.get("x-fal-request-timeout-type", "").lower() == "user":
        return StartTimeoutError
    if 300 <= status < 400:
        return RedirectError
    if status >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status, FalAPIError)


def decode_body(response: httpx.Response) -> Any:
    """The JSON body, or the text when it is not JSON (HTML error pages, empty bodies)."""
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


def parse_retryable(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def _format_location(loc: Any) -> str:
    if isinstance(loc, list) and loc:
        return ".".join(str(part) for part in loc)
    return ""


def describe_detail(detail: Any) -> str:
    """Readable one-line text for fal's ``detail`` (a string or a list of validation errors)."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = _format_location(item.get("loc"))
                msg = str(item.get("msg", item.get("type", "invalid")))
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return json.dumps(detail, ensure_ascii=False, default=str)


# Only the start of a body is looked at for a message: error pages can be huge, and a hostile
# one must not make summarising it slow. The patterns below are linear in the text's length.
_DESCRIBED = 64 * 1024
_TITLE_OPEN = re.compile(r"<title[^<>]*>", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"\s+")
# The longest message text taken from a body (``detail`` included); the attributes keep it all.
_MESSAGE = 1500


def _shorten(text: str, limit: int) -> str:
    return text[:limit] + ("..." if len(text) > limit else "")


def describe_text(text: str) -> str:
    """A short readable line from a non-JSON body (an HTML page becomes its title)."""
    text = text[:_DESCRIBED]
    opening = _TITLE_OPEN.search(text)
    closing = _TITLE_CLOSE.search(text, opening.end()) if opening else None
    if opening and closing:
        text = text[opening.end() : closing.start()]
    elif "<" in text:
        text = _TAGS.sub(" ", text)
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    return _shorten(text, _SNIPPET)


Secrets = str | tuple[str, ...] | None


def redact(value: Any, secret: Secrets) -> Any:
    """``value`` with every occurrence of ``secret`` (one string or several) in its strings
    replaced by ``***``."""
    secrets = (secret,) if isinstance(secret, str) else secret or ()
    secrets = tuple(s for s in secrets if s)
    if not secrets:
        return value
    return _redact(value, secrets)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, list):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact(item, secrets) for item in value)
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    return value


def api_error(endpoint_id: str, response: httpx.Response, *, secret: Secrets = None) -> FalAPIError:
    """Build the FalAPIError subclass that describes a non-2xx response.

    ``secret`` (the API key) is scrubbed from everything kept, in case a server echoes it.
    """
    body = redact(decode_body(response), secret)
    detail: Any = body.get("detail") if isinstance(body, dict) else None
    error_type = body.get("error_type") if isinstance(body, dict) else None
    if not isinstance(error_type, str):
        error_type = redact(response.headers.get("x-fal-error-type"), secret)
    request_id = redact(response.headers.get("x-fal-request-id"), secret)
    retryable = parse_retryable(response.headers.get("x-fal-retryable"))

    if detail is not None:
        text = describe_detail(detail)
    elif isinstance(body, str) and body.strip():
        text = describe_text(body)
    elif body not in ("", None):
        text = describe_detail(body)
    else:
        text = response.reason_phrase or "no response body"
    text = _shorten(text, _MESSAGE)
    if 300 <= response.status_code < 400:
        location = response.headers.get("location", "")
        text = f"redirect to {location!r} not followed ({text})"

    pairs = (("error_type", error_type), ("request_id", request_id))
    extras = [f"{name}={value}" for name, value in pairs if value]
    suffix = f" [{', '.join(extras)}]" if extras else ""
    message = redact(f"{response.status_code} {endpoint_id}: {text}{suffix}", secret)
    return error_class(response)(
        message,
        endpoint_id=endpoint_id,
        status_code=response.status_code,
        request_id=request_id,
        error_type=error_type,
        retryable=retryable,
        detail=detail,
        body=body,
        response=response,
    )

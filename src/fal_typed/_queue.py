"""fal's queue protocol without I/O: URLs, option checks, status parsing and follow-up decisions.

Both the sync and the async queue layers call these; nothing here sends a request.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx

from ._exceptions import InvalidResponseError, redact
from ._options import validate_endpoint_id

__all__ = [
    "APP_NAMESPACES",
    "Completed",
    "InProgress",
    "QueueURLs",
    "Queued",
    "Status",
    "app_id",
    "decode_status",
    "is_cancellation",
    "parse_status",
    "poll_delay",
    "priority_header",
    "queue_urls",
    "same_origin",
    "submit_answer",
    "submit_url",
    "urls_from_submit",
    "validate_request_id",
    "webhook_query",
]

APP_NAMESPACES: Final = frozenset({"workflows", "comfy"})
"""First id segments that are a namespace: the app is then three segments long."""

Priority = Literal["normal", "low"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
_POLL_FIRST = 0.05
_POLL_MAX = 2.0


@dataclass(frozen=True)
class Queued:
    """The request waits in the queue; ``position`` counts the requests ahead (0-based)."""

    position: int


@dataclass(frozen=True)
class InProgress:
    """A runner is working on the request; ``logs`` are its log entries when asked for."""

    logs: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Completed:
    """The request finished: successfully, or with ``error``/``error_type`` set.

    ``metrics`` holds e.g. ``inference_time`` (seconds).
    """

    logs: list[dict[str, Any]] | None = None
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        """True when the request completed without an error."""
        return self.error is None and self.error_type is None


Status = Queued | InProgress | Completed


@dataclass(frozen=True)
class QueueURLs:
    """Where one queued request is followed, fetched and cancelled."""

    status: str
    stream: str
    result: str
    cancel: str


def app_id(endpoint_id: str) -> str:
    """The app part of an endpoint id, under which its queued requests live.

    ``owner/name`` (three segments when the first is a namespace such as ``workflows``):
    ``fal-ai/flux/dev`` is submitted to ``/fal-ai/flux/dev`` and followed under ``/fal-ai/flux``.
    """
    parts = validate_endpoint_id(endpoint_id).split("/")
    size = 3 if parts[0] in APP_NAMESPACES else 2
    if len(parts) < size:
        raise ValueError(
            f"invalid endpoint id {endpoint_id!r}: an id in the {parts[0]!r} namespace needs "
            "three parts, e.g. 'workflows/owner/name'"
        )
    return "/".join(parts[:size])


def validate_request_id(request_id: str) -> str:
    """Check a request id before it goes into a URL (it may come from storage or a user)."""
    if not isinstance(request_id, str):
        raise TypeError(f"request_id must be a str, not {type(request_id).__name__}")
    if not _REQUEST_ID.fullmatch(request_id):
        raise ValueError(
            f"invalid request_id {request_id!r}: expected letters, digits, '-', '_', '.' or ':' "
            "(as returned by submit)"
        )
    return request_id


def submit_url(queue_url: str, endpoint_id: str, path: str | None) -> str:
    """``POST {queue_url}/{endpoint_id}[/{path}]`` (ids and paths are validated by the caller)."""
    url = f"{queue_url}/{endpoint_id}"
    return f"{url}/{path}" if path is not None else url


def queue_urls(queue_url: str, endpoint_id: str, request_id: str) -> QueueURLs:
    """The URLs of a request, built as fal's clients do when resuming from a stored id."""
    base = f"{queue_url}/{app_id(endpoint_id)}/requests/{validate_request_id(request_id)}"
    return QueueURLs(
        status=f"{base}/status",
        stream=f"{base}/status/stream",
        result=base,
        cancel=f"{base}/cancel",
    )


def webhook_query(webhook_url: str) -> dict[str, str]:
    """The ``fal_webhook`` query parameter; the URL must be absolute http(s)."""
    if not isinstance(webhook_url, str):
        raise TypeError(f"webhook_url must be a str, not {type(webhook_url).__name__}")
    try:
        parsed = httpx.URL(webhook_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid webhook_url {webhook_url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            f"webhook_url must be an absolute http(s) URL, e.g. 'https://me.example/hook', "
            f"got {webhook_url!r}"
        )
    if any(ch.isspace() for ch in webhook_url):
        raise ValueError(f"invalid webhook_url {webhook_url!r}: contains whitespace")
    return {"fal_webhook": webhook_url}


def priority_header(priority: str) -> str:
    """The ``X-Fal-Queue-Priority`` value."""
    if priority not in ("normal", "low"):
        raise ValueError(f"priority must be 'normal' or 'low', got {priority!r}")
    return priority


def submit_answer(
    endpoint_id: str, data: Any, response: httpx.Response, secret: tuple[str, ...]
) -> str:
    """The request id from submit's answer; anything else is an ``InvalidResponseError``."""
    request_id = data.get("request_id") if isinstance(data, dict) else None
    if isinstance(request_id, str):
        try:
            return validate_request_id(request_id)
        except ValueError:
            pass
    text = redact(response.text, secret)
    raise InvalidResponseError(
        f"{response.status_code} {endpoint_id}: the queue accepted the request but its answer "
        f"has no usable request_id: {text[:200]!r}. The request may be queued (and billed); "
        "look for it in fal's request history.",
        endpoint_id=endpoint_id,
        status_code=response.status_code,
        request_id=None,
        text=text[:1000],
    )


def _logs(data: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    logs = data.get("logs")
    if isinstance(logs, list):
        return [entry if isinstance(entry, dict) else {"message": str(entry)} for entry in logs]
    return None


def parse_status(data: Any) -> Status:
    """A queue status object (from ``/status`` or one stream event) as a :data:`Status`.

    Raises ``ValueError`` for a shape fal does not send.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a status must be a JSON object, got {type(data).__name__}")
    status = data.get("status")
    if status == "IN_QUEUE":
        position = data.get("queue_position")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            position = 0
        return Queued(position=position)
    if status == "IN_PROGRESS":
        return InProgress(logs=_logs(data))
    if status == "COMPLETED":
        metrics = data.get("metrics")
        error = data.get("error")
        error_type = data.get("error_type")
        return Completed(
            logs=_logs(data),
            metrics=metrics if isinstance(metrics, dict) else {},
            error=None if error is None else str(error),
            error_type=error_type if isinstance(error_type, str) else None,
        )
    raise ValueError(f"unknown queue status {status!r}")


def decode_status(endpoint_id: str, request_id: str, content: bytes | str) -> Status:
    """Parse a status answer's body, raising ``InvalidResponseError`` with the request id."""
    try:
        return parse_status(json.loads(content))
    except ValueError as exc:
        text = content.decode(errors="replace") if isinstance(content, bytes) else content
        raise InvalidResponseError(
            f"{endpoint_id}: unreadable queue status for request {request_id}: {exc}",
            endpoint_id=endpoint_id,
            status_code=200,
            request_id=request_id,
            text=text[:1000],
        ) from None


_CANCELLED_TYPES = frozenset({"client_cancelled", "request_cancelled", "cancelled"})


def is_cancellation(completed: Completed) -> bool:
    """Whether a completion reports a cancellation rather than a failure."""
    if completed.error_type in _CANCELLED_TYPES:
        return True
    return completed.error is not None and "cancel" in completed.error.lower()


def poll_delay(unchanged_polls: int) -> float:
    """Seconds before the next status poll, growing while the status does not change."""
    return float(min(_POLL_FIRST * (1.5 ** min(unchanged_polls, 20)), _POLL_MAX))


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` is on the host (scheme, host, port) of ``base``."""
    try:
        a, b = httpx.URL(url), httpx.URL(base)
    except (httpx.InvalidURL, TypeError):
        return False
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def urls_from_submit(answer: Any, queue_url: str, endpoint_id: str, request_id: str) -> QueueURLs:
    """The URLs submit returned (authoritative), each kept only when it is on the queue host.

    The key goes with every request to these URLs, so a URL naming another host is ignored
    and built from the id instead.
    """
    built = queue_urls(queue_url, endpoint_id, request_id)
    if not isinstance(answer, dict):
        return built

    def pick(name: str, default: str) -> str:
        value = answer.get(name)
        return value if isinstance(value, str) and same_origin(value, queue_url) else default

    status = pick("status_url", built.status)
    return QueueURLs(
        status=status,
        stream=f"{status}/stream" if status != built.status else built.stream,
        result=pick("response_url", built.result),
        cancel=pick("cancel_url", built.cancel),
    )

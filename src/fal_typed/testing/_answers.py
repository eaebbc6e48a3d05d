"""What the emulator's servers answer: the answer record and fal's error shapes, shared by the
synchronous server (``_emulator``) and the queue (``_queue``)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from ._faults import DEFAULT_ERROR_TYPES, Fault

ERROR_MESSAGES: Mapping[str, str] = {
    "request_timeout": "Request exceeded the allowed processing time.",
    "startup_timeout": "No runner started within the request's start timeout.",
    "runner_scheduling_failure": "No runner could be allocated for the request.",
    "runner_connection_timeout": "The connection to the runner timed out.",
    "runner_disconnected": "The runner disconnected while processing the request.",
    "runner_connection_refused": "The runner refused the connection.",
    "runner_connection_error": "Could not connect to the runner.",
    "runner_incomplete_response": "The runner sent an incomplete response.",
    "runner_server_error": "The runner had an internal error.",
    "client_disconnected": "The client closed the connection before the response.",
    "client_cancelled": "The request was cancelled by the client.",
    "bad_request": "The request is malformed.",
    "internal_error": "Unexpected internal error.",
}

REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


@dataclass
class Answer:
    """One answer. ``close``: close the connection without answering. ``stream``: send the
    head, then each item as one HTTP/1.1 chunk, written at once (``body`` is ignored); the
    generator may raise :class:`StreamCut` to drop the connection mid-stream."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"
    request_id: str | None = None
    close: bool = False
    stream: Generator[bytes, None, None] | None = None


@dataclass
class Routing:
    """What handling learnt about a request, for its :class:`RecordedRequest`."""

    endpoint_id: str | None = None
    subpath: str | None = None
    start_timeout: float | None = None
    lifecycle_seconds: int | None = None
    fault: Fault | None = None


class StreamCut(Exception):
    """Raised by an answer's ``stream``: close the connection at once, without the last chunk."""


class RequestError(Exception):
    """Answer with fal's request-error shape."""

    def __init__(self, status: int, error_type: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error_type = error_type
        self.detail = detail


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def new_request_id() -> str:
    return str(uuid.uuid4())


def request_error(
    status: int,
    error_type: str | None,
    detail: str,
    request_id: str | None,
    *,
    extra: tuple[tuple[str, str], ...] = (),
) -> Answer:
    body: dict[str, Any] = {"detail": detail}
    headers = list(extra)
    if error_type is not None:
        body["error_type"] = error_type
        headers.append(("X-Fal-Error-Type", error_type))
    return Answer(status, json_bytes(body), tuple(headers), request_id=request_id)


def fault_answer(fault: Fault, request_id: str) -> Answer | None:
    """The answer a fault dictates, or None for a delay-only fault."""
    if fault.close_connection:
        return Answer(0, close=True)
    if fault.html_gateway_error is not None:
        status = fault.html_gateway_error
        title = f"{status} {REASONS.get(status, 'Bad Gateway')}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return Answer(status, page.encode(), content_type="text/html")
    if fault.malformed_json:
        body = b'{"images": [{"url": "https://fal.media.invalid/files/emulator/trunc'
        return Answer(200, body, tuple(fault.headers.items()), request_id=request_id)
    if fault.status is None:
        return None

    rid = request_id if fault.request_id else None
    headers: list[tuple[str, str]] = []
    if fault.retryable is not None:
        headers.append(("X-Fal-Retryable", "true" if fault.retryable else "false"))
    if fault.retry_after is not None:
        headers.append(("Retry-After", fault.retry_after))
    headers.extend(fault.headers.items())
    if fault.status == 422:
        detail = fault.detail
        if not isinstance(detail, list):
            detail = [
                {
                    "loc": ["body"],
                    "msg": detail if isinstance(detail, str) else "Input is not valid.",
                    "type": fault.error_type or "value_error",
                }
            ]
        return Answer(422, json_bytes({"detail": detail}), tuple(headers), request_id=rid)
    error_type = fault.error_type or DEFAULT_ERROR_TYPES.get(fault.status)
    message = fault.detail
    if message is None:
        message = ERROR_MESSAGES.get(error_type or "", f"Injected error {fault.status}.")
    answer = request_error(fault.status, error_type, message, rid, extra=tuple(headers))
    return answer


def parse_start_timeout(values: list[str]) -> float | None:
    if not values:
        return None
    raw = values[-1].strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if len(values) > 1 or not math.isfinite(seconds) or seconds < 1:
        raise RequestError(
            400,
            "bad_request",
            f"Invalid X-Fal-Request-Timeout header {raw!r}: expected a number of seconds >= 1.",
        )
    return seconds


def parse_lifecycle(values: list[str]) -> int | None:
    if not values:
        return None
    raw = values[-1]
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    seconds = data.get("expiration_duration_seconds") if isinstance(data, dict) else None
    if len(values) > 1 or not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise RequestError(
            400,
            "bad_request",
            f"Invalid X-Fal-Object-Lifecycle-Preference header {raw!r}: expected JSON like "
            '{"expiration_duration_seconds": 3600} with a positive integer.',
        )
    return seconds

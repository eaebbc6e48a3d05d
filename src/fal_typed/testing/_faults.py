"""Fault injection: scripted failures the emulator answers instead of a normal response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_ERROR_TYPES", "FAULT_ROUTES", "Fault"]

FAULT_ROUTES = ("run", "submit", "status", "stream", "result", "cancel")
"""Where a fault applies: ``run`` is ``POST /{endpoint_id}`` on the synchronous server; the
others are the queue server's submit (``POST``), ``GET .../status``, ``GET .../status/stream``,
``GET .../requests/{id}`` (the result) and ``PUT .../cancel``."""

DEFAULT_ERROR_TYPES: Mapping[int, str] = {
    400: "bad_request",
    499: "client_disconnected",
    500: "runner_server_error",
    502: "runner_incomplete_response",
    503: "runner_scheduling_failure",
    504: "request_timeout",
}
"""The ``error_type`` a status fault gets when none is given (fal's usual pairing)."""


@dataclass(frozen=True)
class Fault:
    """One scripted failure, applied to the next ``times`` matching requests.

    A fault has one *kind*, chosen by which field is set:

    - ``status``: answer with that status (400-599) in fal's format. 422 uses the validation
      shape ``{"detail": [{"loc": ["body"], "msg", "type"}]}``; every other status uses the
      request-error shape ``{"detail": "...", "error_type": "..."}`` plus the
      ``X-Fal-Error-Type`` header. ``error_type`` defaults from :data:`DEFAULT_ERROR_TYPES`
      (no error type for other statuses); ``detail`` overrides the message (or, for 422, may be
      the whole list of error items).
    - ``close_connection=True``: read the whole request, record it, then close the connection
      without answering (the client cannot tell whether the model ran). On ``route="submit"``
      the request is not queued, unless ``after_enqueue=True``: then it is queued (and runs)
      and only the answer is lost.
    - ``cut_after_events=N`` (``route="stream"`` only): send the stream's head and its first N
      events, then drop the connection without ending the chunked body (a stream that
      completes within N events ends normally).
    - ``malformed_json=True``: answer 200 with a truncated JSON body (not on ``stream``; on
      ``submit`` the request is queued first).
    - ``html_gateway_error=502`` (or 503/504): answer with an nginx-style HTML error page and no
      ``x-fal-request-id`` header, like a gateway that never reached a runner.
    - none of them, only ``delay``: a slow but otherwise normal answer.

    Common options:

    - ``delay``: seconds to wait before answering (or before closing the connection). Real
      seconds, not scaled by the emulator's ``time_scale``.
    - ``retryable``: sets ``X-Fal-Retryable: true|false`` (status faults; None = no header).
    - ``retry_after``: sets ``Retry-After`` to this text (status faults).
    - ``request_id``: whether a status fault carries an ``x-fal-request-id`` header.
    - ``headers``: extra response headers (status and malformed-JSON faults).
    - ``times``: how many matching requests the fault applies to (at least 1).
    - ``route``: which kind of request it applies to, one of :data:`FAULT_ROUTES` (default
      ``"run"``, the synchronous call).

    Faults apply to requests that passed authentication, routing and header checks, before the
    simulated runner start and input validation. On the queue's status, stream, result and
    cancel routes, routing includes finding the request: an unknown request id answers 404
    and consumes no fault.
    """

    status: int | None = None
    error_type: str | None = None
    detail: Any = None
    retryable: bool | None = None
    retry_after: str | None = None
    request_id: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close_connection: bool = False
    malformed_json: bool = False
    html_gateway_error: int | None = None
    times: int = 1
    route: str = "run"
    after_enqueue: bool = False
    cut_after_events: int | None = None

    def __post_init__(self) -> None:
        kinds = [
            self.status is not None,
            self.close_connection,
            self.malformed_json,
            self.html_gateway_error is not None,
            self.cut_after_events is not None,
        ]
        if sum(kinds) > 1:
            raise ValueError(
                "a Fault has one kind: set only one of status, close_connection, "
                "malformed_json, html_gateway_error and cut_after_events"
            )
        if self.route not in FAULT_ROUTES:
            raise ValueError(f"route must be one of {', '.join(FAULT_ROUTES)}; got {self.route!r}")
        if self.cut_after_events is not None:
            if self.route != "stream":
                raise ValueError(
                    f"cut_after_events applies to route='stream' only, not {self.route!r}"
                )
            if self.cut_after_events < 0:
                raise ValueError(f"cut_after_events must be >= 0, got {self.cut_after_events}")
        if self.after_enqueue and not (self.route == "submit" and self.close_connection):
            raise ValueError("after_enqueue needs route='submit' and close_connection=True")
        if self.malformed_json and self.route == "stream":
            raise ValueError("malformed_json does not apply to route='stream'")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"status must be 400-599, got {self.status}")
        if self.html_gateway_error is not None and not 500 <= self.html_gateway_error <= 599:
            raise ValueError(f"html_gateway_error must be 500-599, got {self.html_gateway_error}")
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay}")
        if self.times < 1:
            raise ValueError(f"times must be >= 1, got {self.times}")
        if not (any(kinds) or self.delay > 0):
            raise ValueError(
                "an empty Fault: set status, close_connection, malformed_json, "
                "html_gateway_error, cut_after_events or delay"
            )

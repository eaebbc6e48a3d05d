"""Fault injection: scripted failures the emulator answers instead of a normal response."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_ERROR_TYPES", "Fault"]

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
      without answering (the client cannot tell whether the model ran).
    - ``malformed_json=True``: answer 200 with a truncated JSON body.
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

    Faults apply to requests that passed authentication, routing and header checks, before the
    simulated runner start and input validation.
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

    def __post_init__(self) -> None:
        kinds = [
            self.status is not None,
            self.close_connection,
            self.malformed_json,
            self.html_gateway_error is not None,
        ]
        if sum(kinds) > 1:
            raise ValueError(
                "a Fault has one kind: set only one of status, close_connection, "
                "malformed_json and html_gateway_error"
            )
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
                "html_gateway_error or delay"
            )

"""Validation of request options. Everything here runs before a request is sent."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta

__all__ = ["lifecycle_header", "start_timeout_header", "validate_endpoint_id", "validate_path"]

# Characters that would change the meaning of the URL or smuggle a different path.
_FORBIDDEN = re.compile(r"[?#\\%\s]")


def _check_segments(value: str, what: str) -> list[str]:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if _FORBIDDEN.search(value):
        raise ValueError(
            f"invalid {what} {value!r}: must not contain '?', '#', '\\', '%' or whitespace"
        )
    segments = value.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError(
                f"invalid {what} {value!r}: empty, '.' and '..' segments are not allowed "
                "(no leading, trailing or double slashes)"
            )
    return segments


def validate_endpoint_id(endpoint_id: str) -> str:
    """Check an endpoint id of the form ``owner/name[/sub...]``, e.g. ``fal-ai/flux/dev``."""
    if len(_check_segments(endpoint_id, "endpoint id")) < 2:
        raise ValueError(
            f"invalid endpoint id {endpoint_id!r}: expected 'owner/name[/sub...]', "
            "e.g. 'fal-ai/fast-sdxl'"
        )
    return endpoint_id


def validate_path(path: str) -> str:
    """Check a subpath appended to the endpoint URL, e.g. ``"dev"`` or ``"image-to-image"``."""
    _check_segments(path, "path")
    return path


def start_timeout_header(value: float | timedelta) -> str:
    """The ``X-Fal-Request-Timeout`` value: a finite number of seconds, at least 1."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"start_timeout must be seconds as int/float or a timedelta, not {type(value).__name__}"
        )
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 1:
        raise ValueError(f"start_timeout must be a finite number of seconds >= 1, got {value!r}")
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def lifecycle_header(value: int | timedelta) -> str:
    """The ``X-Fal-Object-Lifecycle-Preference`` value for a positive whole number of seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if not seconds.is_integer():
            raise ValueError(f"object_lifecycle must be whole seconds, got {value!r}")
        whole = int(seconds)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"object_lifecycle must be seconds as int or a timedelta, not {type(value).__name__}"
        )
    else:
        whole = value
    if whole <= 0:
        raise ValueError(f"object_lifecycle must be a positive number of seconds, got {value!r}")
    return json.dumps({"expiration_duration_seconds": whole})

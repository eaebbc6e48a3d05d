"""GET JSON from fal's document URLs with timeouts and a few retries (the GETs are idempotent)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

__all__ = ["FetchError", "Fetcher"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_BACKOFF = 8.0


class FetchError(Exception):
    """A document could not be fetched; the message is user-facing (never contains the key)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Fetcher:
    """GETs JSON through one ``httpx.Client``.

    Connection errors, timeouts, 429 and 5xx are retried ``retries`` times with exponential
    backoff (``backoff``, doubled each time, at most 8 s; a ``Retry-After`` in seconds wins, up
    to 8 s). ``secret`` is scrubbed from error messages (a server may echo a header).
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        retries: int = 2,
        backoff: float = 0.5,
        secret: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.retries = retries
        self.backoff = backoff
        self.secret = secret
        self._sleep = sleep

    def get_json(
        self,
        url: str,
        params: Mapping[str, str | int],
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, str]:
        """The decoded JSON answer of ``GET url?params`` and the URL requested.

        Raises FetchError for network errors (after retries), non-2xx answers and invalid JSON.
        """
        request_url = str(httpx.URL(url, params=dict(params)))
        attempt = 0
        while True:
            try:
                response = self.client.get(url, params=dict(params), headers=dict(headers or {}))
            except httpx.TransportError as exc:
                if attempt < self.retries:
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                raise FetchError(
                    self._scrub(f"network error: {type(exc).__name__}: {exc}".rstrip(": "))
                ) from None
            if response.status_code in _RETRY_STATUSES and attempt < self.retries:
                self._wait(attempt, response.headers.get("retry-after"))
                attempt += 1
                continue
            break
        if not response.is_success:
            snippet = " ".join(response.text.split())[:200]
            reason = response.reason_phrase or ""
            message = f"HTTP {response.status_code} {reason}".rstrip()
            if snippet:
                message += f": {snippet}"
            raise FetchError(self._scrub(message), response.status_code)
        try:
            return json.loads(response.content.decode("utf-8-sig")), request_url
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = (
                f" (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            problem = exc.msg if isinstance(exc, json.JSONDecodeError) else exc.reason
            raise FetchError(f"invalid JSON in the answer: {problem}{where}") from None

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.backoff * 2**attempt, _MAX_BACKOFF)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep the backoff
                delay = min(max(float(retry_after), 0.0), _MAX_BACKOFF)
        self._sleep(delay)

    def _scrub(self, text: str) -> str:
        return text.replace(self.secret, "***") if self.secret else text

"""The emulator's webhooks: an Ed25519 signing key with its JWKS, and background delivery."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["WEBHOOK_USER_ID", "WebhookDelivery", "WebhookSender", "WebhookSigner"]

WEBHOOK_USER_ID = "emulator-user"
"""The ``X-Fal-Webhook-User-Id`` the emulator's webhooks carry."""

_TIMEOUT = 15.0
_RETRY_DELAYS = (1.0, 2.0)  # simulated seconds before the 2nd and 3rd attempts


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver a webhook (a failed attempt is followed by a retry)."""

    url: str
    request_id: str
    attempt: int
    """1 for the first attempt, 2 and 3 for the retries."""
    headers: Mapping[str, str]
    """The headers sent: ``Content-Type`` and the four ``X-Fal-Webhook-*`` headers."""
    body: bytes
    """The raw JSON body sent (what the signature covers)."""
    status: int | None
    """The status the receiver answered; None when it did not answer (see ``error``)."""
    error: str | None = None
    """Why there was no answer (connection refused, timeout...)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class WebhookSigner:
    """An Ed25519 key generated for one emulator, used like fal's webhook signing key."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key: Ed25519PrivateKey = Ed25519PrivateKey.generate()
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.kid = "fal-emulator-" + hashlib.sha256(raw).hexdigest()[:16]
        self._jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": self.kid}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def sign(
        self,
        body: bytes,
        *,
        request_id: str,
        timestamp: int | None = None,
        user_id: str = WEBHOOK_USER_ID,
    ) -> dict[str, str]:
        """The four ``X-Fal-Webhook-*`` headers for ``body``, as fal computes them."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        message = "\n".join([request_id, user_id, stamp, hashlib.sha256(body).hexdigest()])
        signature = self._key.sign(message.encode("utf-8"))
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": signature.hex(),
        }


class WebhookSender:
    """Delivers webhooks from a small thread pool and records every attempt.

    An attempt that gets no answer or a non-2xx answer is retried twice, after 1 and 2
    simulated seconds (times ``scale()``); each attempt is signed afresh.
    """

    def __init__(self, signer: WebhookSigner, scale: Callable[[], float]) -> None:
        self._signer = signer
        self._scale = scale
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._deliveries: list[WebhookDelivery] = []
        self._generation = 0
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._stopping = threading.Event()

    def send(self, url: str, request_id: str, body: bytes) -> None:
        """Deliver in the background (cheap: called with the queue's lock held)."""
        with self._lock:
            if self._pool is None:
                self._stopping.clear()
                self._pool = ThreadPoolExecutor(8, thread_name_prefix="fal-emulator-webhook")
            pool, generation = self._pool, self._generation
        pool.submit(self._deliver, url, request_id, body, generation)

    def _http(self) -> httpx.Client | None:
        """The shared HTTP client (created on first use), or None once closed."""
        with self._lock:
            if self._pool is None:
                return None
            if self._client is None:
                # No Authorization header ever: the key must not reach the webhook's URL.
                self._client = httpx.Client(timeout=_TIMEOUT, trust_env=False)
            return self._client

    def _deliver(self, url: str, request_id: str, body: bytes, generation: int) -> None:
        client = self._http()
        if client is None:
            return
        for attempt in range(1, len(_RETRY_DELAYS) + 2):
            headers = {"Content-Type": "application/json"}
            headers.update(self._signer.sign(body, request_id=request_id))
            status: int | None = None
            error: str | None = None
            try:
                status = client.post(url, content=body, headers=headers).status_code
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: client closed
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if generation != self._generation:
                    return  # the emulator was reset meanwhile
                self._deliveries.append(
                    WebhookDelivery(url, request_id, attempt, headers, body, status, error)
                )
                self._recorded.notify_all()
            if status is not None and 200 <= status < 300:
                return
            if attempt > len(_RETRY_DELAYS):
                return
            if self._stopping.wait(_RETRY_DELAYS[attempt - 1] * self._scale()):
                return

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    def wait(self, count: int, timeout: float) -> list[WebhookDelivery]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._deliveries)} webhook deliveries after {timeout:g} s, "
                        f"expected {count}"
                    )
                self._recorded.wait(left)
            return list(self._deliveries)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._generation += 1

    def close(self) -> None:
        """Stop retrying, drop pending deliveries and close the HTTP client."""
        with self._lock:
            pool, client = self._pool, self._client
            self._pool = self._client = None
        self._stopping.set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()

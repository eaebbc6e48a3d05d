"""Ed25519 keys and signatures made exactly as fal makes them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NOW = 1_700_000_000


class Signer:
    """One fal signing key: its JWK and the four headers of a signed delivery."""

    def __init__(self, kid: str = "key-1") -> None:
        self.kid = kid
        self.private_key = Ed25519PrivateKey.generate()

    @property
    def jwk(self) -> dict[str, Any]:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig"}

    def sign(
        self,
        body: bytes,
        *,
        request_id: str = "req-123",
        user_id: str = "user-456",
        timestamp: int | str = NOW,
    ) -> dict[str, str]:
        message = "\n".join(
            (request_id, user_id, str(timestamp), hashlib.sha256(body).hexdigest())
        ).encode("utf-8")
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": str(timestamp),
            "X-Fal-Webhook-Signature": self.private_key.sign(message).hex(),
        }


def jwks(*signers: Signer, extra: list[Any] | None = None) -> dict[str, Any]:
    return {"keys": [*(extra or []), *(signer.jwk for signer in signers)]}

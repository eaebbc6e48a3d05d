"""verify() against a JWK set given as a mapping: signatures, headers and timestamps."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import fal_typed
from fal_typed.webhooks import VerifiedWebhook, WebhookVerificationError, verify
from tests.webhooks._signing import NOW, Signer, jwks

BODY = json.dumps({"request_id": "req-123", "status": "OK", "payload": {"x": 1}}).encode()
HEADERS = (
    "X-Fal-Webhook-Request-Id",
    "X-Fal-Webhook-User-Id",
    "X-Fal-Webhook-Timestamp",
    "X-Fal-Webhook-Signature",
)


def rejected(body: bytes, headers: Any, keys: Any, *, now: float = NOW, **kw: Any) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify(body, headers, jwks=keys, now=now, **kw)
    return info.value.reason


def test_good_signature(signer: Signer) -> None:
    result = verify(BODY, signer.sign(BODY), jwks=jwks(signer), now=NOW)
    assert result == VerifiedWebhook("req-123", "user-456", NOW, "key-1")


def test_error_is_a_fal_error() -> None:
    assert issubclass(WebhookVerificationError, fal_typed.FalError)


def test_bytearray_and_memoryview_bodies(signer: Signer) -> None:
    headers = signer.sign(BODY)
    verify(bytearray(BODY), headers, jwks=jwks(signer), now=NOW)
    verify(memoryview(BODY), headers, jwks=jwks(signer), now=NOW)


def test_tampered_body(signer: Signer) -> None:
    headers = signer.sign(BODY)
    assert rejected(BODY.replace(b"1", b"2"), headers, jwks(signer)) == "bad_signature"
    assert rejected(BODY + b" ", headers, jwks(signer)) == "bad_signature"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Fal-Webhook-Request-Id", "req-999"),
        ("X-Fal-Webhook-User-Id", "user-999"),
        ("X-Fal-Webhook-Timestamp", str(NOW + 1)),
    ],
)
def test_tampered_header(signer: Signer, name: str, value: str) -> None:
    headers = {**signer.sign(BODY), name: value}
    assert rejected(BODY, headers, jwks(signer)) == "bad_signature"


def test_re_serialised_json_is_rejected(signer: Signer) -> None:
    headers = signer.sign(BODY)
    reserialised = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert rejected(reserialised, headers, jwks(signer)) == "bad_signature"


def test_str_body_is_a_type_error(signer: Signer) -> None:
    with pytest.raises(TypeError, match="raw request bytes, not str"):
        verify(BODY.decode(), signer.sign(BODY), jwks=jwks(signer), now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("offset", [-301, -1000, -86400])
def test_stale_timestamp(signer: Signer, offset: int) -> None:
    headers = signer.sign(BODY, timestamp=NOW + offset)
    with pytest.raises(WebhookVerificationError, match="stale timestamp") as info:
        verify(BODY, headers, jwks=jwks(signer), now=NOW)
    assert info.value.reason == "stale_timestamp"


@pytest.mark.parametrize("offset", [301, 1000])
def test_future_timestamp(signer: Signer, offset: int) -> None:
    headers = signer.sign(BODY, timestamp=NOW + offset)
    with pytest.raises(WebhookVerificationError, match="in the future") as info:
        verify(BODY, headers, jwks=jwks(signer), now=NOW)
    assert info.value.reason == "future_timestamp"


@pytest.mark.parametrize("offset", [-300, 300, 0])
def test_exact_tolerance_edge_is_accepted(signer: Signer, offset: int) -> None:
    verify(BODY, signer.sign(BODY, timestamp=NOW + offset), jwks=jwks(signer), now=NOW)


def test_just_past_the_tolerance_edge(signer: Signer) -> None:
    headers = signer.sign(BODY, timestamp=NOW - 300)
    assert rejected(BODY, headers, jwks(signer), now=NOW + 0.001) == "stale_timestamp"


def test_custom_tolerance(signer: Signer) -> None:
    headers = signer.sign(BODY, timestamp=NOW - 10)
    verify(BODY, headers, jwks=jwks(signer), now=NOW, tolerance=10)
    assert rejected(BODY, headers, jwks(signer), tolerance=9) == "stale_timestamp"


def test_timestamp_checked_before_signature(signer: Signer) -> None:
    # A stale request is refused as stale even when its signature is also wrong.
    headers = {**signer.sign(BODY, timestamp=NOW - 1000), "X-Fal-Webhook-Signature": "00" * 64}
    assert rejected(BODY, headers, jwks(signer)) == "stale_timestamp"


def test_default_now_is_wall_clock(signer: Signer) -> None:
    import time

    verify(BODY, signer.sign(BODY, timestamp=int(time.time())), jwks=jwks(signer))
    with pytest.raises(WebhookVerificationError, match="stale"):
        verify(BODY, signer.sign(BODY, timestamp=NOW), jwks=jwks(signer))


@pytest.mark.parametrize(
    "value", ["abc", "1.7e9", "-5", " ", "1_700_000_000", "\u0661\u0667\u0660\u0660"]
)
def test_malformed_timestamp(signer: Signer, value: str) -> None:
    headers = {**signer.sign(BODY), "X-Fal-Webhook-Timestamp": value}
    reason = rejected(BODY, headers, jwks(signer))
    assert reason == ("missing_header" if not value.strip() else "malformed_timestamp")


def test_unknown_key(signer: Signer) -> None:
    other = Signer("other")
    with pytest.raises(WebhookVerificationError, match="bad signature") as info:
        verify(BODY, other.sign(BODY), jwks=jwks(signer), now=NOW)
    assert info.value.reason == "bad_signature"


def test_two_live_keys_either_works() -> None:
    old, new = Signer("old"), Signer("new")
    keys = jwks(old, new)
    assert verify(BODY, old.sign(BODY), jwks=keys, now=NOW).key_id == "old"
    assert verify(BODY, new.sign(BODY), jwks=keys, now=NOW).key_id == "new"
    assert rejected(BODY, Signer("third").sign(BODY), keys) == "bad_signature"


@pytest.mark.parametrize("missing", HEADERS)
def test_missing_header(signer: Signer, missing: str) -> None:
    headers = signer.sign(BODY)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=f"missing header {missing}") as info:
        verify(BODY, headers, jwks=jwks(signer), now=NOW)
    assert info.value.reason == "missing_header"


def test_empty_header_counts_as_missing(signer: Signer) -> None:
    headers = {**signer.sign(BODY), "X-Fal-Webhook-User-Id": ""}
    with pytest.raises(WebhookVerificationError, match="missing header X-Fal-Webhook-User-Id"):
        verify(BODY, headers, jwks=jwks(signer), now=NOW)


@pytest.mark.parametrize(
    "signature",
    ["zz" * 64, "ab" * 63, "ab" * 65, "0x" + "ab" * 63, "ab " * 64, "not hex at all"],
)
def test_malformed_signature(signer: Signer, signature: str) -> None:
    headers = {**signer.sign(BODY), "X-Fal-Webhook-Signature": signature}
    with pytest.raises(WebhookVerificationError, match="malformed signature") as info:
        verify(BODY, headers, jwks=jwks(signer), now=NOW)
    assert info.value.reason == "malformed_signature"


def test_upper_case_hex_signature(signer: Signer) -> None:
    headers = signer.sign(BODY)
    headers["X-Fal-Webhook-Signature"] = headers["X-Fal-Webhook-Signature"].upper()
    verify(BODY, headers, jwks=jwks(signer), now=NOW)


def test_non_ed25519_keys_are_skipped(signer: Signer) -> None:
    junk: list[Any] = [
        {"kty": "RSA", "n": "abc", "e": "AQAB", "kid": "rsa"},
        {"kty": "EC", "crv": "P-256", "x": "abc", "y": "def"},
        {"kty": "OKP", "crv": "X25519", "x": signer.jwk["x"]},  # same bytes, wrong curve
        {"kty": "OKP", "crv": "Ed448", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "too-short"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64 !!"},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": 12345},
        "not a key",
        None,
    ]
    result = verify(BODY, signer.sign(BODY), jwks=jwks(signer, extra=junk), now=NOW)
    assert result.key_id == "key-1"


def test_only_unusable_keys(signer: Signer) -> None:
    keys = {"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB"}]}
    with pytest.raises(WebhookVerificationError, match="no usable key") as info:
        verify(BODY, signer.sign(BODY), jwks=keys, now=NOW)
    assert info.value.reason == "no_usable_key"
    assert rejected(BODY, signer.sign(BODY), {"keys": []}) == "no_usable_key"


def test_padded_base64url_key(signer: Signer) -> None:
    jwk = {**signer.jwk, "x": signer.jwk["x"] + "="}
    verify(BODY, signer.sign(BODY), jwks={"keys": [jwk]}, now=NOW)


def test_malformed_jwks_mapping_is_a_value_error(signer: Signer) -> None:
    with pytest.raises(ValueError, match='"keys" list'):
        verify(BODY, signer.sign(BODY), jwks={"keys": "nope"}, now=NOW)
    with pytest.raises(TypeError, match="jwks must be"):
        verify(BODY, signer.sign(BODY), jwks=[signer.jwk], now=NOW)  # type: ignore[arg-type]


def test_headers_in_other_cases(signer: Signer) -> None:
    signed = signer.sign(BODY)
    keys = jwks(signer)
    lower = {k.lower(): v for k, v in signed.items()}
    upper = {k.upper(): v for k, v in signed.items()}
    mixed = {("x-FAL-webhook-" + k.split("-", 3)[3]): v for k, v in signed.items()}
    for headers in (lower, upper, mixed, httpx.Headers(signed), httpx.Headers(lower)):
        assert verify(BODY, headers, jwks=keys, now=NOW).request_id == "req-123"


def test_http_server_headers(signer: Signer) -> None:
    import http.client
    import io

    signed = signer.sign(BODY)
    # What http.server's BaseHTTPRequestHandler.headers is: an email Message, not a Mapping.
    raw = "".join(f"{k.lower()}: {v}\r\n" for k, v in signed.items()) + "\r\n"
    message = http.client.parse_headers(io.BytesIO(raw.encode()))
    verify(BODY, message, jwks=jwks(signer), now=NOW)


def test_bytes_header_names_and_values(signer: Signer) -> None:
    raw = {k.lower().encode(): v.encode() for k, v in signer.sign(BODY).items()}
    verify(BODY, raw, jwks=jwks(signer), now=NOW)  # type: ignore[arg-type]


def test_conflicting_duplicate_header(signer: Signer) -> None:
    headers = {**signer.sign(BODY), "x-fal-webhook-user-id": "someone-else"}
    assert rejected(BODY, headers, jwks(signer)) == "duplicate_header"
    same = {**signer.sign(BODY), "x-fal-webhook-user-id": "user-456"}
    verify(BODY, same, jwks=jwks(signer), now=NOW)


def test_surrounding_whitespace_in_values_is_ignored(signer: Signer) -> None:
    headers = {k: f" {v}\t" for k, v in signer.sign(BODY).items()}
    verify(BODY, headers, jwks=jwks(signer), now=NOW)


def test_non_ascii_ids_are_signed_as_utf8(signer: Signer) -> None:
    headers = signer.sign(BODY, user_id="usér")
    verify(BODY, headers, jwks=jwks(signer), now=NOW)


@pytest.mark.parametrize("tolerance", [-1, float("nan"), float("inf")])
def test_invalid_tolerance(signer: Signer, tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        verify(BODY, signer.sign(BODY), jwks=jwks(signer), now=NOW, tolerance=tolerance)


def test_jwks_keys_as_tuple(signer: Signer) -> None:
    verify(BODY, signer.sign(BODY), jwks={"keys": (signer.jwk,)}, now=NOW)

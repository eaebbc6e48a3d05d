"""JWKSCache against a real HTTP server on 127.0.0.1: caching, rotation, rate limit, errors."""

from __future__ import annotations

import json
import threading

import pytest

from fal_typed import webhooks
from fal_typed.webhooks import JWKSCache, WebhookVerificationError, default_jwks_cache, verify
from tests.webhooks._jwks_server import Clock, JWKSServer
from tests.webhooks._signing import NOW, Signer, jwks

BODY = b'{"request_id": "req-123", "status": "OK", "payload": {}}'


def test_fetched_once_and_cached(server: JWKSServer, signer: Signer, clock: Clock) -> None:
    cache = JWKSCache(server.url, clock=clock)
    assert server.fetches == 0  # nothing is fetched before it is needed
    for i in range(5):
        verify(BODY, signer.sign(BODY, request_id=f"r{i}"), jwks=cache, now=NOW)
        clock.advance(3600)  # 4 h in total: within the 24 h ttl
    assert server.fetches == 1
    assert cache.key_ids == ("key-1",)


def test_no_credentials_sent(
    server: JWKSServer, signer: Signer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "secret-key-id:secret-key-secret")
    verify(BODY, signer.sign(BODY), jwks=JWKSCache(server.url, clock=clock), now=NOW)
    (request,) = server.requests
    assert "authorization" not in request
    assert not any("secret-key" in value for value in request.values())
    assert request["user-agent"].startswith("fal-typed/")


def test_credentials_in_url_refused() -> None:
    with pytest.raises(ValueError, match="credentials"):
        JWKSCache("https://user:pass@example.com/jwks.json")


@pytest.mark.parametrize(
    "url", ["http://example.com/jwks.json", "ftp://example.com/jwks", "jwks.json"]
)
def test_plain_http_only_on_localhost(url: str) -> None:
    with pytest.raises(ValueError, match="https"):
        JWKSCache(url)


def test_refetched_once_on_unknown_key_then_rotated_key_verifies(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    rotated = Signer("key-2")
    server.jwks = jwks(rotated)  # fal rotates: only the new key is published
    clock.advance(61)
    result = verify(BODY, rotated.sign(BODY), jwks=cache, now=NOW)
    assert result.key_id == "key-2"
    assert server.fetches == 2
    assert cache.key_ids == ("key-2",)
    # The rotated key set is now cached: no further fetches.
    verify(BODY, rotated.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 2


def test_refetch_is_rate_limited(server: JWKSServer, signer: Signer, clock: Clock) -> None:
    cache = JWKSCache(server.url, clock=clock, refetch_interval=60)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    stranger = Signer("unknown")
    # Just fetched: an unknown key does not trigger a refetch within the interval.
    for _ in range(3):
        with pytest.raises(WebhookVerificationError, match="bad signature"):
            verify(BODY, stranger.sign(BODY), jwks=cache, now=NOW)
        clock.advance(10)
    assert server.fetches == 1
    clock.advance(31)  # 61 s after the fetch
    with pytest.raises(WebhookVerificationError, match="bad signature"):
        verify(BODY, stranger.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 2
    for _ in range(5):  # a flood of forged requests: at most one fetch per interval
        with pytest.raises(WebhookVerificationError, match="bad signature"):
            verify(BODY, stranger.sign(BODY), jwks=cache, now=NOW)
        clock.advance(5)
    assert server.fetches == 2
    # Valid requests keep verifying with the cached key throughout.
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 2


def test_rotation_within_the_rate_limit_waits(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    rotated = Signer("key-2")
    server.jwks = jwks(signer, rotated)
    clock.advance(30)
    with pytest.raises(WebhookVerificationError, match="bad signature"):
        verify(BODY, rotated.sign(BODY), jwks=cache, now=NOW)
    clock.advance(30)
    assert verify(BODY, rotated.sign(BODY), jwks=cache, now=NOW).key_id == "key-2"
    assert server.fetches == 2


def test_cache_expires_after_ttl(server: JWKSServer, signer: Signer, clock: Clock) -> None:
    cache = JWKSCache(server.url, ttl=3600, clock=clock)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    clock.advance(3599)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 1
    clock.advance(1)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 2


def test_expired_cache_drops_a_revoked_key(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    server.jwks = jwks(Signer("replacement"))
    clock.advance(24 * 3600)
    with pytest.raises(WebhookVerificationError, match="bad signature"):
        verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)


def test_fetch_failure_is_clear(signer: Signer, clock: Clock) -> None:
    with JWKSServer(jwks(signer)) as server:
        url = server.url
    # The server is gone: connection refused.
    cache = JWKSCache(url, clock=clock, timeout=2)
    with pytest.raises(WebhookVerificationError) as info:
        verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert info.value.reason == "fetch_failed"
    assert str(info.value).startswith(f"could not fetch the key set from {url}: ConnectError")


@pytest.mark.parametrize(
    ("status", "raw", "match"),
    [
        (500, b"<html><title>Internal oops</title></html>", r"HTTP 500 \(Internal oops\)"),
        (404, b"", r"HTTP 404 \(Not Found\)"),
        (302, b"", r"HTTP 302"),
        (200, b"not json", "not JSON"),
        (200, b'{"no": "keys"}', "not a JWK set"),
        (200, b"[1, 2]", "not a JWK set"),
    ],
)
def test_bad_answers(
    server: JWKSServer, signer: Signer, clock: Clock, status: int, raw: bytes, match: str
) -> None:
    server.status, server.raw = status, raw
    with pytest.raises(WebhookVerificationError, match=match) as info:
        verify(BODY, signer.sign(BODY), jwks=JWKSCache(server.url, clock=clock), now=NOW)
    assert info.value.reason == "fetch_failed"
    assert str(info.value).startswith(f"could not fetch the key set from {server.url}")


def test_failed_fetch_is_not_retried_at_once(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    server.status, server.raw = 503, b"down"
    cache = JWKSCache(server.url, clock=clock)
    with pytest.raises(WebhookVerificationError, match="HTTP 503"):
        verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    server.status, server.raw = 200, None
    clock.advance(10)
    with pytest.raises(WebhookVerificationError, match=r"HTTP 503.*not retried for another 50 s"):
        verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 1
    clock.advance(50)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert server.fetches == 2


def test_failed_refetch_is_reported_with_the_bad_signature(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    server.status, server.raw = 500, b"oops"
    clock.advance(61)
    with pytest.raises(WebhookVerificationError, match="refetching the key set failed") as info:
        verify(BODY, Signer("new").sign(BODY), jwks=cache, now=NOW)
    assert info.value.reason == "bad_signature"
    # The cached key still works while the refetch fails (the ttl has not run out).
    verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)


def test_unusable_fetched_set(server: JWKSServer, signer: Signer, clock: Clock) -> None:
    server.jwks = {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, signer.jwk]}
    cache = JWKSCache(server.url, clock=clock)
    assert verify(BODY, signer.sign(BODY), jwks=cache, now=NOW).key_id == "key-1"
    server.jwks = {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}
    cache = JWKSCache(server.url, clock=clock)
    with pytest.raises(WebhookVerificationError, match="no usable key") as info:
        verify(BODY, signer.sign(BODY), jwks=cache, now=NOW)
    assert info.value.reason == "no_usable_key"


def test_refresh(server: JWKSServer, clock: Clock) -> None:
    cache = JWKSCache(server.url, clock=clock)
    cache.refresh()
    cache.refresh()
    assert server.fetches == 2
    assert cache.key_ids == ("key-1",)


def test_url_from_environment(
    server: JWKSServer, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_TYPED_JWKS_URL", server.url)
    assert JWKSCache().url == server.url
    assert JWKSCache("https://example.com/k.json").url == "https://example.com/k.json"


def test_default_cache_is_shared_and_follows_the_environment(
    server: JWKSServer, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "_default_caches", {})
    assert default_jwks_cache().url == webhooks.DEFAULT_JWKS_URL
    monkeypatch.setenv("FAL_TYPED_JWKS_URL", server.url)
    assert default_jwks_cache() is default_jwks_cache()
    for i in range(3):
        verify(BODY, signer.sign(BODY, request_id=f"r{i}"), now=NOW)
    assert server.fetches == 1


def test_concurrent_verifications_fetch_once(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    headers = signer.sign(BODY)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        try:
            for _ in range(20):
                verify(BODY, headers, jwks=cache, now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert server.fetches == 1


def test_concurrent_rotation_refetches_once(
    server: JWKSServer, signer: Signer, clock: Clock
) -> None:
    cache = JWKSCache(server.url, clock=clock)
    cache.refresh()
    rotated = Signer("key-2")
    server.jwks = jwks(rotated)
    clock.advance(61)
    headers = rotated.sign(BODY)
    results: list[object] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        try:
            results.append(verify(BODY, headers, jwks=cache, now=NOW).key_id)
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["key-2"] * 8
    assert server.fetches == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"ttl": -1}, ValueError),
        ({"refetch_interval": float("nan")}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"ttl": "1"}, TypeError),
    ],
)
def test_invalid_settings(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        JWKSCache("https://example.com/jwks.json", **kwargs)  # type: ignore[arg-type]


def test_large_answer_refused(server: JWKSServer, signer: Signer, clock: Clock) -> None:
    server.raw = json.dumps({"keys": [signer.jwk], "pad": "x" * 2_000_000}).encode()
    with pytest.raises(WebhookVerificationError, match="larger than"):
        verify(BODY, signer.sign(BODY), jwks=JWKSCache(server.url, clock=clock), now=NOW)

"""How requests go out: the client's own httpx.Client (requests built directly, no cookie jar)
and a caller's ``http_client`` (through its ``post``), compared with what ``Client.post`` sends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from typing import Any

import httpx
import pytest

import fal_typed._client
from fal_typed import FalAPIError, FalClient, RequestOutcomeUnknownError

from ..reliability._server import RawServer
from ._server import RecordingServer, Reply
from .conftest import KEY


@pytest.fixture
def raw() -> Iterator[RawServer]:
    """A server that keeps each request's header lines as sent; not listening until started."""
    server = RawServer()
    yield server
    server.stop()


# --- what the old Client.post path did, kept ------------------------------------------------


def test_client_timeout_assigned_after_construction_is_used(
    server: RecordingServer, sleeps: list[float]
) -> None:
    server.script(Reply(delay=0.3))
    with FalClient("k", base_url=server.url, timeout=0.1) as c:
        c.timeout = 5.0
        assert c.run("fal-ai/x", {}) == {"ok": True}


def test_bad_timeout_assigned_after_construction_is_refused() -> None:
    with FalClient("k") as c:
        with pytest.raises(TypeError, match="timeout"):
            c.timeout = "5"  # type: ignore[assignment]
        assert c.timeout == httpx.Timeout(600.0, connect=10.0)


def test_hook_changing_one_requests_timeout_does_not_leak_to_the_next(
    server: RecordingServer, sleeps: list[float]
) -> None:
    def slow_endpoints_read_longer(request: httpx.Request) -> None:
        if request.url.path.endswith("/slow"):
            request.extensions["timeout"]["read"] = 5.0

    http = httpx.Client(event_hooks={"request": [slow_endpoints_read_longer]})
    server.script(Reply(delay=0.3), Reply(delay=0.3))
    try:
        with FalClient("k", base_url=server.url, http_client=http, timeout=0.1) as c:
            assert c.run("fal-ai/slow", {}) == {"ok": True}
            with pytest.raises(RequestOutcomeUnknownError):
                c.run("fal-ai/fast", {})  # the client's 0.1 s still applies here
    finally:
        http.close()


def test_caller_http_client_subclass_overriding_request_is_honoured(
    server: RecordingServer,
) -> None:
    class SigningClient(httpx.Client):
        def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
            kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "X-Signed": "yes"}
            return super().request(method, url, **kwargs)

    with SigningClient() as http, FalClient("k", base_url=server.url, http_client=http) as c:
        c.run("fal-ai/x", {})
    assert server.requests[0].headers.get("x-signed") == "yes"


def test_own_client_sends_header_names_as_before(raw: RawServer) -> None:
    raw.start()
    with FalClient("k", base_url=raw.url) as c:
        c.run("fal-ai/x", {})
    names = [line.partition(":")[0] for line in raw.requests[0].header_lines]
    for name in ("Accept", "Accept-Encoding", "Connection", "User-Agent", "Content-Type"):
        assert name in names, names


# --- more of what a user relies on -------------------------------------------------------------


@pytest.mark.parametrize("own_client", [True, False])
def test_extra_headers_replace_defaults_whatever_their_case(
    server: RecordingServer, own_client: bool
) -> None:
    http = None if own_client else httpx.Client()
    extra = {
        "accept": "application/x-ndjson",
        "USER-AGENT": "my-app/1",
        "accept-Encoding": "identity",
        "connection": "close",
        "x-trace": "t1",
    }
    try:
        with FalClient(KEY, base_url=server.url, http_client=http) as c:
            c.run("fal-ai/x", {"a": 1}, headers=extra)
    finally:
        if http is not None:
            http.close()
    [req] = server.requests
    assert len(req.header_names) == len(set(req.header_names)), req.header_names
    assert req.headers["accept"] == "application/x-ndjson"
    assert req.headers["user-agent"] == "my-app/1"
    assert req.headers["accept-encoding"] == "identity"
    assert req.headers["connection"] == "close"
    assert req.headers["x-trace"] == "t1"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["content-length"] == str(len(req.body))
    assert req.headers["host"] == server.url.removeprefix("http://")
    assert req.headers["authorization"] == f"Key {KEY}"
    assert req.json() == {"a": 1}


def test_no_proxy_bypasses_the_environment_proxy(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = RecordingServer().start()
    try:
        for name in ("ALL_PROXY", "all_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        with FalClient("k", base_url=server.url) as c:
            assert c.run("fal-ai/x", {}) == {"ok": True}
        assert proxy.requests == []
        assert [r.path for r in server.requests] == ["/fal-ai/x"]
    finally:
        proxy.stop()


def test_connect_error_retry_sends_the_whole_request_again(
    raw: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    def server_comes_up(delay: float) -> None:
        waited.append(delay)
        raw.start()

    monkeypatch.setattr(fal_typed._client, "_sleep", server_comes_up)
    with FalClient("k", base_url=raw.url, max_retries=1) as c:
        assert c.run("fal-ai/x", {"prompt": "a cat"}, start_timeout=5) == {"ok": True}
    assert len(waited) == 1
    [request] = raw.requests
    assert json.loads(request.body) == {"prompt": "a cat"}
    assert request.headers["authorization"] == "Key k"
    assert request.headers["x-fal-request-timeout"] == "5"
    assert request.headers["content-length"] == str(len(request.body))


@pytest.mark.parametrize("own_client", [True, False])
def test_api_error_response_keeps_its_request_and_elapsed(
    server: RecordingServer, own_client: bool
) -> None:
    server.script(Reply(400, {"detail": "bad"}, {"x-fal-request-id": "r1"}))
    http = None if own_client else httpx.Client()
    try:
        with (
            FalClient(KEY, base_url=server.url, http_client=http) as c,
            pytest.raises(FalAPIError) as info,
        ):
            c.run("fal-ai/x", {"prompt": "p"})
    finally:
        if http is not None:
            http.close()
    response = info.value.response
    assert response is not None
    assert response.request.method == "POST"
    assert response.request.url == f"{server.url}/fal-ai/x"
    assert json.loads(response.request.content) == {"prompt": "p"}
    assert response.elapsed.total_seconds() >= 0
    assert KEY not in repr(response.request.headers)


class _Signature(httpx.Auth):
    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Signature"] = str(len(request.content))
        yield request


def test_caller_http_client_auth_applies_and_its_base_url_does_not(
    server: RecordingServer,
) -> None:
    with (
        httpx.Client(auth=_Signature(), base_url="http://elsewhere.invalid") as http,
        FalClient(KEY, base_url=server.url, http_client=http) as c,
    ):
        c.run("fal-ai/x", {"prompt": "p"})
    [req] = server.requests
    assert req.path == "/fal-ai/x"
    assert req.headers["x-signature"] == str(len(req.body))
    assert req.headers["authorization"] == f"Key {KEY}"


@pytest.mark.parametrize(
    ("own_client", "client_timeout", "call_timeout", "succeeds"),
    [
        (True, 0.1, None, True),
        (True, 5.0, httpx.Timeout(5.0, read=0.1), False),
        (False, 0.1, None, True),
        (False, 0.1, 5.0, True),
        (False, 5.0, httpx.Timeout(5.0, read=0.1), False),
    ],
)
def test_call_timeout_is_the_one_in_force(
    server: RecordingServer,
    sleeps: list[float],
    own_client: bool,
    client_timeout: float,
    call_timeout: float | httpx.Timeout | None,
    succeeds: bool,
) -> None:
    # client_timeout is FalClient's own (own_client) or its http_client's; the call's wins.
    server.script(Reply(delay=0.3))
    http = None if own_client else httpx.Client(timeout=client_timeout)
    try:
        kwargs: dict[str, Any] = {"timeout": client_timeout} if own_client else {}
        with FalClient("k", base_url=server.url, http_client=http, **kwargs) as c:
            if succeeds:
                assert c.run("fal-ai/x", {}, timeout=call_timeout) == {"ok": True}
            else:
                with pytest.raises(RequestOutcomeUnknownError):
                    c.run("fal-ai/x", {}, timeout=call_timeout)
    finally:
        if http is not None:
            http.close()
    assert len(server.requests) == 1
    assert sleeps == []


def test_clients_sharing_the_no_op_cookie_jar_never_send_cookies(server: RecordingServer) -> None:
    server.script(*[Reply(headers={"Set-Cookie": f"s{i}=v; Path=/"}) for i in range(16)])
    clients = [FalClient("k", base_url=server.url) for _ in range(4)]
    errors: list[BaseException] = []

    def work(c: FalClient) -> None:
        try:
            for _ in range(8):
                c.run("fal-ai/x", {})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert errors == []
    assert len(server.requests) == 32
    assert all("cookie" not in r.headers for r in server.requests)

"""What the client sends: URL, headers, body, request options, and what it refuses to send."""

from __future__ import annotations

import gzip
import json
import math
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

import fal_typed
from fal_typed import FalClient, MissingCredentialsError, RequestOutcomeUnknownError

from ._server import RecordingServer, Reply
from .conftest import KEY


def test_run_posts_json_to_endpoint_url(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(body={"images": [{"url": "u"}], "seed": 15860307465884635512}))
    result = client.run("fal-ai/fast-sdxl", {"prompt": "a cat", "num_images": 2})
    assert result == {"images": [{"url": "u"}], "seed": 15860307465884635512}
    [req] = server.requests
    assert req.method == "POST"
    assert req.path == "/fal-ai/fast-sdxl"
    assert req.json() == {"prompt": "a cat", "num_images": 2}
    assert req.headers["authorization"] == f"Key {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"] == f"fal-typed/{fal_typed.__version__}"
    assert "x-fal-request-timeout" not in req.headers
    assert "x-fal-object-lifecycle-preference" not in req.headers


def test_subpath_and_nested_ids(server: RecordingServer, client: FalClient) -> None:
    client.run("fal-ai/flux/dev", {}, path="image-to-image")
    client.run("fal-ai/kling-video/v1.6/pro/image-to-video", {})
    client.run("fal-ai/flux/dev", {})  # URLs are cached per (id, path): no mix-up
    client.run("fal-ai/flux/dev", {}, path="image-to-image")
    assert [r.path for r in server.requests] == [
        "/fal-ai/flux/dev/image-to-image",
        "/fal-ai/kling-video/v1.6/pro/image-to-video",
        "/fal-ai/flux/dev",
        "/fal-ai/flux/dev/image-to-image",
    ]


def test_invalid_ids_stay_invalid_on_repeat(server: RecordingServer, client: FalClient) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="endpoint id"):
            client.run("fal-ai/../x", {})
    assert server.requests == []


def test_non_ascii_and_big_ints_round_trip(server: RecordingServer, client: FalClient) -> None:
    client.run("fal-ai/x", {"prompt": "ein Kätzchen 🐱", "seed": 2**70})
    assert server.requests[0].json() == {"prompt": "ein Kätzchen 🐱", "seed": 2**70}


@pytest.mark.parametrize(
    "endpoint_id",
    [
        "fast-sdxl",
        "",
        "fal-ai/",
        "/fal-ai/fast-sdxl",
        "fal-ai//fast-sdxl",
        "fal-ai/../admin",
        "fal-ai/./x",
        "fal-ai/x?debug=1",
        "fal-ai/x#frag",
        "fal-ai\\x",
        "fal-ai/fast sdxl",
        "fal-ai/x\n",
        "fal-ai/%2e%2e",
    ],
)
def test_invalid_endpoint_ids_send_nothing(
    server: RecordingServer, client: FalClient, endpoint_id: str
) -> None:
    with pytest.raises(ValueError, match="endpoint id"):
        client.run(endpoint_id, {})
    assert server.requests == []


@pytest.mark.parametrize("path", ["", "/dev", "dev/", "..", "a/../b", "a?b", "a b", "a\\b"])
def test_invalid_paths_send_nothing(server: RecordingServer, client: FalClient, path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        client.run("fal-ai/flux", {}, path=path)
    assert server.requests == []


@pytest.mark.parametrize(
    ("value", "header"),
    [(1, "1"), (1.0, "1"), (30, "30"), (2.5, "2.5"), (timedelta(minutes=2), "120")],
)
def test_start_timeout_header(
    server: RecordingServer, client: FalClient, value: Any, header: str
) -> None:
    client.run("fal-ai/x", {}, start_timeout=value)
    assert server.requests[0].headers["x-fal-request-timeout"] == header


@pytest.mark.parametrize(
    "value",
    [0, 0.999, -5, math.nan, math.inf, -math.inf, True, False, "30", timedelta(seconds=0.5)],
)
def test_invalid_start_timeouts_send_nothing(
    server: RecordingServer, client: FalClient, value: Any
) -> None:
    with pytest.raises((ValueError, TypeError), match="start_timeout"):
        client.run("fal-ai/x", {}, start_timeout=value)
    assert server.requests == []


@pytest.mark.parametrize(("value", "seconds"), [(1, 1), (3600, 3600), (timedelta(days=1), 86400)])
def test_object_lifecycle_header(
    server: RecordingServer, client: FalClient, value: Any, seconds: int
) -> None:
    client.run("fal-ai/x", {}, object_lifecycle=value)
    header = server.requests[0].headers["x-fal-object-lifecycle-preference"]
    assert json.loads(header) == {"expiration_duration_seconds": seconds}


@pytest.mark.parametrize(
    "value",
    [0, -1, 1.5, 3600.0, True, "3600", math.inf, timedelta(seconds=1.5), timedelta(0)],
)
def test_invalid_object_lifecycles_send_nothing(
    server: RecordingServer, client: FalClient, value: Any
) -> None:
    with pytest.raises((ValueError, TypeError), match="object_lifecycle"):
        client.run("fal-ai/x", {}, object_lifecycle=value)
    assert server.requests == []


def test_extra_headers_sent_but_key_always_the_clients(
    server: RecordingServer, client: FalClient
) -> None:
    client.run("fal-ai/x", {}, headers={"X-Trace": "t1", "authorization": "Key other"})
    req = server.requests[0]
    assert req.headers["x-trace"] == "t1"
    assert req.headers["authorization"] == f"Key {KEY}"


def test_unserialisable_arguments_send_nothing(server: RecordingServer, client: FalClient) -> None:
    with pytest.raises(ValueError):
        client.run("fal-ai/x", {"strength": math.nan})
    with pytest.raises(TypeError):
        client.run("fal-ai/x", {"when": object()})
    assert server.requests == []


class TestCredentials:
    def test_fal_key_from_environment(
        self, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAL_KEY", "env-key")
        with FalClient(base_url=server.url) as c:
            c.run("fal-ai/x", {})
        assert server.requests[0].headers["authorization"] == "Key env-key"

    def test_key_id_and_secret(
        self, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAL_KEY_ID", "id1")
        monkeypatch.setenv("FAL_KEY_SECRET", "s3cret")
        with FalClient(base_url=server.url) as c:
            c.run("fal-ai/x", {})
        assert server.requests[0].headers["authorization"] == "Key id1:s3cret"

    def test_argument_beats_environment(
        self, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAL_KEY", "env-key")
        with FalClient("arg-key", base_url=server.url) as c:
            c.run("fal-ai/x", {})
        assert server.requests[0].headers["authorization"] == "Key arg-key"

    def test_missing_key_is_a_clear_error_at_call_time(self, server: RecordingServer) -> None:
        c = FalClient(base_url=server.url)  # constructing without a key is fine
        with (
            c,
            pytest.raises(MissingCredentialsError, match=r"FAL_KEY.*FAL_KEY_ID.*FAL_KEY_SECRET"),
        ):
            c.run("fal-ai/x", {})
        assert server.requests == []

    def test_only_half_of_id_and_secret_is_missing(
        self, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAL_KEY_ID", "id1")
        with FalClient(base_url=server.url) as c, pytest.raises(MissingCredentialsError):
            c.run("fal-ai/x", {})
        assert server.requests == []


class TestBaseUrl:
    def test_default(self) -> None:
        with FalClient("k") as c:
            assert c.base_url == "https://fal.run"

    def test_fal_run_host(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAL_RUN_HOST", "fal.example:8443")
        with FalClient("k") as c:
            assert c.base_url == "https://fal.example:8443"

    def test_fal_run_host_full_url_reaches_server(
        self, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAL_RUN_HOST", server.url)
        with FalClient("k") as c:
            c.run("fal-ai/x", {})
        assert server.requests[0].path == "/fal-ai/x"

    def test_argument_beats_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAL_RUN_HOST", "fal.example")
        with FalClient("k", base_url="http://127.0.0.1:9/") as c:
            assert c.base_url == "http://127.0.0.1:9"

    @pytest.mark.parametrize("url", ["ftp://x", "not a url", "fal.run"])
    def test_invalid_base_url(self, url: str) -> None:
        with pytest.raises(ValueError, match="base_url"):
            FalClient("k", base_url=url)


def test_caller_supplied_http_client_is_used_and_not_closed(server: RecordingServer) -> None:
    http = httpx.Client(headers={"X-Proxy-Tag": "mine"})
    with FalClient("k", base_url=server.url, http_client=http) as c:
        c.run("fal-ai/x", {})
    assert server.requests[0].headers["x-proxy-tag"] == "mine"
    assert server.requests[0].headers["user-agent"] == f"fal-typed/{fal_typed.__version__}"
    assert server.requests[0].headers["content-type"] == "application/json"
    assert not http.is_closed
    http.close()


def test_caller_supplied_http_client_keeps_its_timeout(
    server: RecordingServer, sleeps: list[float]
) -> None:
    server.script(Reply(delay=0.5))
    http = httpx.Client(timeout=0.1)
    with FalClient("k", base_url=server.url, http_client=http) as c:
        assert c.timeout == httpx.Timeout(0.1)
        with pytest.raises(RequestOutcomeUnknownError):
            c.run("fal-ai/x", {})
    http.close()


def test_timeout_argument_beats_http_client_timeout(server: RecordingServer) -> None:
    http = httpx.Client(timeout=0.1)
    server.script(Reply(delay=0.3))
    with FalClient("k", base_url=server.url, http_client=http, timeout=5.0) as c:
        assert c.run("fal-ai/x", {}) == {"ok": True}
    http.close()


def test_client_timeout_applies_and_a_call_timeout_beats_it(
    server: RecordingServer, sleeps: list[float]
) -> None:
    server.script(Reply(delay=0.5), Reply(delay=0.3))
    with FalClient("k", base_url=server.url, timeout=0.1) as c:
        with pytest.raises(RequestOutcomeUnknownError):
            c.run("fal-ai/x", {})
        assert c.run("fal-ai/x", {}, timeout=5.0) == {"ok": True}
    assert len(server.requests) == 2
    assert sleeps == []


def test_each_header_is_sent_once_and_compression_is_offered(
    server: RecordingServer, client: FalClient
) -> None:
    client.run("fal-ai/x", {})
    client.run("fal-ai/x", {}, start_timeout=3, headers={"X-Trace": "t"})
    for req in server.requests:
        assert len(req.header_names) == len(set(req.header_names)), req.header_names
        assert req.headers["accept"] == "application/json"
        assert "gzip" in req.headers["accept-encoding"]
        assert req.headers["authorization"] == f"Key {KEY}"
    assert server.requests[1].headers["x-trace"] == "t"


def test_compressed_answer_is_decoded(server: RecordingServer, client: FalClient) -> None:
    answer = {"images": [{"url": "https://x/1.png"}], "seed": 1}
    server.script(
        Reply(body=gzip.compress(json.dumps(answer).encode()), headers={"Content-Encoding": "gzip"})
    )
    assert client.run("fal-ai/x", {}) == answer


def test_proxy_from_environment_is_used(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Corporate networks set HTTP(S)_PROXY; the client's own httpx.Client must honour it.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)  # the lower-case one wins when both are set
    with FalClient("k", base_url="http://fal.invalid") as c:
        assert c.run("fal-ai/x", {"prompt": "a cat"}) == {"ok": True}
    [req] = server.requests
    assert req.path == "http://fal.invalid/fal-ai/x"  # absolute form: sent to the proxy
    assert req.headers["authorization"] == "Key k"
    assert req.json() == {"prompt": "a cat"}


def test_own_client_does_not_send_cookies_back(server: RecordingServer) -> None:
    # fal's API is stateless: a cookie a server (or a proxy in front of it) sets is not kept.
    server.script(Reply(headers={"Set-Cookie": "session=abc; Path=/"}), Reply())
    with FalClient("k", base_url=server.url) as c:
        c.run("fal-ai/x", {})
        c.run("fal-ai/x", {})
    assert [r.headers.get("cookie") for r in server.requests] == [None, None]


def test_caller_supplied_http_client_keeps_its_cookies_auth_and_hooks(
    server: RecordingServer,
) -> None:
    seen: list[str] = []
    http = httpx.Client(
        cookies={"tenant": "t1"},
        params={"trace": "1"},
        event_hooks={"request": [lambda request: seen.append(str(request.url))]},
    )
    with FalClient("k", base_url=server.url, http_client=http) as c:
        c.run("fal-ai/x", {"prompt": "a cat"}, start_timeout=5)
    [req] = server.requests
    assert req.headers["cookie"] == "tenant=t1"
    assert req.path == "/fal-ai/x?trace=1"
    assert req.headers["authorization"] == "Key k"  # ours, not replaced by the client's
    assert req.headers["x-fal-request-timeout"] == "5"
    assert req.json() == {"prompt": "a cat"}
    assert seen == [f"{server.url}/fal-ai/x?trace=1"]
    http.close()


BAD_TIMEOUTS = [
    ("5", TypeError),
    (True, TypeError),
    ((5.0, 5.0, 5.0, 5.0), TypeError),
    (-1, ValueError),
    (0, ValueError),
    (float("nan"), ValueError),
    (float("inf"), ValueError),
    (httpx.Timeout(5.0, connect=-1.0), ValueError),
]


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS)
def test_bad_client_timeout_is_refused_up_front(timeout: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout"):
        FalClient("k", timeout=timeout)


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS)
def test_bad_call_timeout_is_refused_before_sending(
    server: RecordingServer, client: FalClient, timeout: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="timeout"):
        client.run("fal-ai/x", {}, timeout=timeout)
    assert server.requests == []


@pytest.mark.parametrize("timeout", [5, 2.5, None, httpx.Timeout(5.0, connect=1.0)])
def test_good_call_timeouts_are_accepted(
    server: RecordingServer, client: FalClient, timeout: Any
) -> None:
    assert client.run("fal-ai/x", {}, timeout=timeout) == {"ok": True}
    assert len(server.requests) == 1


def test_default_timeout() -> None:
    with FalClient("k") as c:
        assert c.timeout == httpx.Timeout(600.0, connect=10.0)


def test_own_http_client_closed_on_exit(server: RecordingServer) -> None:
    with FalClient("k", base_url=server.url) as c:
        pass
    with pytest.raises(RuntimeError):
        c.run("fal-ai/x", {})
    assert server.requests == []


def test_one_client_shared_by_threads(server: RecordingServer, client: FalClient) -> None:
    results: list[Any] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                results.append(client.run("fal-ai/x", {"n": n, "i": i}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 40
    sent = sorted((r.json()["n"], r.json()["i"]) for r in server.requests)
    assert sent == [(n, i) for n in range(8) for i in range(5)]


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_invalid_max_retries(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        FalClient("k", max_retries=bad)

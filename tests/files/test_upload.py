"""``FalClient.upload`` against real local fakes of fal's REST host, CDN and pre-signed host.

Every test ends by checking where credentials went (``Fakes.check_secrets``): the key only to
the REST host, CDN tokens only to the CDN, nothing to the pre-signed host.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import fal_typed._upload
from fal_typed import (
    AuthenticationError,
    BadRequestError,
    FalClient,
    FalConnectionError,
    FalError,
    InternalServerError,
    InvalidResponseError,
    PermissionDeniedError,
    RateLimitError,
)

from .test_upload_fakes import CDN_TOKEN_PREFIX, KEY, KEY_SECRET, Fakes, sha, start_fakes

KB = 1024
PART = 64 * KB


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    for started in start_fakes():
        yield started
        started.check_secrets()


@pytest.fixture
def client(fakes: Fakes) -> Iterator[FalClient]:
    with FalClient(KEY, rest_url=fakes.rest.url, timeout=10.0) as c:
        yield c


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(fal_typed._upload, "_sleep", waited.append)
    return waited


class Unseekable(io.RawIOBase):
    """A stream that cannot seek (like a pipe or a socket), recording how far it was read."""

    def __init__(self, data: bytes, name: str | None = None) -> None:
        self._data = data
        self.position = 0
        if name is not None:
            self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


def _data(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def _file(tmp_path: Path, name: str, size: int) -> tuple[Path, bytes]:
    data = _data(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


# -- single-shot -------------------------------------------------------------------------------


def test_bytes_single_shot(fakes: Fakes, client: FalClient) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 1000
    url = client.upload(data)
    assert url == f"{fakes.cdn.url}/files/single/file"
    [token] = fakes.rest.requests
    assert (token.method, token.path, token.query) == (
        "POST",
        "/storage/auth/token",
        "storage_type=fal-cdn-v3",
    )
    assert token.headers["authorization"] == f"Key {KEY}"
    assert token.json() == {}
    [sent] = fakes.cdn.requests
    assert (sent.method, sent.path) == ("POST", "/files/upload")
    assert sent.headers["authorization"] == f"Bearer {fakes.rest.issued[0]}"
    assert sent.headers["content-type"] == "application/octet-stream"
    assert sent.headers["content-length"] == str(len(data))
    assert "x-fal-file-name" not in sent.headers
    assert "x-fal-object-lifecycle" not in sent.headers
    assert not sent.chunked
    assert (sent.length, sent.sha256) == (len(data), sha(data))
    assert fakes.presigned.requests == []


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "empty"])
def test_bytes_like(fakes: Fakes, client: FalClient, kind: str) -> None:
    data = b"" if kind == "empty" else _data(3 * 256 * KB + 5)  # several streamed chunks
    source: Any = bytearray(data) if kind == "bytearray" else memoryview(data)
    client.upload(source)
    [sent] = fakes.cdn.requests
    assert (sent.length, sent.sha256, sent.chunked) == (len(data), sha(data), False)


def test_path_single_shot(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    path, data = _file(tmp_path, "cat.png", 300 * KB)
    assert client.upload(path) == f"{fakes.cdn.url}/files/single/cat.png"
    assert client.upload(str(path)) == f"{fakes.cdn.url}/files/single/cat.png"
    for sent in fakes.cdn.requests:
        assert sent.headers["x-fal-file-name"] == "cat.png"
        assert sent.headers["content-type"] == "image/png"
        assert (sent.length, sent.sha256, sent.chunked) == (len(data), sha(data), False)


def test_file_object_from_its_position(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    path, data = _file(tmp_path, "clip.mp4", 100 * KB)
    with open(path, "rb") as f:
        f.seek(1000)
        client.upload(f)
    buffer = io.BytesIO(data)  # no name
    client.upload(buffer)
    first, second = fakes.cdn.requests
    assert first.headers["x-fal-file-name"] == "clip.mp4"
    assert first.headers["content-type"] == "video/mp4"
    assert (first.length, first.sha256) == (len(data) - 1000, sha(data[1000:]))
    assert "x-fal-file-name" not in second.headers
    assert second.headers["content-type"] == "application/octet-stream"
    assert (second.length, second.sha256) == (len(data), sha(data))


def test_unseekable_stream_single_shot_is_retried_from_memory(
    fakes: Fakes, client: FalClient, waits: list[float]
) -> None:
    data = _data(40 * KB)
    stream = Unseekable(data, name="/tmp/audio.wav")
    fakes.cdn.fail("POST", "/files/upload", 503)
    client.upload(io.BufferedReader(stream), multipart_threshold=PART, part_size=PART)
    first, second = fakes.cdn.requests
    for sent in (first, second):
        assert (sent.length, sent.sha256, sent.chunked) == (len(data), sha(data), False)
        assert sent.headers["x-fal-file-name"] == "audio.wav"
        assert sent.headers["content-type"] in ("audio/x-wav", "audio/wav")
    assert len(waits) == 1


def test_pipe(fakes: Fakes, client: FalClient) -> None:
    data = _data(50 * KB)
    read_end, write_end = os.pipe()

    def write() -> None:
        os.write(write_end, data)
        os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    with os.fdopen(read_end, "rb") as pipe:
        client.upload(pipe, content_type="text/csv")
    writer.join()
    [sent] = fakes.cdn.requests
    assert (sent.length, sent.sha256) == (len(data), sha(data))
    assert sent.headers["content-type"] == "text/csv"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.JPG", "image/jpeg"),
        ("notes.txt", "text/plain"),
        ("data.json", "application/json"),
        ("archive.tar.gz", "application/gzip"),
        ("weights.unknownext", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_content_type_guessed(
    fakes: Fakes, client: FalClient, tmp_path: Path, name: str, expected: str
) -> None:
    path, _ = _file(tmp_path, name, 10)
    client.upload(path)
    assert fakes.cdn.requests[0].headers["content-type"] == expected


def test_content_type_and_file_name_override(
    fakes: Fakes, client: FalClient, tmp_path: Path
) -> None:
    path, _ = _file(tmp_path, "a.png", 10)
    client.upload(path, content_type="image/webp", file_name="b.webp")
    client.upload(b"abc", file_name="mask.png")  # the type follows the given name
    client.upload(b"abc", file_name="été 2024.png")  # not ASCII: percent-encoded
    first, second, third = fakes.cdn.requests
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["x-fal-file-name"] == "b.webp"
    assert second.headers["content-type"] == "image/png"
    assert second.headers["x-fal-file-name"] == "mask.png"
    assert third.headers["x-fal-file-name"] == "%C3%A9t%C3%A9 2024.png"


def test_object_lifecycle_headers(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    client.upload(b"abc", object_lifecycle=3600)
    client.upload(b"abc", object_lifecycle=datetime.timedelta(days=1))
    fakes.cdn.fail("POST", "/files/upload", 500, times=3)  # every attempt: the fallback runs
    client.upload(b"abc", object_lifecycle=60)
    cdn = fakes.cdn.seen("POST", "/files/upload")
    assert json.loads(cdn[0].headers["x-fal-object-lifecycle"]) == {
        "expiration_duration_seconds": 3600
    }
    assert json.loads(cdn[1].headers["x-fal-object-lifecycle"]) == {
        "expiration_duration_seconds": 86400
    }
    [initiate] = fakes.rest.seen("POST", "/storage/upload/initiate")
    assert json.loads(initiate.headers["x-fal-object-lifecycle-preference"]) == {
        "expiration_duration_seconds": 60
    }
    assert "x-fal-object-lifecycle" not in initiate.headers


def test_lifecycle_on_multipart_start(fakes: Fakes, client: FalClient) -> None:
    client.upload(_data(PART + 1), object_lifecycle=120, multipart_threshold=PART, part_size=PART)
    [start] = fakes.cdn.seen("POST", "/files/upload/multipart")
    assert json.loads(start.headers["x-fal-object-lifecycle"]) == {
        "expiration_duration_seconds": 120
    }


# -- the token cache ---------------------------------------------------------------------------


def test_token_fetched_once_for_three_uploads(fakes: Fakes, client: FalClient) -> None:
    for _ in range(3):
        client.upload(b"abc")
    assert len(fakes.rest.requests) == 1
    assert len(fakes.cdn.requests) == 3
    assert {r.headers["authorization"] for r in fakes.cdn.requests} == {
        f"Bearer {fakes.rest.issued[0]}"
    }


def test_token_fetched_once_across_eight_threads(fakes: Fakes, client: FalClient) -> None:
    fakes.rest.delay["POST /storage/auth/token"] = 0.2  # all threads ask while it is fetched
    barrier = threading.Barrier(8)

    def one(n: int) -> str:
        barrier.wait()
        return client.upload(f"file {n}".encode(), file_name=f"f{n}.txt")

    with ThreadPoolExecutor(8) as pool:
        urls = list(pool.map(one, range(8)))
    assert len(fakes.rest.seen("POST", "/storage/auth/token")) == 1
    assert len(fakes.cdn.requests) == 8
    assert urls == [f"{fakes.cdn.url}/files/single/f{n}.txt" for n in range(8)]


def test_token_refreshed_after_expiry(
    fakes: Fakes, client: FalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_typed._upload, "_now", fakes.clock)
    client.upload(b"abc")
    client.upload(b"abc")
    fakes.clock.offset = 3600 - 30  # within the refresh margin before expiry
    client.upload(b"abc")
    client.upload(b"abc")
    fakes.clock.offset = 10 * 3600
    client.upload(b"abc")
    assert len(fakes.rest.requests) == 3
    tokens = [r.headers["authorization"] for r in fakes.cdn.requests]
    assert tokens == [f"Bearer {fakes.rest.issued[i]}" for i in (0, 0, 1, 1, 2)]


def test_short_lived_and_unreadable_expiry(
    fakes: Fakes, client: FalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_typed._upload, "_now", fakes.clock)
    fakes.rest.token_lifetime = 10  # reused for its first half only
    client.upload(b"abc")
    client.upload(b"abc")
    fakes.clock.offset = 6
    client.upload(b"abc")
    assert len(fakes.rest.requests) == 2
    fakes.rest.expires_at = lambda _: "next tuesday"  # kept for a few minutes
    fakes.clock.offset = 100
    client.upload(b"abc")
    client.upload(b"abc")
    assert len(fakes.rest.requests) == 3


def test_revoked_token_replaced_once(fakes: Fakes, client: FalClient) -> None:
    client.upload(b"abc")
    fakes.cdn.fail("POST", "/files/upload", 401, body={"detail": "token expired"})
    client.upload(b"abc")
    assert len(fakes.rest.requests) == 2
    tokens = [r.headers["authorization"] for r in fakes.cdn.requests]
    assert tokens == [f"Bearer {fakes.rest.issued[i]}" for i in (0, 0, 1)]
    fakes.cdn.fail("POST", "/files/upload", 401, times=2)
    with pytest.raises(AuthenticationError):
        client.upload(b"abc")
    assert len(fakes.rest.requests) == 3


def test_token_not_shared_between_keys(fakes: Fakes, client: FalClient) -> None:
    client.upload(b"abc")
    client._key = "another:key"
    with pytest.raises(AuthenticationError):  # the fake knows one key: a new token is asked
        client.upload(b"abc")
    assert len(fakes.rest.requests) == 2
    assert fakes.rest.requests[1].headers["authorization"] == "Key another:key"


# -- multipart ---------------------------------------------------------------------------------


def _multipart(client: FalClient, source: Any, **options: Any) -> str:
    options = {"multipart_threshold": PART, "part_size": PART, "parallelism": 3, **options}
    return client.upload(source, **options)


def test_multipart_parts_in_order_with_their_etags(
    fakes: Fakes, client: FalClient, tmp_path: Path
) -> None:
    path, data = _file(tmp_path, "big.bin", 5 * PART + 123)
    url = _multipart(client, path)
    assert url == f"{fakes.cdn.url}/files/mp/big.bin"
    [start] = fakes.cdn.seen("POST", "/files/upload/multipart")
    assert start.headers["x-fal-file-name"] == "big.bin"
    assert start.headers["content-type"] == "application/octet-stream"
    assert start.length == 0
    puts = sorted(fakes.cdn.seen("PUT"), key=lambda r: int(r.path.rsplit("/", 1)[1]))
    assert [r.path for r in puts] == [f"/files/mp/big.bin/multipart/up-1/{n}" for n in range(1, 7)]
    for n, sent in enumerate(puts):
        chunk = data[n * PART : (n + 1) * PART]
        assert (sent.length, sent.sha256, sent.chunked) == (len(chunk), sha(chunk), False)
        assert sent.headers["authorization"] == f"Bearer {fakes.rest.issued[0]}"
    [complete] = fakes.cdn.seen("POST", r".*/complete")
    assert complete.path == "/files/mp/big.bin/multipart/up-1/complete"
    assert complete.json() == {
        "parts": [{"partNumber": n, "etag": f'"{puts[n - 1].sha256[:16]}"'} for n in range(1, 7)]
    }
    assert complete.headers["authorization"] == f"Bearer {fakes.rest.issued[0]}"
    assert len(fakes.rest.requests) == 1


def test_threshold_is_inclusive(fakes: Fakes, client: FalClient) -> None:
    _multipart(client, _data(PART))  # at the threshold: single-shot
    assert fakes.cdn.seen("POST", "/files/upload") != []
    assert fakes.cdn.seen("PUT") == []


def test_multipart_bytes_and_file_object(fakes: Fakes, client: FalClient) -> None:
    data = _data(3 * PART + 7)
    _multipart(client, data)
    _multipart(client, io.BytesIO(data))
    for upload_id in ("up-1", "up-2"):
        puts = fakes.cdn.seen("PUT", rf".*/{upload_id}/\d+")
        assert sorted(r.length for r in puts) == [7, PART, PART, PART]
    assert set(fakes.cdn.completed) == {"up-1", "up-2"}


def test_parallelism_is_bounded(fakes: Fakes, client: FalClient) -> None:
    fakes.cdn.delay["PUT .*/multipart/.*"] = 0.05
    _multipart(client, _data(10 * PART), parallelism=3)
    assert len(fakes.cdn.seen("PUT")) == 10
    assert 2 <= fakes.cdn.max_in_flight <= 3


def test_failed_part_resent_alone(
    fakes: Fakes, client: FalClient, tmp_path: Path, waits: list[float]
) -> None:
    path, data = _file(tmp_path, "big.bin", 6 * PART)
    fakes.cdn.fail("PUT", r".*/multipart/up-1/3", 503)
    _multipart(client, path)
    counts = {n: len(fakes.cdn.seen("PUT", rf".*/multipart/up-1/{n}")) for n in range(1, 7)}
    assert counts == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1}
    third = fakes.cdn.seen("PUT", r".*/multipart/up-1/3")
    assert {r.sha256 for r in third} == {sha(data[2 * PART : 3 * PART])}
    assert len(fakes.cdn.seen("POST")) == 2  # one start, one complete
    assert len(fakes.rest.requests) == 1
    assert len(waits) == 1


def test_complete_retried(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    fakes.cdn.fail("POST", r".*/complete", 502)
    fakes.cdn.fail("POST", "/files/upload/multipart", 429, headers={"Retry-After": "2"})
    _multipart(client, _data(4 * PART))
    assert len(fakes.cdn.seen("POST", r".*/complete")) == 2
    assert len(fakes.cdn.seen("POST", "/files/upload/multipart")) == 2
    assert len(fakes.cdn.seen("PUT")) == 4
    assert waits[0] == 2.0 and len(waits) == 2


def test_part_connection_drop_retried(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    fakes.cdn.fail("PUT", r".*/multipart/up-1/2", close=True)
    _multipart(client, _data(3 * PART))
    assert len(fakes.cdn.seen("PUT", r".*/2")) == 2
    assert len(fakes.cdn.seen("PUT")) == 4


def test_part_without_etag_is_an_invalid_response(fakes: Fakes, client: FalClient) -> None:
    fakes.cdn.fail("PUT", r".*/multipart/up-1/2", 200, body={})  # no ETag header
    with pytest.raises(InvalidResponseError, match=r"CDN part 2: .*no ETag"):
        _multipart(client, _data(3 * PART), parallelism=1)
    assert fakes.cdn.seen("POST", r".*/complete") == []


def test_unseekable_stream_multipart_holds_few_parts(fakes: Fakes, client: FalClient) -> None:
    """A stream is read one part ahead of nothing: while the first parts are in flight, at
    most ``parallelism`` parts have been read."""
    data = _data(10 * PART + 5)
    stream = Unseekable(data)
    fakes.cdn.delay["PUT .*/multipart/.*"] = 0.3
    positions: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            positions.append(stream.position)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _multipart(client, stream, parallelism=2)
    finally:
        done.set()
        watcher.join()
    puts = fakes.cdn.seen("PUT")
    assert sorted(r.length for r in puts) == [5] + [PART] * 10
    assert len(fakes.cdn.completed["up-1"]) == 11
    # 0.3 s per part, 2 at a time: while parts 1-2 were in flight, parts 3+ were not read.
    early = [p for p in positions[:20] if p > 0]
    assert early and max(early) <= 2 * PART + 1


# -- the storage fallback ----------------------------------------------------------------------


def test_cdn_down_uses_fallback(
    fakes: Fakes, client: FalClient, tmp_path: Path, waits: list[float]
) -> None:
    path, data = _file(tmp_path, "cat.png", 200 * KB)
    fakes.cdn.fail("POST", "/files/upload", 503, times=3)
    url = client.upload(path)
    assert url == "https://storage.example/bucket/cat.png"
    assert len(fakes.cdn.requests) == 3  # 1 + max_retries
    [initiate] = fakes.rest.seen("POST", "/storage/upload/initiate")
    assert initiate.query == "storage_type=gcs"
    assert initiate.headers["authorization"] == f"Key {KEY}"
    assert initiate.json() == {"file_name": "cat.png", "content_type": "image/png"}
    [put] = fakes.presigned.requests
    assert (put.method, put.path, put.query) == (
        "PUT",
        "/bucket/cat.png",
        "X-Goog-Signature=sig-5e1b",
    )
    assert "authorization" not in put.headers
    assert put.headers["content-type"] == "image/png"
    assert (put.length, put.sha256, put.chunked) == (len(data), sha(data), False)
    assert len(waits) == 2


def test_token_service_down_uses_fallback(
    fakes: Fakes, client: FalClient, waits: list[float]
) -> None:
    fakes.rest.fail("POST", "/storage/auth/token", 502, times=3)
    url = client.upload(b"abc", content_type="image/png")
    assert url == "https://storage.example/bucket/upload.png"
    assert fakes.cdn.requests == []
    assert fakes.presigned.requests[0].sha256 == sha(b"abc")


def test_token_route_missing_uses_fallback(fakes: Fakes, client: FalClient) -> None:
    fakes.rest.fail("POST", "/storage/auth/token", 404)
    client.upload(b"abc")
    assert len(fakes.rest.seen("POST", "/storage/auth/token")) == 1  # a 404 is not retried
    assert len(fakes.presigned.requests) == 1


def test_cdn_unreachable_uses_fallback(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    fakes.cdn.stop()
    url = client.upload(b"abc", file_name="x.bin", parallelism=1)
    assert url == "https://storage.example/bucket/x.bin"
    assert len(waits) == 2


def test_every_host_unreachable(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    fakes.cdn.stop()
    fakes.presigned.stop()
    with pytest.raises(FalConnectionError, match=r"pre-signed upload: PUT to http://127\.0\.0\.1"):
        client.upload(b"abc")
    assert len(fakes.rest.seen("POST", "/storage/upload/initiate")) == 1
    assert len(waits) == 4


def test_multipart_part_down_falls_back_for_a_path(
    fakes: Fakes, client: FalClient, tmp_path: Path, waits: list[float]
) -> None:
    path, data = _file(tmp_path, "big.bin", 4 * PART)
    fakes.cdn.fail("PUT", r".*/multipart/up-1/2", 500, times=3)
    assert _multipart(client, path) == "https://storage.example/bucket/big.bin"
    assert fakes.cdn.seen("POST", r".*/complete") == []
    [put] = fakes.presigned.requests
    assert (put.length, put.sha256) == (len(data), sha(data))


def test_consumed_stream_cannot_fall_back(
    fakes: Fakes, client: FalClient, waits: list[float]
) -> None:
    fakes.cdn.fail("PUT", r".*/multipart/up-1/1", 500, times=3)
    with pytest.raises(InternalServerError, match="stream that cannot seek"):
        _multipart(client, Unseekable(_data(4 * PART)), parallelism=1)
    assert fakes.rest.seen("POST", "/storage/upload/initiate") == []
    assert fakes.presigned.requests == []


def test_fallback_failure_reported(fakes: Fakes, client: FalClient, waits: list[float]) -> None:
    fakes.cdn.fail("POST", "/files/upload", 503, times=3)
    fakes.presigned.fail("PUT", "/bucket/.*", 403, body={"detail": "signature expired"})
    with pytest.raises(PermissionDeniedError, match="pre-signed upload: signature expired") as info:
        client.upload(b"abc")
    assert "sig-5e1b" not in str(info.value)
    assert isinstance(info.value.__context__, InternalServerError)  # the CDN's failure


# -- errors ------------------------------------------------------------------------------------


def test_4xx_not_retried_and_typed(fakes: Fakes, client: FalClient) -> None:
    fakes.cdn.fail("POST", "/files/upload", 400, body={"detail": "file name too long"})
    with pytest.raises(BadRequestError, match="400 CDN upload: file name too long"):
        client.upload(b"abc")
    fakes.rest.fail("POST", "/storage/auth/token", 403, body={"detail": "no storage"})
    client._cdn_token = None
    with pytest.raises(PermissionDeniedError, match="403 storage token: no storage"):
        client.upload(b"abc")
    assert len(fakes.cdn.requests) == 1
    assert fakes.presigned.requests == []


def test_rate_limit_retried_then_raised(fakes: Fakes, waits: list[float]) -> None:
    with FalClient(KEY, rest_url=fakes.rest.url, max_retries=1) as client:
        fakes.cdn.fail("POST", "/files/upload", 429, times=2)
        with pytest.raises(RateLimitError):
            client.upload(b"abc")
    assert len(fakes.cdn.requests) == 2
    assert fakes.presigned.requests == []


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>oops</html>", "not valid JSON"),
        ({"url": "x"}, "no 'access_url'"),
        ({"access_url": "ftp://x/y"}, "not an http"),
    ],
)
def test_bad_cdn_answer(fakes: Fakes, client: FalClient, body: Any, match: str) -> None:
    fakes.cdn.fail("POST", "/files/upload", 200, body=body)
    with pytest.raises(InvalidResponseError, match=match):
        client.upload(b"abc")


def test_bad_token_answer(fakes: Fakes, client: FalClient) -> None:
    fakes.rest.fail("POST", "/storage/auth/token", 200, body={"token": "t\nx", "token_type": "B"})
    with pytest.raises(InvalidResponseError, match="not allowed in a header") as info:
        client.upload(b"abc")
    assert "t\nx" not in str(info.value)
    assert fakes.cdn.requests == []


def test_key_and_token_never_in_errors_or_logs(
    fakes: Fakes, client: FalClient, caplog: pytest.LogCaptureFixture, waits: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)
    client.upload(b"abc")  # a token is cached
    token = fakes.rest.issued[0]
    echo = f"bad Authorization: Bearer {token}; your key {KEY}"
    errors: list[FalError] = []
    fakes.cdn.fail("POST", "/files/upload", 400, body={"detail": echo})
    fakes.cdn.fail("POST", "/files/upload/multipart", 500, times=3, body=f"<title>{echo}</title>")
    fakes.rest.fail("POST", "/storage/upload/initiate", 422, body={"detail": [{"msg": echo}]})
    fakes.cdn.fail("POST", "/files/upload", 200, body=echo)
    for threshold in (100, 1, 100):
        try:
            client.upload(b"abc", multipart_threshold=threshold, part_size=2)
        except FalError as exc:
            errors.append(exc)
    assert [type(e).__name__ for e in errors] == [
        "BadRequestError",
        "UnprocessableEntityError",
        "InvalidResponseError",
    ]
    for error in errors:
        for text in (
            str(error),
            repr(error),
            repr(vars(error).get("body")),
            repr(error.__context__),
        ):
            assert token not in text and KEY not in text and KEY_SECRET not in text
        assert token not in getattr(error, "text", "")
    for record in caplog.records:
        message = record.getMessage()
        assert token not in message and KEY_SECRET not in message, message
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert token not in repr(client._cdn_token) and CDN_TOKEN_PREFIX not in repr(client)


# -- refused before any request ----------------------------------------------------------------


def _refused(
    fakes: Fakes, client: FalClient, error: type[Exception], source: Any, **kw: Any
) -> str:
    with pytest.raises(error) as info:
        client.upload(source, **kw)
    assert fakes.total() == 0
    return str(info.value)


def test_missing_path(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    message = _refused(fakes, client, FileNotFoundError, missing)
    assert str(missing) in message and "does not exist" in message
    message = _refused(fakes, client, FileNotFoundError, "https://example.com/a.png")
    assert "URL is not uploaded" in message


def test_directory(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    message = _refused(fakes, client, IsADirectoryError, tmp_path)
    assert str(tmp_path) in message and "directory" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions")
def test_unreadable_path(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, "secret.bin", 10)
    path.chmod(0)
    try:
        message = _refused(fakes, client, PermissionError, path)
    finally:
        path.chmod(0o600)
    assert str(path) in message


def test_text_mode_and_other_sources(fakes: Fakes, client: FalClient, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, "a.txt", 10)
    with open(path) as text:
        assert "binary mode" in _refused(fakes, client, TypeError, text)
    assert "binary mode" in _refused(fakes, client, TypeError, io.StringIO("abc"))

    class TextLike:
        def read(self, size: int = -1) -> str:
            return ""

    assert "not bytes" in _refused(fakes, client, TypeError, TextLike())
    assert "not int" in _refused(fakes, client, TypeError, 42)
    with open(path, "rb") as closed:
        pass
    assert "closed" in _refused(fakes, client, ValueError, closed)


def test_bad_options(fakes: Fakes, client: FalClient) -> None:
    _refused(fakes, client, ValueError, b"x", object_lifecycle=0)
    _refused(fakes, client, TypeError, b"x", object_lifecycle=1.5)
    _refused(fakes, client, ValueError, b"x", content_type="png")
    _refused(fakes, client, ValueError, b"x", content_type="image/png\r\nX-Evil: 1")
    _refused(fakes, client, ValueError, b"x", file_name="")
    _refused(fakes, client, ValueError, b"x", part_size=0)
    _refused(fakes, client, ValueError, b"x", parallelism=0)
    _refused(fakes, client, TypeError, b"x", multipart_threshold=1.5)


def test_missing_key(fakes: Fakes) -> None:
    with FalClient(rest_url=fakes.rest.url) as client:
        _refused(fakes, client, FalError, b"x")


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="single-shot"),
        pytest.param(
            {"multipart_threshold": 4 * 1024**2, "part_size": 1024**2, "parallelism": 4},
            id="multipart",
        ),
    ],
)
def test_large_file_streamed_in_constant_memory(
    fakes: Fakes, client: FalClient, tmp_path: Path, options: dict[str, Any]
) -> None:
    path = tmp_path / "big.bin"
    block = os.urandom(1024**2)
    with open(path, "wb") as f:
        for _ in range(50):
            f.write(block)
    client.upload(b"warm-up")  # imports, the token, pools: not part of the measurement
    tracemalloc.start()
    try:
        client.upload(path, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2, f"peak {peak / 1024**2:.1f} MiB"
    total = sum(
        r.length for r in fakes.cdn.requests if r.method == "PUT" or r.path == "/files/upload"
    )
    assert total == 50 * 1024**2 + len(b"warm-up")


def test_unseekable_stream_holds_at_most_parallelism_parts(
    fakes: Fakes, client: FalClient, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    block = os.urandom(1024**2)
    with open(path, "wb") as f:
        for _ in range(20):
            f.write(block)
    client.upload(b"warm-up")
    with open(path, "rb", buffering=0) as raw:

        class Stream:
            def read(self, size: int = -1) -> bytes:
                return raw.read(size) or b""

        tracemalloc.start()
        try:
            _multipart(client, Stream(), part_size=1024**2, parallelism=4)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # 4 parts in flight (4 MiB) plus the chunks each thread is sending: never 8 parts.
    assert peak < 8 * 1024**2, f"peak {peak / 1024**2:.1f} MiB"
    assert sum(r.length for r in fakes.cdn.seen("PUT")) == 20 * 1024**2

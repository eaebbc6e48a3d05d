"""The upload's pure planning (``_upload_plan``) and local source access (``_upload_source``),
without any server."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest

from fal_typed import FalConnectionError, InvalidResponseError
from fal_typed._exceptions import api_error
from fal_typed._upload_plan import (
    MAX_PARTS,
    CdnToken,
    Multipart,
    Part,
    PresignedTarget,
    check_content_type,
    check_file_name,
    check_options,
    complete_step,
    fallback_file_name,
    falls_back,
    head_limit,
    initiate_step,
    multipart_step,
    name_header,
    parse_etag,
    parse_expiry,
    parse_initiate,
    parse_multipart,
    parse_token,
    part_step,
    plan_parts,
    presigned_step,
    resolve_content_type,
    resolve_file_name,
    single_step,
    token_is_fresh,
    token_owner,
    token_step,
    use_multipart,
)
from fal_typed._upload_source import open_source

KEY = "kid:ksecret"
NOW = 1_700_000_000.0


def _token(**overrides: Any) -> CdnToken:
    values: dict[str, Any] = {
        "base_url": "https://cdn.example",
        "expires_at": NOW + 3600,
        "refresh_at": NOW + 3540,
        "token": "tok-123",
        "token_type": "Bearer",
        "owner": token_owner("https://rest.example", KEY),
    }
    values.update(overrides)
    return CdnToken(**values)


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


# -- parts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "part_size", "lengths"),
    [
        (0, 10, [0]),
        (10, 10, [10]),
        (11, 10, [10, 1]),
        (30, 10, [10, 10, 10]),
        (25, 7, [7, 7, 7, 4]),
    ],
)
def test_plan_parts(size: int, part_size: int, lengths: list[int]) -> None:
    parts = plan_parts(size, part_size)
    assert [p.length for p in parts] == lengths
    assert [p.number for p in parts] == list(range(1, len(lengths) + 1))
    assert [p.offset for p in parts] == [sum(lengths[:i]) for i in range(len(lengths))]


def test_plan_parts_stays_within_max_parts() -> None:
    size = 10 * MAX_PARTS + 1
    parts = plan_parts(size, 10)
    assert len(parts) <= MAX_PARTS
    assert sum(p.length for p in parts) == size
    assert all(a.offset + a.length == b.offset for a, b in itertools.pairwise(parts))


def test_thresholds() -> None:
    assert not use_multipart(100, 100)
    assert use_multipart(101, 100)
    assert head_limit(100, 10) == 10
    assert head_limit(5, 10) == 5


@pytest.mark.parametrize(
    ("threshold", "part_size", "parallelism", "error"),
    [
        (-1, 1, 1, ValueError),
        (0, 0, 1, ValueError),
        (0, 1, 0, ValueError),
        (True, 1, 1, TypeError),
        (0, 1.0, 1, TypeError),
    ],
)
def test_check_options(threshold: Any, part_size: Any, parallelism: Any, error: type) -> None:
    with pytest.raises(error):
        check_options(threshold, part_size, parallelism)


# -- names and types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "source", "expected"),
    [
        ("x.png", "/a/b.jpg", "x.png"),
        (None, "/a/b.jpg", "b.jpg"),
        (None, "C:\\dir\\f.txt", "f.txt"),
        (None, "relative.bin", "relative.bin"),
        (None, "<stdin>", None),
        (None, None, None),
        (None, "", None),
    ],
)
def test_resolve_file_name(given: str | None, source: str | None, expected: str | None) -> None:
    assert resolve_file_name(given, source) == expected


@pytest.mark.parametrize(
    ("given", "name", "expected"),
    [
        ("image/webp", "a.png", "image/webp"),
        (None, "a.png", "image/png"),
        (None, "a.PNG", "image/png"),
        (None, "a.tar.gz", "application/gzip"),
        (None, "a.nope", "application/octet-stream"),
        (None, None, "application/octet-stream"),
    ],
)
def test_resolve_content_type(given: str | None, name: str | None, expected: str) -> None:
    assert resolve_content_type(given, name) == expected


def test_check_content_type_and_file_name() -> None:
    assert check_content_type("text/plain; charset=utf-8") == "text/plain; charset=utf-8"
    assert check_content_type(None) is None
    for bad in ("png", "image/png\nX: y", "", "image/"):
        with pytest.raises(ValueError):
            check_content_type(bad)
    with pytest.raises(TypeError):
        check_content_type(b"image/png")
    assert check_file_name("a b.png") == "a b.png"
    with pytest.raises(ValueError):
        check_file_name("  ")
    with pytest.raises(TypeError):
        check_file_name(Path("a.png"))


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("cat.png", "cat.png"),
        ("my cat (1).png", "my cat (1).png"),
        ("100%.png", "100%.png"),
        ("a\r\nX-Evil: 1", "a%0D%0AX-Evil: 1"),
        ("猫.png", "%E7%8C%AB.png"),
        ("50% café.png", "50%25 caf%C3%A9.png"),
    ],
)
def test_name_header(name: str, header: str) -> None:
    assert name_header(name) == header
    header.encode("ascii")  # always sendable


def test_fallback_file_name() -> None:
    assert fallback_file_name("a.png", "image/png") == "a.png"
    assert fallback_file_name(None, "image/png") == "upload.png"
    assert fallback_file_name(None, "application/x-nothing-known") == "upload.bin"


# -- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-11-14T22:13:20Z", NOW),
        ("2023-11-14T22:13:20.000Z", NOW),
        ("2023-11-14T22:13:20.5+00:00", NOW + 0.5),
        ("2023-11-14T22:13:20.123456789Z", NOW + 0.123456),
        ("2023-11-15T00:13:20+02:00", NOW),
        ("2023-11-14T22:13:20", NOW),  # no zone: UTC
        ("2023-11-14 22:13:20Z", NOW),
        (NOW, NOW),
        (int(NOW), NOW),
        (NOW * 1000, NOW),  # milliseconds
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        ({"at": 1}, None),
    ],
)
def test_parse_expiry(value: Any, expected: float | None) -> None:
    parsed = parse_expiry(value)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(expected, abs=1e-6)


def test_token_freshness() -> None:
    owner = token_owner("https://rest.example", KEY)
    token = _token()
    assert token_is_fresh(token, owner, NOW)
    assert token_is_fresh(token, owner, NOW + 3539)
    assert not token_is_fresh(token, owner, NOW + 3540)
    assert not token_is_fresh(None, owner, NOW)
    assert not token_is_fresh(token, token_owner("https://rest.example", "other"), NOW)
    assert not token_is_fresh(token, token_owner("https://other.example", KEY), NOW)
    assert KEY not in owner and "tok-123" not in repr(token)


def test_parse_token() -> None:
    owner = "o"
    body = {
        "token": "tok-1",
        "token_type": "Bearer",
        "base_url": "https://v3.fal.media/",
        "expires_at": "2023-11-14T23:13:20Z",
    }
    token = parse_token(_answer(body), owner, NOW, ())
    assert (token.base_url, token.expires_at, token.refresh_at) == (
        "https://v3.fal.media",
        NOW + 3600,
        NOW + 3540,
    )
    assert token.authorization == "Bearer tok-1"
    short = parse_token(_answer({**body, "expires_at": NOW + 10}), owner, NOW, ())
    assert short.refresh_at == NOW + 5  # half its life
    unknown = parse_token(_answer({**body, "expires_at": "?"}), owner, NOW, ())
    assert unknown.expires_at == NOW + 300


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"not json", "not valid JSON"),
        ([], "not a JSON object"),
        ({"token_type": "Bearer", "base_url": "https://c"}, "no 'token'"),
        ({"token": "tok-9", "base_url": "https://c"}, "no 'token_type'"),
        ({"token": "tok-9", "token_type": "Bearer", "base_url": "file:///x"}, "not an http"),
        ({"token": "tok 9", "token_type": "Bearer", "base_url": "https://c"}, "not allowed"),
    ],
)
def test_parse_token_rejects(body: Any, match: str) -> None:
    with pytest.raises(InvalidResponseError, match=match) as info:
        parse_token(_answer(body), "o", NOW, (KEY,))
    assert "tok-9" not in str(info.value) and "tok-9" not in info.value.text
    assert info.value.endpoint_id == "storage token"


# -- requests ----------------------------------------------------------------------------------


def test_token_step() -> None:
    step = token_step("https://rest.example", KEY)
    assert (step.method, step.url, step.content) == (
        "POST",
        "https://rest.example/storage/auth/token?storage_type=fal-cdn-v3",
        b"{}",
    )
    assert step.headers["Authorization"] == f"Key {KEY}"


def test_cdn_steps_carry_the_token_never_the_key() -> None:
    token = _token()
    started = Multipart("https://cdn.example/files/a/b.bin", "id/with?odd#chars")
    steps = [
        single_step(token, "image/png", "a b.png", '{"expiration_duration_seconds": 5}', 42),
        multipart_step(token, "image/png", None, None),
        part_step(token, started, Part(3, 0, 7), "image/png"),
        complete_step(token, started, [(2, '"b"'), (1, '"a"')]),
    ]
    for step in steps:
        assert step.headers["Authorization"] == "Bearer tok-123"
        assert KEY not in str(step)
    single, start, part, complete = steps
    assert single.url == "https://cdn.example/files/upload"
    assert single.headers["Content-Length"] == "42"
    assert single.headers["X-Fal-File-Name"] == "a b.png"
    assert single.headers["X-Fal-Object-Lifecycle"] == '{"expiration_duration_seconds": 5}'
    assert start.url == "https://cdn.example/files/upload/multipart"
    assert "X-Fal-File-Name" not in start.headers
    assert part.method == "PUT"
    assert part.url == "https://cdn.example/files/a/b.bin/multipart/id%2Fwith%3Fodd%23chars/3"
    assert part.headers["Content-Length"] == "7"
    assert complete.url.endswith("/multipart/id%2Fwith%3Fodd%23chars/complete")
    assert complete.content == (
        b'{"parts":[{"partNumber":1,"etag":"\\"a\\""},{"partNumber":2,"etag":"\\"b\\""}]}'
    )


def test_fallback_steps() -> None:
    step = initiate_step("https://rest.example", KEY, None, "image/png", "{}")
    assert step.url == "https://rest.example/storage/upload/initiate?storage_type=gcs"
    assert step.headers["Authorization"] == f"Key {KEY}"
    assert step.headers["X-Fal-Object-Lifecycle-Preference"] == "{}"
    assert step.content == b'{"file_name":"upload.png","content_type":"image/png"}'
    target = PresignedTarget("https://bucket.example/o?X-Goog-Signature=s3cr3t", "https://f/o")
    put = presigned_step(target, "image/png", 9)
    assert put.headers == {"Content-Type": "image/png", "Content-Length": "9"}
    assert "s3cr3t" not in repr(target)


# -- answers -----------------------------------------------------------------------------------


def test_parse_multipart_and_etag() -> None:
    started = parse_multipart(_answer({"access_url": "https://c/f/", "uploadId": "u1"}), ())
    assert started == Multipart("https://c/f", "u1")
    with pytest.raises(InvalidResponseError, match="uploadId"):
        parse_multipart(_answer({"access_url": "https://c/f", "uploadId": ".."}), ())
    with pytest.raises(InvalidResponseError, match="uploadId"):
        parse_multipart(_answer({"access_url": "https://c/f", "uploadId": 7}), ())
    assert parse_etag(_answer(b"", headers={"ETag": '"abc"'}), Part(1, 0, 1), ()) == '"abc"'
    with pytest.raises(InvalidResponseError, match="CDN part 4"):
        parse_etag(_answer(b""), Part(4, 0, 1), ())


def test_parse_initiate_redacts_the_signed_url() -> None:
    signed = "https://bucket.example/o?sig=s3cr3t"
    target = parse_initiate(_answer({"upload_url": signed, "file_url": "https://f/o"}), ())
    assert (target.upload_url, target.file_url) == (signed, "https://f/o")
    with pytest.raises(InvalidResponseError) as info:
        parse_initiate(_answer({"upload_url": signed, "file_url": "nope"}), ())
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in info.value.text


def test_falls_back() -> None:
    def error(what: str, status: int) -> Exception:
        return api_error(what, httpx.Response(status, json={"detail": "x"}))

    assert falls_back(FalConnectionError("down", endpoint_id="CDN upload"))
    assert falls_back(error("CDN upload", 503))
    assert falls_back(error("CDN part 2", 500))
    assert falls_back(error("storage token", 404))
    assert not falls_back(error("CDN upload", 404))
    assert not falls_back(error("CDN upload", 400))
    assert not falls_back(error("storage token", 401))
    assert not falls_back(error("CDN upload", 429))
    assert not falls_back(ValueError("x"))


# -- sources -----------------------------------------------------------------------------------


def test_bytes_source_ranges() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: several chunks
    with open_source(memoryview(data)) as source:
        assert (source.name, source.size, source.rereadable) == (None, len(data), True)
        assert b"".join(source.read_range(10, 700_000)) == data[10:700_010]
        assert max(len(c) for c in source.read_range(0, len(data))) == 256 * 1024


def test_file_source_from_position(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as f:
        f.seek(3)
        with open_source(f) as source:
            assert (source.size, source.name) == (7, str(path))
            assert b"".join(source.read_range(1, 3)) == b"456"
            assert b"".join(source.read_range(0, 7)) == b"3456789"
        assert not f.closed  # the caller's file stays open


def test_path_source_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    source = open_source(path)
    file = source._file
    source.close()
    assert file.closed


def test_file_that_shrinks_while_uploaded(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    with open_source(path) as source:
        path.write_bytes(b"x" * 10)
        with pytest.raises(RuntimeError, match="changed while being uploaded"):
            b"".join(source.read_range(0, 1000))


def test_stream_source() -> None:
    class Stream:
        def __init__(self) -> None:
            self.data = io.BytesIO(b"abcdefgh")

        def read(self, size: int = -1) -> bytes:
            return self.data.read(min(size, 3))  # short reads, like a socket

    with open_source(Stream()) as source:
        assert (source.size, source.rereadable) == (None, False)
        assert source.read_stream(5) == b"abcde"
        buffer = bytearray(b"__" + bytes(10))
        assert source.read_into(buffer, 2) == 5
        assert buffer[:5] == b"__fgh"
        assert source.read_stream(10) == b""


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="C-contiguous"):
        open_source(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError, match="not list"):
        open_source([b"a"])
    with pytest.raises(TypeError, match="binary mode"):
        open_source(io.StringIO("x"))
    with pytest.raises(IsADirectoryError, match="directory"):
        open_source(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(tmp_path / "missing")

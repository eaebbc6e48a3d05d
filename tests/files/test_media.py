"""Media in outputs: FileOutput.read/iter_bytes/save/to_pil and save_files, against a real
HTTP server on 127.0.0.1 that records what it receives."""

from __future__ import annotations

import base64
import io
import os
import pathlib
import socket
import sys
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pydantic
import pytest

import fal_typed
import fal_typed._client
import fal_typed._media
from fal_typed import FalClient, FileDownloadError, FileOutput, save_files
from tests.files.test_names import assert_safe

# --- The server -------------------------------------------------------------------------------


@dataclass
class Route:
    """What one path serves. ``statuses`` are answered first, one per request (then the body);
    ``short`` declares that many more bytes than are sent, then closes the connection."""

    body: bytes = b""
    content_type: str = "application/octet-stream"
    statuses: deque[int] = field(default_factory=deque)
    headers: dict[str, str] = field(default_factory=dict)
    short: int = 0
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names


class FileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Received] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    outer.active += 1
                    outer.max_active = max(outer.max_active, outer.active)
                    route = outer.routes.get(urllib.parse.urlsplit(self.path).path)
                    status = route.statuses.popleft() if route and route.statuses else 200
                try:
                    if route is not None and route.delay:
                        time.sleep(route.delay)
                    if route is None or status != 200:
                        body = b"not here" if route is None else b"failed"
                        self.send_response(404 if route is None else status)
                        if route is not None:
                            for name, value in route.headers.items():
                                self.send_header(name, value)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body) + route.short))
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(route.body)
                    if route.short:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                finally:
                    with outer._lock:
                        outer.active -= 1

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # concurrent downloads must not overflow the backlog

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def serve(self, path: str, body: bytes, **options: Any) -> str:
        """Serve ``body`` at ``path``; return its URL."""
        statuses = options.pop("statuses", ())
        self.routes[path] = Route(body, statuses=deque(statuses), **options)
        return self.base + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[FileServer]:
    running = FileServer()
    yield running
    running.close()


@pytest.fixture
def client() -> Iterator[FalClient]:
    with FalClient(key="test-key-do-not-send") as fal:
        yield fal


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(fal_typed._media, "_sleep", waited.append)
    return waited


@pytest.fixture(autouse=True)
def _fresh_default_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own default client (it reads the environment when created)."""
    monkeypatch.setattr(fal_typed._client, "_default_client", None)
    yield
    made = fal_typed._client._default_client
    if made is not None:
        made.close()


# --- Models like the generated ones -----------------------------------------------------------


class Output(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class File(FileOutput, Output):
    url: str
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None


class Image(FileOutput, Output):
    url: str
    width: int | None = None
    height: int | None = None
    content_type: str | None = "image/png"
    file_name: str | None = None
    file_size: int | None = None


class Clip(Output):
    video: File
    thumbnail: Image | None = None


class Result(Output):
    images: list[Image]
    clips: list[Clip] = []
    extras: dict[str, File] = {}
    pair: tuple[File, File] | None = None
    seed: int = 0


def data_uri(data: bytes, media_type: str = "application/octet-stream") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def files_in(directory: pathlib.Path) -> list[str]:
    """Every entry in ``directory``, hidden temporary files included."""
    return sorted(os.listdir(directory))


PAYLOAD = bytes(range(256)) * 300  # 76.8 kB: more than one chunk


# --- read / iter_bytes ------------------------------------------------------------------------


def test_read_and_iter_bytes_of_a_hosted_file(server: FileServer, client: FalClient) -> None:
    url = server.serve("/files/a.bin", PAYLOAD)
    file = File(url=url, file_size=len(PAYLOAD))
    assert file.read(client=client) == PAYLOAD
    chunks = list(file.iter_bytes(client=client, chunk_size=1000))
    assert b"".join(chunks) == PAYLOAD
    assert len(chunks) > 1
    for request in server.requests:
        assert "authorization" not in request.headers
        assert request.headers["user-agent"].startswith("fal-typed/")
        assert request.headers["accept-encoding"] == "identity"


def test_no_credentials_are_sent_even_from_a_custom_http_client(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/a.bin", PAYLOAD)
    custom = httpx.Client(
        auth=("user", "password"),
        headers={"Authorization": "Key leaked", "X-Secret": "s3cret"},
        cookies={"session": "leaked"},
    )
    with custom, FalClient(key="my-key", http_client=custom) as fal:
        assert File(url=url).read(client=fal) == PAYLOAD
        assert b"".join(File(url=url).iter_bytes(client=fal)) == PAYLOAD
        assert File(url=url).save(dir=tmp_path, client=fal).read_bytes() == PAYLOAD
        assert save_files([File(url=url)], tmp_path / "all", client=fal)
    for request in server.requests:
        assert "authorization" not in request.headers
        assert "x-secret" not in request.headers
        assert "cookie" not in request.headers
        assert "my-key" not in str(request.headers)


def test_the_default_client_sends_no_key_and_needs_none(
    server: FileServer, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/a.bin", PAYLOAD)
    # No FAL_KEY (the test environment is clean): a download needs none.
    assert File(url=url).read() == PAYLOAD
    fal_typed._client.default_client().close()
    fal_typed._client._default_client = None
    monkeypatch.setenv("FAL_KEY", "env-key-id:env-secret")
    assert File(url=url).read() == PAYLOAD
    assert File(url=url).save(dir=tmp_path).read_bytes() == PAYLOAD
    assert save_files(Result(images=[Image(url=url)]), tmp_path / "all")
    assert len(server.requests) == 4
    for request in server.requests:
        assert "authorization" not in request.headers
        assert "env-secret" not in str(request.headers)


def test_redirects_are_followed_without_credentials(server: FileServer, client: FalClient) -> None:
    target = server.serve("/files/real.bin", PAYLOAD)
    url = server.serve("/files/moved.bin", b"", statuses=[302], headers={"Location": target})
    assert File(url=url).read(client=client) == PAYLOAD
    assert [r.path for r in server.requests] == ["/files/moved.bin", "/files/real.bin"]
    assert all("authorization" not in r.headers for r in server.requests)


# --- data: URIs -------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: FalClient) -> httpx.Client:
        raise AssertionError("a data: URI must not touch the network")

    monkeypatch.setattr(FalClient, "_foreign_http", refuse)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (data_uri(PAYLOAD), PAYLOAD),
        ("data:image/png;base64," + base64.b64encode(b"abcd").decode().rstrip("="), b"abcd"),
        ("data:;base64,YW Jj\nZA==", b"abcd"),
        ("DATA:text/plain;charset=utf-8;BASE64,aGk=", b"hi"),
        ("data:text/plain,hello%20world%00%FF", b"hello world\x00\xff"),
        ("data:,", b""),
        ("data:application/octet-stream;base64,", b""),
        ("  data:,padded  ", b"padded"),
    ],
)
def test_data_uris_are_decoded_locally(
    uri: str, expected: bytes, no_network: None, tmp_path: pathlib.Path
) -> None:
    file = File(url=uri)
    assert file.read() == expected
    assert b"".join(file.iter_bytes(chunk_size=7)) == expected
    assert file.save(dir=tmp_path).read_bytes() == expected


def test_data_uri_chunks(no_network: None) -> None:
    chunks = list(File(url=data_uri(PAYLOAD)).iter_bytes(chunk_size=10_000))
    assert [len(chunk) for chunk in chunks] == [10_000] * 7 + [6_800]


@pytest.mark.parametrize(
    "uri", ["data:;base64,a", "data:;base64,!!!!", "data:;base64,YWJj=ZA", "data:image/png"]
)
def test_invalid_data_uris(uri: str, no_network: None, tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileDownloadError, match="data: URI"):
        File(url=uri).read()
    with pytest.raises(FileDownloadError, match="data: URI"):
        File(url=uri).save(dir=tmp_path)
    assert files_in(tmp_path) == []


def test_data_uri_file_size_is_checked(no_network: None, tmp_path: pathlib.Path) -> None:
    file = File(url=data_uri(b"12345"), file_size=4)
    with pytest.raises(FileDownloadError, match="file_size says 4 bytes but 5 arrived"):
        file.read()
    with pytest.raises(FileDownloadError, match="file_size"):
        file.save(dir=tmp_path)
    assert files_in(tmp_path) == []


# --- Refused URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://example.com/a.png",
        "javascript:alert(1)",
        "/etc/passwd",
        "relative/a.png",
        "C:\\x.png",
        "gopher://h/x",
        "http://",
        "https://user:password@example.com/a.png",
        "",
    ],
)
def test_other_urls_are_refused(url: str, tmp_path: pathlib.Path, no_network: None) -> None:
    file = File(url=url)
    with pytest.raises(FileDownloadError):
        file.read()
    with pytest.raises(FileDownloadError):
        file.iter_bytes()  # refused at the call, not at the first chunk
    with pytest.raises(FileDownloadError):
        file.save(dir=tmp_path / "out")
    with pytest.raises(FileDownloadError, match=r"images\[1\]"):
        save_files(Result(images=[Image(url=data_uri(b"x")), Image(url=url)]), tmp_path / "all")
    assert files_in(tmp_path) == []  # nothing created, not even the directories


def test_a_redirect_loop_is_a_download_error(server: FileServer, client: FalClient) -> None:
    url = server.serve("/loop", b"", statuses=[302] * 30, headers={"Location": "/loop"})
    with pytest.raises(FileDownloadError, match="TooManyRedirects"):
        File(url=url).read(client=client)


def test_a_body_that_does_not_decode_is_a_download_error(
    server: FileServer, client: FalClient
) -> None:
    url = server.serve("/bad.gz", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FileDownloadError, match="DecodingError"):
        File(url=url).read(client=client)
    assert len(server.requests) == 1


def test_a_redirect_to_a_file_url_is_not_followed(server: FileServer, client: FalClient) -> None:
    url = server.serve("/r", b"", statuses=[302], headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FileDownloadError):
        File(url=url).read(client=client)


# --- Failures, retries, atomicity -------------------------------------------------------------


def test_a_connection_cut_mid_body_leaves_nothing(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path, _no_sleep: list[float]
) -> None:
    url = server.serve("/files/cut.bin", PAYLOAD, short=1000)
    with pytest.raises(FileDownloadError, match="3 attempts"):
        File(url=url).save(dir=tmp_path, client=client)
    assert files_in(tmp_path) == []  # no file, no temporary file
    assert len(server.requests) == 1 + client.max_retries
    assert len(_no_sleep) == client.max_retries
    with pytest.raises(FileDownloadError):
        File(url=url).read(client=client)
    with pytest.raises(FileDownloadError):
        File(url=url).save(tmp_path / "exact.bin", client=client)
    assert files_in(tmp_path) == []


def test_iter_bytes_does_not_restart_once_chunks_were_handed_out(
    server: FileServer, client: FalClient
) -> None:
    url = server.serve("/files/cut.bin", PAYLOAD, short=1000)
    received = b""
    with pytest.raises(FileDownloadError, match="RemoteProtocolError"):
        for chunk in File(url=url).iter_bytes(client=client):
            received += chunk
    assert PAYLOAD.startswith(received)
    assert len(server.requests) == 1


def test_a_cut_then_a_success_is_a_complete_file(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/flaky.bin", PAYLOAD, short=500)
    original = server.routes["/files/flaky.bin"]

    def heal() -> None:
        while not server.requests:
            time.sleep(0.001)
        original.short = 0

    healer = threading.Thread(target=heal)
    healer.start()
    path = File(url=url, file_size=len(PAYLOAD)).save(dir=tmp_path, client=client)
    healer.join()
    assert path.read_bytes() == PAYLOAD
    assert files_in(tmp_path) == ["flaky.bin"]


def test_file_size_mismatch_is_an_error_and_leaves_nothing(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/a.bin", PAYLOAD)
    for declared in (len(PAYLOAD) - 1, len(PAYLOAD) + 1, 10):
        file = File(url=url, file_size=declared)
        with pytest.raises(FileDownloadError, match=f"file_size says {declared} bytes"):
            file.save(dir=tmp_path, client=client)
        with pytest.raises(FileDownloadError, match="file_size"):
            file.read(client=client)
        with pytest.raises(FileDownloadError, match="file_size"):
            b"".join(file.iter_bytes(client=client))
    assert files_in(tmp_path) == []
    assert len(server.requests) == 9  # not retried


def test_retry_on_503_then_success(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path, _no_sleep: list[float]
) -> None:
    url = server.serve("/files/a.bin", PAYLOAD, statuses=[503, 429])
    path = File(url=url).save(dir=tmp_path, client=client)
    assert path.read_bytes() == PAYLOAD
    assert len(server.requests) == 3
    assert len(_no_sleep) == 2
    server.routes["/files/a.bin"].statuses.extend([503])
    assert File(url=url).read(client=client) == PAYLOAD
    server.routes["/files/a.bin"].statuses.extend([500])
    assert b"".join(File(url=url).iter_bytes(client=client)) == PAYLOAD


def test_retry_after_is_honoured(
    server: FileServer, client: FalClient, _no_sleep: list[float]
) -> None:
    url = server.serve("/a", PAYLOAD, statuses=[503], headers={"Retry-After": "3"})
    assert File(url=url).read(client=client) == PAYLOAD
    assert _no_sleep == [3.0]


def test_retries_run_out(server: FileServer, tmp_path: pathlib.Path) -> None:
    url = server.serve("/files/a.bin", PAYLOAD, statuses=[503] * 10)
    with FalClient(max_retries=1) as fal, pytest.raises(FileDownloadError, match="503") as caught:
        File(url=url).save(dir=tmp_path, client=fal)
    assert caught.value.status_code == 503
    assert len(server.requests) == 2
    assert files_in(tmp_path) == []


def test_a_missing_file_is_not_retried(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(FileDownloadError, match="404") as caught:
        File(url=server.base + "/files/gone.png").save(dir=tmp_path, client=client)
    assert caught.value.status_code == 404
    assert caught.value.url == server.base + "/files/gone.png"
    assert "expire" in str(caught.value)
    assert len(server.requests) == 1
    assert files_in(tmp_path) == []


def test_connection_refused_is_retried_then_reported(tmp_path: pathlib.Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FalClient(max_retries=1) as fal, pytest.raises(FileDownloadError, match="ConnectError"):
        File(url=f"http://127.0.0.1:{port}/a.png").save(dir=tmp_path, client=fal)
    assert files_in(tmp_path) == []


def test_the_query_string_is_kept_out_of_messages(server: FileServer, client: FalClient) -> None:
    with pytest.raises(FileDownloadError) as caught:
        File(url=server.base + "/gone.png?X-Signature=secret").read(client=client)
    assert "secret" not in str(caught.value)
    assert "gone.png" in str(caught.value)


# --- save: names and collisions ---------------------------------------------------------------


def test_save_names(server: FileServer, client: FalClient, tmp_path: pathlib.Path) -> None:
    url = server.serve("/files/k/my%20cat.png", PAYLOAD)
    assert File(url=url).save(dir=tmp_path, client=client).name == "my cat.png"
    assert File(url=url, file_name="given.png").save(dir=tmp_path, client=client) == (
        tmp_path / "given.png"
    )
    data = File(url=data_uri(b"x", "image/webp"))
    assert data.save(dir=tmp_path).name == "file.webp"
    assert File(url="data:,x").save(dir=tmp_path).name == "file.txt"
    assert File(url="data:application/x-nothing-known;base64,eA==").save(dir=tmp_path).name == (
        "file"
    )


def test_save_to_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, no_network: None
) -> None:
    monkeypatch.chdir(tmp_path)
    path = File(url=data_uri(b"x", "image/png")).save()
    assert path == pathlib.Path("file.png")
    assert (tmp_path / "file.png").read_bytes() == b"x"


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\x.png",
        "C:\\x",
        "C:x",
        "con",
        "CON.txt",
        "nul",
        "a\x00b",
        "ctl\x01\x1b\x7f\n\r\t.png",
        "x" * 1000,
        "\u732b" * 1000 + ".png",
        "...",
        " . . ",
        "..",
        ".",
        "\u732b\u306e\u5199\u771f \U0001f600.png",
        ".hidden",
    ],
)
def test_hostile_file_names_stay_inside_the_directory(
    hostile: str, tmp_path: pathlib.Path, no_network: None
) -> None:
    directory = tmp_path / "out"
    for source in (
        File(url=data_uri(b"payload"), file_name=hostile),
        File(url="https://example.invalid/a/" + urllib.parse.quote(hostile, safe="")),
    ):
        if source.url.startswith("https"):
            # The URL's name, without downloading (the name is derived before the download).
            name = fal_typed._media.default_name(source)
            assert_safe(name)
            continue
        path = source.save(dir=directory)
        assert path.parent == directory
        assert path.resolve().parent == directory.resolve()
        assert_safe(path.name)
        assert path.read_bytes() == b"payload"
    assert files_in(tmp_path) == ["out"]


def test_no_overwrite_numbers_the_name(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/name.png", b"first")
    first = File(url=url).save(dir=tmp_path, client=client)
    server.routes["/files/name.png"].body = b"second"
    second = File(url=url).save(dir=tmp_path, client=client)
    third = File(url=url).save(dir=tmp_path, client=client)
    assert [first.name, second.name, third.name] == ["name.png", "name (1).png", "name (2).png"]
    assert first.read_bytes() == b"first"
    assert second.read_bytes() == b"second"
    server.routes["/files/name.png"].body = b"replaced"
    assert File(url=url).save(dir=tmp_path, overwrite=True, client=client) == first
    assert first.read_bytes() == b"replaced"
    assert files_in(tmp_path) == ["name (1).png", "name (2).png", "name.png"]


def test_a_taken_name_that_is_a_directory_is_skipped(
    tmp_path: pathlib.Path, no_network: None
) -> None:
    (tmp_path / "file.png").mkdir()
    path = File(url=data_uri(b"x", "image/png")).save(dir=tmp_path)
    assert path.name == "file (1).png"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_symlink_at_the_name_is_never_written_through(
    tmp_path: pathlib.Path, no_network: None
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "file.png").symlink_to(outside)
    assert File(url=data_uri(b"x", "image/png")).save(dir=directory).name == "file (1).png"
    File(url=data_uri(b"x", "image/png")).save(dir=directory, overwrite=True)
    assert outside.read_bytes() == b"precious"  # the link itself was replaced
    assert not (directory / "file.png").is_symlink()


def test_save_to_an_explicit_path(tmp_path: pathlib.Path, no_network: None) -> None:
    file = File(url=data_uri(b"one", "image/png"), file_name="ignored.png")
    target = tmp_path / "deep" / "er" / "exact name.bin"
    assert file.save(target) == target
    assert target.read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        file.save(target)
    assert File(url=data_uri(b"two")).save(str(target), overwrite=True) == target
    assert target.read_bytes() == b"two"
    # An existing directory as the path: saved in it under the default name.
    assert file.save(tmp_path / "deep") == tmp_path / "deep" / "ignored.png"
    # A path ending with a separator: a directory to create.
    assert file.save(f"{tmp_path}{os.sep}new{os.sep}") == tmp_path / "new" / "ignored.png"
    with pytest.raises(ValueError, match="not both"):
        file.save(target, dir=tmp_path)
    assert sorted(os.listdir(target.parent)) == ["exact name.bin"]


def test_concurrent_saves_of_one_name_never_collide(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    url = server.serve("/files/same.png", PAYLOAD, delay=0.01)
    paths: list[pathlib.Path] = []
    errors: list[BaseException] = []
    with FalClient() as fal:

        def save() -> None:
            try:
                paths.append(File(url=url).save(dir=tmp_path, client=fal))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=save) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(set(paths)) == 16
    assert {path.name for path in paths} == {"same.png"} | {f"same ({n}).png" for n in range(1, 16)}
    assert all(path.read_bytes() == PAYLOAD for path in paths)
    assert len(files_in(tmp_path)) == 16


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_saved_files_get_the_usual_permissions(tmp_path: pathlib.Path, no_network: None) -> None:
    previous = os.umask(0o022)
    try:
        path = File(url=data_uri(b"x")).save(dir=tmp_path)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


def test_without_hard_links_the_name_is_reserved_exclusively(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, no_network: None
) -> None:
    def no_links(*args: Any, **kwargs: Any) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "link", no_links)
    first = File(url=data_uri(b"1", "image/png")).save(dir=tmp_path)
    second = File(url=data_uri(b"2", "image/png")).save(dir=tmp_path)
    assert [first.name, second.name] == ["file.png", "file (1).png"]
    assert second.read_bytes() == b"2"
    with pytest.raises(FileExistsError):
        File(url=data_uri(b"3")).save(first)
    assert first.read_bytes() == b"1"
    assert files_in(tmp_path) == ["file (1).png", "file.png"]


# --- save_files -------------------------------------------------------------------------------


def test_save_files_finds_every_file_in_order(
    server: FileServer, client: FalClient, tmp_path: pathlib.Path
) -> None:
    hosted = server.serve("/files/k/hosted.mp4", b"video bytes")
    result = Result(
        images=[
            Image(url=data_uri(b"i0", "image/png")),
            Image(url=data_uri(b"i1", "image/jpeg"), content_type="image/jpeg"),
            Image(url=data_uri(b"i2"), file_name="named.png"),
        ],
        clips=[
            Clip(video=File(url=hosted), thumbnail=Image(url=data_uri(b"t0"))),
            Clip(video=File(url=data_uri(b"v1", "video/mp4"), content_type="video/mp4")),
        ],
        extras={"mask": File(url=data_uri(b"m", "image/png"))},
        pair=(File(url=data_uri(b"p0")), File(url=data_uri(b"p1"), file_name="named.png")),
        seed=42,
        unknown_key={"nested": [1, 2]},  # kept as extra, no files in it
    )
    paths = save_files(result, tmp_path, client=client)
    assert [path.name for path in paths] == [
        "images_0.png",  # Image's default content type
        "images_1.jpg",
        "named.png",
        "hosted.mp4",  # the URL's name
        "clips_0_thumbnail.png",
        "clips_1_video.mp4",
        "extras_mask.png",  # the data: URI's media type
        "pair_0.bin",
        "named (1).png",
    ]
    contents = [path.read_bytes() for path in paths]
    assert contents == [b"i0", b"i1", b"i2", b"video bytes", b"t0", b"v1", b"m", b"p0", b"p1"]
    assert all(path.parent == tmp_path for path in paths)


def test_save_files_accepts_lists_dicts_and_single_files(
    tmp_path: pathlib.Path, no_network: None
) -> None:
    one = File(url=data_uri(b"1", "image/png"))
    assert [p.name for p in save_files(one, tmp_path / "a")] == ["file.png"]
    assert [p.name for p in save_files([one, one], tmp_path / "b")] == [
        "file_0.png",
        "file_1.png",
    ]
    assert [p.name for p in save_files({"x": [one]}, tmp_path / "c")] == ["x_0.png"]
    assert save_files(Result(images=[]), tmp_path / "d") == []
    assert save_files("not a result", tmp_path / "e") == []
    assert not (tmp_path / "d").exists()


def test_save_files_with_existing_files(tmp_path: pathlib.Path, no_network: None) -> None:
    result = Result(images=[Image(url=data_uri(b"new0")), Image(url=data_uri(b"new1"))])
    (tmp_path / "images_0.png").write_bytes(b"old")
    paths = save_files(result, tmp_path)
    # The taken name is numbered past the names of the batch itself.
    assert [p.name for p in paths] == ["images_0 (1).png", "images_1.png"]
    assert (tmp_path / "images_0.png").read_bytes() == b"old"
    paths = save_files(result, tmp_path, overwrite=True)
    assert [p.name for p in paths] == ["images_0.png", "images_1.png"]
    assert [p.read_bytes() for p in paths] == [b"new0", b"new1"]


def test_save_files_bounds_its_concurrency(server: FileServer, tmp_path: pathlib.Path) -> None:
    result = Result(
        images=[
            Image(url=server.serve(f"/files/{i}.png", b"%d" % i, delay=0.03)) for i in range(12)
        ]
    )
    with FalClient() as fal:
        paths = save_files(result, tmp_path, max_concurrency=3, client=fal)
    assert [p.name for p in paths] == [f"{i}.png" for i in range(12)]
    assert [p.read_bytes() for p in paths] == [b"%d" % i for i in range(12)]
    assert 1 < server.max_active <= 3


def test_save_files_one_hundred_files(server: FileServer, tmp_path: pathlib.Path) -> None:
    body = b"x" * 2048
    url = server.serve("/files/same.png", body)
    result = Result(images=[Image(url=url, file_size=len(body)) for _ in range(100)])
    started = time.monotonic()
    with FalClient() as fal:
        paths = save_files(result, tmp_path, client=fal)
    assert time.monotonic() - started < 20
    assert [p.name for p in paths] == ["same.png"] + [f"same ({n}).png" for n in range(1, 100)]
    assert len(files_in(tmp_path)) == 100
    assert all(p.read_bytes() == body for p in paths)
    assert len(server.requests) == 100


def test_save_files_failure_says_which_file_and_leaves_no_partial_files(
    server: FileServer, tmp_path: pathlib.Path
) -> None:
    urls = [server.serve(f"/files/{i}.bin", PAYLOAD, delay=0.02) for i in range(8)]
    urls[3] = server.serve("/files/broken.bin", PAYLOAD, short=100)
    result = Result(images=[Image(url=url) for url in urls])
    with FalClient(max_retries=0) as fal, pytest.raises(FileDownloadError) as caught:
        save_files(result, tmp_path, max_concurrency=2, client=fal)
    error = caught.value
    assert error.field == "images[3]"
    assert str(error).startswith("images[3]: ")
    assert error.url == urls[3]
    assert isinstance(error.__cause__, FileDownloadError)
    left = files_in(tmp_path)
    assert not [name for name in left if name.startswith(".")]  # no temporary files
    assert "broken.bin" not in left
    assert sorted(p.name for p in error.saved) == sorted(left)
    for path in error.saved:
        assert path.read_bytes() == PAYLOAD  # every file left is complete
    assert len(left) < 8  # the rest were not started


def test_save_files_failure_of_the_disk_is_reported_per_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, no_network: None
) -> None:
    real = fal_typed._media._write_body
    calls = 0

    def failing(fd: int, file: object, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if getattr(file, "file_name", None) == "bad.png":
            os.close(fd)
            raise OSError(28, "No space left on device")
        real(fd, file, *args)

    monkeypatch.setattr(fal_typed._media, "_write_body", failing)
    result = Result(
        images=[Image(url=data_uri(b"1")), Image(url=data_uri(b"2"), file_name="bad.png")]
    )
    with pytest.raises(FileDownloadError, match=r"images\[1\].*No space left") as caught:
        save_files(result, tmp_path, max_concurrency=1)
    assert isinstance(caught.value.__cause__, OSError)
    assert files_in(tmp_path) == ["images_0.png"]


def test_save_files_checks_its_arguments(tmp_path: pathlib.Path) -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_concurrency"):
            save_files(Result(images=[]), tmp_path, max_concurrency=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size"):
        File(url="data:,x").iter_bytes(chunk_size=0)


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    capfd: pytest.CaptureFixture[str], tmp_path: pathlib.Path, no_network: None
) -> None:
    result = Result(images=[Image(url=data_uri(b"x")) for _ in range(3)])
    save_files(result, tmp_path / "a")
    save_files(result, tmp_path / "b", progress=False)
    assert capfd.readouterr().err == ""
    save_files(result, tmp_path / "c", progress=True)
    assert "3/3" in capfd.readouterr().err


def test_progress_without_tqdm_is_silent(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    paths = save_files(Result(images=[Image(url=data_uri(b"x"))]), tmp_path, progress=True)
    assert len(paths) == 1
    assert capfd.readouterr().err == ""


# --- Pillow -----------------------------------------------------------------------------------


def test_to_pil_on_a_real_png(server: FileServer, client: FalClient) -> None:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (7, 5), (255, 0, 0)).save(buffer, format="PNG")
    png = buffer.getvalue()
    for url in (server.serve("/files/red.png", png, content_type="image/png"), data_uri(png)):
        image = Image(url=url, width=7, height=5).to_pil(client=client)
        assert image.size == (7, 5)
        assert image.getpixel((3, 2)) == (255, 0, 0)


def test_to_pil_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'fal-typed\[images\]'"):
        Image(url=data_uri(b"x")).to_pil()


# --- The mixin --------------------------------------------------------------------------------


def test_the_mixin_adds_no_fields() -> None:
    assert FileOutput.__slots__ == ()
    assert list(File.model_fields) == ["url", "content_type", "file_name", "file_size"]
    file = File.model_validate({"url": "data:,x", "file_size": 1, "extra": True})
    assert file.model_dump() == {
        "url": "data:,x",
        "content_type": None,
        "file_name": None,
        "file_size": 1,
        "extra": True,
    }
    assert File.model_validate_json(file.model_dump_json()) == file
    assert isinstance(file, fal_typed.FileOutput)

"""Media in outputs: read, stream and save the files an endpoint returns.

File objects in an endpoint's output (``Image``, ``Video``, ``Audio``, ``File``, ...) carry a
``url``: a file hosted by fal (``https://v3.fal.media/...``) or, with ``sync_mode``, a ``data:``
URI. Generated output models for them inherit :class:`FileOutput`, which adds ``read()``,
``iter_bytes()``, ``save()`` and ``to_pil()``; :func:`save_files` saves every file of a result
at once.

* ``data:`` URIs are decoded locally: no network.
* Hosted files are fetched with the client's credential-free pool for server-named hosts
  (``FalClient._foreign_http()``): never the caller's ``http_client``, never an Authorization
  header, and no API key is needed.
* Only ``http``, ``https`` and ``data`` URLs are accepted (and no ``user:password@`` in them).
* Downloads are retried like fal's other free reads (transport errors, 408, 429, 5xx; the
  client's ``max_retries``, with back-off), each time from the start.
* A file is written to a hidden temporary file next to its destination and only then given its
  name, so a failed or interrupted save leaves no partial file under the final name (and the
  temporary file is removed). A ``file_size`` that does not match what arrived is an error.

The pure half (``data:`` URI decoding, URL checks, which files a result holds and in which order,
size checks, and the naming in :mod:`fal_typed._names`) has no I/O, for an async twin to share.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import logging
import os
import pathlib
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel

from ._client import FalClient, default_client
from ._exceptions import FalError
from ._names import candidates, derive_name, numbered, plan_names
from ._retry import read_delay, should_retry_read, should_retry_read_error

if TYPE_CHECKING:
    import PIL.Image

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FileDownloadError",
    "FileOutput",
    "FoundFile",
    "file_url",
    "find_files",
    "parse_data_uri",
    "save_files",
    "url_kind",
]

logger = logging.getLogger("fal_typed")
# Module-level so tests can record back-off waits instead of sleeping through them.
_sleep = time.sleep

DEFAULT_CHUNK_SIZE = 64 * 1024
# The exact bytes of the file: ask servers not to compress them on the way.
_DOWNLOAD_HEADERS = {"Accept-Encoding": "identity"}
_PIL_MISSING = "FileOutput.to_pil() needs Pillow: pip install 'fal-typed[images]'"


class FileDownloadError(FalError):
    """A file of an output could not be read, downloaded or saved.

    Raised for an HTTP error answer (after retries when it is retryable), a broken connection
    after the retries, a size that differs from ``file_size``, an invalid ``data:`` URI or a URL
    that is not ``http(s)``/``data:``; by :func:`save_files` also for any other failure of one
    file (disk full, ...), with the original exception as ``__cause__``.

    Attributes:
        url: the file's URL.
        status_code: the HTTP status, when the server answered with an error.
        field: where the file is in the result (``"images[1]"``), from :func:`save_files`.
        saved: from :func:`save_files`: the files that were completely saved before it stopped,
            in result order (they are kept).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        field: str | None = None,
        saved: list[pathlib.Path] | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.field = field
        self.saved = saved if saved is not None else []


class _Cancelled(Exception):
    """A save stopped because another file of the same :func:`save_files` call failed."""


# --- Pure logic -------------------------------------------------------------------------------


def describe_url(url: str) -> str:
    """``url`` for messages: a ``data:`` URI shortened, an http(s) URL without its query
    (pre-signed URLs carry signatures there)."""
    if url[:5].lower() == "data:":
        head = url.split(",", 1)[0]
        return f"{head[:80]},... ({len(url)} characters)"
    parts = urllib.parse.urlsplit(url)
    if parts.query:
        return urllib.parse.urlunsplit(parts._replace(query="...", fragment=""))
    return url if len(url) <= 300 else url[:300] + "..."


def url_kind(url: str) -> Literal["data", "http"]:
    """``"data"`` or ``"http"`` (http and https); any other URL raises FileDownloadError."""
    stripped = url.strip()
    scheme, colon, _ = stripped.partition(":")
    scheme = scheme.lower()
    if colon and scheme == "data":
        return "data"
    if colon and scheme in ("http", "https"):
        try:
            parsed = httpx.URL(stripped)
        except httpx.InvalidURL as exc:
            raise FileDownloadError(
                f"invalid file URL {describe_url(stripped)!r}: {exc}", url=url
            ) from None
        if not parsed.host:
            raise FileDownloadError(f"file URL without a host: {describe_url(url)!r}", url=url)
        if parsed.userinfo:
            raise FileDownloadError(
                f"file URL with credentials in it refused: {describe_url(url)!r}", url=url
            )
        return "http"
    shown = f"{scheme}:" if colon else describe_url(url)
    raise FileDownloadError(
        f"only http(s) and data: file URLs are fetched, not {shown!r}: {describe_url(url)!r}",
        url=url,
    )


_BASE64_SPACE = re.compile(rb"[\t\n\f\r ]+")


def parse_data_uri(uri: str) -> tuple[str, bytes]:
    """``(media type, bytes)`` of a ``data:`` URI (RFC 2397; base64 or percent-encoded)."""
    uri = uri.strip()
    if uri[:5].lower() != "data:":
        raise FileDownloadError(f"not a data: URI: {describe_url(uri)!r}", url=uri)
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise FileDownloadError(f"invalid data: URI (no comma): {describe_url(uri)!r}", url=uri)
    parameters = header.split(";")
    is_base64 = len(parameters) > 1 and parameters[-1].strip().lower() == "base64"
    media_type = parameters[0].strip().lower() or "text/plain"
    data = urllib.parse.unquote_to_bytes(payload)
    if not is_base64:
        return media_type, data
    # Forgiving, like browsers: white space ignored, padding optional.
    data = _BASE64_SPACE.sub(b"", data).rstrip(b"=")
    if len(data) % 4 == 1:
        raise FileDownloadError(
            f"invalid base64 in data: URI (truncated): {describe_url(uri)!r}", url=uri
        )
    try:
        return media_type, base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise FileDownloadError(
            f"invalid base64 in data: URI: {describe_url(uri)!r}", url=uri
        ) from None


def size_error(expected: int | None, received: int, *, finished: bool) -> str | None:
    """Why ``received`` bytes contradict ``file_size`` (None if they do not, or not yet)."""
    if expected is None:
        return None
    if received > expected or (finished and received != expected):
        more = "" if finished else " at least"
        return f"file_size says {expected} bytes but{more} {received} arrived"
    return None


def file_url(file: object) -> str:
    """The ``url`` of a file object, as a string."""
    url = getattr(file, "url", None)
    if url is None:
        raise FileDownloadError(f"{type(file).__name__} has no url")
    return url if isinstance(url, str) else str(url)


def _optional_str(file: object, name: str) -> str | None:
    value = getattr(file, name, None)
    return value if isinstance(value, str) and value else None


def file_size(file: object) -> int | None:
    value = getattr(file, "file_size", None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def content_type(file: object) -> str | None:
    """The file's ``content_type``, else a ``data:`` URI's media type."""
    declared = _optional_str(file, "content_type")
    if declared is not None:
        return declared
    url = file_url(file).strip()
    if url[:5].lower() == "data:":
        media_type = url[5:].split(",", 1)[0].split(";", 1)[0].strip()
        return media_type or "text/plain"  # RFC 2397's default
    return None


def default_name(file: object, stem: str = "file") -> str:
    """The name ``file`` is saved under when nothing else is said (before collisions)."""
    return derive_name(
        _optional_str(file, "file_name"), file_url(file), content_type(file), stem=stem
    )


class FoundFile:
    """One file object of a result: ``label`` (``"images[0]"``) and default-name ``stem``
    (``"images_0"``)."""

    __slots__ = ("file", "label", "stem")

    def __init__(self, file: FileOutput, label: str, stem: str) -> None:
        self.file = file
        self.label = label
        self.stem = stem

    def __repr__(self) -> str:
        return f"FoundFile(label={self.label!r}, stem={self.stem!r}, file={self.file!r})"


def _label(path: tuple[str | int, ...]) -> str:
    label = ""
    for part in path:
        if isinstance(part, int):
            label += f"[{part}]"
        else:
            label += f".{part}" if label else part
    return label or "result"


def _stem(path: tuple[str | int, ...]) -> str:
    parts = [str(part) for part in path]
    if not parts or isinstance(path[0], int):
        parts.insert(0, "file")
    return "_".join(parts)


_MAX_DEPTH = 256


def find_files(result: object) -> list[FoundFile]:
    """Every :class:`FileOutput` in ``result``, in order: the fields of pydantic models (then
    their extra keys), items of lists and tuples, values of dicts; file objects themselves are
    not looked into (nor anything nested deeper than 256 levels, nor a container inside itself).
    """
    found: list[FoundFile] = []
    ancestors: set[int] = set()

    def visit(value: object, path: tuple[str | int, ...]) -> None:
        if isinstance(value, FileOutput):
            found.append(FoundFile(value, _label(path), _stem(path)))
            return
        children: list[tuple[object, str | int]]
        if isinstance(value, BaseModel):
            children = [(getattr(value, name), name) for name in type(value).model_fields]
            children += [(item, key) for key, item in (value.model_extra or {}).items()]
        elif isinstance(value, Mapping):
            children = [(item, str(key)) for key, item in value.items()]
        elif isinstance(value, (list, tuple)):
            children = [(item, index) for index, item in enumerate(value)]
        else:
            return
        if id(value) in ancestors or len(path) >= _MAX_DEPTH:
            return
        ancestors.add(id(value))
        try:
            for child, step in children:
                visit(child, (*path, step))
        finally:
            ancestors.discard(id(value))

    visit(result, ())
    return found


# --- I/O --------------------------------------------------------------------------------------


def _client(client: FalClient | None) -> FalClient:
    return client if client is not None else default_client()


def _pause(delay: float, cancel: threading.Event | None) -> None:
    """Wait ``delay`` seconds before a retry; with ``cancel``, stop early when it is set."""
    if cancel is None:
        _sleep(delay)
    elif cancel.wait(delay):
        raise _Cancelled


def _stream_http(
    url: str,
    client: FalClient,
    *,
    chunk_size: int,
    expected: int | None,
    restart: Callable[[], None] | None,
    cancel: threading.Event | None = None,
) -> Iterator[bytes]:
    """The body of a hosted file, chunk by chunk, with retries.

    A failed attempt is retried from the start: after ``restart()`` (which discards what the
    consumer got so far) if given; without it only when no byte was yielded yet.
    """
    http = client._foreign_http()
    shown = describe_url(url)
    failures = 0
    while True:
        yielded = False
        response: httpx.Response | None = None
        failure: str
        try:
            with http.stream("GET", url.strip(), headers=_DOWNLOAD_HEADERS) as response:
                status = response.status_code
                if response.is_success:
                    received = 0
                    for chunk in response.iter_bytes(chunk_size):
                        if cancel is not None and cancel.is_set():
                            raise _Cancelled
                        received += len(chunk)
                        problem = size_error(expected, received, finished=False)
                        if problem is not None:
                            raise FileDownloadError(f"{shown}: {problem}", url=url)
                        yielded = True
                        yield chunk
                    problem = size_error(expected, received, finished=True)
                    if problem is not None:
                        raise FileDownloadError(f"{shown}: {problem}", url=url)
                    return
                failure = f"HTTP {status} {response.reason_phrase}".rstrip()
                if not should_retry_read(status):
                    hint = (
                        " (hosted files expire: see object_lifecycle)"
                        if status in (403, 404)
                        else ""
                    )
                    raise FileDownloadError(
                        f"could not download {shown}: {failure}{hint}",
                        url=url,
                        status_code=status,
                    )
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if (yielded and restart is None) or not should_retry_read_error(exc):
                raise FileDownloadError(f"could not download {shown}: {failure}", url=url) from exc
            response = None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Not worth a retry: too many redirects, an undecodable body, a bad redirect URL.
            raise FileDownloadError(
                f"could not download {shown}: {type(exc).__name__}: {exc}", url=url
            ) from exc
        failures += 1
        delay = read_delay(failures, client.max_retries, response, None)
        if delay is None:
            raise FileDownloadError(
                f"could not download {shown} ({failures} attempts): {failure}",
                url=url,
                status_code=response.status_code if response is not None else None,
            )
        logger.info(
            "download of %s failed (%s); retry %d in %.2fs", shown, failure, failures, delay
        )
        _pause(delay, cancel)
        if yielded and restart is not None:
            restart()


def _read(file: object, client: FalClient | None) -> bytes:
    url = file_url(file)
    expected = file_size(file)
    if url_kind(url) == "data":
        data = parse_data_uri(url)[1]
        problem = size_error(expected, len(data), finished=True)
        if problem is not None:
            raise FileDownloadError(f"{describe_url(url)}: {problem}", url=url)
        return data
    chunks: list[bytes] = []
    for chunk in _stream_http(
        url,
        _client(client),
        chunk_size=DEFAULT_CHUNK_SIZE,
        expected=expected,
        restart=chunks.clear,
    ):
        chunks.append(chunk)
    return b"".join(chunks)


def _iter_bytes(file: object, client: FalClient | None, chunk_size: int) -> Iterator[bytes]:
    url = file_url(file)
    expected = file_size(file)
    if url_kind(url) == "data":
        data = parse_data_uri(url)[1]
        problem = size_error(expected, len(data), finished=True)
        if problem is not None:
            raise FileDownloadError(f"{describe_url(url)}: {problem}", url=url)
        view = memoryview(data)
        for start in range(0, len(data), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    yield from _stream_http(
        url, _client(client), chunk_size=chunk_size, expected=expected, restart=None
    )


_BINARY = getattr(os, "O_BINARY", 0)


def _create_temporary(directory: pathlib.Path, name: str) -> tuple[int, pathlib.Path]:
    """A new hidden ``.<name>.<random>.part`` file in ``directory``, opened for writing.

    Created with ``os.open`` (not ``tempfile``, whose 0600 mode the saved file would keep) so the
    file gets the usual permissions (0666 less the umask).
    """
    hint = name.encode("utf-8")[:60].decode("utf-8", "ignore")
    while True:
        path = directory / f".{hint}.{os.urandom(8).hex()}.part"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
        except FileExistsError:
            continue
        return fd, path


def _link_exclusive(temporary: pathlib.Path, path: pathlib.Path) -> None:
    """Give the complete ``temporary`` file the name ``path`` if that name is free.

    ``os.link`` fails if ``path`` exists (any file, directory or symlink), atomically: two
    concurrent saves can never both take a name, and the name never shows an incomplete file.
    Where hard links are not supported, the name is reserved with an ``O_CREAT | O_EXCL`` empty
    file that ``os.replace`` then swaps for the complete one. Raises FileExistsError if taken.
    """
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError, AttributeError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
        os.close(fd)
        try:
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        return
    with contextlib.suppress(OSError):
        os.unlink(temporary)


class _Destination:
    """Where one file goes: ``directory / numbered(name, number)`` or the next free number
    (skipping names in ``avoid``); with ``exact``, ``directory / name`` only."""

    __slots__ = ("avoid", "directory", "exact", "name", "number")

    def __init__(
        self,
        directory: pathlib.Path,
        name: str,
        number: int = 0,
        *,
        exact: bool = False,
        avoid: frozenset[str] = frozenset(),
    ) -> None:
        self.directory = directory
        self.name = name
        self.number = number
        self.exact = exact
        self.avoid = avoid


def _write_body(
    fd: int, file: object, url: str, client: FalClient | None, cancel: threading.Event | None
) -> None:
    expected = file_size(file)
    with open(fd, "wb", closefd=True) as sink:
        if url_kind(url) == "data":
            data = parse_data_uri(url)[1]
            problem = size_error(expected, len(data), finished=True)
            if problem is not None:
                raise FileDownloadError(f"{describe_url(url)}: {problem}", url=url)
            sink.write(data)
            return

        def restart() -> None:
            sink.seek(0)
            sink.truncate()

        for chunk in _stream_http(
            url,
            _client(client),
            chunk_size=DEFAULT_CHUNK_SIZE,
            expected=expected,
            restart=restart,
            cancel=cancel,
        ):
            sink.write(chunk)


def _save(
    file: object,
    destination: _Destination,
    *,
    overwrite: bool,
    client: FalClient | None,
    cancel: threading.Event | None = None,
) -> pathlib.Path:
    url = file_url(file)
    url_kind(url)  # refused before anything touches the disk
    directory = destination.directory
    if destination.exact and not overwrite and os.path.lexists(directory / destination.name):
        raise FileExistsError(f"{directory / destination.name} exists (pass overwrite=True)")
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = _create_temporary(directory, destination.name)
    try:
        _write_body(fd, file, url, client, cancel)
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        if destination.exact:
            path = directory / destination.name
            if overwrite:
                os.replace(temporary, path)
            else:
                _link_exclusive(temporary, path)
            return path
        for name in candidates(destination.name, destination.number, avoid=destination.avoid):
            path = directory / name
            if overwrite and name == numbered(destination.name, destination.number):
                os.replace(temporary, path)
                return path
            try:
                _link_exclusive(temporary, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"no free name like {destination.name!r} in {directory}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _names_a_directory(path: str | os.PathLike[str]) -> bool:
    """An existing directory, or a path written with a trailing separator (``"out/"``)."""
    text = os.fspath(path)
    separators = (os.sep, os.altsep) if os.altsep else (os.sep,)
    return text.endswith(separators) or os.path.isdir(text)


class FileOutput:
    """Mixin of generated output models that are files (``url`` plus ``content_type``,
    ``file_name``, ``file_size``, ...): ``class Image(FileOutput, OutputModel)``.

    It has no fields of its own; it reads the model's ``url``, ``file_name``,
    ``content_type`` and ``file_size``.
    """

    __slots__ = ()

    def read(self, *, client: FalClient | None = None) -> bytes:
        """The file's bytes (a ``data:`` URI is decoded; a hosted file downloaded).

        Args:
            client: the client whose credential-free download pool and ``max_retries`` are
                used; default: the shared default client. No API key is needed.

        Raises:
            FileDownloadError: the download failed, or ``file_size`` does not match.
        """
        return _read(self, client)

    def iter_bytes(
        self, *, chunk_size: int = DEFAULT_CHUNK_SIZE, client: FalClient | None = None
    ) -> Iterator[bytes]:
        """The file's bytes in chunks, streamed (not held in memory).

        A failure before the first chunk is retried; once chunks were handed out, a broken
        download raises FileDownloadError (the chunks already seen cannot be taken back).
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        url_kind(file_url(self))  # refused now, not at the first chunk
        return _iter_bytes(self, client, chunk_size)

    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        dir: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        client: FalClient | None = None,
    ) -> pathlib.Path:
        """Save the file and return its path.

        Args:
            path: exactly where to save it. An existing directory, or a path ending with a
                separator (``"out/"``), means "in it, under the default name". Parent
                directories are created.
            dir: the directory to save it in under the default name (``file_name``, else the
                URL's last segment, else ``file.<ext>``; made safe); created if missing. Default:
                the current directory. Not together with ``path``.
            overwrite: replace an existing file. Without it an explicit ``path`` that exists
                raises FileExistsError, and a default name that is taken becomes
                ``name (1).ext``, ``name (2).ext``, ...

        The file is written to a temporary file in the same directory and renamed into place
        when complete: on failure nothing is left behind.
        """
        if path is not None and dir is not None:
            raise ValueError("pass either path or dir, not both")
        destination: _Destination
        if path is not None and not _names_a_directory(path):
            target = pathlib.Path(path)
            destination = _Destination(target.parent, target.name, exact=True)
        else:
            where = path if path is not None else dir
            directory = pathlib.Path(where) if where is not None else pathlib.Path()
            destination = _Destination(directory, default_name(self))
        return _save(self, destination, overwrite=overwrite, client=client)

    def to_pil(self, *, client: FalClient | None = None) -> PIL.Image.Image:
        """The file opened as a Pillow image (needs ``pip install 'fal-typed[images]'``)."""
        try:
            from PIL import Image
        except ImportError as exc:
            raise ImportError(_PIL_MISSING) from exc
        image = Image.open(io.BytesIO(self.read(client=client)))
        image.load()
        return image


def _progress_bar(progress: bool | None, total: int) -> Any:
    """A tqdm bar on stderr, or None (not wanted, not a terminal, or tqdm not installed)."""
    if progress is None:
        stream = sys.stderr
        try:
            progress = stream is not None and stream.isatty()
        except (AttributeError, ValueError, OSError):
            progress = False
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="file", desc="Saving files", file=sys.stderr)


def save_files(
    result: object,
    dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    max_concurrency: int = 8,
    progress: bool | None = None,
    client: FalClient | None = None,
) -> list[pathlib.Path]:
    """Save every file object in ``result`` into ``dir``; return their paths in result order.

    ``result`` is an output model (or a list, tuple or dict of them): every :class:`FileOutput`
    in it is saved, found in field order through nested models, lists, tuples and dicts. Names
    are ``file_name``, else the URL's last segment, else ``<field>_<index>.<ext>``
    (``images_0.png``), made safe; repeats within the call get `` (1)``, `` (2)``, ...
    (in result order), and so do names already taken in ``dir`` unless ``overwrite``.

    Files are downloaded concurrently (at most ``max_concurrency`` at once). A progress bar
    is shown on stderr when ``progress`` is True, or None and stderr is a terminal, if ``tqdm``
    is installed.

    Raises:
        FileDownloadError: a file failed; ``field`` says which (``"images[1]"``), ``saved``
            lists the files completely saved (kept). Downloads still running are stopped and
            the rest are not started; no partial file is left.
    """
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
    found = find_files(result)
    if not found:
        return []
    import concurrent.futures  # only here: not part of importing fal_typed

    for item in found:  # every URL checked before anything is written
        try:
            url_kind(file_url(item.file))
        except FileDownloadError as exc:
            raise FileDownloadError(f"{item.label}: {exc}", url=exc.url, field=item.label) from exc
    planned = plan_names([default_name(item.file, item.stem) for item in found])
    avoid = frozenset(numbered(name, number).casefold() for name, number in planned)
    directory = pathlib.Path(dir)
    directory.mkdir(parents=True, exist_ok=True)
    resolved = _client(client)
    cancel = threading.Event()
    bar = _progress_bar(progress, len(found))
    paths: list[pathlib.Path | None] = [None] * len(found)
    failed: tuple[int, BaseException] | None = None
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(max_concurrency, len(found)), thread_name_prefix="fal-typed-save"
    )
    try:
        futures = {
            pool.submit(
                _save,
                item.file,
                _Destination(directory, name, number, avoid=avoid),
                overwrite=overwrite,
                client=resolved,
                cancel=cancel,
            ): index
            for index, (item, (name, number)) in enumerate(zip(found, planned, strict=True))
        }
        for future in concurrent.futures.as_completed(futures):
            if future.cancelled():
                continue
            index = futures[future]
            error = future.exception()
            if error is None:
                paths[index] = future.result()
                if bar is not None:
                    bar.update(1)
            elif not isinstance(error, _Cancelled) and failed is None:
                failed = (index, error)
                cancel.set()
                for other in futures:
                    other.cancel()
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    if failed is not None:
        index, error = failed
        item = found[index]
        saved = [path for path in paths if path is not None]
        url = file_url(item.file)
        if isinstance(error, FileDownloadError):
            raise FileDownloadError(
                f"{item.label}: {error}",
                url=url,
                status_code=error.status_code,
                field=item.label,
                saved=saved,
            ) from error
        raise FileDownloadError(
            f"{item.label} ({describe_url(url)}) could not be saved: "
            f"{type(error).__name__}: {error}",
            url=url,
            field=item.label,
            saved=saved,
        ) from error
    return [path for path in paths if path is not None]

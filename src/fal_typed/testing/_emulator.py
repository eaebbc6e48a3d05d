"""The emulator of fal's synchronous API: an HTTP server on 127.0.0.1 in a background thread."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from fal_typed._document import EndpointDocument, find_documents, load_document

from ._answers import (
    Answer,
    RequestError,
    fault_answer,
    json_bytes,
    new_request_id,
    parse_lifecycle,
    parse_start_timeout,
    request_error,
)
from ._catalog import MODELS_PATH, CatalogError, DocumentOverride, model_entry, models_page
from ._faults import Fault

if TYPE_CHECKING:
    from fal_typed import FalClient

    from ._validation import DocumentSchemas

__all__ = ["DEFAULT_KEY", "FalEmulator", "RecordedRequest"]

DEFAULT_KEY = "test-key"
"""The key a :class:`FalEmulator` accepts unless told otherwise."""

OPENAPI_PATH = "/api/openapi/queue/openapi.json"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received, as received, with how it was answered.

    Requests are recorded as soon as they are read (with ``status`` None) and completed when
    the answer is ready, just before it is sent.
    """

    method: str
    path: str
    """The request target as sent, query string included."""
    endpoint_id: str | None
    """The loaded endpoint the path routed to (None when nothing matched)."""
    subpath: str | None
    """What followed the endpoint id in the path (``"dev"`` for ``/fal-ai/flux/dev``), or None."""
    headers: httpx.Headers
    """All request headers; case-insensitive, repeated headers kept (``get_list``)."""
    body: bytes
    json: Any
    """The body decoded as JSON, or None when it is empty or not JSON."""
    start_timeout: float | None
    """A valid ``X-Fal-Request-Timeout`` value in seconds, else None."""
    lifecycle_seconds: int | None
    """A valid ``X-Fal-Object-Lifecycle-Preference`` ``expiration_duration_seconds``."""
    request_id: str | None
    """The ``x-fal-request-id`` answered, or None (gateway pages, closed connections)."""
    status: int | None
    """The status answered; None while the request is still being handled, or when the
    connection was closed without an answer."""
    fault: Fault | None
    """The injected fault that shaped the answer, if any."""


@dataclass
class _Endpoint:
    document: EndpointDocument
    schemas: DocumentSchemas


@dataclass
class _PendingFault:
    endpoint_id: str | None
    fault: Fault
    remaining: int


class FalEmulator:
    """A schema-driven emulator of fal's synchronous API (``POST https://fal.run/{id}``).

    Use it as a context manager; it serves on ``127.0.0.1`` (an ephemeral port by default)
    from a background thread::

        with FalEmulator(schemas=["schemas/"]) as emu:
            client = emu.client()            # a FalClient for emu.url with emu.key
            ...
            assert emu.requests[-1].json == {"prompt": "a cat"}

    For every loaded document it serves ``POST /{endpoint_id}[/{subpath}]`` (the longest
    loaded id that prefixes the path wins), in this order:

    1. ``Authorization: Key ...``: missing or malformed -> 401, another key than ``key`` -> 403.
    2. Routing: unknown path -> 404; another method than POST -> 405.
    3. Headers: ``X-Fal-Request-Timeout`` must be a number >= 1 and
       ``X-Fal-Object-Lifecycle-Preference`` JSON with a positive integer
       ``expiration_duration_seconds``, else 400 ``bad_request``.
    4. Injected faults (see :meth:`inject`), consumed in order.
    5. The simulated runner start (:attr:`start_delay`): past ``X-Fal-Request-Timeout`` -> 504
       with ``X-Fal-Request-Timeout-Type: user`` (after waiting only the timeout).
    6. The body is validated against the Input schema -> 422 with fal's ``detail`` list.
    7. 200 with an output valid under the Output schema: the schema's examples where present,
       otherwise synthesized; the same endpoint, subpath and body give the same output.
       Top-level output fields named like an input field echo it (``prompt``, ``seed``), and
       ``num_images``/``image_size`` shape ``images``.

    Every JSON answer carries ``x-fal-request-id``. Each document is also served at
    ``GET /api/openapi/queue/openapi.json?endpoint_id=<id>`` (:attr:`openapi_url`), and all of
    them by fal's model-list API ``GET /v1/models?expand=openapi-3.0&limit=N[&category=C]
    [&cursor=...]`` (:attr:`models_url`; key optional, checked when sent). Tests can change
    what those serve: :meth:`add_model_entry`, :meth:`override_document`. Everything received
    is in :attr:`requests`.

    Args:
        schemas: documents (files, directories searched for ``*.json``, or already parsed
            :class:`~fal_typed._document.EndpointDocument` objects).
        key: the only accepted API key; None accepts any non-empty key.
        start_delay: simulated seconds a runner takes to start, for every endpoint.
        time_scale: real seconds slept per simulated second of start delay or start timeout
            (e.g. 0.1 makes a 2 s start delay against a 1 s timeout answer 504 after 0.1 s).
        host, port: where to listen (default ``127.0.0.1`` and an ephemeral port).
        log: called with one line per answered request (None: silent).

    Raises:
        DocumentError: a document cannot be loaded.
        ValueError: two documents define the same endpoint id, or none was given.
    """

    def __init__(
        self,
        schemas: Iterable[str | os.PathLike[str] | EndpointDocument],
        *,
        key: str | None = DEFAULT_KEY,
        start_delay: float = 0.0,
        time_scale: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from ._validation import DocumentSchemas  # needs the ``emulator`` extra

        if start_delay < 0 or time_scale < 0:
            raise ValueError("start_delay and time_scale must be >= 0")
        self.key = key
        self.time_scale = time_scale
        self.host = host
        self._port = port
        self._log = log
        self._initial_start_delay = float(start_delay)
        self._start_delay = float(start_delay)
        self._endpoint_delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[_PendingFault] = []
        self._extra_models: list[Any] = []
        self._document_overrides: dict[str, DocumentOverride] = {}
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        documents: list[EndpointDocument] = []
        paths: list[str | os.PathLike[str]] = []
        for item in schemas:
            if isinstance(item, EndpointDocument):
                documents.append(item)
            else:
                paths.append(item)
        documents.extend(load_document(path) for path in find_documents(paths))
        if not documents:
            raise ValueError("FalEmulator needs at least one document")
        self._endpoints: dict[str, _Endpoint] = {}
        for document in documents:
            if document.endpoint_id in self._endpoints:
                other = self._endpoints[document.endpoint_id].document.source
                raise ValueError(
                    f"endpoint {document.endpoint_id!r} is defined by both {other} "
                    f"and {document.source}"
                )
            schemas_ = DocumentSchemas(document.openapi, document.endpoint_id)
            self._endpoints[document.endpoint_id] = _Endpoint(document, schemas_)
        self._routes = dict(self._endpoints)
        for endpoint in self._endpoints.values():
            alias = endpoint.document.alias_of
            if alias is not None:
                self._routes.setdefault(alias, endpoint)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FalEmulator:
        """Start serving (idempotent); returns self."""
        if self._server is not None:
            return self
        self._closing.clear()
        server = _Server((self.host, self._port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fal-emulator:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FalEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses and helpers -----------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (use as FalClient's ``base_url``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openapi_url(self) -> str:
        """The per-endpoint document URL (fal's ``https://fal.ai/api/openapi/queue/openapi.json``),
        called with ``?endpoint_id=<id>``."""
        return self.url + OPENAPI_PATH

    @property
    def models_url(self) -> str:
        """The model-list URL (fal's ``https://api.fal.ai/v1/models``)."""
        return self.url + MODELS_PATH

    @property
    def endpoints(self) -> list[str]:
        """The endpoint ids served, sorted."""
        return sorted(self._endpoints)

    def document(self, endpoint_id: str) -> EndpointDocument:
        """The loaded document of an endpoint (KeyError if none)."""
        return self._endpoint(endpoint_id).document

    def client(self, **kwargs: Any) -> FalClient:
        """A ``fal_typed.FalClient`` for this emulator (``key`` and ``base_url`` preset).

        Keyword arguments are passed on (``timeout``, ``max_retries``, ``http_client``...).
        The caller closes it.
        """
        from fal_typed import FalClient

        kwargs.setdefault("key", self.key if self.key is not None else DEFAULT_KEY)
        kwargs.setdefault("base_url", self.url)
        return FalClient(**kwargs)

    def example_input(self, endpoint_id: str) -> dict[str, Any]:
        """A valid input: the required fields, from schema examples where present."""
        from ._synth import Synthesizer

        endpoint = self._endpoint(endpoint_id)
        document, schemas = endpoint.document, endpoint.schemas
        synth = Synthesizer(
            schemas.openapi, schemas.is_valid, random.Random(endpoint_id), optional=False
        )
        value = synth.value(document.input_pointer)
        return dict(value) if isinstance(value, Mapping) else {}

    def output_for(
        self, endpoint_id: str, body: Mapping[str, Any], subpath: str | None = None
    ) -> Any:
        """The output the emulator answers for a valid ``body`` (deterministic)."""
        from ._synth import Synthesizer

        endpoint = self._endpoint(endpoint_id)
        document, schemas = endpoint.document, endpoint.schemas
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(
            f"{document.endpoint_id}\n{subpath or ''}\n{canonical}".encode()
        ).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        synth = Synthesizer(schemas.openapi, schemas.is_valid, rng, hints=body)
        return synth.value(document.output_pointer)

    def _endpoint(self, endpoint_id: str) -> _Endpoint:
        try:
            return self._routes[endpoint_id]
        except KeyError:
            raise KeyError(
                f"no document for endpoint {endpoint_id!r}; loaded: {', '.join(self.endpoints)}"
            ) from None

    # -- configuration -------------------------------------------------------------------

    @property
    def start_delay(self) -> float:
        """Simulated runner start delay (seconds) for endpoints without their own."""
        with self._lock:
            return self._start_delay

    @start_delay.setter
    def start_delay(self, seconds: float) -> None:
        self.set_start_delay(seconds)

    def set_start_delay(self, seconds: float, endpoint_id: str | None = None) -> None:
        """Set the simulated runner start delay, for one endpoint or (None) the default."""
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError(f"start delay must be a finite number >= 0, got {seconds!r}")
        with self._lock:
            if endpoint_id is None:
                self._start_delay = float(seconds)
            else:
                self._endpoint(endpoint_id)
                self._endpoint_delays[endpoint_id] = float(seconds)

    def add_fault(self, fault: Fault, endpoint_id: str | None = None) -> Fault:
        """Queue ``fault`` for one endpoint, or (None) for whichever endpoint is called next."""
        if endpoint_id is not None:
            endpoint_id = self._endpoint(endpoint_id).document.endpoint_id
        with self._lock:
            self._faults.append(_PendingFault(endpoint_id, fault, fault.times))
        return fault

    def inject(
        self,
        endpoint_id: str | None = None,
        *,
        status: int | None = None,
        error_type: str | None = None,
        detail: Any = None,
        retryable: bool | None = None,
        retry_after: str | None = None,
        request_id: bool = True,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        close_connection: bool = False,
        malformed_json: bool = False,
        html_gateway_error: int | None = None,
        times: int = 1,
    ) -> Fault:
        """Queue a :class:`Fault` built from the arguments; see :class:`Fault` for each one.

        ``endpoint_id`` None applies it to any endpoint. Faults are consumed in the order they
        were added: a request takes the first pending fault for its endpoint (or for any), and
        each fault serves ``times`` requests. Examples::

            emu.inject("fal-ai/fast-sdxl", status=503, retry_after="2")
            emu.inject("fal-ai/fast-sdxl", close_connection=True)
            emu.inject(html_gateway_error=502, times=2)
        """
        fault = Fault(
            status=status,
            error_type=error_type,
            detail=detail,
            retryable=retryable,
            retry_after=retry_after,
            request_id=request_id,
            headers=dict(headers or {}),
            delay=delay,
            close_connection=close_connection,
            malformed_json=malformed_json,
            html_gateway_error=html_gateway_error,
            times=times,
        )
        return self.add_fault(fault, endpoint_id)

    @property
    def pending_faults(self) -> list[tuple[str | None, Fault, int]]:
        """``(endpoint_id, fault, remaining uses)`` of the faults not yet used up."""
        with self._lock:
            return [(p.endpoint_id, p.fault, p.remaining) for p in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def add_model_entry(self, entry: Any) -> None:
        """List ``entry`` in ``GET /v1/models`` after the loaded documents, exactly as given.

        Any JSON value works, so tests can serve what fal might: hostile ids
        (``{"endpoint_id": "../x", "openapi": {...}}``), entries without ``openapi``, or not
        even an object. Cleared by :meth:`reset`.
        """
        with self._lock:
            self._extra_models.append(entry)

    def override_document(
        self,
        endpoint_id: str,
        *,
        status: int = 200,
        body: Any = None,
        times: int | None = None,
    ) -> None:
        """Change what ``GET /api/openapi/queue/openapi.json?endpoint_id=<id>`` answers.

        ``body`` bytes are sent as they are (e.g. invalid JSON), any other value as JSON; with
        no body a non-200 ``status`` gets fal's ``{"detail": ...}`` (e.g. ``status=404``: fal
        has no document for some endpoints). The id need not be loaded. ``times`` limits how
        many requests are answered this way (None: until :meth:`reset`). The model list is not
        affected.
        """
        if body is None:
            if status == 200:
                raise ValueError("override_document needs a body for status 200")
            payload = json_bytes({"detail": f"No OpenAPI document for {endpoint_id!r}."})
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json_bytes(body)
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None)")
        with self._lock:
            self._document_overrides[endpoint_id] = DocumentOverride(status, payload, times)

    def reset(self) -> None:
        """Forget recorded requests, pending faults, added model entries and document
        overrides; restore the start delays."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._extra_models.clear()
            self._document_overrides.clear()
            self._start_delay = self._initial_start_delay
            self._endpoint_delays.clear()

    # -- request handling (called from the server's threads) -----------------------------

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._closing.wait(seconds)

    def _take_fault(self, endpoint_id: str) -> Fault | None:
        with self._lock:
            for index, pending in enumerate(self._faults):
                if pending.endpoint_id in (None, endpoint_id):
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        del self._faults[index]
                    return pending.fault
        return None

    def _route(self, path: str) -> tuple[_Endpoint, str | None] | None:
        path = path.strip("/")
        best: str | None = None
        for endpoint_id in self._routes:
            if (path == endpoint_id or path.startswith(endpoint_id + "/")) and (
                best is None or len(endpoint_id) > len(best)
            ):
                best = endpoint_id
        if best is None:
            return None
        subpath = path[len(best) :].strip("/") or None
        return self._routes[best], subpath

    def _handle(self, method: str, target: str, headers: httpx.Headers, body: bytes) -> Answer:
        """Answer one request and record it (before the answer is sent)."""
        request_id = new_request_id()
        route: tuple[_Endpoint, str | None] | None = None
        start_timeout: float | None = None
        lifecycle: int | None = None
        fault: Fault | None = None
        try:
            parsed_body: Any = json.loads(body) if body else None
        except ValueError:
            parsed_body = None
        split = urlsplit(target)
        # Recorded on arrival (status None until answered), completed once the answer is known.
        arrived = RecordedRequest(
            method=method,
            path=target,
            endpoint_id=None,
            subpath=None,
            headers=headers,
            body=body,
            json=parsed_body,
            start_timeout=None,
            lifecycle_seconds=None,
            request_id=None,
            status=None,
            fault=None,
        )
        with self._lock:
            self._requests.append(arrived)
        try:
            if method == "GET" and split.path == OPENAPI_PATH:
                answer = self._openapi(split.query, request_id)
            elif method == "GET" and split.path.rstrip("/") == MODELS_PATH:
                answer = self._models(split.query, headers, request_id)
            else:
                self._check_auth(headers.get("authorization"))
                route = self._route(split.path)
                if route is None:
                    raise RequestError(
                        404, "not_found", f"Endpoint {split.path.strip('/')!r} not found."
                    )
                if method != "POST":
                    raise RequestError(405, "method_not_allowed", "Method Not Allowed")
                start_timeout = parse_start_timeout(headers.get_list("x-fal-request-timeout"))
                lifecycle = parse_lifecycle(headers.get_list("x-fal-object-lifecycle-preference"))
                endpoint, subpath = route
                fault = self._take_fault(endpoint.document.endpoint_id)
                answer = self._run(endpoint, subpath, body, fault, start_timeout, request_id)
        except RequestError as error:
            answer = request_error(error.status, error.error_type, error.detail, request_id)
        except Exception as exc:  # a bug in the emulator: answer like fal's internal errors
            detail = f"Emulator error: {type(exc).__name__}: {exc}"
            answer = request_error(500, "internal_error", detail, request_id)
            if self._log is not None:
                self._log(detail)

        recorded = dataclasses.replace(
            arrived,
            endpoint_id=route[0].document.endpoint_id if route else None,
            subpath=route[1] if route else None,
            start_timeout=start_timeout,
            lifecycle_seconds=lifecycle,
            request_id=None if answer.close else answer.request_id,
            status=None if answer.close else answer.status,
            fault=fault,
        )
        with self._lock:
            for index in range(len(self._requests) - 1, -1, -1):
                if self._requests[index] is arrived:
                    self._requests[index] = recorded
                    break
        if self._log is not None:
            shown = "connection closed" if answer.close else str(answer.status)
            self._log(f"{method} {target} -> {shown}")
        return answer

    def _check_auth(self, authorization: str | None) -> None:
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "key" or not credentials:
            raise RequestError(
                401,
                "unauthorized",
                "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'.",
            )
        if self.key is not None and credentials != self.key:
            raise RequestError(403, "forbidden", "The key is not valid for this endpoint.")

    def _openapi(self, query: str, request_id: str) -> Answer:
        values = parse_qs(query).get("endpoint_id", [])
        with self._lock:
            override = self._document_overrides.get(values[0]) if values else None
            if override is not None and override.remaining is not None:
                override.remaining -= 1
                if override.remaining <= 0:
                    del self._document_overrides[values[0]]
        if override is not None:
            return Answer(override.status, override.body, request_id=request_id)
        endpoint = self._routes.get(values[0]) if values else None
        if endpoint is None:
            wanted = values[0] if values else ""
            raise RequestError(404, "not_found", f"No OpenAPI document for {wanted!r}.")
        return Answer(200, json_bytes(endpoint.document.openapi), request_id=request_id)

    def _models(self, query: str, headers: httpx.Headers, request_id: str) -> Answer:
        # The key is optional on fal's model list, but one that is sent must be valid.
        if "authorization" in headers:
            self._check_auth(headers.get("authorization"))
        with self._lock:
            extra = list(self._extra_models)
        entries = [model_entry(self._endpoints[i].document) for i in sorted(self._endpoints)]
        try:
            page = models_page([*entries, *extra], query)
        except CatalogError as error:
            raise RequestError(400, "bad_request", str(error)) from None
        return Answer(200, json_bytes(page), request_id=request_id)

    def _run(
        self,
        endpoint: _Endpoint,
        subpath: str | None,
        body: bytes,
        fault: Fault | None,
        start_timeout: float | None,
        request_id: str,
    ) -> Answer:
        document = endpoint.document
        if fault is not None:
            self._sleep(fault.delay)
            answer = fault_answer(fault, request_id)
            if answer is not None:
                return answer

        with self._lock:
            delay = self._endpoint_delays.get(document.endpoint_id, self._start_delay)
        if start_timeout is not None and delay > start_timeout:
            self._sleep(start_timeout * self.time_scale)
            return request_error(
                504,
                "startup_timeout",
                f"No runner started within the start timeout of {start_timeout:g} s.",
                request_id,
                extra=(("X-Fal-Request-Timeout-Type", "user"),),
            )
        self._sleep(delay * self.time_scale)

        try:
            data = json.loads(body)
        except ValueError as exc:
            item = {
                "loc": ["body", getattr(exc, "pos", 0)],
                "msg": "JSON decode error",
                "type": "json_invalid",
                "ctx": {"error": getattr(exc, "msg", str(exc))},
            }
            return Answer(422, json_bytes({"detail": [item]}), request_id=request_id)
        if not isinstance(data, dict):
            item = {
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "type": "model_attributes_type",
                "input": data,
            }
            return Answer(422, json_bytes({"detail": [item]}), request_id=request_id)
        errors = endpoint.schemas.errors(document.input_pointer, data)
        if errors:
            return Answer(422, json_bytes({"detail": errors}), request_id=request_id)

        output = self.output_for(document.endpoint_id, data, subpath)
        if not endpoint.schemas.is_valid(document.output_pointer, output):  # pragma: no cover
            return request_error(
                500, "internal_error", "The emulator built an invalid output.", request_id
            )
        return Answer(200, json_bytes(output), request_id=request_id)


# -- the HTTP server -------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: FalEmulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler blocked on an idle keep-alive connection (it then closes it)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-answer is normal here; anything else is reported.
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fal-typed-emulator"
    sys_version = ""
    server: _Server

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("invalid chunk size") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _BadRequest("invalid Content-Length") from None
        if size < 0:
            raise _BadRequest("invalid Content-Length")
        return self.rfile.read(size)

    def _dispatch(self, method: str) -> None:
        emulator = self.server.emulator
        try:
            body = self._read_body()
        except _BadRequest as error:
            answer = request_error(400, "bad_request", str(error), new_request_id())
            self.close_connection = True
            self._send(answer)
            return
        headers = httpx.Headers(list(self.headers.items()))
        answer = emulator._handle(method, self.path, headers, body)
        if answer.close:
            self.close_connection = True
            return
        self._send(answer)

    def setup(self) -> None:
        super().setup()
        # Answers are single writes, but streamed events are small writes that must not wait
        # for the client's delayed ACK (Nagle's algorithm).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _head(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        """The status line and header block of an answer (sets close_connection as needed)."""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        lines = [
            f"{self.protocol_version} {status} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        closing = False
        for name, value in headers:
            if name.lower() == "connection" and value.strip().lower() == "close":
                self.close_connection = closing = True
            lines.append(f"{name}: {value}")
        if self.close_connection and not closing:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")

    def _send(self, answer: Answer) -> None:
        # One write for the head and the body: written separately, the body of every answer
        # after the first on a keep-alive connection waited ~40 ms for a delayed ACK.
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
        ]
        if answer.request_id is not None:
            headers.append(("x-fal-request-id", answer.request_id))
        headers.extend(answer.headers)
        self.wfile.write(self._head(answer.status, headers) + answer.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the emulator logs answered requests itself

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.emulator._log
        if log is not None:
            log("emulator: " + format % args)

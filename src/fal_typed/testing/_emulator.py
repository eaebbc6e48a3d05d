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
from collections.abc import Callable, Generator, Iterable, Mapping
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
    Routing,
    StreamCut,
    fault_answer,
    json_bytes,
    new_request_id,
    parse_lifecycle,
    parse_start_timeout,
    request_error,
)
from ._catalog import MODELS_PATH, CatalogError, DocumentOverride, model_entry, models_page
from ._faults import Fault
from ._queue import JobQueue, QueueMixin

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
    server: str = "run"
    """Which of the emulator's servers received it: ``"run"`` (:attr:`FalEmulator.url`, fal's
    ``fal.run``) or ``"queue"`` (:attr:`FalEmulator.queue_url`, ``queue.fal.run``)."""


@dataclass
class _Endpoint:
    document: EndpointDocument
    schemas: DocumentSchemas


@dataclass
class _PendingFault:
    endpoint_id: str | None
    fault: Fault
    remaining: int


class FalEmulator(QueueMixin):
    """A schema-driven emulator of fal's synchronous API (``POST https://fal.run/{id}``) and
    of its queue (``https://queue.fal.run``), with webhooks.

    Use it as a context manager; it serves on ``127.0.0.1`` (ephemeral ports by default)
    from background threads, on two servers: the synchronous API at :attr:`url` and the
    queue at :attr:`queue_url`::

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

    **The queue** (:attr:`queue_url`; same key checks, 401/403, and the same 404/405 and
    header checks as above) serves fal's queue protocol:

    - ``POST /{endpoint_id}[/{subpath}][?fal_webhook=<url>]``: submit -> 200 ``{"request_id",
      "response_url", "status_url", "cancel_url", "queue_position", "gateway_request_id"}``.
      The URLs use the ``{app}`` (the endpoint id called, without subpath: its first two
      parts, three after ``workflows``/``comfy``): ``/{app}/requests/{id}[/status|/cancel]``.
      ``X-Fal-Queue-Priority`` must be ``normal`` (default) or ``low`` (else 400); low jobs
      run after every normal one. ``X-Fal-Runner-Hint`` is accepted. The input is validated
      when the job runs, not at submit: an invalid one completes with 422 and fal's ``detail``
      list. ``X-Fal-Request-Timeout`` is the start timeout: a job still queued after it
      completes with 504 ``startup_timeout``. (:attr:`start_delay` does not apply to the
      queue; use ``queue_wait``.)
    - ``GET /{app}/requests/{id}/status[?logs=1]`` -> 202 ``{"status": "IN_QUEUE",
      "queue_position": N}`` (N: jobs of that endpoint ahead, 0-based) / 202 ``{"status":
      "IN_PROGRESS", "logs"}`` / 200 ``{"status": "COMPLETED", "logs", "metrics":
      {"inference_time": s}, "error"?, "error_type"?}``; each also has ``request_id``,
      ``response_url``, ``status_url`` and ``cancel_url``. ``logs`` is the list of log entries
      ``{"message", "level", "source", "timestamp"}`` with ``logs=1``, else null (absent while
      queued). ``metrics`` is ``{}`` for a job that never ran.
    - ``GET /{app}/requests/{id}/status/stream[?logs=1]``: ``text/event-stream``, chunked; one
      ``data: <status JSON>\\n\\n`` event at once, then one per change; the body ends after
      the ``COMPLETED`` event.
    - ``GET /{app}/requests/{id}``: the result: 200 with the same output the synchronous API
      gives for that input; a failed job answers its error status and body (422 ``{"detail":
      [...]}``, injected failures ``{"detail", "error_type"}``, a cancelled job 400
      ``{"detail", "error_type": "client_cancelled"}``); not completed yet -> 400
      ``{"detail": "Request is still in progress"}``.
    - ``PUT /{app}/requests/{id}/cancel`` -> 202 ``{"status": "CANCELLATION_REQUESTED"}`` (a
      queued or running job completes at once as cancelled: ``error_type``
      ``client_cancelled``), 400 ``{"status": "ALREADY_COMPLETED"}``, 404 ``{"status":
      "NOT_FOUND"}``. An id unknown under that ``{app}`` -> 404 on every route.
    - ``GET /.well-known/jwks.json`` (:attr:`jwks_url`, no key needed): the webhook key.

    Jobs of an endpoint wait at least ``queue_wait``, then run ``concurrency`` at a time in
    submit order for ``run_time``, their log lines spread over the run: see
    :meth:`set_queue_timing` (default: no wait, no run time, concurrency 1, two log lines).
    :meth:`fail_next_job` makes jobs fail in the runner. A job submitted with ``fal_webhook``
    POSTs ``{"request_id", "gateway_request_id", "status": "OK"|"ERROR", "payload",
    "error"?}`` there on completion, from a background thread, signed like fal (Ed25519,
    ``X-Fal-Webhook-Request-Id``/``-User-Id``/``-Timestamp``/``-Signature``; never the key),
    retried twice on failure: :attr:`webhook_deliveries`, :meth:`wait_for_webhooks`,
    :meth:`sign_webhook`. Faults apply to queue routes with ``route=`` (see :class:`Fault`).
    Queue requests are in :attr:`requests` too (``server="queue"``).

    Args:
        schemas: documents (files, directories searched for ``*.json``, or already parsed
            :class:`~fal_typed._document.EndpointDocument` objects).
        key: the only accepted API key; None accepts any non-empty key.
        start_delay: simulated seconds a runner takes to start, for every endpoint.
        time_scale: real seconds slept per simulated second of start delay, start timeout,
            queue wait, run time and webhook retry delay (e.g. 0.1 makes a 2 s start delay
            against a 1 s timeout answer 504 after 0.1 s).
        host, port: where to listen (default ``127.0.0.1`` and an ephemeral port).
        queue_port: where the queue server listens (default: an ephemeral port).
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
        queue_port: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from ._validation import DocumentSchemas  # needs the ``emulator`` extra

        if start_delay < 0 or time_scale < 0:
            raise ValueError("start_delay and time_scale must be >= 0")
        self.key = key
        self.time_scale = time_scale
        self.host = host
        self._ports = {"run": port, "queue": queue_port}
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
        self._servers: dict[str, tuple[_Server, threading.Thread]] = {}
        self._queue = JobQueue(self)

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
        if self._servers:
            return self
        self._closing.clear()
        try:
            for kind, port in self._ports.items():
                server = _Server((self.host, port), _Handler)
                server.emulator, server.kind = self, kind
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"fal-emulator-{kind}:{server.server_address[1]}",
                    daemon=True,
                )
                self._servers[kind] = (server, thread)
                thread.start()
        except BaseException:
            self.close()
            raise
        self._queue.start(self._url("queue"))
        return self

    def close(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        if not self._servers:
            return
        self._closing.set()
        self._queue.stop()
        for server, thread in self._servers.values():
            server.shutdown()
            server.close_connections()
            server.server_close()
            thread.join()
        self._servers.clear()

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
        return self._port("run")

    @property
    def _server(self) -> _Server | None:
        """The synchronous API's server while running (tests look at its connections)."""
        entry = self._servers.get("run")
        return entry[0] if entry is not None else None

    def _port(self, kind: str) -> int:
        if kind not in self._servers:
            raise RuntimeError("the emulator is not running: use it as a context manager")
        return int(self._servers[kind][0].server_address[1])

    def _url(self, kind: str) -> str:
        return f"http://{self.host}:{self._port(kind)}"

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (use as FalClient's ``base_url``)."""
        return self._url("run")

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
        """A ``fal_typed.FalClient`` for this emulator (``key``, ``base_url`` and ``queue_url``
        preset).

        Keyword arguments are passed on (``timeout``, ``max_retries``, ``http_client``...).
        The caller closes it.
        """
        from fal_typed import FalClient

        kwargs.setdefault("key", self.key if self.key is not None else DEFAULT_KEY)
        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("queue_url", self.queue_url)
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
        route: str = "run",
        after_enqueue: bool = False,
        cut_after_events: int | None = None,
    ) -> Fault:
        """Queue a :class:`Fault` built from the arguments; see :class:`Fault` for each one.

        ``endpoint_id`` None applies it to any endpoint. Faults are consumed in the order they
        were added: a request takes the first pending fault for its endpoint (or for any), and
        each fault serves ``times`` requests. Examples::

            emu.inject("fal-ai/fast-sdxl", status=503, retry_after="2")
            emu.inject("fal-ai/fast-sdxl", close_connection=True)
            emu.inject(html_gateway_error=502, times=2)
            emu.inject(route="submit", close_connection=True, after_enqueue=True)
            emu.inject(route="stream", cut_after_events=1)
            emu.inject(route="status", status=503, retry_after="1")

        A fault only serves requests of its ``route`` (default ``"run"``).
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
            route=route,
            after_enqueue=after_enqueue,
            cut_after_events=cut_after_events,
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
        """Forget recorded requests, pending faults, added model entries, document overrides,
        queue jobs (their status streams end), job failures and webhook deliveries; restore
        the start delays and queue timings."""
        self._queue.reset()
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

    def _take_fault(self, endpoint_id: str, route: str = "run") -> Fault | None:
        with self._lock:
            for index, pending in enumerate(self._faults):
                if pending.fault.route == route and pending.endpoint_id in (None, endpoint_id):
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

    def _handle(
        self, method: str, target: str, headers: httpx.Headers, body: bytes, server: str = "run"
    ) -> Answer:
        """Answer one request and record it (before the answer is sent)."""
        request_id = new_request_id()
        info = Routing()
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
            server=server,
        )
        with self._lock:
            self._requests.append(arrived)
        try:
            if server == "queue":
                answer = self._queue.handle(method, split, headers, body, request_id, info)
            elif method == "GET" and split.path == OPENAPI_PATH:
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
                endpoint, subpath = route
                info.endpoint_id, info.subpath = endpoint.document.endpoint_id, subpath
                timeout = info.start_timeout = parse_start_timeout(
                    headers.get_list("x-fal-request-timeout")
                )
                info.lifecycle_seconds = parse_lifecycle(
                    headers.get_list("x-fal-object-lifecycle-preference")
                )
                fault = info.fault = self._take_fault(endpoint.document.endpoint_id)
                answer = self._run(endpoint, subpath, body, fault, timeout, request_id)
        except RequestError as error:
            answer = request_error(error.status, error.error_type, error.detail, request_id)
        except Exception as exc:  # a bug in the emulator: answer like fal's internal errors
            detail = f"Emulator error: {type(exc).__name__}: {exc}"
            answer = request_error(500, "internal_error", detail, request_id)
            if self._log is not None:
                self._log(detail)

        recorded = dataclasses.replace(
            arrived,
            endpoint_id=info.endpoint_id,
            subpath=info.subpath,
            start_timeout=info.start_timeout,
            lifecycle_seconds=info.lifecycle_seconds,
            fault=info.fault,
            request_id=None if answer.close else answer.request_id,
            status=None if answer.close else answer.status,
        )
        with self._lock:
            for index in range(len(self._requests) - 1, -1, -1):
                if self._requests[index] is arrived:
                    self._requests[index] = recorded
                    break
        if self._log is not None:
            shown = "connection closed" if answer.close else str(answer.status)
            where = "" if server == "run" else f"[{server}] "
            self._log(f"{where}{method} {target} -> {shown}")
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
        return self._evaluate(endpoint, subpath, body, request_id)

    def _evaluate(
        self, endpoint: _Endpoint, subpath: str | None, body: bytes, request_id: str | None
    ) -> Answer:
        """What the runner answers for ``body``: 422 for an invalid input, else the output."""
        document = endpoint.document
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
    kind: str = "run"

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
        answer = emulator._handle(method, self.path, headers, body, self.server.kind)
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
        if answer.stream is not None:
            self._send_stream(answer, answer.stream)
            return
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

    def _send_stream(self, answer: Answer, stream: Generator[bytes, None, None]) -> None:
        """The head, then each item as one chunk in one write (TCP_NODELAY: sent at once)."""
        headers = [("Content-Type", answer.content_type), ("Transfer-Encoding", "chunked")]
        if answer.request_id is not None:
            headers.append(("x-fal-request-id", answer.request_id))
        headers.extend(answer.headers)
        try:
            self.wfile.write(self._head(answer.status, headers))
            for chunk in stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except StreamCut:  # drop the connection mid-body, without the last chunk
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            stream.close()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the emulator logs answered requests itself

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.emulator._log
        if log is not None:
            log("emulator: " + format % args)

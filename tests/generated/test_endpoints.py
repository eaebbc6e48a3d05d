"""Each of the 14 real endpoints, through its generated module.

Valid inputs come from the schema's own examples; invalid ones break one rule each and must be
rejected before any request is sent, by the call, ``submit`` and ``subscribe`` alike. Outputs are
synthesized from the Output schema (plus unknown fields, which must survive). The endpoint
object is also called, submitted and subscribed against a real local HTTP server, and what the
server received is checked.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import quote

import httpx
import pydantic
import pytest

from fal_typed import Completed, FalClient, QueueHandle, Status
from fal_typed._document import EndpointDocument, find_documents, load_document
from fal_typed.models import ENDPOINT_IDS, get_endpoint

from ..codegen._paths import SCHEMAS
from ..codegen._signatures import METHOD_NAMES, overloads
from ._synth import Synth

DOCUMENTS = {doc.endpoint_id: doc for doc in map(load_document, find_documents([SCHEMAS]))}
IDS = sorted(DOCUMENTS)
UNKNOWN = {"field_added_by_a_newer_server": {"nested": [1, 2]}}


def test_registry_lists_every_document() -> None:
    assert list(ENDPOINT_IDS) == IDS
    assert len(IDS) == 14


@dataclass
class Case:
    doc: EndpointDocument
    module: ModuleType
    synth: Synth

    @property
    def name(self) -> str:
        return self.module.__name__.rsplit(".", 1)[-1]

    @property
    def function(self) -> Any:
        """The endpoint object (``fast_sdxl``): callable, with ``submit``/``subscribe``."""
        return getattr(self.module, self.name)

    def input_schema(self) -> dict[str, Any]:
        return self.synth.resolve(self.doc.input_schema)

    def properties(self) -> dict[str, dict[str, Any]]:
        return {k: self.synth.resolve(v) for k, v in self.input_schema()["properties"].items()}

    def valid_input(self) -> dict[str, Any]:
        """Required fields, plus every optional field that has examples."""
        schema = self.input_schema()
        required = set(schema.get("required", []))
        return {
            name: self.synth.value(prop)
            for name, prop in schema["properties"].items()
            if name in required or self.synth.resolve(prop).get("examples")
        }

    def output(self) -> dict[str, Any]:
        value = self.synth.value(self.doc.output_schema, full=True)
        assert isinstance(value, dict)
        return {**value, **UNKNOWN}


@pytest.fixture(params=IDS)
def case(request: pytest.FixtureRequest) -> Case:
    doc = DOCUMENTS[request.param]
    module = importlib.import_module(get_endpoint(doc.endpoint_id).input_model.__module__)
    return Case(doc, module, Synth(doc.openapi))


class Counting:
    """A transport that counts requests; any request is answered with ``response``."""

    def __init__(self, response: dict[str, Any] | None = None) -> None:
        self.calls: list[httpx.Request] = []
        self.response = response or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return httpx.Response(200, json=self.response)

    def client(self) -> FalClient:
        return FalClient(key="k", http_client=httpx.Client(transport=httpx.MockTransport(self)))


def test_module_exports_endpoint_function_and_models(case: Case) -> None:
    endpoint = case.module.ENDPOINT
    assert endpoint is get_endpoint(case.doc.endpoint_id)
    assert endpoint.id == case.doc.endpoint_id
    assert {"ENDPOINT", case.name} <= set(case.module.__all__)
    assert case.function.endpoint is endpoint
    assert repr(case.function) == f"<typed endpoint {case.doc.endpoint_id!r}>"
    assert endpoint.input_model.__name__.endswith("Input")
    assert endpoint.output_model.__name__.endswith("Output")
    assert case.doc.endpoint_id in (case.module.__doc__ or "")
    assert "Args:" in (case.function.__call__.__doc__ or "")
    for option in ("webhook_url", "priority"):
        assert f"{option}: " in (case.function.submit.__doc__ or "")
    for option in ("on_enqueue", "on_status", "logs", "client_timeout"):
        assert f"{option}: " in (case.function.subscribe.__doc__ or "")


def test_every_method_takes_the_same_typed_keywords(case: Case) -> None:
    """The call, submit and subscribe have one list of input keywords (names, types,
    required or not); only their request options differ."""
    signatures = {name: overloads(case.function, name) for name in METHOD_NAMES}
    fields = {name: sig.keywords[: len(sig.fields)] for name, sig in signatures.items()}
    assert fields["submit"] == fields["__call__"] == fields["subscribe"]
    for sig in signatures.values():
        # The overload taking the model or mapping has the same request options.
        assert sig.positional == sig.keywords[len(sig.fields) :]
    options = {name: [o for o, _ in sig.positional] for name, sig in signatures.items()}
    assert options["__call__"] == [
        "client", "start_timeout", "object_lifecycle", "timeout", "extra_headers"
    ]  # fmt: skip
    assert options["submit"] == ["client", "webhook_url", "priority", *options["__call__"][1:]]
    assert options["subscribe"] == [
        "client", "on_enqueue", "on_status", "logs", "client_timeout", *options["submit"][1:]
    ]  # fmt: skip


def test_valid_input_from_examples_builds(case: Case) -> None:
    arguments = case.valid_input()
    model = case.module.ENDPOINT.build_input(arguments)
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == arguments


def _rejected(case: Case, arguments: dict[str, Any]) -> None:
    """Invalid ``arguments`` are refused by the call, submit and subscribe; nothing is sent,
    whether they are passed as a mapping or as keywords."""
    transport = Counting(case.output())
    client = transport.client()
    keywords = _python_arguments(case, arguments)
    for method in (case.function, case.function.submit, case.function.subscribe):
        with pytest.raises(pydantic.ValidationError):
            method(arguments, client=client)
        with pytest.raises(pydantic.ValidationError):
            method(client=client, **keywords)
    assert transport.calls == []


def _with_bounds(case: Case) -> list[tuple[str, Any]]:
    """(field, out-of-range value) for each numeric field with a bound, at the top level or
    one object below it (then the value is ``{"child": value}``)."""
    found: list[tuple[str, Any]] = []
    for name, prop in case.properties().items():
        branches = [case.synth.resolve(b) for b in prop.get("anyOf", [prop])]
        for branch in branches:
            for child, value in _bounds_of_object(case, branch):
                found.append((name, {child: value}))
            if branch.get("type") not in ("integer", "number"):
                continue
            if "maximum" in branch:
                found.append((name, branch["maximum"] + 1))
            elif "exclusiveMaximum" in branch:
                found.append((name, branch["exclusiveMaximum"]))
            elif "minimum" in branch:
                found.append((name, branch["minimum"] - 1))
            elif "exclusiveMinimum" in branch:
                found.append((name, branch["exclusiveMinimum"]))
    return found


def _bounds_of_object(case: Case, schema: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for child, prop in schema.get("properties", {}).items():
        prop = case.synth.resolve(prop)
        if prop.get("type") in ("integer", "number") and "maximum" in prop:
            found.append((child, prop["maximum"] + 1))
    return found


def test_out_of_range_numbers_are_rejected_before_sending(case: Case) -> None:
    bounded = _with_bounds(case)
    if not bounded:
        pytest.skip(f"{case.doc.endpoint_id} has no bounded numeric input")
    for name, value in bounded:
        _rejected(case, {**case.valid_input(), name: value})


def test_bad_enum_values_are_rejected_before_sending(case: Case) -> None:
    closed = [
        name
        for name, prop in case.properties().items()
        if any("enum" in case.synth.resolve(b) for b in prop.get("anyOf", [prop]))
        and not any(
            case.synth.resolve(b).get("type") == "string" and "enum" not in case.synth.resolve(b)
            for b in prop.get("anyOf", [])
        )
    ]
    if not closed:
        pytest.skip(f"{case.doc.endpoint_id} has no closed enum input")
    for name in closed:
        _rejected(case, {**case.valid_input(), name: "definitely-not-allowed"})


def test_missing_required_fields_are_rejected_before_sending(case: Case) -> None:
    required = case.input_schema().get("required", [])
    if not required:
        pytest.skip(f"{case.doc.endpoint_id} has no required input")
    for name in required:
        arguments = case.valid_input()
        del arguments[name]
        _rejected(case, arguments)


def test_unknown_keys_are_rejected_before_sending(case: Case) -> None:
    _rejected(case, {**case.valid_input(), "definitely_not_a_field": 1})


def test_synthesized_output_parses_and_keeps_unknown_fields(case: Case) -> None:
    data = case.output()
    output = case.module.ENDPOINT.output_model.model_validate_json(json.dumps(data))
    dumped = output.model_dump(mode="json", by_alias=True)
    assert dumped["field_added_by_a_newer_server"] == UNKNOWN["field_added_by_a_newer_server"]
    assert output.model_dump(mode="json", by_alias=True, exclude_unset=True) == data


class _Server:
    """fal's synchronous API and its queue, as far as the endpoint objects use them.

    ``POST /{endpoint_id}`` answers the output, or with ``queue = True`` a submit answer
    (request ``abc``); ``GET .../requests/abc/status`` answers COMPLETED (the status stream
    answers 405, so the handle polls), ``GET .../requests/abc`` the output.
    """

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = json.dumps(response).encode()
        self.queue = False
        self.received: list[tuple[str, str, dict[str, str], Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append(
                    (self.command, self.path, dict(self.headers), json.loads(body))
                )
                if outer.queue:
                    self._answer(200, json.dumps({"request_id": "abc"}).encode())
                else:
                    self._answer(200, outer.response)

            def do_GET(self) -> None:
                outer.received.append((self.command, self.path, dict(self.headers), None))
                path = self.path.split("?")[0]
                if path.endswith("/requests/abc/status/stream"):
                    self._answer(405, b'{"detail": "no stream here"}')
                elif path.endswith("/requests/abc/status"):
                    self._answer(200, b'{"status": "COMPLETED", "metrics": {}}')
                elif path.endswith("/requests/abc"):
                    self._answer(200, outer.response)
                else:
                    self._answer(404, b'{"detail": "not found"}')

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def client(self) -> FalClient:
        return FalClient(key="secret-key", base_url=self.url, queue_url=self.url, timeout=10.0)


@pytest.fixture
def server(case: Case) -> Iterator[_Server]:
    srv = _Server(case.output())
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        thread.join()


def _python_arguments(case: Case, arguments: dict[str, Any]) -> dict[str, Any]:
    """The keyword names for JSON field names (aliases differ); unknown names stay as they are."""
    params = overloads(case.function).fields
    fields = case.module.ENDPOINT.input_model.model_fields
    by_alias = {(f.alias or name): name for name, f in fields.items()}
    result = {}
    for json_name, value in arguments.items():
        name = by_alias.get(json_name, json_name)
        if json_name in by_alias:
            while name not in params:
                name += "_"
                assert len(name) < 100, f"no keyword for {json_name!r}"
        result[name] = value
    return result


def test_wrapper_against_a_local_http_server(case: Case, server: _Server) -> None:
    arguments = case.valid_input()
    with FalClient(key="secret-key", base_url=server.url) as client:
        result = case.function(
            client=client, extra_headers={"X-Test": "1"}, **_python_arguments(case, arguments)
        )
    assert isinstance(result, case.module.ENDPOINT.output_model)
    # Everything the server answered comes back, unknown fields included.
    assert result.model_dump(mode="json", by_alias=True, exclude_unset=True) == case.output()
    [(method, path, headers, body)] = server.received
    assert (method, path) == ("POST", "/" + case.doc.endpoint_id)
    assert body == arguments  # exactly what was set, nothing else
    assert headers["Authorization"] == "Key secret-key"
    assert headers["X-Test"] == "1"


def _received_output(case: Case, result: Any) -> None:
    assert isinstance(result, case.module.ENDPOINT.output_model)
    assert result.model_dump(mode="json", by_alias=True, exclude_unset=True) == case.output()


def test_submit_against_a_local_queue_server(case: Case, server: _Server) -> None:
    server.queue = True
    arguments = case.valid_input()
    hook = "https://me.example/hook?user=1"
    with server.client() as client:
        handle = case.function.submit(
            client=client,
            webhook_url=hook,
            priority="low",
            extra_headers={"X-Test": "1"},
            **_python_arguments(case, arguments),
        )
        assert isinstance(handle, QueueHandle)
        assert (handle.request_id, handle.endpoint_id) == ("abc", case.doc.endpoint_id)
        [(method, path, headers, body)] = server.received
        assert (method, path) == (
            "POST",
            f"/{case.doc.endpoint_id}?fal_webhook=" + quote(hook, safe=""),
        )
        assert body == arguments  # exactly what was set, nothing else
        assert headers["X-Fal-Queue-Priority"] == "low"
        assert headers["Authorization"] == "Key secret-key"
        assert headers["X-Test"] == "1"
        assert headers["Content-Type"] == "application/json"
        _received_output(case, handle.result())
        # Resumed from the stored id: the same typed result, nothing submitted again.
        _received_output(case, case.function.get_handle("abc", client=client).result())
    assert [r[0] for r in server.received].count("POST") == 1


def test_submit_with_an_input_mapping_and_no_options(case: Case, server: _Server) -> None:
    server.queue = True
    arguments = case.valid_input()
    with server.client() as client:
        handle = case.function.submit(arguments, client=client)
    [(method, path, headers, body)] = server.received
    assert (method, path, body) == ("POST", f"/{case.doc.endpoint_id}", arguments)
    assert "X-Fal-Queue-Priority" not in headers
    assert handle.request_id == "abc"


def test_subscribe_against_a_local_queue_server(case: Case, server: _Server) -> None:
    server.queue = True
    arguments = case.valid_input()
    enqueued: list[str] = []
    statuses: list[Status] = []
    with server.client() as client:
        result = case.function.subscribe(
            client=client,
            on_enqueue=enqueued.append,
            on_status=statuses.append,
            client_timeout=30,
            **_python_arguments(case, arguments),
        )
    _received_output(case, result)
    assert enqueued == ["abc"]
    assert statuses and isinstance(statuses[-1], Completed)
    posts = [r for r in server.received if r[0] == "POST"]
    assert [(p[1], p[3]) for p in posts] == [(f"/{case.doc.endpoint_id}", arguments)]


def test_parse_webhook_gives_the_typed_output(case: Case) -> None:
    body = json.dumps({"request_id": "abc", "status": "OK", "payload": case.output()})
    for raw in (body, body.encode(), json.loads(body)):
        event = case.function.parse_webhook(raw)
        assert (event.request_id, event.ok) == ("abc", True)
        _received_output(case, event.payload)


def test_get_handle_sends_nothing_until_used(case: Case) -> None:
    transport = Counting(case.output())
    handle = case.function.get_handle("abc", client=transport.client())
    assert (handle.request_id, handle.endpoint_id) == ("abc", case.doc.endpoint_id)
    assert transport.calls == []


def test_request_options_of_other_methods_and_both_input_forms_are_refused(case: Case) -> None:
    transport = Counting(case.output())
    client = transport.client()
    arguments = case.valid_input()
    keywords = _python_arguments(case, arguments)
    with pytest.raises(TypeError, match="webhook_url"):
        case.function(client=client, webhook_url="https://me.example/hook", **keywords)
    with pytest.raises(TypeError, match="on_status"):
        case.function.submit(client=client, on_status=print, **keywords)
    if keywords:
        for method in (case.function, case.function.submit, case.function.subscribe):
            with pytest.raises(TypeError, match="not both"):
                method(arguments, client=client, **keywords)
    assert transport.calls == []

"""Bad input never reaches the network: for every generated endpoint and for the untyped
``FalClient.run``, invalid arguments and request options raise before anything is sent.

Requests are counted by the emulator (a real HTTP server); each test first proves that a valid
call does reach it, so "0 requests" is not vacuous. Out-of-range numbers, bad enum values,
missing required fields and unknown keys per endpoint are covered by
``tests/generated/test_endpoints.py``; here: values of the wrong type or that JSON cannot
represent, for every field of every endpoint, and every request option.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from fal_typed import Endpoint, FalClient, MissingCredentialsError
from fal_typed.models import ENDPOINT_IDS, get_endpoint
from fal_typed.testing import FalEmulator

from .conftest import CANARY


class Unserialisable:
    def __repr__(self) -> str:
        return "<Unserialisable>"


# Values no field of any fal endpoint accepts: not JSON, or not representable in JSON.
NEVER_VALID: dict[str, Any] = {
    "object": Unserialisable(),
    "datetime": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    "date": datetime.date(2024, 1, 1),
    "bytes-not-utf8": b"\xff\xfe",
    "complex": 1j,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "object-in-list": [Unserialisable()],
    "object-in-dict": {"url": Unserialisable()},
    "function": len,
}
START_TIMEOUTS: list[Any] = [0, 0.999, -1, True, math.nan, math.inf, "10"]
LIFECYCLES: list[Any] = [0, -5, 1.5, True]


@pytest.fixture
def client(emu: FalEmulator) -> Iterator[FalClient]:
    with emu.client(key=CANARY, timeout=5.0) as c:
        yield c


def _function(endpoint_id: str) -> Any:
    """The generated wrapper function (``fast_sdxl`` for ``fal-ai/fast-sdxl``)."""
    import importlib

    module = importlib.import_module(get_endpoint(endpoint_id).input_model.__module__)
    return getattr(module, module.__name__.rsplit(".", 1)[-1])


def _fields(endpoint: Endpoint[Any, Any]) -> list[tuple[str, str]]:
    """(Python name, JSON name) of every input field."""
    return [
        (name, field.alias or name) for name, field in endpoint.input_model.model_fields.items()
    ]


def _valid_call_reaches_the_server(emu: FalEmulator, client: FalClient, endpoint_id: str) -> None:
    _function(endpoint_id)(emu.example_input(endpoint_id), client=client)
    assert len(emu.requests) == 1 and emu.requests[0].status == 200
    emu.reset()


@pytest.mark.parametrize("endpoint_id", ENDPOINT_IDS)
def test_values_json_cannot_carry_are_rejected_for_every_field(
    emu: FalEmulator, client: FalClient, endpoint_id: str
) -> None:
    _valid_call_reaches_the_server(emu, client, endpoint_id)
    endpoint, function = get_endpoint(endpoint_id), _function(endpoint_id)
    valid = emu.example_input(endpoint_id)
    for name, json_name in _fields(endpoint):
        for kind, value in NEVER_VALID.items():
            with pytest.raises(pydantic.ValidationError) as info:
                function({**valid, json_name: value}, client=client)
            # The error names the field (its JSON name, as the caller wrote it).
            locations = {str(error["loc"][0]) for error in info.value.errors()}
            assert json_name in locations or name in locations, (kind, json_name, locations)
            assert json_name in str(info.value) or name in str(info.value)
    assert emu.requests == []


@pytest.mark.parametrize("endpoint_id", ENDPOINT_IDS)
def test_wrong_json_types_are_rejected_for_every_field(
    emu: FalEmulator, client: FalClient, endpoint_id: str
) -> None:
    """A value of another JSON type than the field's is an error, not silently converted."""
    endpoint, function = get_endpoint(endpoint_id), _function(endpoint_id)
    valid = emu.example_input(endpoint_id)
    schema = endpoint.input_model.model_json_schema(by_alias=True)
    candidates: list[Any] = ["not a number", 12345, [["nested"]], {"unexpected": "object"}]
    rejected = 0
    for name, json_name in _fields(endpoint):
        for value in candidates:
            if _json_type_accepted(schema, json_name, value):
                continue
            before = len(emu.requests)
            with pytest.raises(pydantic.ValidationError, match=rf"(?s)({json_name}|{name})"):
                function({**valid, json_name: value}, client=client)
            assert len(emu.requests) == before
            rejected += 1
    assert rejected >= len(_fields(endpoint))
    assert emu.requests == []


def _json_type_accepted(schema: dict[str, Any], json_name: str, value: Any) -> bool:
    """Whether the field's schema has a branch of ``value``'s JSON type (then it may be
    valid, e.g. a string for a ``str`` field, and is not tried)."""
    kind = {str: "string", int: "integer", list: "array", dict: "object"}[type(value)]
    accepted: set[str] = set()

    def collect(node: dict[str, Any]) -> None:
        if "$ref" in node:
            collect(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(key, []):
                collect(branch)
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            accepted.update(types)
        if "enum" in node or "const" in node:
            accepted.update({"string", "integer"})
        if not node.keys() - {"title", "description", "default", "examples"}:
            accepted.update({"string", "integer", "array", "object"})  # anything goes

    collect(schema["properties"][json_name])
    if kind == "integer" and "number" in accepted:
        return True
    return kind in accepted


@pytest.mark.parametrize("endpoint_id", ENDPOINT_IDS)
def test_unknown_keys_and_missing_input_send_nothing(
    emu: FalEmulator, client: FalClient, endpoint_id: str
) -> None:
    endpoint: Any = get_endpoint(endpoint_id)  # called with deliberately wrong arguments
    function = _function(endpoint_id)
    valid = emu.example_input(endpoint_id)
    with pytest.raises(pydantic.ValidationError, match="definitely_not_a_field"):
        function({**valid, "definitely_not_a_field": 1}, client=client)
    with pytest.raises(pydantic.ValidationError, match="definitely_not_a_field"):
        endpoint(client=client, **valid, definitely_not_a_field=1)
    with pytest.raises(TypeError):
        endpoint(valid, client=client, **{next(iter(valid), "x"): 1})  # both forms at once
    with pytest.raises(pydantic.ValidationError, match="valid dictionary"):
        endpoint(["not", "a", "mapping"], client=client)
    required = [n for n, f in endpoint.input_model.model_fields.items() if f.is_required()]
    for name in required:
        alias = endpoint.input_model.model_fields[name].alias or name
        arguments = {k: v for k, v in valid.items() if k != alias}
        with pytest.raises(pydantic.ValidationError, match=alias):
            function(arguments, client=client)
    assert emu.requests == []


@pytest.mark.parametrize("value", START_TIMEOUTS, ids=repr)
def test_invalid_start_timeouts_send_nothing(
    emu: FalEmulator, client: FalClient, value: Any
) -> None:
    for endpoint_id in ENDPOINT_IDS:
        arguments = emu.example_input(endpoint_id)
        with pytest.raises((ValueError, TypeError), match="start_timeout"):
            _function(endpoint_id)(arguments, client=client, start_timeout=value)
        with pytest.raises((ValueError, TypeError), match="start_timeout"):
            client.run(endpoint_id, arguments, start_timeout=value)
    assert emu.requests == []


@pytest.mark.parametrize("value", LIFECYCLES, ids=repr)
def test_invalid_object_lifecycles_send_nothing(
    emu: FalEmulator, client: FalClient, value: Any
) -> None:
    for endpoint_id in ENDPOINT_IDS:
        arguments = emu.example_input(endpoint_id)
        with pytest.raises((ValueError, TypeError), match="object_lifecycle"):
            _function(endpoint_id)(arguments, client=client, object_lifecycle=value)
        with pytest.raises((ValueError, TypeError), match="object_lifecycle"):
            client.run(endpoint_id, arguments, object_lifecycle=value)
    assert emu.requests == []


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-Trace": "a\r\nX-Injected: 1"}, ValueError),
        ({"X-Trace": "a\nb"}, ValueError),
        ({"X-Trace": "nul\x00"}, ValueError),
        ({"X-Trace": "caf\u00e9"}, ValueError),
        ({"X-Trace\n": "a"}, ValueError),
        ({"X Trace": "a"}, ValueError),
        ({"": "a"}, ValueError),
        ({"X-Trace": 1}, TypeError),
        ({b"X-Trace": "a"}, TypeError),
    ],
    ids=repr,
)
def test_invalid_extra_headers_send_nothing(
    emu: FalEmulator, client: FalClient, headers: dict[Any, Any], error: type[Exception]
) -> None:
    arguments = emu.example_input("fal-ai/fast-sdxl")
    with pytest.raises(error, match="header"):
        _function("fal-ai/fast-sdxl")(arguments, client=client, extra_headers=headers)
    with pytest.raises(error, match="header"):
        client.run("fal-ai/fast-sdxl", arguments, headers=headers)
    assert emu.requests == []


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (f"{CANARY}\n", ValueError),  # read from a file with its newline
        (f" {CANARY}", ValueError),
        (f"{CANARY}\r\nX-Injected: 1", ValueError),
        (f"{CANARY}\u00e9", ValueError),
        ("", MissingCredentialsError),
    ],
    ids=["trailing-newline", "leading-space", "header-injection", "non-ascii", "empty"],
)
def test_unusable_keys_send_nothing_and_are_not_quoted(
    emu: FalEmulator, key: str, error: type[Exception]
) -> None:
    arguments = emu.example_input("fal-ai/fast-sdxl")
    with FalClient(key, base_url=emu.url) as client:
        with pytest.raises(error) as info:
            client.run("fal-ai/fast-sdxl", arguments)
        with pytest.raises(error):
            _function("fal-ai/fast-sdxl")(arguments, client=client)
    assert CANARY not in str(info.value) and CANARY not in repr(info.value.args)
    assert emu.requests == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"prompt": {"a", "b"}},
        {"prompt": datetime.datetime(2024, 1, 1)},
        {"prompt": Unserialisable()},
        {"prompt": math.nan},
        {"prompt": math.inf},
        {"prompt": b"bytes"},
        {("tuple", "key"): 1},
        ["not", "a", "mapping"],
        "prompt=a cat",
    ],
    ids=repr,
)
def test_run_rejects_what_json_cannot_carry(
    emu: FalEmulator, client: FalClient, arguments: Any
) -> None:
    with pytest.raises((TypeError, ValueError)):
        client.run("fal-ai/fast-sdxl", arguments)
    assert emu.requests == []


def test_a_set_for_a_list_field_is_sent_as_an_array(emu: FalEmulator, client: FalClient) -> None:
    """pydantic converts a set for a list field (documented, not an error); it arrives as a
    JSON array, never as something unserialisable."""
    arguments = {**emu.example_input("fal-ai/nano-banana/edit")}
    arguments["image_urls"] = {"https://example.com/a.png"}
    _function("fal-ai/nano-banana/edit")(arguments, client=client)
    assert emu.requests[0].json["image_urls"] == ["https://example.com/a.png"]

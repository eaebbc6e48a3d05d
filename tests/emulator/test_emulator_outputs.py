"""Outputs: valid under each document's Output schema, deterministic, shaped by the input."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from fal_typed._document import EndpointDocument, find_documents, load_document, parse_document
from fal_typed.testing import FalEmulator
from fal_typed.testing._synth import Synthesizer
from fal_typed.testing._validation import DocumentSchemas

from .conftest import SCHEMAS

DOCUMENTS = [load_document(path) for path in find_documents([SCHEMAS])]


def _validator(document: EndpointDocument, pointer: str) -> Draft202012Validator:
    """An independent validator (not the emulator's) for the schema at ``pointer``."""
    uri = "urn:test:doc"
    registry: Registry[Any] = Registry().with_resource(
        uri, DRAFT202012.create_resource(document.openapi)
    )
    return Draft202012Validator({"$ref": uri + pointer}, registry=registry)


def test_all_fourteen_documents_are_loaded() -> None:
    assert len(DOCUMENTS) == 14


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.endpoint_id)
def test_output_is_valid_and_deterministic(
    emu: FalEmulator, http: httpx.Client, document: EndpointDocument
) -> None:
    body = emu.example_input(document.endpoint_id)
    assert not list(_validator(document, document.input_pointer).iter_errors(body))

    first = http.post(f"/{document.endpoint_id}", json=body)
    assert first.status_code == 200, first.text
    output = first.json()
    errors = list(_validator(document, document.output_pointer).iter_errors(output))
    assert not errors, errors
    required = document.output_schema.get("required", [])
    assert set(required) <= set(output)

    again = http.post(f"/{document.endpoint_id}", json=dict(reversed(list(body.items()))))
    assert again.content == first.content  # same input (any key order) -> same bytes
    assert again.headers["x-fal-request-id"] != first.headers["x-fal-request-id"]


def test_different_inputs_give_different_synthesized_outputs(http: httpx.Client) -> None:
    one = http.post("/fal-ai/flux/dev", json={"prompt": "a cat"}).json()
    two = http.post("/fal-ai/flux/dev", json={"prompt": "a dog"}).json()
    assert one["images"][0]["url"] != two["images"][0]["url"]


def test_output_echoes_input_and_follows_image_options(http: httpx.Client) -> None:
    body = {"prompt": "a cat", "seed": 42, "num_images": 3, "image_size": "landscape_4_3"}
    output = http.post("/fal-ai/flux/dev", json=body).json()
    assert output["prompt"] == "a cat"
    assert output["seed"] == 42
    assert len(output["images"]) == 3
    assert {(i["width"], i["height"]) for i in output["images"]} == {(1024, 768)}
    custom = {"prompt": "x", "image_size": {"width": 640, "height": 480}}
    output = http.post("/fal-ai/flux/dev", json=custom).json()
    assert (output["images"][0]["width"], output["images"][0]["height"]) == (640, 480)


def test_property_examples_are_used(http: httpx.Client) -> None:
    output = http.post("/fal-ai/fast-sdxl", json={"prompt": "a cat"}).json()
    assert output["timings"] == {"inference": 2.507048434985336}
    assert output["seed"] == 15860307465884635512  # larger than int64; JSON keeps it


def test_subpath_changes_the_seed_of_synthesis(emu: FalEmulator) -> None:
    plain = emu.output_for("fal-ai/flux/dev", {"prompt": "x"})
    sub = emu.output_for("fal-ai/flux/dev", {"prompt": "x"}, subpath="extra")
    assert plain != sub


# -- the synthesizer on small inline documents ---------------------------------------------


def _document(schemas: dict[str, Any]) -> EndpointDocument:
    output_ref = {"$ref": "#/components/schemas/Output"}
    data = {
        "openapi": "3.0.4",
        "info": {"title": "t", "version": "1", "x-fal-metadata": {"endpointId": "test/inline"}},
        "paths": {
            "/test/inline": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Input"}}
                        }
                    }
                }
            },
            "/test/inline/requests/{request_id}": {
                "get": {
                    "responses": {"200": {"content": {"application/json": {"schema": output_ref}}}}
                }
            },
        },
        "components": {"schemas": {"Input": {"type": "object"}, **schemas}},
    }
    return parse_document(data, "inline")


def _synthesize(document: EndpointDocument, seed: int = 0) -> Any:
    schemas = DocumentSchemas(document.openapi, "inline")
    value = Synthesizer(document.openapi, schemas.is_valid, random.Random(seed)).value(
        document.output_pointer
    )
    assert schemas.is_valid(document.output_pointer, value), value
    return value


def test_recursive_schema_terminates() -> None:
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Output"}},
            "parent": {"anyOf": [{"$ref": "#/components/schemas/Output"}, {"type": "null"}]},
        },
        "required": ["name", "children"],
    }
    value = _synthesize(_document({"Output": node}))
    assert isinstance(value["children"], list)


def test_json_schema_2020_constructs() -> None:
    output = {
        "type": "object",
        "properties": {
            "kind": {"const": "result"},
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "number"}, {"type": "string", "enum": ["a", "b"]}],
                "minItems": 2,
                "maxItems": 2,
            },
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "count": {"type": "integer", "minimum": 5, "maximum": 7},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 10}]},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "minLength": 40},
            "file": {
                "$ref": "#/components/schemas/File",
                "description": "a $ref with sibling keys",
            },
        },
        "required": ["kind", "pair", "ratio", "count", "tags", "maybe", "when", "code", "file"],
    }
    file = {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}
    value = _synthesize(_document({"Output": output, "File": file}))
    assert value["kind"] == "result"
    assert len(value["pair"]) == 2
    assert 0 < value["ratio"] < 1
    assert 5 <= value["count"] <= 7
    assert len(value["tags"]) >= 3
    assert value["maybe"] >= 10
    assert value["file"]["url"].startswith("https://")


def test_whole_output_example_wins_when_valid() -> None:
    output = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "examples": [{"n": "invalid"}, {"n": 7}],
    }
    assert _synthesize(_document({"Output": output})) == {"n": 7}


def test_synthesis_is_seeded_not_global() -> None:
    document = _document({"Output": {"type": "object", "properties": {"x": {"type": "number"}}}})
    random.seed(1)
    first = _synthesize(document, seed=3)
    random.seed(2)
    assert _synthesize(document, seed=3) == first


def test_example_input_only_required_fields(emu: FalEmulator) -> None:
    body = emu.example_input("fal-ai/fast-sdxl")
    assert set(body) == {"prompt"}
    json.dumps(body)


def test_documents_as_objects_and_files() -> None:
    # Documents may also be given as files and as parsed objects together.
    document = _document({"Output": {"type": "object", "properties": {}}})
    with FalEmulator(schemas=[document, SCHEMAS / "fal-ai" / "esrgan.json"]) as emu:
        assert emu.endpoints == ["fal-ai/esrgan", "test/inline"]

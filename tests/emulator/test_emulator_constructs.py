"""Constructs of documents the emulator has not seen: OpenAPI 3.0 keywords, patterns Python cannot
compile, draft-4 tuples, ``multipleOf``, ``pattern``, typeless constraints, ``allOf`` parts.

Each document is served; the example input must be accepted, valid inputs answered 200 with an
output valid under the document (never 500), and invalid ones refused with 422.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fal_typed.testing import FalEmulator
from fal_typed.testing._validation import for_validation

KEY = "emu-key"


def _document(endpoint_id: str, inputs: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Input"}}}}
    return {
        "openapi": "3.0.4",
        "info": {
            "title": endpoint_id,
            "version": "1",
            "x-fal-metadata": {"endpointId": endpoint_id},
        },
        "components": {
            "schemas": {
                "Input": {"type": "object", "title": "Input", **inputs},
                "Output": {"title": "Output", **output},
                "Base": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
                "Num": {"type": "number", "minimum": 0},
            }
        },
        "paths": {
            f"/{endpoint_id}": {"post": {"requestBody": body, "responses": answer({})}},
            f"/{endpoint_id}/requests/{{request_id}}": {
                "get": {"responses": answer({"$ref": "#/components/schemas/Output"})}
            },
        },
    }


OAS30 = _document(
    "probe/oas30",
    {
        "properties": {
            "strength": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMinimum": True},
            "negative": {"type": "string", "nullable": True},
            "style": {"allOf": [{"$ref": "#/components/schemas/Base"}], "nullable": True},
        },
        "required": ["strength"],
    },
    {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 0, "exclusiveMinimum": True}},
        "required": ["score"],
    },
)
PATTERNS = _document(
    "probe/patterns",
    {
        "properties": {
            "name": {"type": "string", "pattern": "^\\p{L}+$"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "fps": {"type": "number", "multipleOf": 0.5, "minimum": 1},
            "ratio": {"type": "number", "multipleOf": 0.1},
            "aspect_ratio": {"type": "string", "pattern": "^\\d+:\\d+$"},
        },
        "required": ["fps", "aspect_ratio"],
    },
    {
        "type": "object",
        "properties": {
            "label": {"type": "string", "pattern": "^\\p{Lu}"},
            "width": {"type": "integer", "multipleOf": 3},
            "step": {"type": "number", "multipleOf": 0.1, "minimum": 0.25, "maximum": 0.35},
            "code": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "tag": {"maxLength": 3},
            "capped": {"$ref": "#/components/schemas/Num", "maximum": 5},
        },
        "required": ["label", "width", "step", "code", "tag", "capped"],
    },
)
ALL_OF = _document(
    "probe/all-of",
    {
        "properties": {
            "lora": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {
                        "type": "object",
                        "properties": {"scale": {"type": "number", "maximum": 4}},
                        "required": ["scale"],
                    },
                ]
            }
        },
        "required": ["lora"],
    },
    {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"type": "object", "properties": {"seed": {"type": "integer"}}, "required": ["seed"]},
        ]
    },
)

UNTYPED = _document("probe/untyped", {"properties": {"prompt": {}}}, {"description": "anything"})


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalEmulator]:
    root: Path = tmp_path_factory.mktemp("docs")
    for document in (OAS30, PATTERNS, ALL_OF, UNTYPED):
        name = document["info"]["title"].replace("/", "_")
        (root / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")
    with FalEmulator(schemas=[root], key=KEY) as emulator:
        yield emulator


def _post(emu: FalEmulator, endpoint_id: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Key {KEY}"}
    return httpx.post(f"{emu.url}/{endpoint_id}", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "endpoint_id", ["probe/oas30", "probe/patterns", "probe/all-of", "probe/untyped"]
)
def test_example_input_is_accepted_and_answered(emu: FalEmulator, endpoint_id: str) -> None:
    example = emu.example_input(endpoint_id)
    response = _post(emu, endpoint_id, example)
    assert response.status_code == 200, response.text


def test_openapi_30_keywords_mean_what_they_say(emu: FalEmulator) -> None:
    assert _post(emu, "probe/oas30", {"strength": 0.5}).status_code == 200
    assert _post(emu, "probe/oas30", {"strength": 1}).status_code == 200  # not exclusive
    assert _post(emu, "probe/oas30", {"strength": 0}).status_code == 422  # exclusive minimum
    nulls = {"strength": 0.5, "negative": None, "style": None}
    assert _post(emu, "probe/oas30", nulls).status_code == 200
    assert _post(emu, "probe/oas30", {"strength": 0.5, "negative": 3}).status_code == 422
    response = _post(emu, "probe/oas30", {"strength": 0.5})
    assert response.json()["score"] >= 1


def test_patterns_python_cannot_compile_are_not_checked(emu: FalEmulator) -> None:
    body = {"fps": 2, "aspect_ratio": "16:9", "name": "Ærø"}
    response = _post(emu, "probe/patterns", body)
    assert response.status_code == 200, response.text
    assert _post(emu, "probe/patterns", {**body, "name": "123"}).status_code == 200


def test_multiple_of_is_checked_as_fal_checks_it(emu: FalEmulator) -> None:
    body = {"fps": 2, "aspect_ratio": "16:9"}
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: a plain JSON Schema validator says no.
    assert _post(emu, "probe/patterns", {**body, "ratio": 0.3}).status_code == 200
    assert _post(emu, "probe/patterns", {**body, "ratio": 0.35}).status_code == 422
    assert _post(emu, "probe/patterns", {**body, "fps": 2.25}).status_code == 422


def test_draft_4_tuples_are_checked_position_by_position(emu: FalEmulator) -> None:
    body = {"fps": 2, "aspect_ratio": "16:9"}
    assert _post(emu, "probe/patterns", {**body, "pair": ["a", 1]}).status_code == 200
    assert _post(emu, "probe/patterns", {**body, "pair": ["a", "b"]}).status_code == 422


def test_outputs_honour_multiple_of_pattern_and_typeless_constraints(emu: FalEmulator) -> None:
    assert _post(emu, "probe/patterns", {"fps": 1.25, "aspect_ratio": "4:3"}).status_code == 422
    response = _post(emu, "probe/patterns", {"fps": 2.5, "aspect_ratio": "4:3"})
    assert response.status_code == 200, response.text
    output = response.json()
    assert output["width"] % 3 == 0
    assert output["step"] == pytest.approx(0.3)
    assert re.fullmatch("[A-Z]{2}", output["code"])
    assert len(output["tag"]) <= 3
    assert 0 <= output["capped"] <= 5


def test_all_of_parts_are_merged(emu: FalEmulator) -> None:
    example = emu.example_input("probe/all-of")
    assert set(example["lora"]) == {"path", "scale"}
    response = _post(emu, "probe/all-of", example)
    assert response.status_code == 200, response.text
    assert set(response.json()) >= {"path", "seed"}
    assert _post(emu, "probe/all-of", {"lora": {"path": "p"}}).status_code == 422


def test_the_served_document_is_the_original() -> None:
    converted = for_validation(OAS30)
    strength = converted["components"]["schemas"]["Input"]["properties"]["strength"]
    assert strength == {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
    original = OAS30["components"]["schemas"]["Input"]["properties"]["strength"]
    assert original["exclusiveMinimum"] is True  # the input document is not modified


def test_conversion_leaves_values_and_property_names_alone() -> None:
    schema = {
        "type": "object",
        "properties": {"nullable": {"type": "string"}, "pattern": {"type": "string"}},
        "default": {"nullable": True, "items": [1]},
        "enum": [{"exclusiveMinimum": True}],
    }
    assert for_validation(schema) == schema


def test_an_output_schema_that_allows_anything_is_answered_with_an_object(
    emu: FalEmulator,
) -> None:
    # The generated Output class of such a document is an object class (fal answers objects).
    response = _post(emu, "probe/untyped", {"prompt": "x"})
    assert response.status_code == 200, response.text
    assert response.json() == {}

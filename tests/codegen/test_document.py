"""fal_typed._document: the three document shapes, Input/Output via paths, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fal_typed._document import DocumentError, find_documents, load_document, parse_document

from ._paths import FIXTURES, SCHEMAS


def _bare() -> dict[str, Any]:
    data = json.loads((FIXTURES / "const.json").read_text())
    assert isinstance(data, dict)
    return data


def test_bare_document() -> None:
    doc = parse_document(_bare(), "x.json")
    assert doc.endpoint_id == "fixtures/const"
    assert doc.alias_of is None
    assert doc.input_pointer == "#/components/schemas/ConstInput"
    assert doc.output_pointer == "#/components/schemas/ConstOutput"
    assert doc.input_schema["properties"]["version"]["const"] == "3"
    assert doc.metadata == {"endpointId": "fixtures/const"}
    assert doc.openapi_pointer == "#"


def test_entry_with_alias() -> None:
    doc = load_document(FIXTURES / "entry_alias.json")
    assert (doc.endpoint_id, doc.alias_of) == ("fixtures/entry-alias", "fixtures/entry-canonical")
    assert doc.metadata["display_name"] == "Entry Alias"
    assert doc.openapi_pointer == "#/openapi"


def test_metadata_and_openapi_without_id() -> None:
    doc = load_document(FIXTURES / "sorted_keys.json")
    assert doc.endpoint_id == "fixtures/sorted-keys"
    assert doc.metadata == {"display_name": "Sorted"}


def test_id_inferred_from_paths_without_metadata() -> None:
    data = _bare()
    del data["info"]["x-fal-metadata"]
    assert parse_document(data, "x.json").endpoint_id == "fixtures/const"


def test_inline_input_schema_has_a_paths_pointer() -> None:
    data = _bare()
    body = data["paths"]["/fixtures/const"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"type": "object", "properties": {"a": {"type": "string"}}}
    doc = parse_document(data, "x.json")
    assert doc.input_pointer == (
        "#/paths/~1fixtures~1const/post/requestBody/content/application~1json/schema"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["paths"]["/fixtures/const"].pop("post"),
            "x.json: #/paths/~1fixtures~1const: no POST operation ('post')",
        ),
        (
            lambda d: d["paths"].pop("/fixtures/const/requests/{request_id}"),
            "x.json: #/paths: no result path item ('/fixtures/const/requests/{request_id}')",
        ),
        (
            lambda d: d["paths"]["/fixtures/const/requests/{request_id}"]["get"]["responses"].pop(
                "200"
            ),
            "responses: no 200 response ('200')",
        ),
        (
            lambda d: d["components"]["schemas"].pop("ConstInput"),
            "x.json: #/paths/~1fixtures~1const/post/requestBody/content/application~1json/"
            "schema/$ref: $ref '#/components/schemas/ConstInput': reference target does not exist",
        ),
        (
            lambda d: d["info"]["x-fal-metadata"].update(endpointId="a/./b"),
            "x.json: #/info/x-fal-metadata/endpointId: invalid endpoint id 'a/./b'",
        ),
    ],
)
def test_errors_name_file_and_pointer(mutate: Any, message: str) -> None:
    data = copy.deepcopy(_bare())
    mutate(data)
    with pytest.raises(DocumentError) as info:
        parse_document(data, "x.json")
    assert message in str(info.value)


@pytest.mark.parametrize("bad", ["owner", "a//b", "a/../b", "a/b?c", "a/b#c", "a\\b/c", "a /b", ""])
def test_invalid_endpoint_ids(bad: str) -> None:
    with pytest.raises(DocumentError, match="invalid endpoint id"):
        parse_document({"endpoint_id": bad, "openapi": {"paths": {}}}, "x.json")


def test_find_documents_sorts_dedupes_and_reports_missing(tmp_path: Path) -> None:
    found = find_documents([SCHEMAS, SCHEMAS / "fal-ai" / "esrgan.json"])
    assert len(found) == 14 and found == sorted(found, key=Path.as_posix)
    with pytest.raises(DocumentError, match="no such file or directory"):
        find_documents([tmp_path / "missing"])

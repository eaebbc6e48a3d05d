"""``fal-typed diff`` on real document pairs, made by editing copies of schemas/ documents."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fal_typed_codegen._diff import FORMAT

from .conftest import SCHEMAS, Run, read_json

Cli = Callable[..., Run]
Edit = Callable[[dict[str, Any]], None]


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    openapi = document["openapi"] if isinstance(document.get("openapi"), dict) else document
    schemas: dict[str, Any] = openapi["components"]["schemas"]
    return schemas


def _pair(tmp_path: Path, endpoint: str, edit: Edit) -> tuple[Path, Path]:
    """``old.json`` (a copy of schemas/<endpoint>.json) and ``new.json`` (edited)."""
    old = tmp_path / "old.json"
    shutil.copyfile(SCHEMAS / f"{endpoint}.json", old)
    document = read_json(old)
    edit(_schemas(document))
    new = tmp_path / "new.json"
    new.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return old, new


def _changes(cli: Cli, old: Path, new: Path) -> list[dict[str, Any]]:
    run = cli("diff", old, new, "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    changes: list[dict[str, Any]] = report["changes"]
    return changes


def _flux_input(schemas: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schemas["FluxDevInput"]["properties"]
    return properties


def _set(path: str, key: str, value: Any) -> Edit:
    def edit(schemas: dict[str, Any]) -> None:
        component, prop = path.split(".")
        schemas[component]["properties"][prop][key] = value

    return edit


def _add_field(name: str, schema: dict[str, Any], *, required: bool) -> Edit:
    def edit(schemas: dict[str, Any]) -> None:
        _flux_input(schemas)[name] = schema
        if required:
            schemas["FluxDevInput"]["required"].append(name)

    return edit


def _enum(prop: str, change: Callable[[list[Any]], None]) -> Edit:
    def edit(schemas: dict[str, Any]) -> None:
        change(_flux_input(schemas)[prop]["enum"])

    return edit


def _drop_output(prop: str) -> Edit:
    def edit(schemas: dict[str, Any]) -> None:
        del schemas["FluxDevOutput"]["properties"][prop]
        schemas["FluxDevOutput"]["required"].remove(prop)

    return edit


def _required(component: str, prop: str, required: bool) -> Edit:
    def edit(schemas: dict[str, Any]) -> None:
        names = schemas[component]["required"]
        names.append(prop) if required else names.remove(prop)

    return edit


# (edit of fal-ai/flux/dev, side, path, kind, breaking, text in the message)
CASES: dict[str, tuple[Edit, str, str, str, bool, str]] = {
    "raise a limit": (
        _set("FluxDevInput.num_images", "maximum", 8),
        "input",
        "num_images",
        "constraint_changed",
        False,
        "maximum raised: 4 -> 8",
    ),
    "lower a limit": (
        _set("FluxDevInput.num_images", "maximum", 2),
        "input",
        "num_images",
        "constraint_changed",
        True,
        "maximum lowered: 4 -> 2",
    ),
    "raise a minimum": (
        _set("FluxDevInput.guidance_scale", "minimum", 2),
        "input",
        "guidance_scale",
        "constraint_changed",
        True,
        "minimum raised: 1 -> 2",
    ),
    "make a minimum exclusive": (
        _set("FluxDevInput.guidance_scale", "exclusiveMinimum", True),
        "input",
        "guidance_scale",
        "constraint_changed",
        True,
        "lower bound raised: minimum 1 -> exclusiveMinimum 1",
    ),
    "add a maxLength": (
        _set("FluxDevInput.prompt", "maxLength", 100),
        "input",
        "prompt",
        "constraint_changed",
        True,
        "maxLength added: 100",
    ),
    "remove an enum value": (
        _enum("acceleration", lambda values: values.remove("high")),
        "input",
        "acceleration",
        "enum_values_removed",
        True,
        'enum values removed: "high"',
    ),
    "add an enum value": (
        _enum("output_format", lambda values: values.append("webp")),
        "input",
        "output_format",
        "enum_values_added",
        False,
        'enum values added: "webp"',
    ),
    "add a required field": (
        _add_field("mask_url", {"type": "string"}, required=True),
        "input",
        "mask_url",
        "field_added",
        True,
        "required field added (string)",
    ),
    "add an optional field": (
        _add_field("strength", {"type": "number", "default": 0.5}, required=False),
        "input",
        "strength",
        "field_added",
        False,
        "optional field added (number)",
    ),
    "remove an input field": (
        lambda s: _flux_input(s).pop("sync_mode"),
        "input",
        "sync_mode",
        "field_removed",
        True,
        "field removed",
    ),
    "make an input required": (
        _required("FluxDevInput", "seed", True),
        "input",
        "seed",
        "required_changed",
        True,
        "optional -> required",
    ),
    "remove an output field": (
        _drop_output("timings"),
        "output",
        "timings",
        "field_removed",
        True,
        "field removed",
    ),
    "make an output optional": (
        _required("FluxDevOutput", "seed", False),
        "output",
        "seed",
        "required_changed",
        True,
        "required -> optional",
    ),
    "add an output field": (
        lambda s: s["FluxDevOutput"]["properties"].update(nsfw={"type": "boolean"}),
        "output",
        "nsfw",
        "field_added",
        False,
        "field added (boolean)",
    ),
    "change a default": (
        _set("FluxDevInput.num_inference_steps", "default", 30),
        "input",
        "num_inference_steps",
        "default_changed",
        False,
        "default changed: 28 -> 30 (behaviour change",
    ),
    "change a type": (
        _set("FluxDevInput.sync_mode", "type", "string"),
        "input",
        "sync_mode",
        "type_changed",
        True,
        "type changed: boolean -> string",
    ),
    "widen integer to number": (
        _set("FluxDevInput.num_images", "type", "number"),
        "input",
        "num_images",
        "type_changed",
        False,
        "type widened: integer -> number",
    ),
    "narrow number to integer": (
        _set("FluxDevInput.guidance_scale", "type", "integer"),
        "input",
        "guidance_scale",
        "type_changed",
        True,
        "type narrowed: number -> integer",
    ),
    "change an output type": (
        _set("FluxDevOutput.seed", "type", "string"),
        "output",
        "seed",
        "type_changed",
        True,
        "type changed: integer -> string",
    ),
    "stop accepting null": (
        _set("FluxDevInput.seed", "anyOf", [{"type": "integer"}]),
        "input",
        "seed",
        "nullable_changed",
        True,
        "null no longer accepted",
    ),
    "an output that may be null": (
        _set("FluxDevOutput.seed", "nullable", True),
        "output",
        "seed",
        "nullable_changed",
        True,
        "may now be null",
    ),
    "lower a nested limit": (
        _set("ImageSize.width", "maximum", 4096),
        "input",
        "image_size.width",
        "constraint_changed",
        True,
        "maximum lowered: 14142 -> 4096",
    ),
    "remove a field of output array items": (
        lambda s: s["Image"]["properties"].pop("content_type"),
        "output",
        "images[].content_type",
        "field_removed",
        True,
        "field removed",
    ),
    "change a map's value type": (
        _set("FluxDevOutput.timings", "additionalProperties", {"type": "string"}),
        "output",
        "timings{}",
        "type_changed",
        True,
        "type changed: number -> string",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_change_is_classified(cli: Cli, tmp_path: Path, case: str) -> None:
    edit, side, path, kind, breaking, message = CASES[case]
    old, new = _pair(tmp_path, "fal-ai/flux/dev", edit)
    (change,) = _changes(cli, old, new)
    assert change["endpoint_id"] == "fal-ai/flux/dev"
    assert (change["side"], change["path"], change["kind"]) == (side, path, kind)
    assert change["breaking"] is breaking
    assert message in change["message"]

    human = cli("diff", old, new)
    label = "BREAKING" if breaking else "change"
    assert human.code == 0
    assert human.out.splitlines()[0] == "fal-ai/flux/dev"
    assert f"  {label:<8}  {side:<8}  {path}: {change['message']}" in human.out

    strict = cli("diff", old, new, "--fail-on-breaking")
    assert strict.code == (1 if breaking else 0)


def test_constraint_changes_carry_old_and_new_keywords(cli: Cli, tmp_path: Path) -> None:
    old, new = _pair(tmp_path, "fal-ai/flux/dev", _set("FluxDevInput.num_images", "maximum", 8))
    (change,) = _changes(cli, old, new)
    assert (change["old"], change["new"]) == ({"maximum": 4}, {"maximum": 8})


def test_enum_changes_carry_both_value_lists(cli: Cli, tmp_path: Path) -> None:
    old, new = _pair(tmp_path, "fal-ai/flux/dev", _enum("acceleration", lambda v: v.remove("high")))
    (change,) = _changes(cli, old, new)
    assert change["old"] == {"values": ["none", "regular", "high"], "closed": True}
    assert change["new"] == {"values": ["none", "regular"], "closed": True}


def test_several_changes_in_one_endpoint(cli: Cli, tmp_path: Path) -> None:
    def edit(schemas: dict[str, Any]) -> None:
        for part in (
            _set("FluxDevInput.num_images", "maximum", 8),
            _enum("acceleration", lambda v: v.remove("high")),
            _drop_output("timings"),
        ):
            part(schemas)

    old, new = _pair(tmp_path, "fal-ai/flux/dev", edit)
    run = cli("diff", old, new)
    assert run.out.splitlines() == [
        "fal-ai/flux/dev",
        '  BREAKING  input     acceleration: enum values removed: "high"',
        "  change    input     num_images: maximum raised: 4 -> 8",
        "  BREAKING  output    timings: field removed (no longer returned)",
        "2 breaking, 1 non-breaking changes; endpoints: 1 compared, 1 changed, 0 added, 0 removed",
    ]


def test_every_real_document_equals_itself(cli: Cli) -> None:
    run = cli("diff", SCHEMAS, SCHEMAS, "--fail-on-breaking")
    assert run.code == 0
    assert run.out == "no changes (14 endpoints compared)\n"


def test_spelling_does_not_matter(cli: Cli, tmp_path: Path) -> None:
    """Key order, document shape, $ref vs inline, allOf [$ref], nullable vs anyOf null."""
    source = read_json(SCHEMAS / "fal-ai" / "flux" / "dev.json")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(source), encoding="utf-8")
    openapi = copy.deepcopy(source["openapi"])  # bare document instead of a model-list entry
    schemas = openapi["components"]["schemas"]
    inputs = schemas["FluxDevInput"]["properties"]
    inputs["seed"] = {"type": "integer", "nullable": True, "description": "other words"}
    schemas["Steps"] = inputs.pop("num_inference_steps")
    inputs["num_inference_steps"] = {"allOf": [{"$ref": "#/components/schemas/Steps"}]}
    inputs["image_size"]["anyOf"][0] = copy.deepcopy(schemas["ImageSize"])  # inlined
    new = tmp_path / "new.json"
    new.write_text(json.dumps(openapi, sort_keys=True, indent=1), encoding="utf-8")
    assert _changes(cli, old, new) == []


def _mini(input_props: dict[str, Any], *, components: dict[str, Any] | None = None) -> Any:
    """A minimal bare document for ``team/app`` with the given input properties."""
    return {
        "openapi": "3.0.4",
        "info": {"x-fal-metadata": {"endpointId": "team/app"}},
        "paths": {
            "/team/app": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/$defs/In"}}}
                    }
                }
            },
            "/team/app/requests/{request_id}": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {"schema": {"type": "object", "properties": {}}}
                            }
                        }
                    }
                }
            },
        },
        "$defs": {"In": {"type": "object", "properties": input_props}, **(components or {})},
    }


def _mini_changes(
    cli: Cli, tmp_path: Path, old: dict[str, Any], new: dict[str, Any], **kw: Any
) -> list[dict[str, Any]]:
    (tmp_path / "a.json").write_text(json.dumps(_mini(old, **kw)), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(_mini(new, **kw)), encoding="utf-8")
    return _changes(cli, tmp_path / "a.json", tmp_path / "b.json")


def test_open_enums_are_suggestions(cli: Cli, tmp_path: Path) -> None:
    def open_enum(*values: str) -> dict[str, Any]:
        return {"anyOf": [{"enum": list(values), "type": "string"}, {"type": "string"}]}

    changes = _mini_changes(
        cli, tmp_path, {"voice": open_enum("a", "b")}, {"voice": open_enum("a", "c")}
    )
    assert [(c["kind"], c["breaking"]) for c in changes] == [
        ("enum_values_removed", False),
        ("enum_values_added", False),
    ]
    assert "open enum" in changes[0]["message"]
    closed = {"enum": ["a", "b"], "type": "string"}
    (change,) = _mini_changes(cli, tmp_path, {"voice": open_enum("a", "b")}, {"voice": closed})
    assert (change["kind"], change["breaking"]) == ("enum_closed", True)
    (change,) = _mini_changes(cli, tmp_path, {"voice": closed}, {"voice": open_enum("a", "b")})
    assert (change["kind"], change["breaking"]) == ("enum_opened", False)


def test_recursive_schemas_terminate(cli: Cli, tmp_path: Path) -> None:
    node: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        },
    }
    changed = copy.deepcopy(node)
    changed["properties"]["name"]["maxLength"] = 10
    tree = {"tree": {"$ref": "#/$defs/Node"}}
    (tmp_path / "a.json").write_text(json.dumps(_mini(tree, components={"Node": node})))
    (tmp_path / "b.json").write_text(json.dumps(_mini(tree, components={"Node": changed})))
    changes = _changes(cli, tmp_path / "a.json", tmp_path / "b.json")
    assert [(c["path"], c["kind"]) for c in changes] == [("tree.name", "constraint_changed")]


def test_directories_with_added_and_removed_endpoints(cli: Cli, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for name in ("fal-ai/esrgan", "fal-ai/flux/dev", "fal-ai/wizper"):
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCHEMAS / f"{name}.json", old / f"{name}.json")
    shutil.copytree(old, new)
    (new / "fal-ai" / "esrgan.json").unlink()
    shutil.copyfile(SCHEMAS / "fal-ai" / "recraft-v3.json", new / "fal-ai" / "recraft-v3.json")
    dev = read_json(new / "fal-ai" / "flux" / "dev.json")
    _set("FluxDevInput.num_images", "maximum", 2)(_schemas(dev))
    (new / "fal-ai" / "flux" / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    (new / "MANIFEST.tsv").write_text("# not a document\n", encoding="utf-8")

    run = cli("diff", old, new, "--json")
    assert run.code == 0
    report = json.loads(run.out)
    assert set(report) == {"format", "old", "new", "summary", "changes"}
    assert report["format"] == FORMAT == "fal-typed-diff/1"
    assert (report["old"], report["new"]) == (old.as_posix(), new.as_posix())
    assert report["summary"] == {
        "endpoints_compared": 2,
        "endpoints_changed": 1,
        "endpoints_added": 1,
        "endpoints_removed": 1,
        "breaking": 2,
        "non_breaking": 1,
    }
    assert [
        (c["endpoint_id"], c["side"], c["path"], c["kind"], c["breaking"])
        for c in report["changes"]
    ] == [
        ("fal-ai/esrgan", None, "", "endpoint_removed", True),
        ("fal-ai/flux/dev", "input", "num_images", "constraint_changed", True),
        ("fal-ai/recraft-v3", None, "", "endpoint_added", False),
    ]
    for change in report["changes"]:
        assert set(change) == {
            "endpoint_id",
            "side",
            "path",
            "kind",
            "breaking",
            "message",
            "old",
            "new",
        }

    human = cli("diff", old, new)
    assert "fal-ai/esrgan\n  BREAKING  endpoint  endpoint removed\n" in human.out
    assert "fal-ai/recraft-v3\n  change    endpoint  endpoint added\n" in human.out
    assert cli("diff", old, new, "--fail-on-breaking").code == 1
    assert cli("diff", new, new, "--fail-on-breaking").code == 0


def test_unusable_arguments(cli: Cli, tmp_path: Path) -> None:
    document = SCHEMAS / "fal-ai" / "wizper.json"
    run = cli("diff", document, SCHEMAS)
    assert run.code == 2 and "two documents or two directories" in run.err
    run = cli("diff", document, tmp_path / "missing.json")
    assert run.code == 2 and "no such file" in run.err
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    run = cli("diff", document, tmp_path / "bad.json")
    assert run.code == 2 and "invalid JSON" in run.err


def test_two_documents_of_different_endpoints(cli: Cli) -> None:
    old, new = (
        SCHEMAS / "fal-ai" / "flux" / "dev.json",
        SCHEMAS / "fal-ai" / "flux" / "schnell.json",
    )
    changes = _changes(cli, old, new)
    assert changes[0] == {
        "endpoint_id": "fal-ai/flux/schnell",
        "side": None,
        "path": "",
        "kind": "endpoint_renamed",
        "breaking": True,
        "message": "endpoint id changed: fal-ai/flux/dev -> fal-ai/flux/schnell",
        "old": "fal-ai/flux/dev",
        "new": "fal-ai/flux/schnell",
    }
    assert len(changes) > 1


def test_type_changes_list_every_accepted_type(cli: Cli, tmp_path: Path) -> None:
    (change,) = _mini_changes(
        cli,
        tmp_path,
        {"x": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        {"x": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
    )
    assert (change["old"], change["new"]) == (["integer", "null"], ["null", "string"])
    assert change["message"] == "type changed: integer | null -> null | string"
    (change,) = _mini_changes(cli, tmp_path, {"x": {}}, {"x": {"type": "integer"}})
    assert (change["old"], change["new"], change["breaking"]) == (["any"], ["integer"], True)


def test_map_value_types_are_compared(cli: Cli, tmp_path: Path) -> None:
    # flux/dev's ``timings`` is ``{"type": "object", "additionalProperties": {"type": "number"}}``.
    def untyped_timings(schemas: dict[str, Any]) -> None:
        schemas["FluxDevOutput"]["properties"]["timings"]["additionalProperties"] = True

    (change,) = _changes(cli, *_pair(tmp_path, "fal-ai/flux/dev", untyped_timings))
    assert (change["path"], change["kind"], change["breaking"]) == (
        "timings{}",
        "type_changed",
        True,  # the generated dict[str, float] refuses what may now come back
    )
    any_map = {"type": "object", "additionalProperties": True}
    number_map = {"type": "object", "additionalProperties": {"type": "number"}}
    (change,) = _mini_changes(cli, tmp_path, {"weights": any_map}, {"weights": number_map})
    assert (change["path"], change["breaking"]) == ("weights{}", True)  # input narrowed
    (change,) = _mini_changes(cli, tmp_path, {"weights": number_map}, {"weights": any_map})
    assert (change["path"], change["breaking"]) == ("weights{}", False)
    same = {"type": "object"}  # no value schema is the same as ``true``
    assert _mini_changes(cli, tmp_path, {"weights": any_map}, {"weights": same}) == []


def test_whole_numbers_spelled_as_floats_are_not_changes(cli: Cli, tmp_path: Path) -> None:
    old = {
        "channel": {"type": "integer", "enum": [1, 2], "default": 1},
        "text": {"type": "string", "maxLength": 1000},
        "size": {"type": "object", "properties": {}, "default": {"width": 512}},
    }
    new = {
        "channel": {"type": "integer", "enum": [1.0, 2.0], "default": 1.0},
        "text": {"type": "string", "maxLength": 1000.0},
        "size": {"type": "object", "properties": {}, "default": {"width": 512.0}},
    }
    assert _mini_changes(cli, tmp_path, old, new) == []
    flag = {"flag": {"enum": [1, True]}}
    changes = _mini_changes(cli, tmp_path, flag, {"flag": {"enum": [1, False]}})
    # true and 1 still differ
    assert [c["kind"] for c in changes] == ["enum_values_removed", "enum_values_added"]


def test_tuple_positions_are_compared(cli: Cli, tmp_path: Path) -> None:
    # wizper's chunks[].timestamp is prefixItems [number | null, number | null].
    def string_timestamps(schemas: dict[str, Any]) -> None:
        stamp = schemas["WhisperChunk"]["properties"]["timestamp"]
        stamp["prefixItems"] = [{"type": "string"}, {"type": "string"}]

    changes = _changes(cli, *_pair(tmp_path, "fal-ai/wizper", string_timestamps))
    assert {(c["path"], c["kind"], c["breaking"]) for c in changes} == {
        ("chunks[].timestamp[0]", "type_changed", True),
        ("chunks[].timestamp[1]", "type_changed", True),
        ("chunks[].timestamp[0]", "nullable_changed", False),
        ("chunks[].timestamp[1]", "nullable_changed", False),
    }

    def three_positions(schemas: dict[str, Any]) -> None:
        stamp = schemas["WhisperChunk"]["properties"]["timestamp"]
        stamp["prefixItems"].append({"type": "number"})
        stamp["minItems"] = stamp["maxItems"] = 3

    changes = _changes(cli, *_pair(tmp_path, "fal-ai/wizper", three_positions))
    tuple_change = [c for c in changes if c["old"] == {"prefixItems": 2}]
    assert [(c["path"], c["breaking"], c["new"]) for c in tuple_change] == [
        ("chunks[].timestamp", True, {"prefixItems": 3})
    ]


def test_integer_bounds_are_compared_by_the_integers_they_allow(cli: Cli, tmp_path: Path) -> None:
    inclusive = {"steps": {"type": "integer", "minimum": 1, "maximum": 50}}
    exclusive = {"steps": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 51}}
    assert _mini_changes(cli, tmp_path, inclusive, exclusive) == []
    raised = {"steps": {"type": "integer", "exclusiveMinimum": 1, "maximum": 50}}  # now >= 2
    (change,) = _mini_changes(cli, tmp_path, inclusive, raised)
    assert (change["breaking"], change["old"], change["new"]) == (
        True,
        {"minimum": 1},
        {"exclusiveMinimum": 1},
    )
    # For numbers the exclusive bound still differs (0.5 was refused, is now allowed).
    numbers = {"scale": {"type": "number", "minimum": 1}}
    (change,) = _mini_changes(
        cli, tmp_path, numbers, {"scale": {"exclusiveMinimum": 0, "type": "number"}}
    )
    assert change["breaking"] is False


def test_object_variants_of_a_union_keep_their_own_required_fields(
    cli: Cli, tmp_path: Path
) -> None:
    def control(scale_required: bool, *extra: dict[str, Any]) -> dict[str, Any]:
        canny = {"type": "object", "properties": {"low": {"type": "integer"}}, "required": ["low"]}
        depth = {
            "type": "object",
            "properties": {"scale": {"type": "number"}, "model": {"type": "string"}},
            "required": ["model", *(["scale"] if scale_required else [])],
        }
        return {"control": {"anyOf": [canny, depth, *extra]}}

    (change,) = _mini_changes(cli, tmp_path, control(False), control(True))
    assert (change["path"], change["kind"], change["breaking"]) == (
        "control(variant 2).scale",
        "required_changed",
        True,
    )
    assert _mini_changes(cli, tmp_path, control(True), control(True)) == []
    # A variant added: compared as one merged object (its fields are new, optional overall).
    third = {"type": "object", "properties": {"seg": {"type": "string"}}, "required": ["seg"]}
    (change,) = _mini_changes(cli, tmp_path, control(False), control(False, third))
    assert (change["path"], change["kind"], change["breaking"]) == (
        "control.seg",
        "field_added",
        False,
    )


def test_recursion_through_a_single_allof_ref_terminates(cli: Cli, tmp_path: Path) -> None:
    # pydantic v1 wrote a described reference as ``allOf: [$ref]``.
    node: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "parent": {"allOf": [{"$ref": "#/$defs/Node"}], "description": "up"},
        },
    }
    changed = copy.deepcopy(node)
    changed["properties"]["name"]["maxLength"] = 10
    tree = {"tree": {"$ref": "#/$defs/Node"}}
    (tmp_path / "a.json").write_text(json.dumps(_mini(tree, components={"Node": node})))
    (tmp_path / "b.json").write_text(json.dumps(_mini(tree, components={"Node": changed})))
    changes = _changes(cli, tmp_path / "a.json", tmp_path / "b.json")
    assert [(c["path"], c["kind"]) for c in changes] == [("tree.name", "constraint_changed")]


def test_a_component_merged_into_the_input_is_also_compared_where_it_is_nested(
    cli: Cli, tmp_path: Path
) -> None:
    base: dict[str, Any] = {
        "type": "object",
        "properties": {"steps": {"type": "integer"}, "acceleration": {"type": "string"}},
    }
    own = {"refine": {"anyOf": [{"$ref": "#/$defs/Base"}, {"type": "null"}]}}

    def document(base_schema: dict[str, Any]) -> Any:
        doc = _mini(own, components={"Base": base_schema})
        doc["$defs"]["In"]["allOf"] = [{"$ref": "#/$defs/Base"}]  # In = Base + refine
        return doc

    smaller = copy.deepcopy(base)
    del smaller["properties"]["acceleration"]
    (tmp_path / "a.json").write_text(json.dumps(document(base)))
    (tmp_path / "b.json").write_text(json.dumps(document(smaller)))
    changes = _changes(cli, tmp_path / "a.json", tmp_path / "b.json")
    assert [(c["path"], c["kind"]) for c in changes] == [
        ("acceleration", "field_removed"),
        ("refine.acceleration", "field_removed"),
    ]

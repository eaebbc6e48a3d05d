"""Robustness: the golden modules of constructs found in real-world fal/OpenAPI documents.

One fixture per construct group (``tests/codegen/fixtures/<name>.json``): unions, maps and
untyped values, references, constraints, hostile descriptions, field names, component names,
odd property orders, an empty Input with a list Output, and ``allOf`` roots. Each test imports
the generated module, validates good and bad inputs (nothing is sent for a bad one), checks that
output models keep unknown keys, and looks at the wrapper's signature. ``mypy --strict`` over
these modules runs in ``test_typing.py`` (it covers every golden module).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pydantic
import pytest

from fal_typed import FalClient, ResponseValidationError
from fal_typed._document import parse_document
from fal_typed_codegen._command import build_package

from ._paths import FIXTURES, golden_on_path
from ._signatures import params

golden_on_path()


def mod(name: str) -> ModuleType:
    return importlib.import_module(f"goldenpkg.fixtures.{name}")


def call(module: ModuleType, response: Any, /, *args: Any, **arguments: Any) -> tuple[Any, Any]:
    """Call the module's wrapper against a fake server answering ``response``.

    Returns (the JSON body sent, the parsed output or None if it did not validate).
    """
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=response)

    client = FalClient(key="k", http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    function = getattr(module, module.__name__.rsplit(".", 1)[-1])
    result = None
    with contextlib.suppress(ResponseValidationError):
        result = function(*args, client=client, **arguments)
    [body] = bodies
    return body, result


def sent(module: ModuleType, /, *args: Any, **arguments: Any) -> Any:
    return call(module, {}, *args, **arguments)[0]


def rejects(model: type[pydantic.BaseModel], **fields: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        model(**fields)


def test_unions_discriminated_nested_nullable_and_literal_enums() -> None:
    m = mod("unions")
    Input = m.UnionsInput
    assert sent(m, pet={"kind": "dog", "bark": True}) == {"pet": {"kind": "dog", "bark": True}}
    assert isinstance(Input(pet={"kind": "cat"}).pet, m.Cat)
    rejects(Input, pet={"kind": "cow"})
    rejects(Input, pet={"kind": "cat", "bark": True})  # unknown key on an input class
    # Inline union branches are named after their title.
    assert isinstance(Input(pet={"kind": "cat"}, shape={"r": 1}).shape, m.Circle)
    assert isinstance(Input(pet={"kind": "cat"}, shape={"side": 1}).shape, m.Square)
    # anyOf nested inside items is flattened.
    pets = Input(pet={"kind": "cat"}, pets=[{"kind": "dog"}, "rex", {"kind": "cat"}]).pets
    assert [type(p).__name__ for p in pets or []] == ["Dog", "str", "Cat"]
    assert Input(pet={"kind": "cat"}, scalar=3).scalar == 3
    # type: [string, null] keeps its constraint; nullable: true (OpenAPI 3.0) too.
    assert sent(m, pet={"kind": "cat"}, type_list=None, nullable30=None)["type_list"] is None
    rejects(Input, pet={"kind": "cat"}, type_list="toolong")
    rejects(Input, pet={"kind": "cat"}, nullable30=0)
    assert Input(pet={"kind": "cat"}, nullable_ref=None).nullable_ref is None
    # enum with null, mixed enum, single-value enum, const int/bool.
    assert Input(pet={"kind": "cat"}, enum_null=None, enum_mixed=True).enum_mixed is True
    rejects(Input, pet={"kind": "cat"}, enum_null="c")
    rejects(Input, pet={"kind": "cat"}, enum_mixed="manual")
    rejects(Input, pet={"kind": "cat"}, single="other")
    rejects(Input, pet={"kind": "cat"}, const_int=4)
    rejects(Input, pet={"kind": "cat"}, const_bool=False)
    # default: null on a non-nullable field: documented, never sent when not set.
    assert sent(m, pet={"kind": "cat"}) == {"pet": {"kind": "cat"}}
    assert "default_null: Default: `null`." in (m.unions.__call__.__doc__ or "")
    assert "`true`" in (m.unions.__call__.__doc__ or "")  # True is listed even though 1 == True
    out = m.UnionsOutput.model_validate({"pet": {"kind": "dog", "new": 1}, "score": None, "x": 2})
    assert out.model_dump(exclude_unset=True) == {
        "pet": {"kind": "dog", "new": 1},
        "score": None,
        "x": 2,
    }


def test_maps_untyped_values_tuples_and_open_objects() -> None:
    m = mod("maps")
    Input = m.MapsInput
    body = sent(
        m,
        labels={"a": "x"},
        weights={"w": 0.5},
        images={"one": {"url": "u"}},
        open={"any": [1, {"x": None}]},
        closed={},
        bare={"k": 1},
        untyped=[1, "two"],
        anything={"a": None},
        list_any=[1, "a", None],
        pair=(1, "b"),
    )
    assert body["pair"] == [1, "b"] and body["images"] == {"one": {"url": "u"}}
    rejects(Input, weights={"w": -1})
    rejects(Input, closed={"k": 1})
    rejects(Input, pair=[1, "b", "c"])
    rejects(Input, labels={"a": 1})
    # An object with properties and additionalProperties accepts (and sends) other keys.
    assert sent(m, extensible={"a": 1, "b": "x"}) == {"extensible": {"a": 1, "b": "x"}}
    rejects(Input, extensible={"a": "not an int"})
    out = m.MapsOutput.model_validate({"meta": {"k": [1]}, "counts": {"a": 1}, "later": True})
    assert out.model_dump()["later"] is True and out.meta == {"k": [1]}


def test_references_recursion_aliases_and_merged_allof() -> None:
    m = mod("refs")
    Input = m.RefsInput
    tree = {"name": "root", "children": [{"name": "leaf", "children": []}]}
    assert sent(m, tree=tree)["tree"] == tree
    assert isinstance(Input(tree=tree).tree.children[0], m.Node)
    # $ref -> $ref -> class: the class itself.
    assert isinstance(Input(tree=tree, alias={"url": "u"}).alias, m.Image)
    # allOf of two $refs and inline properties: one merged class.
    combo = Input(tree=tree, combo={"prompt": "p", "steps": 2, "strength": 0.5}).combo
    assert set(type(combo).model_fields) == {"prompt", "steps", "strength"}
    rejects(Input, tree=tree, combo={"prompt": "p"})
    # allOf of one $ref with sibling constraints, and constraints beside a $ref: both kept.
    assert Input(tree=tree, bounded=10, beside_ref=20).bounded == 10
    for bad in ({"bounded": 11}, {"bounded": 0}, {"beside_ref": 21}):
        rejects(Input, tree=tree, **bad)
    # A part with only a description does not make a new class.
    assert typing.get_type_hints(Input)["documented"] == m.Image | None
    # Constrained items are a type alias: plain strings validate (and type-check).
    assert Input(tree=tree, codes=["ABC"]).codes == ["ABC"]
    rejects(Input, tree=tree, codes=["abc"])
    assert Input(tree=tree, json_value=["a", [1, None]]).json_value == ["a", [1, None]]
    out = m.RefsOutput.model_validate({"tree": {"name": "n", "extra": 1}, "codes": ["XYZ"]})
    assert out.model_dump()["tree"] == {"name": "n", "children": None, "extra": 1}


def test_constraints_are_kept_where_python_can_check_them() -> None:
    m = mod("constraints")
    Input = m.ConstraintsInput
    good = Input(
        open_unit=0.5,
        not_exclusive=0,
        positive=0.1,
        int_half=1,
        quarter=0.75,
        lookahead="abc1",
        digits="123",
        short="ab",
        tags=["a", "b"],
        unit_list=[0, 1],
    )
    assert good.open_unit == 0.5
    bad: dict[str, Any]
    for bad in (
        {"open_unit": 0},  # exclusiveMinimum: true (OpenAPI 3.0) with minimum 0
        {"open_unit": 1},
        {"positive": 0},  # numeric exclusiveMinimum
        {"int_half": 0},  # minimum 0.5 on an integer
        {"quarter": 0.3},
        {"lookahead": "ABC"},
        {"digits": "12a"},
        {"short": ""},
        {"short": "abcd"},
        {"tags": []},
        {"tags": ["a", "b", "c"]},
        {"unit_list": [2]},
    ):
        rejects(Input, **bad)
    # Dropped (documented): \p{...} and 3.11-only patterns, string formats, malformed values.
    unchecked = Input(
        letters="123", possessive="b", file="x", url="not a url", when="x", malformed="x" * 20
    )
    assert unchecked.url == "not a url"
    assert "Constraints: > 0, < 1." in " ".join((m.constraints.__call__.__doc__ or "").split())


def test_descriptions_with_quotes_backslashes_and_braces_survive() -> None:
    m = mod("descriptions")
    doc = m.DescriptionsInput.__doc__ or ""
    for text in ('"""triple"""', "'''single'''", "C:\\path\\to", "a literal \\n", "{{ jinja }}"):
        assert text in doc
    assert "🎨 مرحبا עברית" in doc and doc.rstrip().endswith("backslash\\")
    assert (m.DescriptionsOutput.__doc__ or "").strip() == 'Output """ doc\\'
    wrapper_doc = m.descriptions.__call__.__doc__ or ""
    assert 'Ends with a quote"' in wrapper_doc and '`"C:\\\\dir\\\\"`' in wrapper_doc
    for value in ('a"b', "c\\d", "{e}", '"""'):
        assert sent(m, prompt="p", choice=value) == {"prompt": "p", "choice": value}


def test_field_names_keywords_builtins_and_request_option_clashes() -> None:
    m = mod("field_names")
    names = params(m.field_names)
    assert names[:3] == ["a_b", "class_", "prompt"]  # required first
    # Names the wrapper itself uses get a trailing "_"; the JSON key is unchanged.
    for python, json_name in (
        ("client_", "client"),
        ("extra_headers_", "extra_headers"),
        ("dict_", "dict"),
        ("str_", "str"),
        ("TypeError_", "TypeError"),
        ("Any_", "Any"),
        ("model_fields_", "model_fields"),
        ("field_9lives", "9lives"),
        ("with_space", "with space"),
    ):
        assert python in names
        assert sent(m, **{"a_b": "1", "class_": "c", "prompt": "p", python: "v"})[json_name] == "v"
    body = sent(m, a_b="1", class_="c", prompt="p", Prompt="P", a_b_1="2", list="l", self="s")
    assert body == {
        "a-b": "1",
        "class": "c",
        "prompt": "p",
        "Prompt": "P",
        "a_b": "2",
        "list": "l",
        "self": "s",
    }
    assert sent(m, a_b="1", class_="c", prompt="p", Image_1={"u": "x"})["Image"] == {"u": "x"}
    # JSON names work in a mapping; typos do not.
    assert sent(m, {"a-b": "1", "class": "c", "prompt": "p", "ünï": "u"})["ünï"] == "u"
    rejects(m.FieldNamesInput, **{"a-b": "1", "class": "c", "prompt": "p", "promt": "x"})
    rejects(m.FieldNamesInput, **{"a-b": "1", "class": "c", "prompt": "p", "count": 0})
    out = m.FieldNamesOutput.model_validate({"class": "c", "model_fields": "m", "new": 1})
    assert out.class_ == "c" and out.model_fields_ == "m"
    assert out.model_dump(by_alias=True, exclude_unset=True) == {
        "class": "c",
        "model_fields": "m",
        "new": 1,
    }


def test_component_names_that_collide_or_shadow_imports() -> None:
    m = mod("component_clash")
    hints = typing.get_type_hints(m.ComponentClashInput)
    expected = {
        "a__Image": "Image",
        "b__Image": "Image2",
        "my_dotted_Name": "MyDottedName",
        "Ünïcode": "Unicode",
        "Input": "Input",
        "Field": "FieldModel",
        "Literal": "LiteralModel",
        "BaseModel": "BaseModelModel",
        "ENDPOINT": "ENDPOINTModel",
        "TypeAliasType": "TypeAliasTypeModel",
    }
    by_json = {f.alias or name: name for name, f in m.ComponentClashInput.model_fields.items()}
    for json_name, cls in expected.items():
        (member,) = [a for a in typing.get_args(hints[by_json[json_name]]) if a is not type(None)]
        assert member is getattr(m, cls)
    assert isinstance(m.ENDPOINT.input_model, type) and m.ENDPOINT.id == "fixtures/component_clash"
    out = m.ComponentClashOutput.model_validate({"image": {"u": "x", "k": 1}, "Input": {}})
    assert type(out.image).__name__ == "ImageOutput" and out.model_dump()["image"]["k"] == 1


def test_order_lists_missing_properties_and_required_names_unknown_ones() -> None:
    m = mod("odd_order")
    # Required first (c, then "ghost", required but not described: any value), then the
    # x-fal-order-properties order (unknown names and repeats ignored), then the rest sorted.
    assert params(m.odd_order) == ["c", "ghost", "b", "a", "d"]
    assert sent(m, c=True, ghost=None, d="x") == {"c": True, "ghost": None, "d": "x"}
    rejects(m.OddOrderInput, c=True)  # Swagger-style "required: true" on d is ignored


def test_empty_input_and_list_output() -> None:
    m = mod("empty_input")
    assert params(m.empty_input) == []
    body, result = call(m, [{"url": "a", "extra": 1}, {"url": "b", "width": 2}])
    assert body == {}
    assert isinstance(result, m.EmptyInputOutput)
    assert [i.url for i in result.root] == ["a", "b"]
    assert result.root[0].model_dump(exclude_unset=True) == {"url": "a", "extra": 1}
    rejects(m.EmptyInputInput, anything=1)  # "properties": {} -> no fields, closed
    with pytest.raises(pydantic.ValidationError):
        m.EmptyInputOutput.model_validate({"url": "a"})  # not a list


def test_allof_roots_are_merged_classes() -> None:
    m = mod("output_allof")
    assert params(m.output_allof) == ["prompt", "seed"]
    rejects(m.OutputAllofInput, seed=1)  # prompt (from the $ref'd part) is required
    body, result = call(m, {"url": "u", "seed": 3, "more": "x"}, prompt="p")
    assert body == {"prompt": "p"}
    assert result is not None and result.seed == 3 and result.model_dump()["more"] == "x"
    assert set(type(result).model_fields) == {"url", "width", "seed"}


def _entry(endpoint_id: str) -> dict[str, Any]:
    doc = json.loads((FIXTURES / "const.json").read_text())
    paths = doc["paths"]
    doc["paths"] = {
        f"/{endpoint_id}/requests/{{request_id}}/status": paths["/fixtures/const"],
        f"/{endpoint_id}/requests/{{request_id}}": paths["/fixtures/const/requests/{request_id}"],
        f"/{endpoint_id}": paths["/fixtures/const"],
    }
    del doc["info"]["x-fal-metadata"]
    return {"endpoint_id": endpoint_id, "metadata": {}, "openapi": doc}


def test_odd_endpoint_ids_give_importable_distinct_modules(tmp_path: Path) -> None:
    ids = [
        "Fal-AI/Upper-Case",
        "fal-ai/3d-model",
        "fal-ai/a/b/c/d",
        "fal-ai/flux-dev",
        "my.org/app",
        "fal-ai/lambda",
        "fal-ai/ENDPOINT",
        "fal-ai/get-endpoint",
        "_private/x",
    ]
    docs = []
    for i, endpoint_id in enumerate(ids):
        path = tmp_path / "docs" / f"{i}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(_entry(endpoint_id), sort_keys=i % 2 == 0))
        parse_document(json.loads(path.read_text()), str(path))  # extra paths are fine
        docs.append(path)
    package = build_package(docs, "oddids")
    assert package.modules == {
        "Fal-AI/Upper-Case": "fal_ai/upper_case.py",
        "fal-ai/3d-model": "fal_ai/m_3d_model.py",
        "fal-ai/a/b/c/d": "fal_ai/a_b_c_d.py",
        "fal-ai/flux-dev": "fal_ai/flux_dev.py",
        "my.org/app": "my_org/app.py",
        "fal-ai/lambda": "fal_ai/lambda_.py",
        "fal-ai/ENDPOINT": "fal_ai/endpoint.py",
        "fal-ai/get-endpoint": "fal_ai/get_endpoint_.py",
        "_private/x": "m_private/x.py",
    }
    for rel, data in package.files.items():
        compile(data, rel, "exec")  # valid Python (mypy --strict runs on the golden modules)

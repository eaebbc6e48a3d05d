"""Write the hostile-schema corpus: ``python tests/hostile/make_corpus.py``.

Each case is one small endpoint document attacking one thing (names, text, enum values,
defaults, numbers, references, endpoint ids...). The files in ``corpus/`` are committed, so a
failure is reproducible from the file alone; ``test_hostile.py`` checks they match this script.
Most files are JSON written by ``json.dumps`` (ASCII, so NUL, CR and lone surrogates are
``\\u`` escapes); a few are raw text for what ``json.dumps`` cannot write (``1e400``, integers
with many digits in odd places, ``NaN``, duplicate keys).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"

INJECTION = '"""; import os; os.system("x") #'
INJECTION_SINGLE = "'''; import os; os.system('x') #"
NASTY_TEXTS = [
    '"""',
    "'''",
    'ends with a quote"',
    "ends with a backslash\\",
    "C:\\path\\to\\",
    "\\N{BULLET} \\x41 \\u0041 \\n \\t",
    "{x} {{x}} {% x %} {# x #} {{ '{' }}",
    "a\x00b",
    "line one\nline two\n\nline four",
    "a\r\nb\rc",
    INJECTION,
    INJECTION_SINGLE,
    "  leading and trailing spaces  ",
    "\tindented\n\ttab\n    spaces",
    "sep\u2028line\u2029para\x85nel\x0cff\x0bvt",
    "",
    "   ",
    '"',
    "\\",
    "r'''raw'''",
    "  - indented list\n    - nested",
    "\n\nblank lines around\n\n",
]
DUNDERS = ["__init__", "__class__", "__dict__", "__slots__", "__annotations__", "__module__"]


def document(
    endpoint_id: str = "hostile/case",
    properties: dict[str, Any] | None = None,
    *,
    required: list[str] | None = None,
    input_extra: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    components: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    input_name: str = "CaseInput",
    output_name: str = "CaseOutput",
) -> dict[str, Any]:
    """A bare fal OpenAPI document for ``endpoint_id`` with the given Input properties."""
    input_schema: dict[str, Any] = {"type": "object", "properties": properties or {}}
    if required:
        input_schema["required"] = required
    input_schema.update(input_extra or {})
    schemas = {
        input_name: input_schema,
        output_name: output
        if output is not None
        else {"type": "object", "properties": {"ok": {"type": "boolean"}}},
        **(components or {}),
    }
    ref = "#/components/schemas/"

    def body(name: str) -> dict[str, Any]:
        escaped = name.replace("~", "~0").replace("/", "~1")
        return {"application/json": {"schema": {"$ref": ref + escaped}}}

    return {
        "openapi": "3.0.4",
        "info": {
            "title": "hostile",
            "version": "1",
            "x-fal-metadata": {"endpointId": endpoint_id, **(metadata or {})},
        },
        "paths": {
            f"/{endpoint_id}": {
                "post": {
                    "requestBody": {"required": True, "content": body(input_name)},
                    "responses": {"200": {"description": "s"}},
                }
            },
            f"/{endpoint_id}/requests/{{request_id}}": {
                "get": {"responses": {"200": {"description": "r", "content": body(output_name)}}}
            },
        },
        "components": {"schemas": schemas},
    }


def strings(names: list[str], **extra: Any) -> dict[str, Any]:
    return {name: {"type": "string", **extra} for name in names}


def described(texts: list[str], **schema: Any) -> dict[str, Any]:
    return {f"p{i}": {"type": "string", **schema, "description": t} for i, t in enumerate(texts)}


def enum_doc(values: list[Any], kind: str | None = "string") -> dict[str, Any]:
    schema: dict[str, Any] = {"enum": values, "description": "enum"}
    if kind:
        schema["type"] = kind
    return document(properties={"choice": schema, "req": {**schema}}, required=["req"])


def cases() -> dict[str, Any]:
    """Case name -> document (dict) or raw file text (str)."""
    c: dict[str, Any] = {}
    # -- field names ---------------------------------------------------------------------------
    keywords = ["class", "def", "lambda", "None", "True", "False", "import", "from", "async"]
    keywords += ["await", "match", "case", "type", "_", "return", "yield", "global", "del"]
    c["field_names_keywords"] = document(properties=strings(keywords), required=["class"])
    builtins_ = ["str", "int", "list", "dict", "float", "bool", "bytes", "id", "input", "print"]
    builtins_ += ["open", "exec", "eval", "__import__", "object", "super", "property", "len"]
    c["field_names_builtins"] = document(
        properties={
            **strings(builtins_, default="x"),
            "int_typed": {"type": "integer"},
            "list": {"type": "array", "items": {"type": "string"}},
        },
        required=["str", "open"],
    )
    model_attrs = ["model_config", "model_dump", "model_fields", "model_validate", "schema"]
    model_attrs += ["json", "copy", "dict", "construct", "validate", "fields", "parse_obj"]
    model_attrs += ["model_extra", "model_post_init", "model_fields_set", "model_construct"]
    c["field_names_basemodel_attributes"] = document(
        properties=strings(model_attrs, description="attr"), required=["model_config"]
    )
    c["field_names_basemodel_attributes_output"] = document(
        properties=strings(["x"]),
        output={"type": "object", "properties": strings(model_attrs), "required": ["json"]},
    )
    c["field_names_dunders"] = document(
        properties=strings([*DUNDERS, "__pydantic_extra__", "__fields_set__", "__doc__"]),
        required=["__init__"],
    )
    punct = ["a-b", "a b", "a.b", "a/b", "a:b", 'a"b', "a'b", "a\\b", "a{b}", "{{x}}", "{% x %}"]
    punct += ["a\nb", "a\rb", "a\x00b", "a\tb", " ", "-", ".", "@", "$ref", "#", "~1", "a;b"]
    c["field_names_punctuation"] = document(properties=strings(punct), required=['a"b'])
    c["field_names_unicode"] = document(
        properties=strings(["café", "日本語", "🎨", "مرحبا", "ß", "e\u0301", "Ω"]),
        required=["café"],
    )
    # NFKC: Python identifiers are normalized, so "\ufb01eld" (fi ligature) is "field".
    c["field_names_nfkc_collision"] = document(
        properties=strings(
            ["\ufb01eld", "field", "\uff46\uff55\uff4c\uff4c", "full", "\u210cello", "Hello"]
        )
    )
    c["field_names_leading_digits"] = document(
        properties=strings(["1", "2x", "3d", "16:9", "0", "00", "1_000"]), required=["1"]
    )
    c["field_names_empty"] = document(properties=strings(["", "_", "__", "___"]), required=[""])
    c["field_names_case_collisions"] = document(
        properties=strings(["fooBar", "foo_bar", "FooBar", "foo-bar", "foo bar", "FOO_BAR"]),
        required=["fooBar", "foo_bar"],
    )
    c["field_names_alias_collisions"] = document(
        properties=strings(["a-b", "a_b", "a.b", "a b", "a_b_", "field_a_b", "a__b"])
    )
    c["field_names_request_options"] = document(
        properties=strings(
            [
                *["client", "timeout", "input", "arguments", "start_timeout", "object_lifecycle"],
                *["extra_headers", "NOT_GIVEN", "ENDPOINT", "NotGiven", "self", "cls", "timeout_"],
            ]
        ),
        required=["client", "input"],
    )
    c["field_names_module_globals"] = document(
        properties=strings(
            [
                *["annotations", "overload", "httpx", "datetime", "Literal", "Annotated", "Field"],
                *["BaseModel", "Mapping", "InputModel", "OutputModel", "Any", "pydantic"],
                *["RootModel", "ConfigDict", "TypeAliasType", "Endpoint", "FalClient"],
            ]
        ),
        required=["Literal", "Field"],
    )
    c["field_names_shadow_their_type"] = document(
        properties={
            "str": {"type": "string", "default": "s"},
            "int": {"type": "integer", "default": 1},
            "float": {"type": "number", "default": 1.5},
            "bool": {"type": "boolean", "default": True},
            "list": {"type": "array", "items": {"type": "integer"}, "default": [1]},
            "dict": {"type": "object", "additionalProperties": {"type": "string"}},
            "None": {"type": "null"},
            "Literal": {"enum": ["a"], "type": "string", "default": "a"},
        }
    )
    c["field_names_long"] = document(properties=strings(["x" * 300, "y" * 1000]))
    # -- component and class names -----------------------------------------------------------
    ref = "#/components/schemas/"

    def obj(desc: str = "component") -> dict[str, Any]:
        return {"type": "object", "description": desc, "properties": strings(["v"])}

    for label, names in {
        "keywords": ["class", "None", "True", "lambda", "import"],
        "imports": ["BaseModel", "Field", "Literal", "Any", "InputModel", "ENDPOINT", "str"],
        "punctuation": ["a-b", "a b", "a.b", "a~b", "a/b", "123", "__", "_x", "$x"],
        "unicode": ["日本", "Ünïcode", "🎨", "\ufb01"],
        "collisions": ["fooBar", "foo_bar", "FooBar", "foo-bar", "Case", "CaseInput"],
        "dunders": DUNDERS,
    }.items():
        c[f"component_names_{label}"] = document(
            properties={
                f"f{i}": {"$ref": ref + n.replace("~", "~0").replace("/", "~1")}
                for i, n in enumerate(names)
            },
            components={n: obj(f"component {n!r}") for n in names},
        )
    c["component_name_empty"] = document(properties={"f": {"$ref": ref}}, components={"": obj()})
    c["component_input_named_hostile"] = document(
        properties=strings(["x"]), input_name='In"""put', output_name="class"
    )
    # -- descriptions, titles, examples --------------------------------------------------------
    for i, text in enumerate(NASTY_TEXTS):
        c[f"description_{i:02d}"] = document(
            properties={"p": {"type": "string", "description": text, "title": text}},
            input_extra={"description": text, "title": text},
            output={"type": "object", "description": text, "properties": described([text])},
        )
    c["description_all_in_one_class"] = document(properties=described(NASTY_TEXTS))
    c["description_long"] = document(properties=described(["word " * 3000, "x" * 5000]))
    c["description_on_nested_component"] = document(
        properties={"n": {"$ref": ref + "Nested", "description": INJECTION}},
        components={
            "Nested": {
                "type": "object",
                "description": INJECTION_SINGLE,
                "properties": described(NASTY_TEXTS[:8]),
            }
        },
    )
    c["description_not_a_string"] = document(
        properties={"p": {"type": "string", "description": {"x": 1}}, "q": {"description": 5}}
    )
    c["examples_hostile"] = document(
        properties={
            "p": {"type": "string", "examples": [INJECTION, "a\nb", "\x00"]},
            "q": {"type": "string", "example": INJECTION_SINGLE},
            "r": {"type": "string", "examples": ['"', "\\"]},
        },
        required=["p", "q", "r"],
    )
    c["metadata_hostile"] = document(
        properties=strings(["x"]),
        metadata={"display_name": INJECTION, "description": "\n".join(NASTY_TEXTS)},
    )
    c["metadata_hostile_types"] = document(
        properties=strings(["x"]), metadata={"display_name": 5, "description": ["x"]}
    )
    # -- enum values --------------------------------------------------------------------------
    c["enum_colon_values"] = enum_doc(["modifiedAt:desc", "a:b", ":", "createdAt:asc"])
    c["enum_numeric_strings"] = enum_doc(["2.0", "1", "0", "-1", "1e5", "NaN", "Infinity"])
    c["enum_empty_and_null"] = enum_doc(["", None, "null", "None"])
    c["enum_quotes_backslashes"] = enum_doc(['"', "'", "\\", '"""', "'''", "a\\nb", "x\\"])
    c["enum_newlines_controls"] = enum_doc(["a\nb", "\r", "\x00", "\t", "\u2028", "\x1b[31m"])
    c["enum_injection"] = enum_doc(
        [INJECTION, INJECTION_SINGLE, "{x}", "{{x}}", "{% x %}", "\\N{BULLET}"]
    )
    c["enum_mixed_types"] = enum_doc([1, "1", True, None, 2.5, False, 0], kind=None)
    c["enum_floats"] = enum_doc([1.5, 2.0, -0.5], kind="number")
    c["enum_integral_numbers"] = enum_doc([1.0, 2.0, 3], kind="number")
    c["enum_booleans"] = enum_doc([True, False], kind="boolean")
    c["enum_unicode"] = enum_doc(["é", "日本", "🎨", "e\u0301"])
    c["enum_duplicates"] = enum_doc(["a", "a", "b", "a"])
    c["enum_keywords"] = enum_doc(["class", "None", "True", "import", "__import__"])
    c["enum_big_integers"] = enum_doc([2**64 + 1, -(2**70), 10**30], kind="integer")
    c["enum_objects_and_arrays"] = enum_doc([{"a": 1}, [1, 2], "x"], kind=None)
    c["enum_empty_list"] = enum_doc([])
    c["const_injection"] = document(
        properties={"c": {"const": INJECTION}, "d": {"const": "a\x00\r\n", "default": "a\x00\r\n"}},
        required=["c"],
    )
    c["open_enum_hostile"] = document(
        properties={"o": {"anyOf": [{"enum": [INJECTION, "\\"]}, {"type": "string"}]}}
    )
    # Lone surrogates (JSON "\ud800"): fine in descriptions, refused where values are used.
    c["surrogate_in_description"] = document(
        properties=described(["\ud800 lone", "a\udfffb"]),
        input_extra={"description": "\udc80"},
    )
    c["surrogate_in_property_name"] = document(properties=strings(["a\ud800"]))
    c["surrogate_in_enum"] = enum_doc(["ok", "\ud800"])
    c["surrogate_in_default"] = document(properties={"d": {"type": "string", "default": "\udfff"}})
    c["surrogate_in_const"] = document(properties={"d": {"const": "x\ud800"}})
    c["surrogate_in_component_name"] = document(
        properties={"f": {"$ref": ref + "A\ud800"}}, components={"A\ud800": obj()}
    )
    c["surrogate_in_endpoint_id"] = document("a/b\ud800")
    # -- defaults -----------------------------------------------------------------------------
    c["defaults_hostile_strings"] = document(
        properties={
            f"d{i}": {"type": "string", "default": t}
            for i, t in enumerate([*NASTY_TEXTS, "\\N{BULLET}", "{x}"])
        }
    )
    c["defaults_numbers"] = document(
        properties={
            "big": {"type": "integer", "default": 2**64 + 1},
            "neg_big": {"type": "integer", "default": -(2**80)},
            "huge": {"type": "integer", "default": 10**40},
            "tiny": {"type": "number", "default": 5e-324},
            "large": {"type": "number", "default": 1.7976931348623157e308},
            "neg_zero": {"type": "number", "default": -0.0},
            "int_for_number": {"type": "number", "default": 3},
            "float_for_int": {"type": "integer", "default": 3.0},
        }
    )
    c["defaults_wrong_types"] = document(
        properties={
            "i": {"type": "integer", "default": "abc"},
            "b": {"type": "boolean", "default": "true"},
            "s": {"type": "string", "default": 5},
            "n": {"type": "string", "default": None},
            "o": {"type": "object", "properties": strings(["a"]), "default": {"a": INJECTION}},
            "l": {"type": "array", "items": {"type": "string"}, "default": [INJECTION, "\x00"]},
            "lo": {"type": "array", "items": {"type": "object"}, "default": [{"a": "b"}]},
            "bool_for_int": {"type": "integer", "default": True},
        }
    )
    c["defaults_nullable"] = document(
        properties={
            "n": {"type": "string", "nullable": True, "default": None},
            "m": {"type": ["string", "null"], "default": "\x00"},
            "any": {"default": INJECTION},
            "any_obj": {"default": {"__class__": 1}},
        }
    )
    # -- constraints --------------------------------------------------------------------------
    c["pattern_hostile"] = document(
        properties={
            "a": {"type": "string", "pattern": "^[a-z\"']+\\\\$"},
            "b": {"type": "string", "pattern": '"""'},
            "c": {"type": "string", "pattern": "'''\\n\\r\\x00"},
            "d": {"type": "string", "pattern": "\\N{BULLET}"},
            "e": {"type": "string", "pattern": "a\nb"},
            "f": {"type": "string", "pattern": "\\"},
            "g": {"type": "array", "items": {"type": "string", "pattern": INJECTION}},
        }
    )
    c["constraints_hostile_values"] = document(
        properties={
            "a": {"type": "integer", "minimum": 2**70, "maximum": -(2**70)},
            "b": {"type": "string", "maxLength": 2**64, "minLength": -1},
            "c": {"type": "number", "multipleOf": 5e-324},
            "d": {"type": "integer", "minimum": "5", "maximum": None},
            "e": {"type": "array", "items": {"type": "integer"}, "maxItems": 1.5},
            "f": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
        }
    )
    # -- references ---------------------------------------------------------------------------
    c["ref_recursive_self"] = document(
        properties={"root": {"$ref": ref + "Node"}},
        components={
            "Node": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": ref + "Node"}},
                    "parent": {"$ref": ref + "Node"},
                },
            }
        },
        output={"type": "object", "properties": {"tree": {"$ref": ref + "Node"}}},
    )
    c["ref_mutual_recursion"] = document(
        properties={"a": {"$ref": ref + "A"}},
        components={
            "A": {"type": "object", "properties": {"b": {"$ref": ref + "B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": ref + "A"}}},
        },
    )
    c["ref_recursive_alias"] = document(
        properties={"x": {"$ref": ref + "Alias"}, "y": {"$ref": ref + "List"}},
        components={
            "Alias": {"$ref": ref + "Alias"},
            "List": {"type": "array", "items": {"$ref": ref + "List"}},
        },
    )
    c["ref_missing_component"] = document(properties={"x": {"$ref": ref + "Nope"}})
    c["ref_remote"] = document(properties={"x": {"$ref": "https://example.com/x.json#/A"}})
    c["ref_file"] = document(properties={"x": {"$ref": "/etc/passwd"}})
    c["ref_not_a_string"] = document(properties={"x": {"$ref": 5}})
    c["ref_pointer_escapes"] = document(
        properties={"x": {"$ref": ref + "a~1b~0c"}}, components={"a/b~c": obj()}
    )
    c["ref_to_non_schema"] = document(properties={"x": {"$ref": "#/info/title"}})
    c["ref_allof_cycle"] = document(
        properties={"x": {"allOf": [{"$ref": ref + "Loop"}, {"type": "object"}]}},
        components={"Loop": {"allOf": [{"$ref": ref + "Loop"}]}},
    )
    c["ref_input_missing"] = {
        **document(),
        "paths": {
            "/hostile/case": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": ref + "Gone"}}}
                    }
                }
            },
            "/hostile/case/requests/{request_id}": document()["paths"][
                "/hostile/case/requests/{request_id}"
            ],
        },
    }
    # -- empty and odd schemas ----------------------------------------------------------------
    c["empty_schemas"] = document(
        properties={"a": {}, "b": True, "c": False, "d": {"type": []}, "e": {"anyOf": [{}]}},
        required=["a"],
    )
    c["empty_input_and_output"] = document(input_extra={"properties": {}}, output={})
    c["input_not_an_object"] = document(input_extra={"type": "string"})
    c["properties_not_an_object"] = document(input_extra={"properties": ["a"]})
    c["schema_not_an_object"] = document(properties={"x": "string", "y": None})
    c["deep_nesting"] = document(properties={"l0": _nested(12)})
    c["many_fields"] = document(
        properties={f"f{i}": {"type": "integer", "default": i} for i in range(150)}
    )
    # -- endpoint ids -------------------------------------------------------------------------
    c["endpoint_id_dotdot"] = document("a/../../etc/x")
    c["endpoint_id_absolute"] = document("/etc/passwd")
    c["endpoint_id_nul"] = document("a/b\x00c")
    c["endpoint_id_backslash"] = document("a\\..\\b/c")
    c["endpoint_id_dot_segment"] = document("a/./b")
    c["endpoint_id_trailing_slash"] = document("a/b/")
    c["endpoint_id_newline"] = document("a/b\nimport os")
    c["endpoint_id_control"] = document("a/b\x1bc")
    c["endpoint_id_quotes"] = document('a/x"""+__import__("os").system("id")+"""')
    c["endpoint_id_unicode"] = document("日本/テスト")
    c["endpoint_id_dunder_module"] = document("x/__init__")
    c["endpoint_id_private_module"] = document("x/_base")
    c["endpoint_id_long"] = document("owner/" + "x" * 300)
    c["endpoint_id_many_segments"] = document("o/" + "/".join("s" for _ in range(60)))
    c["endpoint_id_keyword_owner"] = document("class/import")
    c["endpoint_id_not_a_string"] = _with_id(document(), 5)
    c["entry_endpoint_id_hostile"] = {
        "endpoint_id": "../../x",
        "metadata": {},
        "openapi": document("../../x"),
    }
    c["entry_metadata_not_an_object"] = {"metadata": [1], "openapi": document()}
    # -- raw files: numbers json.dumps cannot write, duplicate keys, encodings ----------------
    base = json.dumps(document(properties={"x": {"type": "number"}}), indent=1)
    c["number_1e400_default"] = base.replace(
        '"type": "number"', '"type": "number", "default": 1e400'
    )
    c["number_1e400_everywhere"] = base.replace(
        '"type": "number"',
        '"type": "number", "maximum": 1e400, "minimum": -1e400, "enum": [1e400, 1.5], '
        '"examples": [1e400], "multipleOf": 1e-400',
    )
    c["number_nan_default"] = base.replace('"type": "number"', '"type": "number", "default": NaN')
    c["number_big_int_everywhere"] = base.replace(
        '"type": "number"',
        '"type": "integer", "default": 123456789012345678901234567890, '
        '"minimum": -123456789012345678901234567890, "enum": [123456789012345678901234567890]',
    )
    c["number_huge_int_literal"] = base.replace(
        '"type": "number"', '"type": "integer", "default": 1' + "0" * 5000
    )
    c["duplicate_keys"] = base.replace(
        '"x": {', '"x": {"type": "string", "description": "first"}, "x": {'
    )
    return c


def _nested(depth: int) -> dict[str, Any]:
    if depth == 0:
        return {"type": "string", "description": INJECTION}
    return {
        "type": "object",
        "description": f"level {depth} {INJECTION_SINGLE}",
        "properties": {f"l{depth}": _nested(depth - 1)},
    }


def _with_id(doc: dict[str, Any], endpoint_id: Any) -> dict[str, Any]:
    doc["info"]["x-fal-metadata"]["endpointId"] = endpoint_id
    return doc


def render(value: Any) -> str:
    if isinstance(value, str):
        return value + "\n"
    return json.dumps(value, indent=1, ensure_ascii=True) + "\n"


def main() -> int:
    CORPUS.mkdir(exist_ok=True)
    wanted = {f"{name}.json": render(doc) for name, doc in cases().items()}
    for stale in set(p.name for p in CORPUS.glob("*.json")) - set(wanted):
        (CORPUS / stale).unlink()
    for name, text in wanted.items():
        (CORPUS / name).write_text(text, encoding="ascii", newline="\n")
    print(f"{len(wanted)} documents in {CORPUS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

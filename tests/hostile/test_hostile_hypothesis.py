"""Random small hostile schemas through the same oracle as the corpus (``_oracle``).

Property names come from a hostile alphabet (quotes, backslashes, braces, NUL, newlines,
ligatures that NFKC changes, keywords, builtins, BaseModel attributes, dunders); types,
enums, defaults and descriptions are random, objects nest up to depth 2. Each example is
generated in-process and checked (parse, AST allow-list, or a clear error with a pointer);
all generated packages are then imported in one audited subprocess and their descriptions,
defaults and enum values compared exactly. Deterministic: ``derandomize=True``, no database.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fal_typed._document import DocumentError, resolve_pointer

from . import _oracle, make_corpus

HOSTILE_CHARS = "a_-. é1\"'\\{}%\n\r\t\x00\u2028\ufb01\u210c日"
SPECIAL_NAMES = [
    *["class", "None", "def", "type", "str", "int", "list", "json", "schema", "copy"],
    *["model_config", "model_dump", "__init__", "__class__", "__dict__", "fooBar", "foo_bar"],
    *["a-b", "a_b", "", "1x", "client", "timeout", "input", "Field", "Literal"],
]
text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]) | st.sampled_from(HOSTILE_CHARS),
    max_size=12,
)
names = st.sampled_from(SPECIAL_NAMES) | st.text(alphabet=HOSTILE_CHARS, max_size=6)
descriptions = st.none() | text | st.sampled_from(make_corpus.NASTY_TEXTS)


def _with(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    if description is not None:
        schema["description"] = description
    return schema


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", "array", "any"]))
    schema: dict[str, Any]
    if kind == "string":
        schema = {"type": "string"}
        if draw(st.booleans()):
            schema["enum"] = draw(st.lists(text, min_size=1, max_size=4, unique=True))
        if draw(st.booleans()):
            pool = schema.get("enum")
            schema["default"] = draw(st.sampled_from(pool) if pool else text)
    elif kind == "integer":
        ints = st.integers(min_value=-(2**70), max_value=2**70)
        schema = {"type": "integer"}
        if draw(st.booleans()):
            schema["enum"] = draw(st.lists(ints, min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            schema["default"] = draw(ints)
    elif kind == "number":
        schema = {"type": "number"}
        if draw(st.booleans()):
            schema["default"] = draw(st.floats(allow_nan=False, allow_infinity=False))
    elif kind == "boolean":
        schema = {"type": "boolean"}
        if draw(st.booleans()):
            schema["default"] = draw(st.booleans())
    elif kind == "array":
        schema = {"type": "array", "items": {"type": "string"}}
        if draw(st.booleans()):
            schema["default"] = draw(st.lists(text, max_size=2))
    else:
        schema = {}
        if draw(st.booleans()):
            schema["default"] = draw(text | st.integers() | st.booleans() | st.none())
    if draw(st.booleans()):
        schema = {
            "anyOf": [schema, {"type": "null"}],
            **({"default": None} if draw(st.booleans()) else {}),
        }
    return _with(schema, draw(descriptions))


def objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    values = leaf() if depth == 0 else (leaf() | objects(depth - 1))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(names, values, min_size=1, max_size=5))
        required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True, max_size=2))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return _with(schema, draw(descriptions))

    return build()


def test_random_hostile_schemas(tmp_path: Path) -> None:
    generated: list[_oracle.Built] = []

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(objects(2), st.none() | objects(1))
    def one(input_schema: dict[str, Any], output: dict[str, Any] | None) -> None:
        name = f"h{len(generated)}_{abs(hash(json.dumps(input_schema))) % 10**6}"
        doc = make_corpus.document(
            properties=input_schema["properties"],
            required=input_schema.get("required"),
            input_extra={k: v for k, v in input_schema.items() if k == "description"},
            output=output,
        )
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        built = _oracle.build(name, path)
        if built.error is not None:
            assert str(built.error).startswith(path.as_posix() + ": ")
            if isinstance(built.error, DocumentError):
                assert built.error.pointer is not None
                resolve_pointer(doc, built.error.pointer)
            return
        assert built.generated is not None
        for rel, data in built.generated.files.items():
            ast.parse(data, rel)  # (1); (2)-(4) below, after every example
        generated.append(built)

    one()
    assert len(generated) >= 20  # most random documents generate
    _oracle.write_packages(tmp_path / "pkgs", generated)
    probed = _oracle.probe(tmp_path / "pkgs", [_oracle.probe_case(b) for b in generated])
    for built in generated:
        try:
            _oracle.check_generated(built, probed[built.name])
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ndocument: {built.path.read_text()}") from None

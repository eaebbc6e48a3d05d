"""Turn one endpoint document into a standalone, normalized JSON Schema for the model generator.

The Input schema becomes the root; every model class it needs, and the Output schema with its
classes, go into ``$defs`` under their final Python class names. On the way, fal's constructs
are reduced to a small, predictable subset of JSON Schema:

- vendor keys (``x-*``, ``_fal_ui_field``, ``ui``) and annotations the models do not use are
  dropped; ``title`` too (class names are ours, not the generator's);
- ``$ref`` is followed; a target that is an object with properties becomes a class (a ``$ref`` to
  ``#/$defs/<Class>``, keeping sibling ``description``/``default``/``examples``), anything else is
  inlined; ``allOf`` with one part is that part, with several parts a merge;
- ``oneOf`` -> ``anyOf`` (nested ``anyOf`` flattened, duplicates removed), ``nullable: true`` and
  ``type: [..., "null"]`` -> ``anyOf [..., {"type": "null"}]``, ``const`` -> one-value ``enum``,
  boolean ``exclusiveMinimum``/``exclusiveMaximum`` (OpenAPI 3.0) -> numeric, tuple ``items``
  lists -> ``prefixItems``, string ``format`` dropped (fields stay ``str``), patterns Python's
  ``re`` cannot compile dropped;
- inline objects with properties are hoisted into ``$defs`` (named ``<Parent><Field>``);
- ``properties`` follow ``x-fal-order-properties`` (the rest alphabetically) and every other
  object's keys are sorted, so the result does not depend on the document's key order.

Classes reachable from the Input are *input* classes (unknown keys forbidden); classes reachable
from the Output are *output* classes (unknown keys kept). A component used on both sides is
generated twice: the input copy keeps the name, the output copy gets the suffix ``Output``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from fal_typed._document import (
    DocumentError,
    EndpointDocument,
    exclusive_bounds_as_numbers,
    pointer_escape,
    resolve_pointer,
)

from ._naming import RESERVED_CLASS_NAMES, class_name, endpoint_stem, unique_name
from ._shape import CONSTRAINT_KEYS

__all__ = ["NormalizedEndpoint", "Side", "accepts_null", "normalize_endpoint", "schema_types"]

Side = Literal["input", "output"]

# Keys with no meaning for the models (documentation-only annotations and OpenAPI extras).
_DROPPED_KEYS = frozenset(
    {
        "title",
        "readOnly",
        "writeOnly",
        "deprecated",
        "discriminator",
        "$schema",
        "$id",
        "$anchor",
        "$comment",
        "externalDocs",
        "xml",
        "example",
        "nullable",
        "format",
        "contentMediaType",
        "contentEncoding",
        "not",
        "if",
        "then",
        "else",
        "patternProperties",
        "propertyNames",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
        "$defs",
        "definitions",
        "_fal_ui_field",
        "ui",
    }
)
# Keys that make a schema without ``type`` something other than a plain object.
_NON_OBJECT_KEYS = frozenset(
    {"$ref", "anyOf", "oneOf", "enum", "const", "items", "prefixItems", "not"}
)
# Keys whose value is one subschema / a list of subschemas / a map of name -> subschema.
_SUBSCHEMA_KEYS = ("items", "additionalProperties")
_SIBLINGS_OF_REF = ("description", "default", "examples")
_PLACEHOLDER = "\x00"


@dataclass(frozen=True)
class NormalizedEndpoint:
    """The normalized schema of one endpoint and what the renderer needs to know about it."""

    schema: dict[str, Any]
    """Root = the Input class; ``$defs`` = every other class, keyed by final class name."""
    input_class: str
    output_class: str
    input_classes: tuple[str, ...]
    """Names of the classes on the input side (the root included)."""
    output_classes: tuple[str, ...]
    input_properties: dict[str, dict[str, Any]]
    """The Input's properties (by JSON name, in parameter order), normalized, defaults kept."""
    input_required: tuple[str, ...]
    output_root: str | None = None
    """For an Output that is not an object: the name of the type alias in ``$defs`` that the
    ``RootModel`` output class wraps (the output class itself is not in ``$defs``)."""
    source: str = ""
    """The document's file name, for error messages."""


def schema_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types named by ``type`` (a string or a list)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def accepts_null(schema: dict[str, Any]) -> bool:
    """Whether a normalized schema allows JSON ``null``."""
    if "null" in schema_types(schema) or schema == {}:
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(accepts_null(branch) for branch in schema.get("anyOf", ()))


def _is_model(schema: dict[str, Any]) -> bool:
    return bool(schema.get("properties")) and schema.get("type", "object") == "object"


def _is_open(schema: dict[str, Any]) -> bool:
    """Whether an object schema accepts properties it does not list.

    ``additionalProperties: true`` or a schema does; so does an object without ``properties``
    and without ``additionalProperties`` (nothing is known about its keys).
    """
    extra = schema.get("additionalProperties")
    if extra is None:
        return "properties" not in schema
    return extra is True or (isinstance(extra, dict) and extra.get("not") is None)


@dataclass
class _DefInfo:
    schema: dict[str, Any] = field(default_factory=dict)
    hint: str = ""  # preferred class name


class _Normalizer:
    def __init__(self, doc: EndpointDocument) -> None:
        self.doc = doc
        self.defs: dict[tuple[Side, str], _DefInfo] = {}
        self._pending: list[tuple[Side, str, dict[str, Any], str]] = []
        self._inlining: list[str] = []

    # -- errors and references ---------------------------------------------------------------

    def error(self, pointer: str, problem: str) -> DocumentError:
        # Pointers are relative to the OpenAPI document; messages name the place in the file.
        if pointer.startswith("#"):
            pointer = self.doc.openapi_pointer + pointer[1:]
        return DocumentError(self.doc.source, pointer, problem)

    def resolve(self, ref: object, pointer: str) -> tuple[dict[str, Any], str]:
        if not isinstance(ref, str):
            raise self.error(pointer, "$ref must be a string")
        if not ref.startswith("#"):
            raise self.error(pointer, f"unsupported $ref {ref!r}: only local '#/...' references")
        try:
            target = resolve_pointer(self.doc.openapi, ref, self.doc.source)
        except DocumentError:
            raise self.error(pointer, f"$ref {ref!r} does not resolve") from None
        if isinstance(target, bool):
            return ({} if target else {"not": {}}), ref
        if not isinstance(target, dict):
            raise self.error(ref, "schema must be an object")
        return target, ref

    def model_ref(self, side: Side, pointer: str, schema: dict[str, Any], hint: str) -> str:
        """Register a class for the schema at ``pointer``; return its placeholder ``$ref``."""
        key = (side, pointer)
        if key not in self.defs:
            self.defs[key] = _DefInfo(hint=hint)
            self._pending.append((side, pointer, schema, hint))
        return f"{_PLACEHOLDER}{side}{_PLACEHOLDER}{pointer}"

    def run_pending(self) -> None:
        while self._pending:
            side, pointer, schema, hint = self._pending.pop(0)
            self.defs[(side, pointer)].schema = self.model(schema, pointer, side, hint)

    # -- schema walking -------------------------------------------------------------------------

    def model(self, schema: dict[str, Any], pointer: str, side: Side, hint: str) -> dict[str, Any]:
        """Normalize an object schema that becomes a class."""
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            raise self.error(pointer + "/properties", "properties must be an object")
        order = schema.get("x-fal-order-properties")
        ordered: list[str] = [
            name for name in (order if isinstance(order, list) else []) if name in props
        ]
        ordered = list(dict.fromkeys(ordered))
        ordered += sorted(name for name in props if name not in ordered)
        required_raw = schema.get("required", [])
        if not isinstance(required_raw, list):
            required_raw = []  # e.g. Swagger 2's ``required: true``: ignored
        required_raw = [r for r in required_raw if isinstance(r, str)]
        properties: dict[str, Any] = {}
        for name in ordered:
            prop_pointer = f"{pointer}/properties/{pointer_escape(name)}"
            if not _unicode_text(name):
                raise self.error(prop_pointer, _SURROGATE_PROBLEM.format(what="property name"))
            properties[name] = self.node(props[name], prop_pointer, side, hint + class_name(name))
        for name in sorted(set(required_raw) - set(properties)):
            properties[name] = {}
        required = [name for name in properties if name in set(required_raw)]
        if not _unicode_text(schema.get("description")):
            raise self.error(
                pointer + "/description", _SURROGATE_PROBLEM.format(what="description")
            )
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if side == "input" and _is_open(schema):
            out["additionalProperties"] = True  # extra keys allowed (their values unchecked)
        if isinstance(schema.get("description"), str):
            out["description"] = schema["description"]
        return out

    def node(self, raw: object, pointer: str, side: Side, hint: str) -> dict[str, Any]:
        """Normalize any subschema (see the module docstring)."""
        if isinstance(raw, bool):
            return {} if raw else {"not": {}}
        if not isinstance(raw, dict):
            raise self.error(pointer, "schema must be an object")
        schema = {
            k: v
            for k, v in raw.items()
            if not (isinstance(k, str) and k.startswith("x-")) and k not in _DROPPED_KEYS
        }
        for key in ("default", "enum", "const", "description"):
            if key in schema and not _unicode_text(schema[key]):
                raise self.error(f"{pointer}/{key}", _SURROGATE_PROBLEM.format(what=key))
        annotations = {k: schema.pop(k) for k in _SIBLINGS_OF_REF if k in schema}
        if "example" in raw and "examples" not in annotations:
            annotations["examples"] = [raw["example"]]
        if "examples" in annotations and not isinstance(annotations["examples"], list):
            annotations.pop("examples")
        if not isinstance(annotations.get("description", ""), str):
            annotations.pop("description")
        if raw.get("nullable") is True:
            inner = self.node(
                {k: v for k, v in raw.items() if k not in ("nullable", *_SIBLINGS_OF_REF)},
                pointer,
                side,
                hint,
            )
            return self._with(_any_of([inner, {"type": "null"}]), annotations)

        if "$ref" in schema:
            ref = schema.pop("$ref")
            target, target_pointer = self.resolve(ref, pointer + "/$ref")
            constraints = {k: v for k, v in schema.items() if k in _CONSTRAINT_KEYS}
            if constraints and not _is_model(target):
                # JSON Schema 2020-12: keywords beside $ref apply too (``allOf [$ref, rest]``).
                merged = self._merge_all_of([{"$ref": ref}], pointer, constraints)
                return self._with(self.node(merged, pointer, side, hint), annotations)
            # Other keys next to a $ref (e.g. ``type: object`` beside a class) are dropped.
            result = self._reference(target, target_pointer, side, hint)
            return self._with(result, annotations)

        if "allOf" in schema:
            parts = schema.pop("allOf")
            if not isinstance(parts, list) or not parts:
                raise self.error(pointer + "/allOf", "allOf must be a non-empty list")
            # Parts holding only annotations (``{"description": ...}``) add no constraint.
            indexed = [
                (i, p) for i, p in enumerate(parts) if not (_annotation_only(p) or p is True)
            ]
            for part in parts:
                if _annotation_only(part):
                    for key in _SIBLINGS_OF_REF:
                        if key in part and key not in annotations:
                            annotations[key] = part[key]
            if len(indexed) == 1 and not schema:
                i, part = indexed[0]
                return self._with(self.node(part, f"{pointer}/allOf/{i}", side, hint), annotations)
            merged = self._merge_all_of(parts, pointer, schema)
            return self._with(self.node(merged, pointer, side, hint), annotations)

        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = schema.pop(key)
                if not isinstance(branches, list) or not branches:
                    raise self.error(f"{pointer}/{key}", f"{key} must be a non-empty list")
                normalized = [
                    self.node(b, f"{pointer}/{key}/{i}", side, _branch_hint(b, hint))
                    for i, b in enumerate(branches)
                ]
                if schema:  # keywords beside anyOf apply to every branch (rare)
                    rest = self.node(schema, pointer, side, hint)
                    normalized = [_and(b, rest) for b in normalized]
                return self._with(_any_of(normalized), annotations)

        types = schema.get("type")
        if isinstance(types, list):
            schema.pop("type")
            listed = [t for t in types if isinstance(t, str)]
            if len(listed) == 1:
                schema["type"] = listed[0]
            elif listed:
                branches = [
                    self.node({**schema, "type": t}, pointer, side, hint)
                    if t != "null"
                    else {"type": "null"}
                    for t in listed
                ]
                return self._with(_any_of(branches), annotations)

        if "const" in schema:
            value = schema.pop("const")
            schema.setdefault("enum", [value])
        if "enum" in schema:
            enum = schema["enum"]
            if not isinstance(enum, list) or not enum:
                raise self.error(pointer + "/enum", "enum must be a non-empty list")
            values = [v for v in enum if v is None or isinstance(v, (str, int, float, bool))]
            if len(values) != len(enum):
                schema.pop("enum")  # object/array values cannot be Literal types
            else:
                schema["enum"] = _dedupe(values)
                if schema.get("type") == "number" and all(
                    isinstance(v, int) or (isinstance(v, float) and v.is_integer())
                    for v in schema["enum"]
                    if v is not None
                ):
                    schema["type"] = "integer"
                    schema["enum"] = [v if v is None else int(v) for v in schema["enum"]]

        exclusive_bounds_as_numbers(schema)
        for key in sorted(_CONSTRAINT_KEYS & set(schema)):
            if not _valid_constraint(key, schema[key]):
                schema.pop(key)  # malformed (``"maxLength": "10"``) or not portable: unchecked
            elif key in _COUNT_KEYS:
                schema[key] = int(schema[key])

        if _is_model(schema) or (schema.get("type") == "object" and "properties" in schema):
            if not schema.get("properties"):
                schema.pop("properties")
                schema.pop("required", None)
            else:
                ref = self.model_ref(side, pointer, raw, hint)
                return self._with({"$ref": ref}, annotations)

        if "properties" in schema:  # "properties" without "type": "object" and empty
            schema.pop("properties")
        schema.pop("required", None)  # only meaningful beside properties (handled by model())

        items = schema.get("items")
        if isinstance(items, list):  # draft-4 tuple form
            schema.pop("items")
            schema.setdefault("prefixItems", items)
        if "prefixItems" in schema:
            prefix = schema["prefixItems"]
            if not isinstance(prefix, list):
                raise self.error(pointer + "/prefixItems", "prefixItems must be a list")
            schema["prefixItems"] = [
                self.node(p, f"{pointer}/prefixItems/{i}", side, hint + "Item")
                for i, p in enumerate(prefix)
            ]
            # ``items: false``: nothing beyond the prefix, at most len(prefix) items (a tuple
            # when minItems says all are there; else a list of the prefix types).
            max_items = schema.get("maxItems")
            if schema.get("items") is False and not (
                isinstance(max_items, int) and max_items <= len(prefix)
            ):
                schema["maxItems"] = len(prefix)
        for key in _SUBSCHEMA_KEYS:
            if key in schema and not isinstance(schema[key], bool):
                child_hint = hint + ("Item" if key == "items" else "Value")
                schema[key] = self.node(schema[key], f"{pointer}/{key}", side, child_hint)
        if schema.get("type") == "array" or "items" in schema or "prefixItems" in schema:
            schema.pop("additionalProperties", None)
        if schema.get("type") == "object" and schema.get("additionalProperties") is True:
            schema.pop("additionalProperties")
        return self._with(schema, annotations)

    def root_object(self, schema: dict[str, Any], pointer: str) -> dict[str, Any] | None:
        """The Input/Output schema as an object schema for a class, or None if not an object.

        ``allOf`` parts are merged; an object without properties gives a class without fields.
        """
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            schema = self._merge_all_of(
                schema["allOf"], pointer, {k: v for k, v in schema.items() if k != "allOf"}
            )
        if _is_model(schema):
            return schema
        types = schema.get("type")
        if (types == "object" or (types is None and not schema.keys() & _NON_OBJECT_KEYS)) and (
            schema.get("properties", {}) == {}
        ):
            return schema
        return None

    def _reference(
        self, target: dict[str, Any], target_pointer: str, side: Side, hint: str
    ) -> dict[str, Any]:
        if _is_model(target) and "allOf" not in target and "anyOf" not in target:
            name = target_pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
            return {"$ref": self.model_ref(side, target_pointer, target, class_name(name))}
        if target_pointer in self._inlining:
            return {}  # a non-object schema that refers to itself: accept anything
        self._inlining.append(target_pointer)
        try:
            name = target_pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
            return self.node(target, target_pointer, side, class_name(name))
        finally:
            self._inlining.pop()

    def _merge_all_of(
        self,
        parts: list[Any],
        pointer: str,
        siblings: dict[str, Any],
        stack: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Merge ``allOf`` parts; ``stack``: the pointers of the parts being merged (a part
        that is merged inside itself is a circular reference)."""
        merged: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        order: list[str] = []
        for i, part in enumerate(parts):
            part_pointer = f"{pointer}/allOf/{i}"
            seen: set[str] = set()
            while isinstance(part, dict) and "$ref" in part:
                ref = part["$ref"]
                if ref in seen or ref in stack:
                    raise self.error(part_pointer + "/$ref", "circular $ref in allOf")
                seen.add(ref)
                part, part_pointer = self.resolve(ref, part_pointer + "/$ref")
            if not isinstance(part, dict):
                raise self.error(part_pointer, "schema must be an object")
            if "allOf" in part:
                if not isinstance(part["allOf"], list):
                    raise self.error(part_pointer + "/allOf", "allOf must be a non-empty list")
                part = self._merge_all_of(
                    part["allOf"],
                    part_pointer,
                    {k: v for k, v in part.items() if k != "allOf"},
                    (*stack, *seen),
                )
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    properties.update(value)
                elif key == "required" and isinstance(value, list):
                    required.extend(r for r in value if r not in required)
                elif key == "x-fal-order-properties" and isinstance(value, list):
                    order.extend(v for v in value if v not in order)
                else:
                    merged[key] = value
        merged.update(siblings)
        if properties:
            merged["properties"] = properties
            merged.setdefault("type", "object")
        if required:
            merged["required"] = required
        if order:
            merged["x-fal-order-properties"] = order
        return merged

    @staticmethod
    def _with(schema: dict[str, Any], annotations: dict[str, Any]) -> dict[str, Any]:
        return {**schema, **annotations} if annotations else schema


# Atomic groups and possessive quantifiers: Python 3.11+ only (generated code supports 3.10).
_COUNT_KEYS = frozenset({"minLength", "maxLength", "minItems", "maxItems"})
_PY311_REGEX = re.compile(r"\(\?>|(?<!\\)[*+?}]\+")


_SURROGATE_PROBLEM = (
    "{what} holds a lone surrogate (e.g. \\ud800): not Unicode text, which JSON bodies, "
    "pydantic models and their JSON schemas cannot carry"
)


def _unicode_text(value: object) -> bool:
    """Whether every string in ``value`` (JSON data) is Unicode text (no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_unicode_text(v) for v in value)
    if isinstance(value, dict):
        return all(_unicode_text(k) and _unicode_text(v) for k, v in value.items())
    return True


def _branch_hint(branch: object, hint: str) -> str:
    """An inline object in a union is named after its ``title`` (``Circle``), else the field."""
    if (
        isinstance(branch, dict)
        and "$ref" not in branch
        and isinstance(branch.get("title"), str)
        and isinstance(branch.get("properties"), dict)
        and branch["properties"]
    ):
        return class_name(branch["title"])
    return hint


def _annotation_only(schema: object) -> bool:
    """A schema object with documentation keys only (``{"description": "..."}``)."""
    return (
        isinstance(schema, dict)
        and all(
            (isinstance(k, str) and k.startswith("x-"))
            or k in _DROPPED_KEYS
            or k in _SIBLINGS_OF_REF
            for k in schema
        )
        and not any(k in schema for k in ("not", "if", "then", "else"))
    )


def _compiles(pattern: object) -> bool:
    if not isinstance(pattern, str) or _PY311_REGEX.search(pattern):
        return False
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _valid_constraint(key: str, value: object) -> bool:
    """Whether a constraint keyword has a value the models can use."""
    if key == "pattern":
        return _compiles(value)
    if key == "uniqueItems":
        return isinstance(value, bool)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if key in _COUNT_KEYS:  # pydantic-core holds counts in 64-bit integers
        return float(value).is_integer() and 0 <= value < 2**63
    if key == "multipleOf":
        return value > 0 and value != float("inf")
    return value == value and abs(value) != float("inf")  # not NaN or infinite


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = json.dumps(value, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


_CONSTRAINT_KEYS = frozenset(CONSTRAINT_KEYS)


def _any_of(branches: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of normalized branches, shaped so each branch maps to a plain Python type.

    ``anyOf [X, null]`` with a constrained scalar or array ``X`` becomes ``X`` with
    ``type: [t, "null"]`` (so the field is ``Annotated[t | None, Field(...)]``, not a wrapper
    class). Constraints inside unions of several types cannot be expressed that way and are
    dropped from the models (the server still checks them).
    """
    result = _plain_any_of(branches)
    if "anyOf" not in result:
        return result
    non_null = [b for b in result["anyOf"] if b.get("type") != "null"]
    if not any(_CONSTRAINT_KEYS & set(b) for b in non_null):
        return result
    single = non_null[0] if len(non_null) == 1 else {}
    if len(non_null) < len(result["anyOf"]) and isinstance(single.get("type"), str):
        return {**single, "type": [single["type"], "null"]}
    return {
        **result,
        "anyOf": [
            {k: v for k, v in b.items() if k not in _CONSTRAINT_KEYS} for b in result["anyOf"]
        ],
    }


def _plain_any_of(branches: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for branch in branches:
        if set(branch) == {"anyOf"}:
            flat.extend(branch["anyOf"])
        else:
            flat.append(branch)
    if any(b == {} for b in flat):
        return {}
    unique: list[dict[str, Any]] = _dedupe(flat)
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def _and(branch: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in branch or branch.get("type") == "null":
        return branch
    return {**rest, **branch}


def _substitute(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(_PLACEHOLDER):
                out[k] = "#/$defs/" + names[v]
            else:
                out[k] = _substitute(v, names)
        return out
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


def _root_stem(pointer: str, suffix: str, endpoint_id: str) -> str:
    """``FastSdxl`` from ``#/components/schemas/FastSdxlInput``, else from the endpoint id."""
    token = pointer.rsplit("/", 1)[-1]
    if pointer.startswith("#/components/schemas/") and token.endswith(suffix):
        stem = class_name(token[: -len(suffix)], reserved=())
        if stem != "Model" and token[: -len(suffix)].isidentifier():
            return stem
    return endpoint_stem(endpoint_id)


def normalize_endpoint(doc: EndpointDocument) -> NormalizedEndpoint:
    """Build the generator's schema for ``doc`` (raises DocumentError naming file and pointer)."""
    try:
        return _normalize_endpoint(doc)
    except RecursionError:
        raise DocumentError(
            doc.source,
            doc.openapi_pointer + doc.input_pointer[1:],
            "schemas nested too deeply (or circular references that never reach an object)",
        ) from None


def _normalize_endpoint(doc: EndpointDocument) -> NormalizedEndpoint:
    normalizer = _Normalizer(doc)
    input_key: tuple[Side, str] = ("input", doc.input_pointer)
    output_key: tuple[Side, str] = ("output", doc.output_pointer)
    input_schema = normalizer.root_object(doc.input_schema, doc.input_pointer)
    if input_schema is None:
        raise normalizer.error(doc.input_pointer, "the Input schema must be an object schema")
    normalizer.model_ref("input", doc.input_pointer, input_schema, "")
    output_schema = normalizer.root_object(doc.output_schema, doc.output_pointer)
    if output_schema is not None:
        normalizer.model_ref("output", doc.output_pointer, output_schema, "")
    else:
        # An Output that is not an object (a list, a string, a union...) becomes a RootModel
        # class over its type (``.root`` holds the value).
        normalizer.defs[output_key] = _DefInfo(
            schema=normalizer.node(doc.output_schema, doc.output_pointer, "output", "Output")
        )
    normalizer.run_pending()

    input_stem = _root_stem(doc.input_pointer, "Input", doc.endpoint_id)
    output_stem = _root_stem(doc.output_pointer, "Output", doc.endpoint_id)
    taken = set(RESERVED_CLASS_NAMES)
    names: dict[tuple[Side, str], str] = {
        input_key: unique_name(input_stem + "Input", taken),
        output_key: unique_name(output_stem + "Output", taken),
    }
    both = {p for s, p in normalizer.defs if s == "input"} & {
        p for s, p in normalizer.defs if s == "output"
    }
    rest = sorted(
        (key for key in normalizer.defs if key not in names),
        key=lambda k: (k[0] != "input", normalizer.defs[k].hint, k[1]),
    )
    for key in rest:
        side, pointer = key
        hint = normalizer.defs[key].hint or "Model"
        if side == "output" and pointer in both:
            hint += "Output"
        names[key] = unique_name(hint, taken)

    placeholder_names = {f"{_PLACEHOLDER}{s}{_PLACEHOLDER}{p}": n for (s, p), n in names.items()}
    defs: dict[str, Any] = {}
    ordered_keys = [
        input_key,
        output_key,
        *sorted((k for k in names if k not in (input_key, output_key)), key=lambda k: names[k]),
    ]
    output_root = (
        None if output_schema is not None else unique_name(names[output_key] + "Value", taken)
    )
    for key in ordered_keys[1:]:
        name = output_root if key == output_key and output_root else names[key]
        defs[name] = _substitute(normalizer.defs[key].schema, placeholder_names)
    root = _substitute(normalizer.defs[input_key].schema, placeholder_names)
    input_properties = copy.deepcopy(root["properties"])
    input_required = tuple(root.get("required", ()))
    root = dict(root)
    if defs:
        root["$defs"] = defs
    schema = _canonical_schema(root)
    return NormalizedEndpoint(
        schema=schema,
        input_class=names[input_key],
        output_class=names[output_key],
        input_classes=tuple(sorted(n for (s, _), n in names.items() if s == "input")),
        output_classes=tuple(sorted(n for (s, _), n in names.items() if s == "output")),
        input_properties={k: _canonical_schema(v) for k, v in input_properties.items()},
        input_required=input_required,
        output_root=output_root,
        source=doc.source,
    )


def _canonical_schema(value: Any) -> Any:
    """Sort keys of every schema object, keeping the order of property and class maps."""
    if isinstance(value, list):
        return [_canonical_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key in sorted(value):
        item = value[key]
        if key in ("properties", "$defs") and isinstance(item, dict):
            out[key] = {k: _canonical_schema(v) for k, v in item.items()}
        elif key in ("default", "examples", "enum"):
            out[key] = _sorted_data(item)
        else:
            out[key] = _canonical_schema(item)
    return out


def _sorted_data(value: Any) -> Any:
    """JSON data (defaults, examples) with object keys sorted."""
    if isinstance(value, dict):
        return {k: _sorted_data(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_data(v) for v in value]
    return value

"""A comparison view of a fal schema: which values it accepts, grouped by JSON type.

``fal-typed diff`` compares what two versions of a schema *accept*, not how they are spelled, so
the spellings fal uses for the same thing collapse here:

- ``$ref`` chains are followed (``$ref`` siblings other than ``default`` are ignored);
  ``allOf`` parts are merged (properties and ``required`` united, later keywords win);
- ``anyOf``/``oneOf`` branches, ``type`` lists, ``nullable: true`` and ``null`` in an ``enum``
  are unions: each JSON type gets one :class:`Branch`, ``null`` becomes :attr:`Shape.nullable`;
- ``const`` is a one-value ``enum``; an ``enum`` without ``type`` gets the types of its values;
- an open enum (``anyOf [{"enum": [...]}, {"type": "string"}]``) is one string branch whose
  values are listed but not :attr:`Branch.closed`;
- OpenAPI 3.0 boolean ``exclusiveMinimum``/``exclusiveMaximum`` become numeric bounds.

Subschemas (properties, items) stay raw and are turned into shapes on demand, so recursive
schemas are fine. The generator's own normalization (``_schema.py``) is not reused on purpose:
it drops what Python cannot express (constraints inside multi-type unions, string formats,
patterns ``re`` cannot compile) and a diff must still see those change.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fal_typed._document import DocumentError, exclusive_bounds_as_numbers, resolve_pointer

__all__ = ["MISSING", "Branch", "Shape", "bound", "canonical", "shape_of"]

MISSING: Any = object()
"""Marks an absent ``default`` (None is a valid default: JSON ``null``)."""

CONSTRAINT_KEYS = (
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
)
_MAX_DEPTH = 64  # $ref hops / allOf nesting followed for one schema before giving up


@dataclass
class Branch:
    """What a schema accepts for one JSON type (``string``, ``integer``, ``object``...)."""

    type: str
    values: tuple[Any, ...] | None = None
    """Enum values listed for this type, in order (None: no enum)."""
    closed: bool = False
    """True when only :attr:`values` are accepted; False for open enums and plain types."""
    constraints: dict[str, Any] = field(default_factory=dict)
    """``minimum``, ``maxLength``, ``pattern``... as written (boolean exclusives converted)."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Property name -> raw subschema (objects)."""
    required: frozenset[str] = frozenset()
    items: Any = None
    """Raw subschema of array items (None: unspecified)."""
    additional: Any = None
    """Raw ``additionalProperties`` subschema when it is a schema object (maps)."""
    prefix: tuple[Any, ...] | None = None
    """Raw ``prefixItems`` subschemas, one per position (tuples; None: not a tuple)."""
    variants: tuple[Branch, ...] = ()
    """The object branches of a union merged into this one, in order (empty: not merged)."""


@dataclass
class Shape:
    """Everything one schema accepts."""

    any: bool = False
    """Accepts any JSON value (``{}``, ``true``, a schema with no type information)."""
    branches: dict[str, Branch] = field(default_factory=dict)
    """JSON type -> branch; ``null`` is never a key (see :attr:`nullable`)."""
    nullable: bool = False
    default: Any = MISSING
    """The outermost ``default`` found (:data:`MISSING` if none)."""
    refs: tuple[str, ...] = ()
    """The ``$ref`` pointers followed to build it (recursion detection while comparing)."""

    def types(self) -> list[str]:
        """Accepted JSON types, sorted, ``null`` included; ``["any"]`` for :attr:`any`."""
        if self.any:
            return ["any"]
        return sorted([*self.branches, *(["null"] if self.nullable else [])])


def canonical(value: Any) -> str:
    """JSON text that tells ``1``, ``1.0`` and ``true`` apart (Python's ``==`` does not)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def value_key(value: Any) -> str:
    """Like :func:`canonical`, but ``1`` and ``1.0`` are the same value (``true`` is not): a
    document re-serialized by another tool may spell whole numbers either way."""
    return canonical(_whole_numbers_as_ints(value))


def _whole_numbers_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers_as_ints(v) for k, v in value.items()}
    return value


def bound(constraints: Mapping[str, Any], side: str) -> tuple[float, bool, str] | None:
    """The lower (``side="min"``) or upper (``"max"``) numeric bound: (value, exclusive, key)."""
    inclusive_key, exclusive_key = (
        ("minimum", "exclusiveMinimum") if side == "min" else ("maximum", "exclusiveMaximum")
    )
    found: list[tuple[float, bool, str]] = []
    for key, exclusive in ((inclusive_key, False), (exclusive_key, True)):
        value = constraints.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append((value, exclusive, key))
    if not found:
        return None
    # Both given: the stricter one is the bound.
    if side == "min":
        return max(found, key=lambda b: (b[0], b[1]))
    return min(found, key=lambda b: (b[0], not b[1]))


def _value_types(value: Any) -> list[str]:
    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return ["boolean"]
    if isinstance(value, int):
        return ["integer", "number"]
    if isinstance(value, float):
        return ["integer", "number"] if value.is_integer() else ["number"]
    if isinstance(value, str):
        return ["string"]
    return ["array"] if isinstance(value, list) else ["object"]


# Keywords that give a schema content of its own (beside an ``allOf``).
_STRUCTURE = frozenset(
    {"properties", "required", "additionalProperties", "items", "prefixItems", "anyOf", "oneOf"}
)


class _Builder:
    def __init__(self, openapi: Mapping[str, Any], source: str) -> None:
        self.openapi = openapi
        self.source = source
        self.shape = Shape()
        self.refs: list[str] = []

    def add(self, raw: Any, depth: int = 0) -> None:
        shape = self.shape
        if raw is True or raw == {}:
            shape.any = True
            return
        if not isinstance(raw, Mapping) or depth > _MAX_DEPTH:
            if not isinstance(raw, bool):  # false accepts nothing: add no branch
                shape.any = True
            return
        if "default" in raw and shape.default is MISSING:
            shape.default = raw["default"]
        if raw.get("nullable") is True:
            shape.nullable = True
        if "$ref" in raw:
            self.add(self._resolve(raw["$ref"]), depth + 1)
            return
        if isinstance(raw.get("allOf"), list):
            self.add(self._merge_all_of(raw, depth), depth + 1)
            return
        unions = [raw[k] for k in ("anyOf", "oneOf") if isinstance(raw.get(k), list)]
        if unions:
            for branches in unions:
                for branch in branches:
                    self.add(branch, depth + 1)
            return
        self._add_typed(raw)

    def _resolve(self, ref: Any, *, identity: bool = True) -> Any:
        """The schema ``ref`` points to. ``identity``: the schema being built *is* that one
        (recorded in :attr:`Shape.refs`, which the diff uses to stop at recursion), not one
        part of several merged by ``allOf``."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return True  # remote references are not followed: accept anything
        if identity:
            self.refs.append(ref)
        try:
            return resolve_pointer(self.openapi, ref, self.source)
        except DocumentError:
            return True

    def _merge_all_of(self, raw: Mapping[str, Any], depth: int) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        parts = [*raw["allOf"], {k: v for k, v in raw.items() if k != "allOf"}]
        # ``allOf: [$ref X]`` plus annotations (a description) is X itself; with properties of
        # its own beside it, it is a new schema that merges X in.
        single = len(raw["allOf"]) == 1 and not raw.keys() & _STRUCTURE
        for part in parts:
            hops = 0
            while isinstance(part, Mapping) and "$ref" in part and hops <= _MAX_DEPTH:
                siblings = {k: v for k, v in part.items() if k != "$ref"}
                part = self._resolve(part["$ref"], identity=single)
                if siblings and isinstance(part, Mapping):
                    part = {**part, **siblings}
                hops += 1
            if isinstance(part, Mapping) and isinstance(part.get("allOf"), list):
                part = self._merge_all_of(part, depth + 1) if depth < _MAX_DEPTH else {}
            if not isinstance(part, Mapping):
                continue
            for key, value in part.items():
                if key == "properties" and isinstance(value, Mapping):
                    properties.update(value)
                elif key == "required" and isinstance(value, list):
                    required.extend(r for r in value if r not in required)
                else:
                    merged[key] = value
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        return merged

    def _add_typed(self, raw: Mapping[str, Any]) -> None:
        enum: list[Any] | None = None
        if "const" in raw:
            enum = [raw["const"]]
        elif isinstance(raw.get("enum"), list):
            enum = list(raw["enum"])
        declared = raw.get("type")
        if isinstance(declared, str):
            types = [declared]
        elif isinstance(declared, list):
            types = [t for t in declared if isinstance(t, str)]
        elif enum is not None:
            types = sorted({t for v in enum for t in _value_types(v)} - {"integer"})
            # integral numbers in an untyped enum count as numbers; a typed integer enum stays.
        elif "properties" in raw:
            types = ["object"]
        elif "items" in raw or "prefixItems" in raw:
            types = ["array"]
        else:
            self.shape.any = True
            return
        if enum is not None and None in enum:
            self.shape.nullable = True
        for kind in types:
            if kind == "null":
                self.shape.nullable = True
                continue
            branch = Branch(type=kind)
            if enum is not None:
                branch.values = tuple(v for v in enum if kind in _value_types(v))
                branch.closed = True
            branch.constraints = _constraints(raw)
            if kind == "object":
                props = raw.get("properties")
                branch.properties = dict(props) if isinstance(props, Mapping) else {}
                req = raw.get("required")
                branch.required = frozenset(
                    r for r in (req if isinstance(req, list) else []) if isinstance(r, str)
                )
                extra = raw.get("additionalProperties")
                branch.additional = extra if isinstance(extra, Mapping) else None
            if kind == "array":
                items = raw.get("items")
                branch.items = items if isinstance(items, Mapping) else None
                prefix = raw.get("prefixItems")
                branch.prefix = tuple(prefix) if isinstance(prefix, list) else None
            self._merge_branch(branch)

    def _merge_branch(self, new: Branch) -> None:
        old = self.shape.branches.get(new.type)
        if old is None:
            self.shape.branches[new.type] = new
            return
        # Two branches of one type (open enums, several object variants): accept either.
        if new.type == "object":
            old.variants = (*(old.variants or (dataclasses.replace(old),)), new)
        if old.values is None and new.values is None:
            values = None
        else:
            listed = [*(old.values or ()), *(new.values or ())]
            values = tuple({canonical(v): v for v in listed}.values())
        old.values = values
        old.closed = old.closed and new.closed
        old.constraints = {  # only what both branches require still holds for the union
            k: v
            for k, v in old.constraints.items()
            if k in new.constraints and canonical(new.constraints[k]) == canonical(v)
        }
        old.properties = {**new.properties, **old.properties}
        old.required = old.required & new.required
        old.items = old.items if old.items is not None else new.items
        old.prefix = old.prefix if old.prefix is not None else new.prefix
        old.additional = old.additional if old.additional is not None else new.additional


def _constraints(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: raw[k] for k in CONSTRAINT_KEYS if k in raw}
    exclusive_bounds_as_numbers(out)
    if out.get("uniqueItems") is False:
        del out["uniqueItems"]
    return out


def shape_of(schema: Any, openapi: Mapping[str, Any], source: str = "<document>") -> Shape:
    """The :class:`Shape` of a raw ``schema`` whose ``$ref`` pointers resolve in ``openapi``."""
    builder = _Builder(openapi, source)
    builder.add(schema)
    shape = builder.shape
    shape.refs = tuple(builder.refs)
    if shape.any:
        shape.branches.clear()
        shape.nullable = False
    return shape

"""Deterministic JSON values from a fal OpenAPI schema (independent of the generator's code).

``value(schema)`` prefers the schema's own ``examples``, then its ``default``, then builds a value
from ``type``/``enum``/``const``/constraints. Objects get their required properties, or with
``full=True`` every property.
"""

from __future__ import annotations

from typing import Any

from fal_typed._document import resolve_pointer


class Synth:
    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi

    def resolve(self, schema: Any) -> dict[str, Any]:
        while isinstance(schema, dict) and "$ref" in schema:
            target = resolve_pointer(self.openapi, schema["$ref"])
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if isinstance(schema, dict) and len(schema.get("allOf", [])) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.resolve({**self.resolve(schema["allOf"][0]), **rest})
        return schema if isinstance(schema, dict) else {}

    def value(self, schema: Any, *, full: bool = False, use_examples: bool = True) -> Any:
        schema = self.resolve(schema)
        if use_examples and schema.get("examples"):
            return schema["examples"][0]
        if "default" in schema and schema["default"] is not None and not full:
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return next(v for v in schema["enum"] if v is not None)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [self.resolve(b) for b in schema[key]]
                chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
                return self.value(chosen, full=full, use_examples=use_examples)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.object(schema, full=full, use_examples=use_examples)
        if kind == "array":
            if "prefixItems" in schema:
                return [self.value(p) for p in schema["prefixItems"]]
            count = max(1, schema.get("minItems", 1))
            return [self.value(schema.get("items", {}), full=full) for _ in range(count)]
        if kind == "string":
            return "x" * max(3, schema.get("minLength", 3))
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            if "exclusiveMinimum" in schema and "minimum" not in schema:
                low += 1
            high = schema.get("maximum", low + 10)
            result = min(max(low, 1), high)
            return int(result) if kind == "integer" else float(result)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return "any"

    def object(self, schema: dict[str, Any], *, full: bool, use_examples: bool) -> dict[str, Any]:
        properties = schema.get("properties", {})
        names = list(properties) if full else list(schema.get("required", []))
        return {
            name: self.value(properties.get(name, {}), full=full, use_examples=use_examples)
            for name in names
        }

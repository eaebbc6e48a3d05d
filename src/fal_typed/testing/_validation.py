"""JSON Schema validation of endpoint documents, and fal/pydantic-style 422 error lists.

This is the only module of :mod:`fal_typed.testing` that imports ``jsonschema`` (the
``emulator`` extra); it is imported when an emulator is constructed, not at package import.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from fal_typed._document import exclusive_bounds_as_numbers

try:
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        f"fal_typed.testing needs {exc.name!r}: install it with: pip install 'fal-typed[emulator]'",
        name=exc.name,
    ) from exc

__all__ = ["DocumentSchemas", "for_validation", "validation_errors"]

_BASE_URI = "urn:fal-typed:document"


class DocumentSchemas:
    """Validators for any schema of one OpenAPI document, addressed by JSON pointer.

    The whole OpenAPI document is registered as a 2020-12 resource, so ``$ref`` pointers such as
    ``#/components/schemas/Image`` resolve wherever they appear. Validators are built on first
    use and cached; instances are safe to share between threads.
    """

    def __init__(self, openapi: Mapping[str, Any], name: str) -> None:
        self.openapi: dict[str, Any] = for_validation(openapi)
        """The document as validated (see :func:`for_validation`); pointers address it."""
        self._uri = f"{_BASE_URI}:{quote(name, safe='')}"
        resource: Resource[Any] = DRAFT202012.create_resource(self.openapi)
        self._registry: Registry[Any] = Registry().with_resource(uri=self._uri, resource=resource)
        self._validators: dict[str, Validator] = {}
        self._lock = threading.Lock()

    def validator(self, pointer: str) -> Validator:
        """The validator of the schema at a local pointer such as ``#/components/schemas/X``."""
        with self._lock:
            found = self._validators.get(pointer)
            if found is None:
                ref = self._uri + quote(pointer, safe="#/~:@!$&'()*+,;=-._")
                found = _Validator({"$ref": ref}, registry=self._registry)
                self._validators[pointer] = found
            return found

    def is_valid(self, pointer: str, instance: Any) -> bool:
        return bool(self.validator(pointer).is_valid(instance))

    def errors(self, pointer: str, instance: Any) -> list[dict[str, Any]]:
        """fal's 422 ``detail`` list for ``instance`` (empty when it is valid)."""
        return validation_errors(self.validator(pointer).iter_errors(instance))


def is_multiple(value: float, step: float) -> bool:
    """``multipleOf`` as pydantic (fal's servers) checks it: ``0.3`` is a multiple of ``0.1``.

    jsonschema's own check (``value / step`` is a whole float) says it is not, and would refuse
    inputs fal accepts.
    """
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    quotient = value / step
    if not math.isfinite(quotient):
        return False
    return abs(quotient - round(quotient)) <= 1e-9 * max(1.0, abs(quotient))


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number") or not validator.is_type(step, "number"):
        return
    if step > 0 and not is_multiple(instance, step):
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


_Validator = validators.extend(  # type: ignore[no-untyped-call]  # untyped in types-jsonschema
    Draft202012Validator, {"multipleOf": _multiple_of}
)


# Values, not schemas: never rewritten.
_DATA_KEYS = frozenset({"enum", "const", "default", "examples", "example"})
# Maps of names to schemas: the names are not keywords.
_MAP_KEYS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "schemas"}
)


def for_validation(node: Any) -> Any:
    """A copy of an OpenAPI document whose schemas say under JSON Schema 2020-12 what they mean
    in fal's documents, as the generated models read them (``fal-typed generate`` converts the
    same constructs):

    - OpenAPI 3.0's ``nullable: true`` becomes ``null`` among the types (or an ``anyOf`` with
      ``{"type": "null"}``), and its boolean ``exclusiveMinimum``/``exclusiveMaximum`` the
      2020-12 numbers (``true`` would otherwise mean "greater than 1");
    - a ``pattern`` Python's ``re`` cannot compile (``\\p{L}``, valid in pydantic's Rust regex
      engine, in which fal's apps declare them) is not checked, instead of failing every call;
    - draft-4 tuple ``items: [...]`` becomes ``prefixItems`` (``additionalItems`` -> ``items``).
    """
    if isinstance(node, list):
        return [for_validation(v) for v in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA_KEYS:
            out[key] = value
        elif key in _MAP_KEYS and isinstance(value, Mapping):
            out[key] = {k: for_validation(v) for k, v in value.items()}
        else:
            out[key] = for_validation(value)
    exclusive_bounds_as_numbers(out)
    pattern = out.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error:
            del out["pattern"]
    if isinstance(out.get("items"), list):
        out["prefixItems"] = out.pop("items")
        if "additionalItems" in out:
            out["items"] = out.pop("additionalItems")
    if out.get("nullable") is True:
        del out["nullable"]
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = [*kind, "null"] if "null" not in kind else kind
        else:
            return {"anyOf": [out, {"type": "null"}]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    elif out.get("nullable") is False:
        del out["nullable"]
    return out


# Pydantic's error types (which fal's 422 answers carry) for JSON Schema type names.
_TYPE_ERRORS: dict[str, tuple[str, str]] = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("model_attributes_type", "Input should be a valid dictionary or object"),
    "null": ("none_required", "Input should be None"),
}


def _repr(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _expected(options: Iterable[Any]) -> str:
    items = [_repr(o) for o in options]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _convert(error: ValidationError) -> dict[str, Any]:
    """One jsonschema error as a pydantic-style ``{"loc", "msg", "type", ...}`` item."""
    loc: list[Any] = ["body", *error.absolute_path]
    keyword = str(error.validator)
    value: Any = error.validator_value
    instance: Any = error.instance
    ctx: dict[str, Any] | None = None
    include_input = True
    if keyword == "required":
        # jsonschema reports the parent object; pydantic reports the missing field.
        missing = next((name for name in value if name not in instance), None)
        if missing is not None:
            loc.append(missing)
        kind, msg, include_input = "missing", "Field required", False
    elif keyword == "maximum":
        kind, msg, ctx = (
            "less_than_equal",
            f"Input should be less than or equal to {value}",
            {"le": value},
        )
    elif keyword == "minimum":
        kind, msg, ctx = (
            "greater_than_equal",
            f"Input should be greater than or equal to {value}",
            {"ge": value},
        )
    elif keyword == "exclusiveMaximum":
        kind, msg, ctx = "less_than", f"Input should be less than {value}", {"lt": value}
    elif keyword == "exclusiveMinimum":
        kind, msg, ctx = "greater_than", f"Input should be greater than {value}", {"gt": value}
    elif keyword == "multipleOf":
        kind, msg, ctx = (
            "multiple_of",
            f"Input should be a multiple of {value}",
            {"multiple_of": value},
        )
    elif keyword == "enum":
        expected = _expected(value)
        kind, msg, ctx = "enum", f"Input should be {expected}", {"expected": expected}
    elif keyword == "const":
        expected = _repr(value)
        kind, msg, ctx = "literal_error", f"Input should be {expected}", {"expected": expected}
    elif keyword == "type":
        names = [value] if isinstance(value, str) else list(value)
        kind, msg = _TYPE_ERRORS.get(names[0], ("type_error", error.message))
    elif keyword == "minLength":
        kind, msg, ctx = (
            "string_too_short",
            f"String should have at least {value} characters",
            {"min_length": value},
        )
    elif keyword == "maxLength":
        kind, msg, ctx = (
            "string_too_long",
            f"String should have at most {value} characters",
            {"max_length": value},
        )
    elif keyword == "pattern":
        kind, msg, ctx = (
            "string_pattern_mismatch",
            f"String should match pattern '{value}'",
            {"pattern": value},
        )
    elif keyword in ("minItems", "maxItems"):
        size = len(instance) if isinstance(instance, list) else 0
        word, kind = ("at least", "too_short") if keyword == "minItems" else ("at most", "too_long")
        msg = f"List should have {word} {value} item{'s' if value != 1 else ''}, not {size}"
        bound = "min_length" if keyword == "minItems" else "max_length"
        ctx = {"field_type": "List", bound: value, "actual_length": size}
    elif keyword in ("additionalProperties", "unevaluatedProperties"):
        kind, msg = "extra_forbidden", "Extra inputs are not permitted"
    else:
        kind, msg = keyword, error.message
    item: dict[str, Any] = {"loc": loc, "msg": msg, "type": kind}
    if include_input:
        item["input"] = instance
    if ctx is not None:
        item["ctx"] = ctx
    return item


def _mismatched(errors: list[ValidationError], depth: int) -> bool:
    """Whether a union branch failed on the value's type itself (not something inside it)."""
    return any(e.validator == "type" and len(e.absolute_path) == depth for e in errors)


def _leaves(error: ValidationError) -> ValidationError:
    """For ``anyOf``/``oneOf`` failures, the most relevant branch error (as pydantic would say).

    A branch whose type matches the value (e.g. the enum branch for a string) beats the
    branches that have another type; within it, the deepest error wins.
    """
    while error.validator in ("anyOf", "oneOf", "allOf") and error.context:
        depth = len(error.absolute_path)
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
            branches.setdefault(branch, []).append(sub)

        candidates = [subs for subs in branches.values() if not _mismatched(subs, depth)]
        chosen = candidates[0] if candidates else next(iter(branches.values()))
        error = max(chosen, key=lambda s: len(s.absolute_path))
    return error


def validation_errors(errors: Iterable[ValidationError]) -> list[dict[str, Any]]:
    """Convert jsonschema errors to fal's 422 ``detail`` items, ordered by location."""
    items = [_convert(_leaves(e)) for e in errors]
    items.sort(key=lambda item: json.dumps(item["loc"], default=str))
    return items

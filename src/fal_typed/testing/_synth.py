"""Deterministic example values for JSON Schemas of fal's OpenAPI documents.

The synthesizer walks a schema *by JSON pointer* inside its OpenAPI document, so every
sub-schema it visits can be validated exactly (``$ref`` included) through the ``is_valid``
callback. Candidate values, in order of preference:

0. for object fields: the input's value for a same-named top-level field (``prompt``,
   ``seed``), the requested ``image_size`` for ``width``/``height``, and a ``content_type``
   matching the synthesized file URL;
1. ``examples`` (or OpenAPI's ``example``) of the schema, when valid there;
2. ``const``, then ``default`` (when valid), then ``enum``;
3. a value built from the schema: objects with their required and optional properties, strings
   honouring ``format``, ``pattern`` (when one of a few common shapes matches) and a few fal
   field names (``url``, ``file_name``, ...), numbers within their bounds and ``multipleOf``,
   arrays of at least ``minItems`` items (``num_images`` for ``images``; items after the
   first skip ``examples``, so several images differ), the first non-null ``anyOf`` branch,
   ``allOf`` object parts merged. Recursive schemas stop at a depth limit (optional fields and
   items are dropped).

All randomness comes from a ``random.Random`` seeded by the caller, so the same input gives
the same output.
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from fal_typed._document import pointer_escape, resolve_pointer

__all__ = ["Synthesizer"]

_MAX_DEPTH = 8
_MISSING = object()

# fal's preset image sizes (``image_size`` enum values).
_PRESET_SIZES: dict[str, tuple[int, int]] = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}

_EXTENSIONS = {
    "video": ("mp4", "video/mp4"),
    "audio": ("mp3", "audio/mpeg"),
    "model_mesh": ("glb", "model/gltf-binary"),
    "model_meshes": ("glb", "model/gltf-binary"),
}
_IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

_WORDS = ("emulated", "fal", "typed", "output", "sample", "value", "lorem", "ipsum")


class Synthesizer:
    """Builds values for the schemas of one OpenAPI document.

    Args:
        openapi: the whole document (``$ref`` targets are looked up in it).
        is_valid: ``is_valid(pointer, value)`` validates a value against the schema at a
            local JSON pointer; used to reject invalid ``examples``/``default`` values.
        rng: the only source of randomness.
        hints: top-level input values used for matching output fields (``prompt``, ``seed``,
            ``num_images``, ``image_size``...), or an empty mapping.
        optional: whether to include optional object properties.
    """

    def __init__(
        self,
        openapi: Mapping[str, Any],
        is_valid: Callable[[str, Any], bool],
        rng: random.Random,
        *,
        hints: Mapping[str, Any] | None = None,
        optional: bool = True,
    ) -> None:
        self._openapi = openapi
        self._is_valid = is_valid
        self._rng = rng
        self._hints = dict(hints or {})
        self._optional = optional
        self._file_kind: str | None = None
        self._skip_examples = 0
        fmt = self._hints.get("output_format", self._hints.get("format"))
        fmt = fmt if isinstance(fmt, str) and fmt in _IMAGE_FORMATS else "jpeg"
        self._default_file = (fmt, _IMAGE_FORMATS[fmt])
        size = self._hints.get("image_size")
        self._size: tuple[int, int] | None = None
        if isinstance(size, str) and size in _PRESET_SIZES:
            self._size = _PRESET_SIZES[size]
        elif isinstance(size, Mapping):
            width, height = size.get("width"), size.get("height")
            if isinstance(width, int) and isinstance(height, int):
                self._size = (width, height)

    # -- entry point ---------------------------------------------------------------------

    def value(self, pointer: str) -> Any:
        """A value for the schema at ``pointer`` (e.g. the Output schema's pointer)."""
        return self._gen(pointer, depth=0, name=None, echo=True)

    # -- helpers -------------------------------------------------------------------------

    def _schema(self, pointer: str) -> Any:
        return resolve_pointer(self._openapi, pointer)

    def _example(self, schema: Mapping[str, Any], pointer: str) -> Any:
        if self._skip_examples:
            return _MISSING
        candidates: list[Any] = []
        examples = schema.get("examples")
        if isinstance(examples, list):
            candidates.extend(examples)
        if "example" in schema:
            candidates.append(schema["example"])
        for candidate in candidates:
            if self._is_valid(pointer, candidate):
                return copy.deepcopy(candidate)
        return _MISSING

    def _token(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(self._rng.choice(alphabet) for _ in range(21))

    # -- the walk ------------------------------------------------------------------------

    def _gen(self, pointer: str, *, depth: int, name: str | None, echo: bool = False) -> Any:
        schema = self._schema(pointer)
        if schema is True or schema == {}:
            return self._untyped(name, depth)
        if not isinstance(schema, Mapping):
            return None

        example = self._example(schema, pointer)
        if example is not _MISSING:
            return example

        if "$ref" in schema and isinstance(schema["$ref"], str):
            siblings = {k: v for k, v in schema.items() if k not in ("$ref",)}
            target = schema["$ref"]
            value = self._gen(target, depth=depth + 1, name=name)
            if not siblings or self._is_valid(pointer, value):
                return value
            # Sibling keywords constrain further; fall through and build from them, with the
            # target's own keywords too when it is a plain scalar schema (its bounds, type).
            resolved = self._schema(target)
            if isinstance(resolved, Mapping) and not any(k in resolved for k in _COMPOUND):
                schema = {**resolved, **siblings}

        if "const" in schema:
            return copy.deepcopy(schema["const"])
        default = schema.get("default")
        if default is not None and self._is_valid(pointer, default):
            return copy.deepcopy(default)

        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return self._union(pointer, key, branches, depth=depth, name=name)
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            # Values for the first branch usually satisfy the rest in fal's documents.
            parts = []
            for index in range(len(all_of)):
                value = self._gen(f"{pointer}/allOf/{index}", depth=depth + 1, name=name)
                if self._is_valid(pointer, value):
                    return value
                parts.append(value)
            # Object parts (a base class plus extra properties): their keys together.
            if all(isinstance(part, dict) for part in parts):
                merged: dict[str, Any] = {}
                for part in parts:
                    merged.update({k: v for k, v in part.items() if k not in merged})
                if self._is_valid(pointer, merged):
                    return merged

        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            non_null = [e for e in enum if e is not None] or enum
            return copy.deepcopy(non_null[self._rng.randrange(len(non_null))])

        kind = _schema_type(schema)
        if kind == "object":
            return self._object(pointer, schema, depth=depth, echo=echo)
        if kind == "array":
            return self._array(pointer, schema, depth=depth, name=name)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return self._integer(schema, name)
        if kind == "number":
            return self._number(schema, name)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._untyped(name, depth)

    def _untyped(self, name: str | None, depth: int) -> Any:
        """A value for a schema that allows anything: a string for a field, an object for a
        whole Input or Output (fal's answers are objects, and so are the generated models)."""
        if name:
            return self._named_string(name)
        return {} if depth == 0 else None

    def _union(
        self, pointer: str, key: str, branches: list[Any], *, depth: int, name: str | None
    ) -> Any:
        def is_null(branch: Any) -> bool:
            return isinstance(branch, Mapping) and branch.get("type") == "null"

        order = [i for i, b in enumerate(branches) if not is_null(b)]
        order += [i for i, b in enumerate(branches) if is_null(b)]
        if depth >= _MAX_DEPTH:
            order = [i for i in order if is_null(branches[i])] + order
        for index in order:
            value = self._gen(f"{pointer}/{key}/{index}", depth=depth + 1, name=name)
            if self._is_valid(pointer, value):
                return value
        return None

    def _object(
        self, pointer: str, schema: Mapping[str, Any], *, depth: int, echo: bool
    ) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        order = schema.get("x-fal-order-properties")
        names = [n for n in order if n in properties] if isinstance(order, list) else []
        names += [n for n in properties if n not in names]
        names += [n for n in required if n not in names]

        result: dict[str, Any] = {}
        for field in names:
            is_required = field in required
            if not is_required and (not self._optional or depth >= _MAX_DEPTH // 2):
                continue
            if field not in properties:
                result[field] = self._named_string(field)
                continue
            field_pointer = f"{pointer}/properties/{pointer_escape(field)}"
            if echo and field in self._hints and self._is_valid(field_pointer, self._hints[field]):
                # Top-level output fields named like an input field echo it (prompt, seed).
                result[field] = copy.deepcopy(self._hints[field])
                continue
            if field in ("width", "height") and self._size is not None:
                size = self._size[0] if field == "width" else self._size[1]
                if self._is_valid(field_pointer, size):
                    # The requested image_size beats the schema's example sizes.
                    result[field] = size
                    continue
            if field == "content_type":
                mime = _EXTENSIONS.get(self._file_kind or "", self._default_file)[1]
                if self._is_valid(field_pointer, mime):
                    # Matches the synthesized file URL's extension.
                    result[field] = mime
                    continue
            outer_kind = self._file_kind
            if field in _EXTENSIONS:
                self._file_kind = field
            try:
                value = self._gen(field_pointer, depth=depth + 1, name=field)
            finally:
                self._file_kind = outer_kind
            if value is None and not is_required:
                continue
            result[field] = value

        additional = schema.get("additionalProperties")
        if not properties and isinstance(additional, Mapping) and depth < _MAX_DEPTH:
            key = "inference" if "number" in str(additional.get("type")) else "key"
            result[key] = self._gen(f"{pointer}/additionalProperties", depth=depth + 1, name=key)
        return result

    def _array(
        self, pointer: str, schema: Mapping[str, Any], *, depth: int, name: str | None
    ) -> list[Any]:
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        min_items = _int(schema.get("minItems"), 0)
        max_items = _int(schema.get("maxItems"), 10_000)
        wanted = max(min_items, len(prefix), 1 if depth < _MAX_DEPTH else 0)
        if name == "images" and isinstance(self._hints.get("num_images"), int):
            wanted = max(min_items, min(self._hints["num_images"], 16))
        count = max(0, min(wanted, max_items))
        items: list[Any] = []
        for index in range(count):
            if index < len(prefix):
                item_pointer = f"{pointer}/prefixItems/{index}"
            elif isinstance(schema.get("items"), Mapping):
                item_pointer = f"{pointer}/items"
            else:
                break
            # Items after the first skip examples, so that e.g. several images differ.
            self._skip_examples += 1 if index > 0 else 0
            try:
                items.append(self._gen(item_pointer, depth=depth + 1, name=_singular(name)))
            finally:
                self._skip_examples -= 1 if index > 0 else 0
        return items

    def _string(self, schema: Mapping[str, Any], name: str | None) -> str:
        fmt = schema.get("format")
        if fmt in ("uri", "url", "iri", "uri-reference"):
            text = self._url()
        elif fmt == "date-time":
            text = "2024-01-01T00:00:00Z"
        elif fmt == "date":
            text = "2024-01-01"
        elif fmt == "time":
            text = "00:00:00Z"
        elif fmt == "email":
            text = "emulator@example.com"
        elif fmt == "uuid":
            text = "00000000-0000-4000-8000-" + f"{self._rng.getrandbits(48):012x}"
        elif fmt == "binary":
            text = ""
        else:
            text = self._named_string(name)
        min_length = _int(schema.get("minLength"), 0)
        max_length = _int(schema.get("maxLength"), 1 << 30)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            text = _matching(pattern, text, min_length, max_length)
        if len(text) < min_length:
            text += "x" * (min_length - len(text))
        return text[:max_length]

    def _named_string(self, name: str | None) -> str:
        lowered = (name or "").lower()
        ext, mime = _EXTENSIONS.get(self._file_kind or "", self._default_file)
        if lowered == "url" or lowered.endswith("_url"):
            return self._url()
        if lowered == "content_type":
            return mime
        if lowered == "file_name":
            return f"{self._token()}.{ext}"
        words = [self._rng.choice(_WORDS) for _ in range(3)]
        return " ".join(words)

    def _url(self) -> str:
        ext, _ = _EXTENSIONS.get(self._file_kind or "", self._default_file)
        return f"https://fal.media.invalid/files/emulator/{self._token()}.{ext}"

    def _integer(self, schema: Mapping[str, Any], name: str | None) -> int:
        low, high = _bounds(schema)
        lowered = (name or "").lower()
        if lowered in ("width", "height"):
            preferred = 1024
            if self._size is not None:
                preferred = self._size[0] if lowered == "width" else self._size[1]
        elif lowered == "seed":
            preferred = self._rng.randrange(1 << 32)
        elif lowered == "file_size":
            preferred = self._rng.randrange(10_000, 5_000_000)
        elif lowered.endswith("_ms"):
            preferred = self._rng.randrange(1_000, 30_000)
        else:
            preferred = self._rng.randrange(1, 100)
        lo = math.ceil(low) if low is not None else None
        hi = math.floor(high) if high is not None else None
        if lo is not None and preferred < lo:
            preferred = lo
        if hi is not None and preferred > hi:
            preferred = hi
        return int(_multiple(preferred, schema.get("multipleOf"), lo, hi, integer=True))

    def _number(self, schema: Mapping[str, Any], name: str | None) -> float:
        low, high = _bounds(schema)
        if low is None and high is None:
            low, high = 0.0, 10.0
        elif low is None:
            low = high - 10.0  # type: ignore[operator]
        elif high is None:
            high = low + 10.0
        assert low is not None and high is not None
        if high <= low:
            return float(_multiple(low, schema.get("multipleOf"), low, high, integer=False))
        value = round(low + (high - low) * self._rng.random(), 3)
        value = min(max(value, low), high)
        return float(_multiple(value, schema.get("multipleOf"), low, high, integer=False))


# Keywords of schemas whose parts are addressed by pointer below them.
_COMPOUND = (
    "$ref", "properties", "additionalProperties", "items", "prefixItems", "anyOf", "oneOf",
    "allOf",
)  # fmt: skip


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        kind = non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    # No type, but constraints of one (``{"maxLength": 3}``).
    if any(k in schema for k in ("minLength", "maxLength", "pattern")):
        return "string"
    numeric = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
    if any(k in schema for k in numeric):
        return "number"
    return None


def _multiple(
    value: float, step: Any, low: float | None, high: float | None, *, integer: bool
) -> float:
    """``value`` moved to a multiple of ``step`` (``multipleOf``) within the bounds, if one of
    the few nearest multiples is; else ``value``."""
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        return value
    if not math.isfinite(value / step):
        return value
    nearest = round(value / step)
    for offset in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5):
        candidate = (nearest + offset) * step
        if integer:
            if not float(candidate).is_integer():
                continue
            candidate = int(candidate)
        if (low is None or candidate >= low) and (high is None or candidate <= high):
            return candidate
    return value


# Strings tried for a ``pattern`` the built text does not match (fal's patterns are mostly
# ratios, colours, language codes, times and URLs).
_PATTERN_CANDIDATES = (
    "16:9", "1:1", "#000000", "en", "en-US", "US", "a", "A", "ab", "abc", "1", "123", "0.5", "true",
    "2024-01-01", "00:00", "00:00:00", "https://example.com/emulator.png", "emulator",
)  # fmt: skip


def _matching(pattern: str, text: str, min_length: int, max_length: int) -> str:
    """``text`` if it matches ``pattern``, else the first candidate that does (and fits the
    length limits); ``text`` when none does (the value then fails validation)."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return text
    for candidate in (text, *_PATTERN_CANDIDATES):
        if compiled.search(candidate) and min_length <= len(candidate) <= max_length:
            return candidate
    return text


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Inclusive-ish (low, high) from minimum/maximum and numeric exclusive bounds."""

    def number(key: str) -> float | None:
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None

    low, high = number("minimum"), number("maximum")
    ex_low, ex_high = number("exclusiveMinimum"), number("exclusiveMaximum")
    if ex_low is not None:
        step = 1.0 if schema.get("type") == "integer" else 0.001
        low = max(low, ex_low + step) if low is not None else ex_low + step
    if ex_high is not None:
        step = 1.0 if schema.get("type") == "integer" else 0.001
        high = min(high, ex_high - step) if high is not None else ex_high - step
    return low, high


def _singular(name: str | None) -> str | None:
    if name and name.endswith("s") and len(name) > 1:
        return name[:-1]
    return name

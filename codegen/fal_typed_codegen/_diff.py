"""Compare two versions of endpoint documents and classify each change for callers.

A change is *breaking* when code that worked against the old document may fail against the new
one (after regenerating): the server or the input models now reject an input that was accepted,
or an output lacks something callers read. The rules, for a field at any depth (``a.b``,
``items[].url``, ``map{}``):

========================================  ==========================  ===========================
change                                    input                       output
========================================  ==========================  ===========================
field added                               BREAKING if required        change
field removed                             BREAKING                    BREAKING
optional -> required                      BREAKING                    change
required -> optional                      change                      BREAKING (may be missing)
type changed (a type lost and one added)  BREAKING                    BREAKING
type narrowed (a type lost)               BREAKING                    change
type widened (a type added)               change                      BREAKING
null dropped (input) / allowed (output)   BREAKING                    BREAKING (may be null)
null allowed (input) / dropped (output)   change                      change
enum values removed                       BREAKING (closed enum)      change (no longer returned)
enum values added                         change                      change (regenerate to accept)
enum closed / opened                      BREAKING / change           change / change
constraint narrowed (max lowered...)      BREAKING                    change
constraint widened (max raised...)        change                      change (regenerate)
default changed, added or removed         change (behaviour)          change
endpoint added / removed / renamed        change / BREAKING / BREAKING
========================================  ==========================  ===========================

``integer`` counts as a subset of ``number`` (``integer -> number`` widens). Value lists of open
enums (``anyOf [enum, string]``) are suggestions: changing them never breaks. A changed
``pattern`` or ``multipleOf`` that is not provably wider counts as narrowed.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fal_typed._document import DocumentError, EndpointDocument, find_documents, load_document

from ._shape import MISSING, Branch, Shape, bound, shape_of, value_key

__all__ = [
    "FORMAT",
    "Change",
    "DiffResult",
    "diff_command",
    "diff_documents",
    "diff_endpoints",
    "format_human",
    "load_side",
]

FORMAT = "fal-typed-diff/1"
"""The ``format`` of ``--json`` output; bumped on any incompatible change of its structure."""

Side = Literal["input", "output"]
_MAX_DEPTH = 48  # nesting followed below one endpoint before giving up (recursive schemas)


@dataclass(frozen=True)
class Change:
    """One difference between two documents of an endpoint."""

    endpoint_id: str
    side: Side | None
    """``input``, ``output``, or None for endpoint-level changes."""
    path: str
    """Field path (``image_size.width``, ``images[].url``); ``""`` for the schema root."""
    kind: str
    """``endpoint_added``, ``field_removed``, ``constraint_changed``... (see the README)."""
    breaking: bool
    message: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form of the change."""
        return {
            "endpoint_id": self.endpoint_id,
            "side": self.side,
            "path": self.path,
            "kind": self.kind,
            "breaking": self.breaking,
            "message": self.message,
            "old": self.old,
            "new": self.new,
        }


@dataclass
class DiffResult:
    """Every change between two sets of documents, endpoints sorted by id."""

    old: str
    new: str
    changes: list[Change] = field(default_factory=list)
    compared: int = 0
    """Endpoints present on both sides."""

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document (``format`` :data:`FORMAT`)."""
        kinds = [c.kind for c in self.changes]
        changed = {c.endpoint_id for c in self.changes if c.side is not None}
        return {
            "format": FORMAT,
            "old": self.old,
            "new": self.new,
            "summary": {
                "endpoints_compared": self.compared,
                "endpoints_changed": len(changed),
                "endpoints_added": kinds.count("endpoint_added"),
                "endpoints_removed": kinds.count("endpoint_removed"),
                "breaking": len(self.breaking),
                "non_breaking": len(self.changes) - len(self.breaking),
            },
            "changes": [c.to_json() for c in self.changes],
        }


def _integer_bound(found: tuple[float, bool, str], side: str) -> float:
    """The smallest (``side="min"``) or largest (``"max"``) integer a bound allows."""
    value, exclusive, _ = found
    if not math.isfinite(value):
        return value
    if side == "min":
        return math.floor(value) + 1 if exclusive else math.ceil(value)
    return math.ceil(value) - 1 if exclusive else math.floor(value)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _values(values: Any) -> str:
    return ", ".join(_show(v) for v in values)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _covers(types: set[str], kind: str) -> bool:
    """Whether a set of JSON types accepts every value of ``kind``."""
    return kind in types or (kind == "integer" and "number" in types)


class _Comparer:
    """Compares one side (input or output) of two documents of one endpoint."""

    def __init__(
        self, endpoint_id: str, side: Side, old: EndpointDocument, new: EndpointDocument
    ) -> None:
        self.endpoint_id = endpoint_id
        self.side = side
        self.input = side == "input"
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self._active: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()

    def emit(
        self, path: str, kind: str, breaking: bool, message: str, old: Any = None, new: Any = None
    ) -> None:
        self.changes.append(
            Change(self.endpoint_id, self.side, path, kind, breaking, message, old, new)
        )

    def shapes(self, old_raw: Any, new_raw: Any) -> tuple[Shape, Shape]:
        return (
            shape_of(old_raw, self.old.openapi, self.old.source),
            shape_of(new_raw, self.new.openapi, self.new.source),
        )

    def compare(self, old_raw: Any, new_raw: Any, path: str, depth: int = 0) -> None:
        old, new = self.shapes(old_raw, new_raw)
        key = (old.refs, new.refs)
        # A schema met again below itself (recursive $ref): its changes are already reported.
        if depth > _MAX_DEPTH or ((old.refs or new.refs) and key in self._active):
            return
        self._active.add(key)
        try:
            self.compare_shapes(old, new, path, depth)
        finally:
            self._active.discard(key)

    def compare_shapes(self, old: Shape, new: Shape, path: str, depth: int) -> None:
        self.compare_types(old, new, path)
        self.compare_default(old, new, path)
        if old.any or new.any:
            return
        paired: set[str] = set()
        pairs: list[tuple[Branch, Branch]] = []
        for kind in sorted(old.branches):
            if kind in new.branches:
                pairs.append((old.branches[kind], new.branches[kind]))
                paired.add(kind)
        for kind in sorted(old.branches):  # integer <-> number: compare their constraints too
            other = {"integer": "number", "number": "integer"}.get(kind)
            if kind not in new.branches and other in new.branches and other not in paired:
                pairs.append((old.branches[kind], new.branches[other]))
                paired.add(other)
        for old_branch, new_branch in pairs:
            self.compare_branch(old_branch, new_branch, path, depth)

    def compare_types(self, old: Shape, new: Shape, path: str) -> None:
        old_types = {"any"} if old.any else set(old.branches)
        new_types = {"any"} if new.any else set(new.branches)
        if old.any or new.any:
            lost = old_types != new_types and not new.any
            gained = old_types != new_types and not old.any
        else:
            lost = any(not _covers(new_types, t) for t in old_types)
            gained = any(not _covers(old_types, t) for t in new_types)
        if lost or gained:
            word = "changed" if lost and gained else "narrowed" if lost else "widened"
            # Inputs break when a type is no longer accepted, outputs when a new one may come.
            breaking = (lost and gained) or (lost if self.input else gained)
            shown_old = " | ".join(old.types()) or "nothing"
            shown_new = " | ".join(new.types()) or "nothing"
            self.emit(
                path,
                "type_changed",
                breaking,
                f"type {word}: {shown_old} -> {shown_new}",
                old.types(),
                new.types(),
            )
        if not (old.any or new.any) and old.nullable != new.nullable:
            if self.input:
                message = "null now accepted" if new.nullable else "null no longer accepted"
                breaking = old.nullable
            else:
                message = "may now be null" if new.nullable else "no longer null"
                breaking = new.nullable
            self.emit(path, "nullable_changed", breaking, message, old.nullable, new.nullable)

    def compare_default(self, old: Shape, new: Shape, path: str) -> None:
        if old.default is MISSING and new.default is MISSING:
            return
        if (old.default is MISSING) == (new.default is MISSING) and value_key(
            old.default
        ) == value_key(new.default):
            return
        before = None if old.default is MISSING else old.default
        after = None if new.default is MISSING else new.default
        if old.default is MISSING:
            message = f"default added: {_show(after)}"
        elif new.default is MISSING:
            message = f"default removed (was {_show(before)})"
        else:
            message = f"default changed: {_show(before)} -> {_show(after)}"
        if self.input:
            message += " (behaviour change for calls that omit it)"
        self.emit(path, "default_changed", False, message, before, after)

    def compare_branch(self, old: Branch, new: Branch, path: str, depth: int) -> None:
        self.compare_enum(old, new, path)
        self.compare_constraints(old, new, path)
        if old.type == "object" and new.type == "object":
            if len(old.variants) > 1 and len(old.variants) == len(new.variants):
                # A union of objects: each variant with its own required fields (matched by
                # position; with variants added or removed, the merged view below is all).
                for index, (was, now) in enumerate(zip(old.variants, new.variants, strict=True)):
                    self.compare_properties(was, now, f"{path}(variant {index + 1})", depth)
            else:
                self.compare_properties(old, new, path, depth)
            if old.additional is not None and new.additional is not None:
                self.compare(old.additional, new.additional, path + "{}", depth + 1)
            elif not old.properties and not new.properties and old.additional != new.additional:
                # A map whose values became (or stopped being) typed: an unspecified or
                # ``true`` value schema accepts anything, like unspecified array items.
                self.compare(
                    old.additional if old.additional is not None else True,
                    new.additional if new.additional is not None else True,
                    path + "{}",
                    depth + 1,
                )
        if old.type == "array" and new.type == "array":
            if old.prefix is not None or new.prefix is not None:
                self.compare_tuple(old.prefix or (), new.prefix or (), path, depth)
            if old.items is not None and new.items is not None:
                self.compare(old.items, new.items, path + "[]", depth + 1)
            elif old.items is not None or new.items is not None:
                self.compare(
                    old.items if old.items is not None else True,
                    new.items if new.items is not None else True,
                    path + "[]",
                    depth + 1,
                )

    def compare_tuple(
        self, old: tuple[Any, ...], new: tuple[Any, ...], path: str, depth: int
    ) -> None:
        """``prefixItems``: each position (path ``name[0]``), and the number of positions (the
        generated tuple type has exactly that many)."""
        for index in range(min(len(old), len(new))):
            self.compare(old[index], new[index], f"{path}[{index}]", depth + 1)
        if len(old) != len(new):
            self.emit(
                path,
                "constraint_changed",
                True,
                f"tuple positions changed: {len(old)} -> {len(new)}",
                {"prefixItems": len(old)} if old else {},
                {"prefixItems": len(new)} if new else {},
            )

    def compare_enum(self, old: Branch, new: Branch, path: str) -> None:
        if old.values is None and new.values is None:
            return
        before = {value_key(v): v for v in old.values or ()}
        after = {value_key(v): v for v in new.values or ()}
        removed = [v for k, v in before.items() if k not in after]
        added = [v for k, v in after.items() if k not in before]
        old_json = _enum_json(old)
        new_json = _enum_json(new)
        what = f"{new.type} " if new.type != "string" else ""
        if old.closed and not new.closed:
            message = (
                f"enum opened: any {new.type} accepted now"
                if self.input
                else f"enum opened: any {new.type} may be returned now (regenerate to accept)"
            )
            self.emit(path, "enum_opened", False, message, old_json, new_json)
            return
        if not old.closed and new.closed:
            message = f"{what}enum closed: only {_values(new.values or ())} " + (
                "accepted now" if self.input else "returned now"
            )
            self.emit(path, "enum_closed", self.input, message, old_json, new_json)
            return
        closed = old.closed and new.closed
        note = "" if closed else " (open enum: values are suggestions)"
        if removed:
            if self.input:
                message = f"{what}enum values removed: {_values(removed)}{note}"
            else:
                message = f"{what}enum values no longer returned: {_values(removed)}{note}"
            breaking = self.input and closed
            self.emit(path, "enum_values_removed", breaking, message, old_json, new_json)
        if added:
            if self.input or not closed:
                message = f"{what}enum values added: {_values(added)}{note}"
            else:
                message = (
                    f"{what}enum values may now be returned: {_values(added)} "
                    "(models generated before reject them: regenerate; exhaustive matches "
                    "need a new case)"
                )
            self.emit(path, "enum_values_added", False, message, old_json, new_json)

    def compare_constraints(self, old: Branch, new: Branch, path: str) -> None:
        # Each finding: (narrowed?, message, old keywords, new keywords).
        found: list[tuple[bool, str, dict[str, Any], dict[str, Any]]] = []
        for side_ in ("min", "max"):
            ob, nb = bound(old.constraints, side_), bound(new.constraints, side_)
            if ob is None and nb is None:
                continue
            name = "minimum" if side_ == "min" else "maximum"
            if ob is None:
                assert nb is not None
                found.append((True, f"{nb[2]} added: {nb[0]}", {}, {nb[2]: nb[0]}))
                continue
            if nb is None:
                found.append((False, f"{ob[2]} removed (was {ob[0]})", {ob[2]: ob[0]}, {}))
                continue
            if (ob[0], ob[1]) == (nb[0], nb[1]):
                continue
            if old.type == "integer" and new.type == "integer":
                # For integers, ``exclusiveMinimum: 0`` is ``minimum: 1``: compare what is allowed.
                oi, ni = _integer_bound(ob, side_), _integer_bound(nb, side_)
                if oi == ni:
                    continue
                narrowed = ni > oi if side_ == "min" else ni < oi
            # A stricter lower bound is higher (or the same value made exclusive); upper: lower.
            elif side_ == "min":
                narrowed = (nb[0], nb[1]) > (ob[0], ob[1])
            else:
                narrowed = (nb[0], not nb[1]) < (ob[0], not ob[1])
            if side_ == "min":
                verb = "raised" if narrowed else "lowered"
            else:
                verb = "lowered" if narrowed else "raised"
            if ob[2] == nb[2]:
                message = f"{ob[2]} {verb}: {ob[0]} -> {nb[0]}"
            else:
                bound_name = "lower bound" if name == "minimum" else "upper bound"
                message = f"{bound_name} {verb}: {ob[2]} {ob[0]} -> {nb[2]} {nb[0]}"
            found.append((narrowed, message, {ob[2]: ob[0]}, {nb[2]: nb[0]}))
        for key, stricter in (
            ("minLength", "higher"),
            ("minItems", "higher"),
            ("maxLength", "lower"),
            ("maxItems", "lower"),
        ):
            o, n = old.constraints.get(key), new.constraints.get(key)
            if value_key(o) == value_key(n):
                continue
            if o is None:
                found.append((True, f"{key} added: {n}", {}, {key: n}))
            elif n is None:
                found.append((False, f"{key} removed (was {o})", {key: o}, {}))
            elif isinstance(o, (int, float)) and isinstance(n, (int, float)):
                narrowed = n > o if stricter == "higher" else n < o
                verb = "raised" if n > o else "lowered"
                found.append((narrowed, f"{key} {verb}: {o} -> {n}", {key: o}, {key: n}))
        for key in ("pattern", "multipleOf", "uniqueItems"):
            o, n = old.constraints.get(key), new.constraints.get(key)
            if value_key(o) == value_key(n):
                continue
            if o is None:
                found.append((True, f"{key} added: {_show(n)}", {}, {key: n}))
            elif n is None:
                found.append((False, f"{key} removed (was {_show(o)})", {key: o}, {}))
            else:
                narrowed = not _multiple_widens(o, n) if key == "multipleOf" else True
                found.append(
                    (narrowed, f"{key} changed: {_show(o)} -> {_show(n)}", {key: o}, {key: n})
                )
        for narrowed, message, before, after in found:
            if not self.input and not narrowed:
                message += " (models generated before may reject new values: regenerate)"
            self.emit(path, "constraint_changed", self.input and narrowed, message, before, after)

    def compare_properties(self, old: Branch, new: Branch, path: str, depth: int) -> None:
        for name in sorted(set(old.properties) | set(new.properties)):
            field_path = _join(path, name)
            if name not in old.properties:
                shape = shape_of(new.properties[name], self.new.openapi, self.new.source)
                required = name in new.required
                types = " | ".join(shape.types())
                summary = {"required": required, "types": shape.types()}
                if self.input:
                    word = "required" if required else "optional"
                    self.emit(
                        field_path,
                        "field_added",
                        required,
                        f"{word} field added ({types})",
                        None,
                        summary,
                    )
                else:
                    self.emit(
                        field_path, "field_added", False, f"field added ({types})", None, summary
                    )
                continue
            if name not in new.properties:
                shape = shape_of(old.properties[name], self.old.openapi, self.old.source)
                summary = {"required": name in old.required, "types": shape.types()}
                message = (
                    "field removed (calls passing it are rejected)"
                    if self.input
                    else "field removed (no longer returned)"
                )
                self.emit(field_path, "field_removed", True, message, summary, None)
                continue
            was, now = name in old.required, name in new.required
            if was != now:
                if self.input:
                    breaking = now
                    message = "optional -> required" if now else "required -> optional"
                else:
                    breaking = was
                    message = (
                        "required -> optional (may be missing from the output)"
                        if was
                        else "optional -> required"
                    )
                self.emit(field_path, "required_changed", breaking, message, was, now)
            self.compare(old.properties[name], new.properties[name], field_path, depth + 1)


def _enum_json(branch: Branch) -> dict[str, Any]:
    values = list(branch.values) if branch.values is not None else None
    return {"values": values, "closed": branch.closed}


def _multiple_widens(old: Any, new: Any) -> bool:
    """Whether ``multipleOf: new`` accepts every multiple of ``old`` (old is a multiple of new)."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new)):
        return False
    if new == 0:
        return False
    ratio = old / new
    return bool(ratio == int(ratio))


def diff_documents(old: EndpointDocument, new: EndpointDocument) -> list[Change]:
    """The changes between two documents of one endpoint (input first, then output)."""
    endpoint_id = new.endpoint_id
    changes: list[Change] = []
    if old.endpoint_id != new.endpoint_id:
        changes.append(
            Change(
                endpoint_id,
                None,
                "",
                "endpoint_renamed",
                True,
                f"endpoint id changed: {old.endpoint_id} -> {new.endpoint_id}",
                old.endpoint_id,
                new.endpoint_id,
            )
        )
    sides: tuple[tuple[Side, dict[str, Any], dict[str, Any]], ...] = (
        ("input", old.input_schema, new.input_schema),
        ("output", old.output_schema, new.output_schema),
    )
    for side, old_schema, new_schema in sides:
        comparer = _Comparer(endpoint_id, side, old, new)
        comparer.compare(old_schema, new_schema, "")
        changes.extend(comparer.changes)
    return changes


def diff_endpoints(
    old: Mapping[str, EndpointDocument],
    new: Mapping[str, EndpointDocument],
    *,
    old_name: str = "old",
    new_name: str = "new",
) -> DiffResult:
    """Compare two sets of documents keyed by endpoint id."""
    result = DiffResult(old_name, new_name)
    for endpoint_id in sorted(set(old) | set(new)):
        if endpoint_id not in new:
            result.changes.append(
                Change(endpoint_id, None, "", "endpoint_removed", True, "endpoint removed")
            )
        elif endpoint_id not in old:
            result.changes.append(
                Change(endpoint_id, None, "", "endpoint_added", False, "endpoint added")
            )
        else:
            result.compared += 1
            result.changes.extend(diff_documents(old[endpoint_id], new[endpoint_id]))
    return result


def load_side(path: Path) -> dict[str, EndpointDocument]:
    """The documents of a file or a directory (searched recursively), keyed by endpoint id."""
    if path.is_file():
        document = load_document(path)
        return {document.endpoint_id: document}
    documents: dict[str, EndpointDocument] = {}
    for file in find_documents([path]):
        document = load_document(file)
        if document.endpoint_id in documents:
            other = documents[document.endpoint_id].source
            raise DocumentError(
                document.source, None, f"endpoint {document.endpoint_id!r} is also in {other}"
            )
        documents[document.endpoint_id] = document
    return documents


def format_human(result: DiffResult) -> str:
    """Changes grouped by endpoint, one line each, prefixed ``BREAKING`` or ``change``."""
    lines: list[str] = []
    current: str | None = None
    for change in result.changes:
        if change.endpoint_id != current:
            current = change.endpoint_id
            lines.append(current)
        label = "BREAKING" if change.breaking else "change"
        where = change.side or "endpoint"
        subject = f"{change.path}: " if change.path else ("(root): " if change.side else "")
        lines.append(f"  {label:<8}  {where:<8}  {subject}{change.message}")
    summary = result.to_json()["summary"]
    if not result.changes:
        lines.append(f"no changes ({result.compared} endpoints compared)")
    else:
        lines.append(
            f"{summary['breaking']} breaking, {summary['non_breaking']} non-breaking changes; "
            f"endpoints: {summary['endpoints_compared']} compared, "
            f"{summary['endpoints_changed']} changed, {summary['endpoints_added']} added, "
            f"{summary['endpoints_removed']} removed"
        )
    return "\n".join(lines) + "\n"


def diff_command(old: Path, new: Path, *, as_json: bool, fail_on_breaking: bool) -> int:
    """Run ``fal-typed diff``: 0, or 1 with ``fail_on_breaking`` and a breaking change; 2 on
    unreadable input."""
    for given in (old, new):
        if not given.exists():
            print(f"fal-typed diff: {given.as_posix()}: no such file or directory", file=sys.stderr)
            return 2
    if old.is_dir() != new.is_dir():
        print(
            "fal-typed diff: compare two documents or two directories, not a document with a "
            f"directory ({old.as_posix()}, {new.as_posix()})",
            file=sys.stderr,
        )
        return 2
    try:
        old_docs, new_docs = load_side(old), load_side(new)
    except DocumentError as exc:
        print(f"fal-typed diff: {exc}", file=sys.stderr)
        return 2
    if old.is_file():
        # Two documents are one endpoint, whatever their ids say (a rename is reported).
        (old_doc,), (new_doc,) = old_docs.values(), new_docs.values()
        result = DiffResult(old.as_posix(), new.as_posix(), compared=1)
        result.changes = diff_documents(old_doc, new_doc)
    else:
        result = diff_endpoints(
            old_docs, new_docs, old_name=old.as_posix(), new_name=new.as_posix()
        )
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_human(result))
    return 1 if fail_on_breaking and result.breaking else 0

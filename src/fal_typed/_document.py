"""Load fal's per-endpoint OpenAPI documents and find their Input and Output schemas.

fal data comes in three shapes, all accepted here:

- a bare OpenAPI document (``{"openapi": "3.0.4", "info": ..., "paths": ..., ...}``), as served
  per endpoint by ``https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<id>``;
- a model-list entry ``{"endpoint_id", "metadata", "openapi": {...}}``;
- ``{"metadata", "openapi": {...}}`` (a model-list entry without its id).

The Input schema is the ``application/json`` request body of ``POST /{id}``; the Output schema is
the ``application/json`` body of the 200 response of ``GET /{id}/requests/{request_id}``. Both are
found through ``paths`` and local ``$ref`` pointers, never by guessing component names.

This module is stdlib-only: the runtime (emulator) and the generator both use it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DocumentError",
    "EndpointDocument",
    "exclusive_bounds_as_numbers",
    "find_documents",
    "load_document",
    "parse_document",
    "pointer_escape",
    "printable",
    "resolve_pointer",
    "validate_endpoint_id",
]

_JSON = "application/json"
_MAX_REF_HOPS = 64
_BAD_ID_CHARS = re.compile(r"[?#\\\s\x00-\x1f\x7f]")
_MAX_ID_LENGTH = 200  # module file names are made from ids; file systems allow 255 bytes


class DocumentError(ValueError):
    """A document is malformed or unsupported.

    The message names the file and, where it applies, the JSON pointer of the offending value:
    ``schemas/x.json: #/paths/~1fal-ai~1x/post/requestBody: no JSON request body``.
    """

    def __init__(self, source: str, pointer: str | None, problem: str) -> None:
        self.source = source
        self.pointer = pointer
        self.problem = problem
        where = f"{source}: {pointer}: " if pointer else f"{source}: "
        super().__init__(printable(where + problem))


def printable(text: str) -> str:
    """``text`` with every non-printable character (line breaks, NUL, lone surrogates...)
    written as its ``repr()`` escape, so a message is one line that any terminal can show."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class EndpointDocument:
    """One endpoint's document, with its Input and Output schemas located."""

    endpoint_id: str
    """The entry's ``endpoint_id``, else ``info.x-fal-metadata.endpointId``, else from ``paths``."""
    alias_of: str | None
    """The metadata ``endpointId`` when it differs from the entry's ``endpoint_id``."""
    source: str
    """File path (or the name given to :func:`parse_document`), for messages."""
    openapi: dict[str, Any]
    """The whole OpenAPI document (for resolving ``$ref`` pointers)."""
    input_pointer: str
    """JSON pointer of the Input schema, e.g. ``#/components/schemas/FastSdxlInput``."""
    output_pointer: str
    """JSON pointer of the Output schema."""
    input_schema: dict[str, Any]
    """The resolved schema object at :attr:`input_pointer`."""
    output_schema: dict[str, Any]
    """The resolved schema object at :attr:`output_pointer`."""
    metadata: dict[str, Any]
    """The entry's ``metadata``, else ``info.x-fal-metadata``, else ``{}``."""
    openapi_pointer: str = "#"
    """Where :attr:`openapi` sits in the file: ``#`` (bare document) or ``#/openapi`` (entry).

    Pointers above are relative to :attr:`openapi`; prefix them with this one for messages.
    """


def exclusive_bounds_as_numbers(schema: dict[str, Any]) -> None:
    """Rewrite OpenAPI 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` in place as the
    numeric bounds of JSON Schema 2020-12 (``minimum: 0, exclusiveMinimum: true`` ->
    ``exclusiveMinimum: 0``); ``false``, or ``true`` without a numeric bound, is dropped."""
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            del schema[exclusive]
            limit = schema.get(bound)
            if flag and isinstance(limit, (int, float)) and not isinstance(limit, bool):
                schema[exclusive] = schema.pop(bound)


def pointer_escape(token: str) -> str:
    """Escape one JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _pointer_unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _join(pointer: str, *tokens: str) -> str:
    return pointer + "".join("/" + pointer_escape(t) for t in tokens)


def resolve_pointer(document: Mapping[str, Any], pointer: str, source: str = "<document>") -> Any:
    """Return the value at a local JSON pointer such as ``#/components/schemas/Image``."""
    if pointer == "#":
        return document
    if not pointer.startswith("#/"):
        raise DocumentError(source, pointer, "only local '#/...' references are supported")
    value: Any = document
    for raw in pointer[2:].split("/"):
        token = _pointer_unescape(raw)
        if isinstance(value, Mapping) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise DocumentError(source, pointer, "reference target does not exist")
    return value


def validate_endpoint_id(endpoint_id: object, source: str, pointer: str | None) -> str:
    """Check an endpoint id is ``owner/name[/sub...]`` with clean segments; return it."""
    if not isinstance(endpoint_id, str):
        raise DocumentError(source, pointer, f"endpoint id must be a string, got {endpoint_id!r}")
    segments = endpoint_id.split("/")
    if (
        len(segments) < 2
        or any(s in ("", ".", "..") for s in segments)
        or _BAD_ID_CHARS.search(endpoint_id)
        or not endpoint_id.isprintable()
        or len(endpoint_id.encode("utf-8", "surrogatepass")) > _MAX_ID_LENGTH
    ):
        raise DocumentError(
            source,
            pointer,
            f"invalid endpoint id {endpoint_id!r}: expected 'owner/name[/sub...]' with "
            "non-empty segments other than '.' and '..', no '?', '#', '\\', whitespace or "
            f"control characters, and at most {_MAX_ID_LENGTH} bytes",
        )
    return endpoint_id


def _follow(openapi: Mapping[str, Any], value: Any, pointer: str, source: str) -> tuple[Any, str]:
    """Follow ``$ref`` chains from ``value`` (found at ``pointer``); return (target, pointer)."""
    seen: set[str] = set()
    while isinstance(value, Mapping) and "$ref" in value:
        ref = value["$ref"]
        if not isinstance(ref, str):
            raise DocumentError(source, _join(pointer, "$ref"), "$ref must be a string")
        if ref in seen or len(seen) >= _MAX_REF_HOPS:
            raise DocumentError(source, pointer, f"circular $ref {ref!r}")
        seen.add(ref)
        try:
            value = resolve_pointer(openapi, ref, source)
        except DocumentError as exc:  # name the $ref, not the missing target
            raise DocumentError(
                source, _join(pointer, "$ref"), f"$ref {ref!r}: {exc.problem}"
            ) from None
        pointer = ref
    return value, pointer


def _get_object(
    openapi: Mapping[str, Any], parent: Any, pointer: str, key: str, source: str, what: str
) -> tuple[Mapping[str, Any], str]:
    """``parent[key]`` as a mapping (following ``$ref``), or a DocumentError naming ``pointer``."""
    if not isinstance(parent, Mapping) or key not in parent:
        raise DocumentError(source, pointer, f"no {what} ({key!r})")
    value, at = _follow(openapi, parent[key], _join(pointer, key), source)
    if not isinstance(value, Mapping):
        raise DocumentError(source, at, f"{what} must be an object")
    return value, at


def _json_schema(
    openapi: Mapping[str, Any], container: Mapping[str, Any], pointer: str, source: str, what: str
) -> tuple[dict[str, Any], str]:
    """The resolved ``content["application/json"].schema`` of a request body or response."""
    content = container.get("content")
    if not isinstance(content, Mapping) or not isinstance(content.get(_JSON), Mapping):
        raise DocumentError(source, pointer, f"no JSON {what}")
    media_pointer = _join(pointer, "content", _JSON)
    schema, at = _get_object(openapi, content[_JSON], media_pointer, "schema", source, "schema")
    return dict(schema), at


def _infer_endpoint_id(paths: Mapping[str, Any], source: str) -> str:
    candidates = sorted(
        p[1:]
        for p, item in paths.items()
        if isinstance(p, str)
        and p.startswith("/")
        and isinstance(item, Mapping)
        and "post" in item
        and (p + "/requests/{request_id}") in paths
    )
    if len(candidates) != 1:
        problem = (
            "cannot infer the endpoint id: no path '/{id}' with a POST operation and a "
            "'/{id}/requests/{request_id}' result path"
            if not candidates
            else f"cannot infer the endpoint id: several candidates {candidates}"
        )
        raise DocumentError(source, "#/paths", problem)
    return validate_endpoint_id(candidates[0], source, "#/paths")


def parse_document(data: object, source: str) -> EndpointDocument:
    """Interpret already-parsed JSON ``data`` as an endpoint document.

    ``source`` names the document in error messages. Raises :class:`DocumentError`.
    """
    if not isinstance(data, Mapping):
        raise DocumentError(source, "#", "document must be a JSON object")
    entry_id: object = None
    entry_id_pointer = "#/endpoint_id"
    if isinstance(data.get("openapi"), Mapping):
        # Model-list entry: {"endpoint_id"?, "metadata"?, "openapi": {...}}.
        openapi: Mapping[str, Any] = data["openapi"]
        base = "#/openapi"
        if "endpoint_id" in data:
            entry_id = validate_endpoint_id(data["endpoint_id"], source, entry_id_pointer)
        entry_metadata = data.get("metadata")
        if entry_metadata is not None and not isinstance(entry_metadata, Mapping):
            raise DocumentError(source, "#/metadata", "metadata must be an object")
    elif "paths" in data or isinstance(data.get("openapi"), str):
        openapi = data
        base = "#"
        entry_metadata = None
    else:
        raise DocumentError(
            source,
            "#",
            "not a fal endpoint document: expected an OpenAPI document or an object with an "
            "'openapi' document (and optional 'endpoint_id' and 'metadata')",
        )

    def where(pointer: str) -> str:
        # Pointers inside the OpenAPI document, shown relative to the file's root.
        return pointer if base == "#" else base + pointer[1:]

    try:
        info = openapi.get("info")
        info_metadata: Any = info.get("x-fal-metadata") if isinstance(info, Mapping) else None
        if info_metadata is not None and not isinstance(info_metadata, Mapping):
            raise DocumentError(source, "#/info/x-fal-metadata", "x-fal-metadata must be an object")
        metadata_id: str | None = None
        if info_metadata is not None and "endpointId" in info_metadata:
            metadata_id = validate_endpoint_id(
                info_metadata["endpointId"], source, "#/info/x-fal-metadata/endpointId"
            )
        paths = openapi.get("paths")
        if not isinstance(paths, Mapping):
            raise DocumentError(source, "#/paths", "no paths object")

        if isinstance(entry_id, str):
            endpoint_id = entry_id
            alias_of = metadata_id if metadata_id not in (None, entry_id) else None
        elif metadata_id is not None:
            endpoint_id, alias_of = metadata_id, None
        else:
            endpoint_id, alias_of = _infer_endpoint_id(paths, source), None

        # The document's paths are keyed by the id it was made for: the entry's id, or the
        # metadata id when fal lists the endpoint under an alias.
        path = "/" + endpoint_id
        if path not in paths and alias_of is not None and ("/" + alias_of) in paths:
            path = "/" + alias_of
        path_pointer = _join("#/paths", path)
        if path not in paths:
            raise DocumentError(source, path_pointer, "no such path for the endpoint")
        item, item_at = _get_object(openapi, paths, "#/paths", path, source, "path item")
        post, post_at = _get_object(openapi, item, item_at, "post", source, "POST operation")
        body, body_at = _get_object(openapi, post, post_at, "requestBody", source, "requestBody")
        input_schema, input_pointer = _json_schema(openapi, body, body_at, source, "request body")

        result_path = path + "/requests/{request_id}"
        result, result_at = _get_object(
            openapi, paths, "#/paths", result_path, source, "result path item"
        )
        get, get_at = _get_object(openapi, result, result_at, "get", source, "GET operation")
        responses, responses_at = _get_object(
            openapi, get, get_at, "responses", source, "responses"
        )
        ok, ok_at = _get_object(openapi, responses, responses_at, "200", source, "200 response")
        output_schema, output_pointer = _json_schema(openapi, ok, ok_at, source, "response body")
    except DocumentError as exc:
        if base == "#" or exc.pointer is None or not exc.pointer.startswith("#"):
            raise
        raise DocumentError(source, where(exc.pointer), exc.problem) from None

    if entry_metadata is not None:
        metadata = dict(entry_metadata)
    elif info_metadata is not None:
        metadata = dict(info_metadata)
    else:
        metadata = {}
    return EndpointDocument(
        endpoint_id=endpoint_id,
        alias_of=alias_of,
        source=source,
        openapi=dict(openapi),
        input_pointer=input_pointer,
        output_pointer=output_pointer,
        input_schema=input_schema,
        output_schema=output_schema,
        metadata=metadata,
        openapi_pointer=base,
    )


def load_document(path: str | os.PathLike[str]) -> EndpointDocument:
    """Read and parse one document file; unreadable or invalid JSON is a DocumentError."""
    source = Path(path).as_posix()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DocumentError(source, None, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            source, None, f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            source, None, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer with too many digits
        raise DocumentError(source, None, f"unsupported JSON: {exc}") from None
    return parse_document(data, source)


def find_documents(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and directories (searched recursively for ``*.json``) into a sorted list.

    Files are kept as given (whatever their suffix); duplicates are removed; a missing path is
    a :class:`DocumentError`.
    """
    found: dict[Path, Path] = {}  # resolved path -> path as given (first spelling wins)
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted((p for p in path.rglob("*.json") if p.is_file()), key=Path.as_posix)
        elif path.is_file():
            files = [path]
        else:
            raise DocumentError(path.as_posix(), None, "no such file or directory")
        for file in files:
            found.setdefault(file.resolve(), file)
    return sorted(found.values(), key=Path.as_posix)

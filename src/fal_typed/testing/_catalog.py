"""The emulator's model-list API: ``GET /v1/models`` over the loaded documents, paginated.

Like fal's ``https://api.fal.ai/v1/models``: query ``limit`` (default 20), ``cursor`` (opaque,
from the previous page's ``next_cursor``), ``category`` (the entry metadata's ``category``) and
``expand=openapi-3.0`` (without it, entries carry no ``openapi`` document). The answer is
``{"models": [{"endpoint_id", "metadata", "openapi"}...], "next_cursor", "has_more"}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fal_typed._document import EndpointDocument

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MODELS_PATH",
    "CatalogError",
    "DocumentOverride",
    "model_entry",
    "models_page",
]

MODELS_PATH = "/v1/models"
DEFAULT_PAGE_SIZE = 20
_EXPAND_OPENAPI = "openapi-3.0"


@dataclass
class DocumentOverride:
    """What ``GET /api/openapi/queue/openapi.json?endpoint_id=<id>`` answers instead."""

    status: int
    body: bytes
    remaining: int | None
    """Requests left to answer this way (None: until cleared)."""


class CatalogError(ValueError):
    """A bad model-list query (answered 400 ``bad_request``)."""


def model_entry(document: EndpointDocument) -> dict[str, Any]:
    """The model-list entry of a loaded document."""
    return {
        "endpoint_id": document.endpoint_id,
        "metadata": dict(document.metadata),
        "openapi": document.openapi,
    }


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "offset" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise CatalogError(f"Invalid cursor {cursor!r}.") from None


def _category(entry: Any) -> Any:
    metadata = entry.get("metadata") if isinstance(entry, Mapping) else None
    return metadata.get("category") if isinstance(metadata, Mapping) else None


def models_page(entries: Sequence[Any], query: str) -> dict[str, Any]:
    """One page of ``entries`` for the query string of ``GET /v1/models``.

    Entries that are not objects (injected hostile ones) are passed through as they are.
    Raises CatalogError for an invalid ``limit`` or ``cursor``.
    """
    params = parse_qs(query, keep_blank_values=True)
    raw_limit = params.get("limit", [str(DEFAULT_PAGE_SIZE)])[-1]
    if not raw_limit.isdigit() or int(raw_limit) < 1:
        raise CatalogError(f"Invalid limit {raw_limit!r}: expected a positive integer.")
    limit = int(raw_limit)
    offset = _decode_cursor(params["cursor"][-1]) if params.get("cursor") else 0
    expand = {e.strip() for value in params.get("expand", []) for e in value.split(",")}
    categories = params.get("category")
    selected = [e for e in entries if not categories or _category(e) == categories[-1]]
    page = selected[offset : offset + limit]
    models = []
    for entry in page:
        if isinstance(entry, Mapping) and _EXPAND_OPENAPI not in expand:
            entry = {k: v for k, v in entry.items() if k != "openapi"}
        models.append(entry)
    has_more = offset + limit < len(selected)
    return {
        "models": models,
        "next_cursor": _encode_cursor(offset + limit) if has_more else None,
        "has_more": has_more,
    }

"""The emulator's model-list API and document overrides, over plain HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fal_typed.testing import FalEmulator

from .conftest import KEY


def _pages(emu: FalEmulator, **params: Any) -> list[dict[str, Any]]:
    pages = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = httpx.get(emu.models_url, params=query)
        assert response.status_code == 200
        page = response.json()
        pages.append(page)
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return pages
        cursor = page["next_cursor"]


def test_model_list_pages_over_every_loaded_document(emu: FalEmulator) -> None:
    pages = _pages(emu, expand="openapi-3.0", limit=5)
    assert [len(p["models"]) for p in pages] == [5, 5, 4]
    models = [m for p in pages for m in p["models"]]
    assert [m["endpoint_id"] for m in models] == emu.endpoints
    for model in models:
        document = emu.document(model["endpoint_id"])
        assert model == {
            "endpoint_id": document.endpoint_id,
            "metadata": document.metadata,
            "openapi": document.openapi,
        }


def test_model_list_category_and_expand(emu: FalEmulator) -> None:
    (page,) = _pages(emu, category="speech-to-text")
    assert [m["endpoint_id"] for m in page["models"]] == [
        "fal-ai/elevenlabs/speech-to-text",
        "fal-ai/wizper",
    ]
    assert all("openapi" not in m for m in page["models"])  # only with expand=openapi-3.0
    assert _pages(emu, category="no-such-category") == [
        {"models": [], "next_cursor": None, "has_more": False}
    ]


def test_model_list_key_is_optional_but_checked(emu: FalEmulator) -> None:
    assert httpx.get(emu.models_url).status_code == 200
    assert httpx.get(emu.models_url, headers={"Authorization": f"Key {KEY}"}).status_code == 200
    assert httpx.get(emu.models_url, headers={"Authorization": "Key nope"}).status_code == 403
    assert httpx.get(emu.models_url, headers={"Authorization": "Bearer x"}).status_code == 401


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "many"}, {"cursor": "garbage!"}])
def test_model_list_rejects_bad_queries(emu: FalEmulator, query: dict[str, str]) -> None:
    response = httpx.get(emu.models_url, params=query)
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_request"


def test_added_entries_are_listed_as_given_until_reset(emu: FalEmulator) -> None:
    emu.add_model_entry({"endpoint_id": "../evil", "openapi": {"x": 1}})
    emu.add_model_entry("not an object")
    models = [m for p in _pages(emu, limit=100, expand="openapi-3.0") for m in p["models"]]
    assert models[-2:] == [{"endpoint_id": "../evil", "openapi": {"x": 1}}, "not an object"]
    emu.reset()
    models = [m for p in _pages(emu, limit=100) for m in p["models"]]
    assert len(models) == len(emu.endpoints)


def test_document_overrides(emu: FalEmulator) -> None:
    def get(endpoint_id: str) -> httpx.Response:
        return httpx.get(emu.openapi_url, params={"endpoint_id": endpoint_id})

    assert get("fal-ai/wizper").json() == emu.document("fal-ai/wizper").openapi
    emu.override_document("fal-ai/wizper", status=404)
    emu.override_document("fal-ai/esrgan", body=b"{not json")
    emu.override_document("team/extra", body={"openapi": "3.0.4"}, times=1)
    emu.override_document("fal-ai/flux/dev", status=503, times=2)
    assert get("fal-ai/wizper").status_code == 404
    assert get("fal-ai/wizper").status_code == 404  # until reset
    assert get("fal-ai/esrgan").content == b"{not json"
    assert get("team/extra").json() == {"openapi": "3.0.4"}
    assert get("team/extra").status_code == 404  # used up
    assert [get("fal-ai/flux/dev").status_code for _ in range(3)] == [503, 503, 200]
    with pytest.raises(ValueError):
        emu.override_document("fal-ai/wizper")  # 200 needs a body
    emu.reset()
    assert get("fal-ai/wizper").status_code == 200

"""Typed calls through Endpoint, with small hand-written models."""

from __future__ import annotations

from typing import Any, Literal

import pydantic
import pytest
from pydantic import BaseModel, ConfigDict, Field

import fal_typed._client
from fal_typed import Endpoint, FalClient, InvalidResponseError, ResponseValidationError

from ._server import RecordingServer, Reply


class Size(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: int = Field(512, ge=1)
    height: int = 512


class CatInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())
    prompt: str
    num_images: int = Field(1, ge=1, le=8)
    # a default that breaks its own constraint, as fal documents have
    seed: int = Field(0, ge=1)
    image_size: Size | Literal["square_hd", "landscape_4_3"] = "square_hd"
    model_config_: str | None = Field(None, alias="model_config")


class Image(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str
    width: int


class CatOutput(BaseModel):
    model_config = ConfigDict(extra="allow")
    images: list[Image]
    seed: int


CATS = Endpoint("fal-ai/cats", CatInput, CatOutput)
OUTPUT = {"images": [{"url": "https://x/1.png", "width": 1024}], "seed": 15860307465884635512}


def test_sends_only_what_was_set_and_parses_output(
    server: RecordingServer, client: FalClient
) -> None:
    server.script(Reply(body=OUTPUT, headers={"x-fal-request-id": "r1"}))
    out = CATS(client=client, prompt="a cat", image_size={"width": 640})
    assert isinstance(out, CatOutput)
    assert out.images[0].url == "https://x/1.png"
    assert out.seed == 15860307465884635512
    [req] = server.requests
    assert req.path == "/fal-ai/cats"
    assert req.json() == {"prompt": "a cat", "image_size": {"width": 640}}


def test_aliases_sent_by_alias(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(body=OUTPUT), Reply(body=OUTPUT))
    CATS({"prompt": "p", "model_config_": "v2"}, client=client)
    CATS(CatInput.model_validate({"prompt": "p", "model_config": "v3"}), client=client)
    assert [r.json() for r in server.requests] == [
        {"prompt": "p", "model_config": "v2"},
        {"prompt": "p", "model_config": "v3"},
    ]


def test_request_options_reach_the_server(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(body=OUTPUT))
    CATS(
        client=client,
        prompt="p",
        start_timeout=5,
        object_lifecycle=60,
        extra_headers={"X-Trace": "t"},
    )
    headers = server.requests[0].headers
    assert headers["x-fal-request-timeout"] == "5"
    assert headers["x-fal-object-lifecycle-preference"] == '{"expiration_duration_seconds": 60}'
    assert headers["x-trace"] == "t"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"prompt": "p", "num_images": 50}, "num_images"),
        ({"prompt": "p", "image_size": "huge"}, "image_size"),
        ({"num_images": 2}, "prompt"),
        ({"prompt": "p", "promt": "typo"}, "promt"),
        ({"prompt": "p", "image_size": {"width": 0}}, "width"),
    ],
)
def test_invalid_input_sends_nothing(
    server: RecordingServer, client: FalClient, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        CATS(client=client, **arguments)
    assert field in str(info.value)
    assert server.requests == []


def test_invalid_options_send_nothing(server: RecordingServer, client: FalClient) -> None:
    with pytest.raises(ValueError, match="start_timeout"):
        CATS(client=client, prompt="p", start_timeout=0)
    assert server.requests == []


def test_model_and_keywords_together_rejected(client: FalClient) -> None:
    with pytest.raises(TypeError, match="not both"):
        CATS(CatInput(prompt="p"), client=client, prompt="q")


def test_wrong_model_type_rejected(client: FalClient) -> None:
    with pytest.raises(TypeError, match="expected CatInput"):
        CATS(Size(), client=client)  # type: ignore[arg-type]


def test_unknown_output_fields_are_kept(server: RecordingServer, client: FalClient) -> None:
    body = {**OUTPUT, "new_field": {"a": 1}}
    body["images"] = [{"url": "u", "width": 1, "nsfw": False}]
    server.script(Reply(body=body))
    out = CATS(client=client, prompt="p")
    assert out.model_dump() == body


def test_mismatching_output_keeps_raw_data(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(body={"images": "oops"}, headers={"x-fal-request-id": "r7"}))
    with pytest.raises(ResponseValidationError) as info:
        CATS(client=client, prompt="p")
    err = info.value
    assert err.request_id == "r7"
    assert err.data == {"images": "oops"}
    assert {tuple(e["loc"]) for e in err.errors} >= {("images",), ("seed",)}
    assert "r7" in str(err)


def test_non_json_output(server: RecordingServer, client: FalClient) -> None:
    server.script(Reply(body=b"not json", headers={"x-fal-request-id": "r8"}))
    with pytest.raises(InvalidResponseError) as info:
        CATS(client=client, prompt="p")
    assert info.value.request_id == "r8"


def test_default_client_from_environment(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fal_typed._client, "_default_client", None)
    monkeypatch.setenv("FAL_KEY", "env-key")
    monkeypatch.setenv("FAL_RUN_HOST", server.url)
    server.script(Reply(body=OUTPUT))
    CATS(prompt="p")
    assert server.requests[0].headers["authorization"] == "Key env-key"
    first = fal_typed._client.default_client()
    assert fal_typed._client.default_client() is first
    first.close()


def test_attributes_and_repr() -> None:
    assert CATS.id == "fal-ai/cats"
    assert CATS.input_model is CatInput and CATS.output_model is CatOutput
    assert repr(CATS) == "Endpoint('fal-ai/cats', CatInput, CatOutput)"

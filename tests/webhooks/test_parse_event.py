"""parse_event: typed payloads, failed requests, unserialisable payloads, bad bodies."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

import fal_typed
from fal_typed.webhooks import (
    InvalidWebhookError,
    WebhookEvent,
    WebhookRequestFailedError,
    parse_event,
)


class Image(pydantic.BaseModel):
    url: str
    width: int | None = None


class Output(pydantic.BaseModel):
    images: list[Image]
    seed: int


OK_BODY: dict[str, Any] = {
    "request_id": "req-1",
    "gateway_request_id": "gw-1",
    "status": "OK",
    "payload": {"images": [{"url": "https://v3.fal.media/a.png", "width": 1024}], "seed": 42},
}
ERROR_BODY: dict[str, Any] = {
    "request_id": "req-2",
    "gateway_request_id": "gw-2",
    "status": "ERROR",
    "error": "Invalid status code: 422",
    "payload": {
        "detail": [
            {"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}
        ]
    },
}
UNSERIALISABLE_BODY: dict[str, Any] = {
    "request_id": "req-3",
    "gateway_request_id": "gw-3",
    "status": "OK",
    "payload": None,
    "payload_error": "Response payload is not JSON serializable. Either return a JSON "
    "serializable object or use the queue endpoint to retrieve the response.",
}


@pytest.mark.parametrize("form", ["bytes", "str", "mapping", "bytearray", "memoryview"])
def test_ok_payload_is_typed(form: str) -> None:
    raw = json.dumps(OK_BODY).encode()
    body: Any = {
        "bytes": raw,
        "str": raw.decode(),
        "mapping": OK_BODY,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
    }[form]
    event = parse_event(body, Output, endpoint_id="fal-ai/fast-sdxl")
    assert isinstance(event, WebhookEvent)
    assert event.ok
    assert event.request_id == "req-1"
    assert event.gateway_request_id == "gw-1"
    assert event.status == "OK"
    assert isinstance(event.payload, Output)
    assert event.payload.images[0].width == 1024
    assert event.error is None and event.error_payload is None and event.payload_error is None
    assert event.raw == OK_BODY
    assert event.endpoint_id == "fal-ai/fast-sdxl"
    assert event.raise_for_error() is event.payload


def test_error_with_422_detail() -> None:
    event = parse_event(json.dumps(ERROR_BODY).encode(), Output, endpoint_id="fal-ai/fast-sdxl")
    assert not event.ok
    assert event.status == "ERROR"
    assert event.payload is None
    assert event.error == "Invalid status code: 422"
    assert event.error_payload == ERROR_BODY["payload"]
    with pytest.raises(WebhookRequestFailedError) as info:
        event.raise_for_error()
    error = info.value
    assert isinstance(error, fal_typed.FalError)
    assert str(error) == (
        "fal-ai/fast-sdxl: request req-2 failed: Invalid status code: 422: "
        "body.prompt: field required"
    )
    assert error.request_id == "req-2"
    assert error.error_payload == ERROR_BODY["payload"]


def test_error_without_payload() -> None:
    body = {"request_id": "req-4", "status": "ERROR", "error": "Runner crashed"}
    event = parse_event(body, Output)
    assert event.error_payload is None and event.gateway_request_id is None
    with pytest.raises(WebhookRequestFailedError, match=r"^request req-4 failed: Runner crashed$"):
        event.raise_for_error()


def test_payload_error_with_null_payload() -> None:
    event = parse_event(json.dumps(UNSERIALISABLE_BODY), Output)
    assert event.ok
    assert event.payload is None
    assert event.payload_error is not None and "not JSON serializable" in event.payload_error
    with pytest.raises(WebhookRequestFailedError, match="could not send its output") as info:
        event.raise_for_error()
    assert info.value.payload_error == event.payload_error


def test_ok_without_payload() -> None:
    event = parse_event({"request_id": "r", "status": "OK"}, Output)
    assert event.payload is None
    with pytest.raises(WebhookRequestFailedError, match="no payload"):
        event.raise_for_error()


def test_unknown_fields_are_kept_in_raw() -> None:
    event = parse_event({**OK_BODY, "new_field": [1]}, Output)
    assert event.raw["new_field"] == [1]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "not JSON"),
        (b"", "not JSON"),
        ("\ufeff{}", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'"text"', "expected a JSON object, got str"),
        (b'{"status": "OK"}', "request_id"),
        (b'{"request_id": 5, "status": "OK"}', "request_id"),
        (b'{"request_id": "r"}', "status"),
        (b'{"request_id": "r", "status": "COMPLETED"}', "status"),
        (b'{"request_id": "r", "status": "OK", "error": 5}', "'error' must be a string"),
        (b'{"request_id": "r", "status": "OK", "gateway_request_id": {}}', "gateway_request_id"),
    ],
)
def test_malformed_bodies(body: bytes | str, match: str) -> None:
    with pytest.raises(InvalidWebhookError, match=match) as info:
        parse_event(body, Output)
    assert isinstance(info.value, fal_typed.FalError)
    assert isinstance(info.value, ValueError)


def test_payload_not_matching_the_model() -> None:
    body = {**OK_BODY, "payload": {"images": [{"width": "wide"}]}}
    with pytest.raises(fal_typed.ResponseValidationError) as info:
        parse_event(json.dumps(body).encode(), Output, endpoint_id="fal-ai/fast-sdxl")
    error = info.value
    assert str(error).startswith(
        "fal-ai/fast-sdxl: the webhook payload does not match Output (request_id=req-1)"
    )
    assert error.endpoint_id == "fal-ai/fast-sdxl"
    assert error.request_id == "req-1"
    assert error.data == body["payload"]
    assert {tuple(e["loc"]) for e in error.errors} == {
        ("images", 0, "url"),
        ("images", 0, "width"),
        ("seed",),
    }
    assert error.__cause__ is None


def test_payload_not_matching_without_endpoint_id() -> None:
    with pytest.raises(fal_typed.ResponseValidationError, match=r"^the webhook payload") as info:
        parse_event({**OK_BODY, "payload": [1]}, Output)
    assert info.value.endpoint_id == ""


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="pydantic model"):
        parse_event(OK_BODY, dict)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="bytes, str or a mapping"):
        parse_event(42, Output)  # type: ignore[arg-type]


def test_event_is_frozen() -> None:
    event = parse_event(OK_BODY, Output)
    with pytest.raises(AttributeError):
        event.status = "ERROR"  # type: ignore[misc]


def test_static_types() -> None:
    from typing_extensions import assert_type

    event = parse_event(OK_BODY, Output)
    assert_type(event, WebhookEvent[Output])
    assert_type(event.payload, Output | None)
    assert_type(event.raise_for_error(), Output)

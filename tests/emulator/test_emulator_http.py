"""The emulator's HTTP behaviour, through a real HTTP client."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from fal_typed.testing import FalEmulator

from .conftest import KEY, SCHEMAS

SDXL = "fal-ai/fast-sdxl"


def test_url_is_loopback_with_ephemeral_port(emu: FalEmulator) -> None:
    assert emu.url.startswith("http://127.0.0.1:")
    assert emu.port > 0
    assert len(emu.endpoints) == 14


def test_valid_request_answers_200_with_request_id(emu: FalEmulator, http: httpx.Client) -> None:
    response = http.post(f"/{SDXL}", json={"prompt": "a cat"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-fal-request-id"]
    data = response.json()
    assert data["prompt"] == "a cat"
    [recorded] = emu.requests
    assert recorded.method == "POST"
    assert recorded.endpoint_id == SDXL
    assert recorded.subpath is None
    assert recorded.json == {"prompt": "a cat"}
    assert recorded.body == response.request.content
    assert recorded.status == 200
    assert recorded.request_id == response.headers["x-fal-request-id"]
    assert recorded.headers["AUTHORIZATION"] == f"Key {KEY}"


def test_keep_alive_serves_several_requests_on_one_connection(
    emu: FalEmulator, http: httpx.Client
) -> None:
    for _ in range(3):
        assert http.post(f"/{SDXL}", json={"prompt": "x"}).status_code == 200
    assert [r.status for r in emu.requests] == [200, 200, 200]


def test_missing_key_is_401(emu: FalEmulator) -> None:
    response = httpx.post(f"{emu.url}/{SDXL}", json={"prompt": "a cat"})
    assert response.status_code == 401
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["error_type"] == response.headers["x-fal-error-type"]
    assert emu.requests[-1].status == 401


def test_malformed_authorization_is_401(emu: FalEmulator) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    response = httpx.post(f"{emu.url}/{SDXL}", json={"prompt": "a cat"}, headers=headers)
    assert response.status_code == 401


def test_wrong_key_is_403(emu: FalEmulator) -> None:
    headers = {"Authorization": "Key not-the-key"}
    response = httpx.post(f"{emu.url}/{SDXL}", json={"prompt": "a cat"}, headers=headers)
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)


def test_any_key_accepted_when_none_configured() -> None:
    with FalEmulator(schemas=[SCHEMAS / "fal-ai" / "esrgan.json"], key=None) as emu:
        headers = {"Authorization": "Key whatever:secret"}
        body = {"image_url": "https://example.com/a.png"}
        response = httpx.post(f"{emu.url}/fal-ai/esrgan", json=body, headers=headers)
        assert response.status_code == 200
        missing = httpx.post(f"{emu.url}/fal-ai/esrgan", json=body)
        assert missing.status_code == 401


def test_unknown_endpoint_is_404(emu: FalEmulator, http: httpx.Client) -> None:
    response = http.post("/fal-ai/no-such-model", json={})
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"detail", "error_type"}
    assert emu.requests[-1].endpoint_id is None


def test_prefix_without_segment_boundary_is_not_a_match(http: httpx.Client) -> None:
    assert http.post("/fal-ai/fast-sdxl-turbo", json={"prompt": "x"}).status_code == 404


def test_get_on_endpoint_is_405(http: httpx.Client) -> None:
    assert http.get(f"/{SDXL}").status_code == 405


def test_subpath_routes_to_longest_loaded_prefix(emu: FalEmulator, http: httpx.Client) -> None:
    response = http.post("/fal-ai/flux/dev", json={"prompt": "a cat"})
    assert response.status_code == 200
    assert (emu.requests[-1].endpoint_id, emu.requests[-1].subpath) == ("fal-ai/flux/dev", None)

    response = http.post("/fal-ai/fast-sdxl/image-to-image/extra", json={"prompt": "a cat"})
    assert response.status_code == 200
    recorded = emu.requests[-1]
    assert recorded.endpoint_id == SDXL
    assert recorded.subpath == "image-to-image/extra"


def _detail(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail"}
    detail: list[dict[str, Any]] = body["detail"]
    for item in detail:
        assert {"loc", "msg", "type"} <= set(item)
        assert item["loc"][0] == "body"
    return detail


def test_422_missing_required_field(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"num_images": 1}))
    assert error["loc"] == ["body", "prompt"]
    assert error["type"] == "missing"
    assert error["msg"] == "Field required"


def test_422_out_of_range_number(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"prompt": "x", "num_inference_steps": 500}))
    assert error["loc"] == ["body", "num_inference_steps"]
    assert error["type"] == "less_than_equal"
    assert error["ctx"] == {"le": 65}
    assert error["input"] == 500


def test_422_below_minimum(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"prompt": "x", "num_images": 0}))
    assert (error["loc"], error["type"]) == (["body", "num_images"], "greater_than_equal")


def test_422_bad_enum_value(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"prompt": "x", "format": "gif"}))
    assert error["loc"] == ["body", "format"]
    assert error["type"] == "enum"
    assert "'jpeg'" in error["msg"] and "'png'" in error["msg"]


def test_422_bad_enum_inside_union_reports_the_enum(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"prompt": "x", "image_size": "huge"}))
    assert (error["loc"], error["type"]) == (["body", "image_size"], "enum")


def test_422_wrong_type(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json={"prompt": 42}))
    assert (error["loc"], error["type"]) == (["body", "prompt"], "string_type")


def test_422_nested_location(http: httpx.Client) -> None:
    body = {"prompt": "x", "image_size": {"width": "wide", "height": 512}}
    [error] = _detail(http.post(f"/{SDXL}", json=body))
    assert error["loc"] == ["body", "image_size", "width"]
    assert error["type"] == "int_type"


def test_422_lists_every_error(http: httpx.Client) -> None:
    detail = _detail(http.post(f"/{SDXL}", json={"num_images": 99, "format": "gif"}))
    assert [e["loc"][1] for e in detail] == ["format", "num_images", "prompt"]


def test_422_body_not_an_object_or_not_json(http: httpx.Client) -> None:
    [error] = _detail(http.post(f"/{SDXL}", json=["prompt"]))
    assert error["loc"] == ["body"]
    [error] = _detail(
        http.post(f"/{SDXL}", content=b"{not json", headers={"Content-Type": "application/json"})
    )
    assert error["type"] == "json_invalid"


def test_chunked_request_body_is_read(emu: FalEmulator, http: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"prompt": '
        yield b'"chunked"}'

    response = http.post(f"/{SDXL}", content=chunks())
    assert response.status_code == 200
    assert emu.requests[-1].json == {"prompt": "chunked"}


# -- start timeout -------------------------------------------------------------------------


def test_start_timeout_expires_with_504_user(emu: FalEmulator, http: httpx.Client) -> None:
    emu.start_delay = 30.0  # simulated seconds; time_scale=0.1 in these tests
    started = time.monotonic()
    response = http.post(f"/{SDXL}", json={"prompt": "x"}, headers={"X-Fal-Request-Timeout": "1"})
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.headers["x-fal-request-timeout-type"] == "user"
    assert response.headers["x-fal-request-id"]
    body = response.json()
    assert body["error_type"] == "startup_timeout"
    assert isinstance(body["detail"], str)
    assert 0.08 <= elapsed < 1.5  # waited the (scaled) 1 s timeout, not the 30 s delay
    assert emu.requests[-1].start_timeout == 1.0


def test_start_timeout_satisfied_when_runner_starts_in_time(
    emu: FalEmulator, http: httpx.Client
) -> None:
    emu.start_delay = 1.5
    response = http.post(f"/{SDXL}", json={"prompt": "x"}, headers={"X-Fal-Request-Timeout": "2.5"})
    assert response.status_code == 200
    assert emu.requests[-1].start_timeout == 2.5


def test_start_delay_per_endpoint(emu: FalEmulator, http: httpx.Client) -> None:
    emu.set_start_delay(5, endpoint_id=SDXL)
    timeout = {"X-Fal-Request-Timeout": "1"}
    assert http.post(f"/{SDXL}", json={"prompt": "x"}, headers=timeout).status_code == 504
    flux = http.post("/fal-ai/flux/dev", json={"prompt": "x"}, headers=timeout)
    assert flux.status_code == 200


def test_start_delay_without_timeout_header_just_waits() -> None:
    with FalEmulator(schemas=[SCHEMAS / "fal-ai" / "fast-sdxl.json"], start_delay=0.2) as slow:
        started = time.monotonic()
        response = httpx.post(
            f"{slow.url}/{SDXL}",
            json={"prompt": "x"},
            headers={"Authorization": "Key test-key"},
        )
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.18


@pytest.mark.parametrize("value", ["abc", "0.5", "0", "-3", "nan", "inf", ""])
def test_invalid_start_timeout_header_is_400(
    emu: FalEmulator, http: httpx.Client, value: str
) -> None:
    response = http.post(f"/{SDXL}", json={"prompt": "x"}, headers={"X-Fal-Request-Timeout": value})
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_request"
    assert response.headers["x-fal-error-type"] == "bad_request"
    assert emu.requests[-1].start_timeout is None


# -- object lifecycle ----------------------------------------------------------------------


def test_lifecycle_is_recorded(emu: FalEmulator, http: httpx.Client) -> None:
    header = json.dumps({"expiration_duration_seconds": 3600})
    response = http.post(
        f"/{SDXL}", json={"prompt": "x"}, headers={"X-Fal-Object-Lifecycle-Preference": header}
    )
    assert response.status_code == 200
    assert emu.requests[-1].lifecycle_seconds == 3600


def test_no_lifecycle_header_records_none(emu: FalEmulator, http: httpx.Client) -> None:
    http.post(f"/{SDXL}", json={"prompt": "x"})
    assert emu.requests[-1].lifecycle_seconds is None


@pytest.mark.parametrize(
    "value",
    [
        "3600",
        "not json",
        "{}",
        '{"expiration_duration_seconds": 0}',
        '{"expiration_duration_seconds": -5}',
        '{"expiration_duration_seconds": 1.5}',
        '{"expiration_duration_seconds": "60"}',
        '{"expiration_duration_seconds": true}',
    ],
)
def test_invalid_lifecycle_is_400(emu: FalEmulator, http: httpx.Client, value: str) -> None:
    response = http.post(
        f"/{SDXL}", json={"prompt": "x"}, headers={"X-Fal-Object-Lifecycle-Preference": value}
    )
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_request"


# -- documents -----------------------------------------------------------------------------


def test_openapi_document_is_served(emu: FalEmulator) -> None:
    response = httpx.get(
        f"{emu.url}/api/openapi/queue/openapi.json", params={"endpoint_id": "fal-ai/esrgan"}
    )
    assert response.status_code == 200
    served = response.json()
    assert served == emu.document("fal-ai/esrgan").openapi
    assert served["info"]["x-fal-metadata"]["endpointId"] == "fal-ai/esrgan"


def test_openapi_document_unknown_is_404(emu: FalEmulator) -> None:
    url = f"{emu.url}/api/openapi/queue/openapi.json"
    assert httpx.get(url, params={"endpoint_id": "fal-ai/nope"}).status_code == 404
    assert httpx.get(url).status_code == 404


# -- the emulator object -------------------------------------------------------------------


def test_reset_forgets_requests_faults_and_delays(emu: FalEmulator, http: httpx.Client) -> None:
    http.post(f"/{SDXL}", json={"prompt": "x"})
    emu.inject(SDXL, status=503)
    emu.start_delay = 9
    emu.reset()
    assert emu.requests == []
    assert emu.pending_faults == []
    assert emu.start_delay == 0.0


def test_close_is_idempotent_and_url_needs_a_running_server() -> None:
    emu = FalEmulator(schemas=[SCHEMAS / "fal-ai" / "esrgan.json"])
    with pytest.raises(RuntimeError):
        _ = emu.url
    with emu:
        assert emu.url
    emu.close()
    with pytest.raises(RuntimeError):
        _ = emu.url


def test_closing_with_an_idle_keep_alive_connection() -> None:
    with (
        FalEmulator(schemas=[SCHEMAS / "fal-ai" / "esrgan.json"], key=None) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": "Key k"}) as client,
    ):
        body = {"image_url": "https://example.com/a.png"}
        assert client.post("/fal-ai/esrgan", json=body).status_code == 200
        emu.close()  # the client's pooled connection is still open
        with pytest.raises(httpx.TransportError):
            client.post("/fal-ai/esrgan", json=body)


def test_duplicate_endpoint_ids_are_rejected(tmp_path: Any) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes((SCHEMAS / "fal-ai" / "esrgan.json").read_bytes())
    with pytest.raises(ValueError, match="fal-ai/esrgan"):
        FalEmulator(schemas=[SCHEMAS / "fal-ai" / "esrgan.json", copy])


def test_client_helper_runs_an_endpoint(emu: FalEmulator) -> None:
    with emu.client() as client:
        result = client.run(SDXL, {"prompt": "a cat"}, object_lifecycle=60)
    assert result["prompt"] == "a cat"
    assert emu.requests[-1].lifecycle_seconds == 60


def test_internal_failure_answers_500_internal_error(
    emu: FalEmulator, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("synthesis exploded")

    monkeypatch.setattr(emu, "output_for", broken)
    response = http.post(f"/{SDXL}", json={"prompt": "x"})
    assert response.status_code == 500
    assert response.json()["error_type"] == "internal_error"
    assert "synthesis exploded" in response.json()["detail"]
    assert emu.requests[-1].status == 500

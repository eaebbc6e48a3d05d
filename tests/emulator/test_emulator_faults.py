"""Fault injection, seen through a real HTTP client and in the emulator's records."""

from __future__ import annotations

import time

import httpx
import pytest

from fal_typed.testing import FalEmulator, Fault

SDXL = "fal-ai/fast-sdxl"
BODY = {"prompt": "a cat"}


def test_status_fault_uses_fal_request_error_shape(emu: FalEmulator, http: httpx.Client) -> None:
    emu.inject(SDXL, status=503, retryable=True, retry_after="2")
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 503
    body = response.json()
    assert body["error_type"] == "runner_scheduling_failure"
    assert isinstance(body["detail"], str)
    assert response.headers["x-fal-error-type"] == "runner_scheduling_failure"
    assert response.headers["x-fal-retryable"] == "true"
    assert response.headers["retry-after"] == "2"
    assert response.headers["x-fal-request-id"]
    recorded = emu.requests[-1]
    assert recorded.status == 503
    assert recorded.fault is not None and recorded.fault.status == 503
    # Used up: the next request is answered normally.
    assert http.post(f"/{SDXL}", json=BODY).status_code == 200


def test_status_fault_options(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(
        SDXL,
        status=500,
        error_type="internal_error",
        detail="boom",
        retryable=False,
        request_id=False,
        headers={"X-Extra": "1"},
    )
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 500
    assert response.json() == {"detail": "boom", "error_type": "internal_error"}
    assert response.headers["x-fal-retryable"] == "false"
    assert response.headers["x-extra"] == "1"
    assert "x-fal-request-id" not in response.headers
    assert "retry-after" not in response.headers
    assert emu.requests[-1].request_id is None


def test_status_fault_without_known_error_type(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, status=429, retry_after="1")
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 429
    assert set(response.json()) == {"detail"}
    assert "x-fal-error-type" not in response.headers


def test_422_fault_uses_validation_shape(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, status=422, error_type="image_too_large", detail="too big", retryable=False)
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body"], "msg": "too big", "type": "image_too_large"}]
    }
    assert response.headers["x-fal-retryable"] == "false"
    items = [{"loc": ["body", "image_url"], "msg": "x", "type": "y", "ctx": {"max_height": 1}}]
    emu.inject(SDXL, status=422, detail=items)
    assert http.post(f"/{SDXL}", json=BODY).json() == {"detail": items}


def test_times_controls_consumption(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, status=502, times=2)
    statuses = [http.post(f"/{SDXL}", json=BODY).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert emu.pending_faults == []


def test_faults_are_consumed_in_order(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, status=503)
    emu.inject(status=504)  # any endpoint
    emu.inject(SDXL, status=500)
    # flux/dev skips the SDXL-only fault and takes the first one for any endpoint.
    assert http.post("/fal-ai/flux/dev", json=BODY).status_code == 504
    assert [http.post(f"/{SDXL}", json=BODY).status_code for _ in range(3)] == [503, 500, 200]


def test_faults_only_hit_requests_that_pass_checks(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, status=503)
    assert httpx.post(f"{emu.url}/{SDXL}", json=BODY).status_code == 401  # no key
    bad = {"X-Fal-Request-Timeout": "0"}
    assert http.post(f"/{SDXL}", json=BODY, headers=bad).status_code == 400
    assert http.post(f"/{SDXL}", json=BODY).status_code == 503


def test_delay_fault_slows_a_normal_answer(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, delay=0.2)
    started = time.monotonic()
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.19


def test_delay_with_status(http: httpx.Client, emu: FalEmulator) -> None:
    emu.add_fault(Fault(status=504, delay=0.1), SDXL)
    started = time.monotonic()
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 504
    assert response.json()["error_type"] == "request_timeout"
    assert time.monotonic() - started >= 0.09


def test_delay_fault_can_trip_the_client_timeout(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        http.post(f"/{SDXL}", json=BODY, timeout=0.05)
    assert len(emu.requests) == 1


def test_close_connection_after_reading_the_request(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, close_connection=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post(f"/{SDXL}", json=BODY)
    [recorded] = emu.requests
    assert recorded.json == BODY  # the whole request was read and recorded
    assert recorded.status is None
    assert recorded.request_id is None
    assert recorded.fault is not None and recorded.fault.close_connection
    # The client recovers on a new connection.
    assert http.post(f"/{SDXL}", json=BODY).status_code == 200


def test_malformed_json(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, malformed_json=True)
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-fal-request-id"]
    with pytest.raises(ValueError):
        response.json()


def test_html_gateway_error(http: httpx.Client, emu: FalEmulator) -> None:
    emu.inject(SDXL, html_gateway_error=502)
    response = http.post(f"/{SDXL}", json=BODY)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "x-fal-request-id" not in response.headers
    assert "nginx" in response.text
    assert "<title>502 Bad Gateway</title>" in response.text
    assert emu.requests[-1].request_id is None


def test_inject_unknown_endpoint_is_an_error(emu: FalEmulator) -> None:
    with pytest.raises(KeyError, match="no-such"):
        emu.inject("fal-ai/no-such", status=503)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"status": 200},
        {"status": 503, "close_connection": True},
        {"malformed_json": True, "html_gateway_error": 502},
        {"html_gateway_error": 404},
        {"status": 503, "times": 0},
        {"delay": -1.0},
    ],
)
def test_invalid_faults(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Fault(**kwargs)  # type: ignore[arg-type]

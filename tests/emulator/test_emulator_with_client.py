"""The SDK's runtime client against the emulator: each emulated behaviour maps to its error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fal_typed import (
    FalAPIError,
    FalClient,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    RequestOutcomeUnknownError,
    StartTimeoutError,
    UnprocessableEntityError,
)
from fal_typed.testing import FalEmulator

SDXL = "fal-ai/fast-sdxl"


@pytest.fixture
def client(emu: FalEmulator) -> Iterator[FalClient]:
    with emu.client(max_retries=0, timeout=5.0) as client:
        yield client


def test_run_returns_output_and_sends_options(emu: FalEmulator, client: FalClient) -> None:
    out = client.run(SDXL, {"prompt": "a cat"}, start_timeout=5, object_lifecycle=3600)
    assert out["prompt"] == "a cat"
    recorded = emu.requests[-1]
    assert (recorded.start_timeout, recorded.lifecycle_seconds) == (5.0, 3600)


def test_subpath(emu: FalEmulator, client: FalClient) -> None:
    client.run(SDXL, {"prompt": "a cat"}, path="turbo")
    assert emu.requests[-1].subpath == "turbo"


def test_validation_error(client: FalClient) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        client.run(SDXL, {"prompt": "x", "num_inference_steps": 500})
    assert info.value.detail[0]["loc"] == ["body", "num_inference_steps"]
    assert info.value.request_id


def test_start_timeout(emu: FalEmulator, client: FalClient) -> None:
    emu.set_start_delay(2, SDXL)
    with pytest.raises(StartTimeoutError) as info:
        client.run(SDXL, {"prompt": "x"}, start_timeout=1)
    assert info.value.error_type == "startup_timeout"


def test_wrong_key_and_unknown_endpoint(emu: FalEmulator) -> None:
    with (
        FalClient(key="wrong", base_url=emu.url, max_retries=0) as bad,
        pytest.raises(FalAPIError) as info,
    ):
        bad.run(SDXL, {"prompt": "x"})
    assert info.value.status_code == 403
    with emu.client(max_retries=0) as client, pytest.raises(NotFoundError):
        client.run("fal-ai/unknown", {})


def test_injected_faults(emu: FalEmulator, client: FalClient) -> None:
    emu.inject(SDXL, status=503, retryable=True)
    with pytest.raises(InternalServerError) as info:
        client.run(SDXL, {"prompt": "x"})
    assert (info.value.error_type, info.value.retryable) == ("runner_scheduling_failure", True)

    emu.inject(SDXL, html_gateway_error=502)
    with pytest.raises(InternalServerError) as gateway:
        client.run(SDXL, {"prompt": "x"})
    assert gateway.value.request_id is None

    emu.inject(SDXL, malformed_json=True)
    with pytest.raises(InvalidResponseError):
        client.run(SDXL, {"prompt": "x"})

    emu.inject(SDXL, close_connection=True)
    with pytest.raises(RequestOutcomeUnknownError):
        client.run(SDXL, {"prompt": "x"})


def test_retried_503_is_seen_twice(emu: FalEmulator) -> None:
    emu.inject(SDXL, status=503, retryable=True, retry_after="0")
    with emu.client(max_retries=1) as client:
        assert client.run(SDXL, {"prompt": "x"})["prompt"] == "x"
    assert [r.status for r in emu.requests] == [503, 200]

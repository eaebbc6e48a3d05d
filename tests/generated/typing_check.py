"""What an IDE shows for generated code, checked by ``mypy --strict`` (never executed).

``tests/codegen/test_typing.py`` runs mypy on this file and requires zero errors; the sibling
``typing_errors.py.txt`` holds calls that mypy must reject.
"""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import assert_type  # typing.assert_type needs Python 3.11

from fal_typed import Endpoint, FalClient, QueueHandle, Status
from fal_typed.models import ENDPOINT_IDS, get_endpoint
from fal_typed.models.fal_ai.fast_sdxl import (
    ENDPOINT,
    FastSdxlInput,
    FastSdxlOutput,
    ImageSize,
    fast_sdxl,
)
from fal_typed.models.fal_ai.hyper3d_rodin_v2_5 import hyper3d_rodin_v2_5
from fal_typed.models.fal_ai.minimax_speech_02_hd import AudioSetting
from fal_typed.models.fal_ai.wizper import wizper
from fal_typed.webhooks import WebhookEvent


def check_fast_sdxl() -> None:
    out = fast_sdxl(prompt="x")
    assert_type(out, FastSdxlOutput)
    assert_type(out.images[0].url, str)
    assert_type(out.seed, int)
    assert_type(out.timings, dict[str, float])
    assert_type(fast_sdxl(FastSdxlInput(prompt="x")), FastSdxlOutput)
    assert_type(fast_sdxl({"prompt": "x"}), FastSdxlOutput)
    fast_sdxl(prompt="x", image_size="square_hd", num_images=2, seed=None, timeout=5.0)
    fast_sdxl(prompt="x", image_size=ImageSize(width=512, height=512))
    assert_type(ENDPOINT, Endpoint[FastSdxlInput, FastSdxlOutput])
    assert_type(ENDPOINT.build_input(prompt="x"), FastSdxlInput)
    assert_type(fast_sdxl.endpoint, Endpoint[FastSdxlInput, FastSdxlOutput])


def check_fast_sdxl_queue(client: FalClient) -> None:
    handle = fast_sdxl.submit(prompt="a cat", webhook_url="https://me.example/hook")
    assert_type(handle, QueueHandle[FastSdxlOutput])
    assert_type(handle.result(), FastSdxlOutput)
    assert_type(handle.result().images[0].url, str)
    assert_type(handle.request_id, str)
    assert_type(fast_sdxl.submit(FastSdxlInput(prompt="x")), QueueHandle[FastSdxlOutput])
    assert_type(fast_sdxl.submit({"prompt": "x"}, priority="low"), QueueHandle[FastSdxlOutput])
    fast_sdxl.submit(
        prompt="x",
        image_size=ImageSize(width=512, height=512),
        num_images=2,
        seed=None,
        client=client,
        priority="normal",
        start_timeout=10,
        timeout=5.0,
        extra_headers={"X-Test": "1"},
    )

    def on_status(status: Status) -> None:
        pass

    out = fast_sdxl.subscribe(prompt="a cat", on_status=print)
    assert_type(out, FastSdxlOutput)
    assert_type(
        fast_sdxl.subscribe(
            FastSdxlInput(prompt="x"),
            on_enqueue=print,
            on_status=on_status,
            logs=True,
            client_timeout=60,
            webhook_url="https://me.example/hook",
            client=client,
        ),
        FastSdxlOutput,
    )
    assert_type(fast_sdxl.subscribe(prompt="x", image_size="square").seed, int)
    assert_type(fast_sdxl.get_handle("id"), QueueHandle[FastSdxlOutput])
    assert_type(fast_sdxl.get_handle("id", client=client).result(), FastSdxlOutput)
    event = fast_sdxl.parse_webhook(b"...")
    assert_type(event, WebhookEvent[FastSdxlOutput])
    assert_type(event.payload, FastSdxlOutput | None)
    assert_type(fast_sdxl.parse_webhook({"request_id": "r"}), WebhookEvent[FastSdxlOutput])


def check_literals_and_tuples() -> None:
    settings = AudioSetting(sample_rate=44100, format="flac")
    assert_type(settings.sample_rate, Literal[8000, 16000, 22050, 24000, 32000, 44100])
    assert_type(wizper(audio_url="u").chunks[0].timestamp, tuple[float | None, float | None])
    assert_type(hyper3d_rodin_v2_5(TAPose=True, seed=5).seed, int)
    assert_type(
        wizper.subscribe(audio_url="u").chunks[0].timestamp, tuple[float | None, float | None]
    )
    assert_type(hyper3d_rodin_v2_5.submit().result().seed, int)


def check_registry() -> None:
    assert_type(ENDPOINT_IDS, tuple[str, ...])
    assert_type(get_endpoint("fal-ai/fast-sdxl"), Endpoint[Any, Any])

"""fal-typed in six steps: typed calls, validation before sending, request options, errors, and
a long job through fal's queue (position, logs, typed result, resuming, a verified webhook).

Run it offline against the emulator (what ``make demo`` does)::

    python examples/demo.py --emulator

or against fal.ai with your key (billed!)::

    FAL_KEY=... python examples/demo.py

``--emulator-url URL`` targets an emulator you started yourself (``fal-typed emulate``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydantic

from fal_typed import (
    Completed,
    FalClient,
    FalError,
    InProgress,
    Queued,
    StartTimeoutError,
    webhooks,
)
from fal_typed.models.fal_ai.fast_sdxl import fast_sdxl
from fal_typed.models.fal_ai.flux_dev import flux_dev
from fal_typed.models.fal_ai.kling_video_v1_6_pro_image_to_video import (
    kling_video_v1_6_pro_image_to_video as kling,
)
from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
KLING = "fal-ai/kling-video/v1.6/pro/image-to-video"
IMAGE_URL = "https://storage.googleapis.com/falserverless/example_inputs/kling-v1-5-input.png"


def step(title: str) -> None:
    print(f"\n== {title}")


@contextlib.contextmanager
def connect(args: argparse.Namespace) -> Iterator[tuple[FalClient, FalEmulator | None]]:
    """A client for fal.ai, an external emulator, or an in-process emulator."""
    if args.emulator:
        with FalEmulator(schemas=[SCHEMAS], time_scale=0.25) as emu, emu.client() as client:
            print(f"emulator on {emu.url} serving {len(emu.endpoints)} endpoints")
            yield client, emu
        return
    base_url = args.emulator_url
    key = os.environ.get("FAL_TYPED_DEMO_KEY", "demo-key") if base_url else None
    with FalClient(key, base_url=base_url) as client:
        print(f"calling {client.base_url}")
        yield client, None


def queue_demo(client: FalClient, emu: FalEmulator | None) -> None:
    step("6. A long job through the queue: kling_video.submit(...), then resume by id")
    receiver = WebhookReceiver(emu.jwks_url) if emu is not None else None
    if emu is not None:
        # A slow video model, one runner, and two other jobs ahead of ours.
        emu.set_queue_timing(
            KLING, run_time=4, concurrency=1, logs=["loading model", "frame 1/2", "frame 2/2"]
        )
        for _ in range(2):
            kling.submit(prompt="someone else's job", image_url=IMAGE_URL, client=client)
    try:
        handle = kling.submit(
            prompt="a cat surfing a wave",
            image_url=IMAGE_URL,
            client=client,
            webhook_url=receiver.url if receiver else None,
        )
        print(f"  queued as request {handle.request_id}")
        for status in handle.iter_status(logs=True):
            if isinstance(status, Queued):
                print(f"  in queue, position {status.position}")
            elif isinstance(status, InProgress):
                last = (status.logs or [{}])[-1].get("message", "")
                print(f"  running: {last}")
            elif isinstance(status, Completed):
                print(f"  completed in {status.metrics.get('inference_time', 0):.2f} s")
        # Another process (here: a second client) resumes from the stored id alone.
        with resume_client(client, emu) as other:
            video = kling.get_handle(handle.request_id, client=other).result()
        print(f"  resumed by id in a second client: {type(video).__name__} {video.video.url}")
        if receiver is not None and emu is not None:
            emu.wait_for_webhooks(1)
            event = receiver.events.get(handle.request_id)
            verified = event is not None and event.ok and event.payload is not None
            print(f"  webhook received, signature verified, typed payload: {verified}")
    finally:
        if receiver is not None:
            receiver.close()


@contextlib.contextmanager
def resume_client(client: FalClient, emu: FalEmulator | None) -> Iterator[FalClient]:
    if emu is not None:
        with emu.client() as other:
            yield other
        return
    with FalClient(queue_url=client.queue_url) as other:
        yield other


class WebhookReceiver:
    """A local webhook endpoint that verifies fal's signature before trusting the body."""

    def __init__(self, jwks_url: str) -> None:
        self.events: dict[str, Any] = {}
        keys = webhooks.JWKSCache(jwks_url)
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    webhooks.verify(body, self.headers, jwks=keys)
                except webhooks.WebhookVerificationError as exc:
                    self.send_error(401, exc.reason)
                    return
                event = kling.parse_webhook(body)
                events[event.request_id] = event
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/fal-webhook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--emulator", action="store_true", help="start an in-process emulator")
    target.add_argument("--emulator-url", help="use an emulator already running at this URL")
    args = parser.parse_args(argv)
    if not (args.emulator or args.emulator_url or os.environ.get("FAL_KEY")):
        parser.error("set FAL_KEY to call fal.ai, or pass --emulator / --emulator-url")

    with connect(args) as (client, emu):
        step("1. A typed call: fast_sdxl(prompt=..., image_size=...)")
        result = fast_sdxl(
            prompt="a cat",
            image_size="landscape_4_3",
            num_images=2,
            client=client,
        )
        for image in result.images:
            print(f"  image {image.url} ({image.width}x{image.height})")
        print(f"  seed={result.seed} timings={result.timings}")

        step("2. A bad payload never leaves your machine")
        try:
            fast_sdxl(prompt="a cat", num_inference_steps=500, client=client)
        except pydantic.ValidationError as exc:
            print("  rejected before sending:")
            for line in str(exc).splitlines():
                print(f"    {line}")

        step("3. start_timeout: give up if no runner starts in time")
        if emu is not None:
            # Make the emulated runner take 3 s to start (0.75 s of real time).
            emu.set_start_delay(3.0, "fal-ai/fast-sdxl")
        try:
            fast_sdxl(prompt="a cat", start_timeout=1, client=client)
            print("  a runner started within 1 s")
        except StartTimeoutError as exc:
            print(f"  {type(exc).__name__}: {exc}")
        if emu is not None:
            emu.set_start_delay(0.0, "fal-ai/fast-sdxl")

        step("4. object_lifecycle: generated files expire after one hour")
        result = fast_sdxl(prompt="a cat", object_lifecycle=timedelta(hours=1), client=client)
        print(f"  {result.images[0].url}")
        if emu is not None:
            sent = emu.requests[-1]
            print(f"  the emulator received lifecycle={sent.lifecycle_seconds} s")

        step("5. Another endpoint with a subpath: fal-ai/flux/dev")
        flux = flux_dev(prompt="a fox in the snow", num_inference_steps=12, client=client)
        print(f"  {flux.images[0].url} seed={flux.seed}")

        queue_demo(client, emu)
    print("\ndone")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FalError as exc:
        sys.exit(f"fal error: {exc}")

"""fal-typed in five steps: typed calls, validation before sending, request options, errors.

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
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pydantic

from fal_typed import FalClient, FalError, StartTimeoutError
from fal_typed.models.fal_ai.fast_sdxl import fast_sdxl
from fal_typed.models.fal_ai.flux_dev import flux_dev
from fal_typed.testing import FalEmulator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


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
    print("\ndone")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FalError as exc:
        sys.exit(f"fal error: {exc}")

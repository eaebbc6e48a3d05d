"""Calls that ``mypy --strict`` must reject: every line marked ``# error`` has to be reported,
and no other line (see ``tests/codegen/test_typing.py``). Never executed."""

from __future__ import annotations

from typing import assert_type

from fal_typed.models.fal_ai.fast_sdxl import FastSdxlInput, fast_sdxl


def wrong() -> None:
    fast_sdxl(prompt=1)  # error
    fast_sdxl(prompt="x", image_size="huge")  # error
    fast_sdxl(num_images=2)  # error
    fast_sdxl(prompt="x", typo=1)  # error
    fast_sdxl(prompt="x", seed="1")  # error
    fast_sdxl(FastSdxlInput(prompt="x"), prompt="y")  # error
    assert_type(fast_sdxl(prompt="x").images[0].url, int)  # error

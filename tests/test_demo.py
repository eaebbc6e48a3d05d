"""The README's main command: examples/demo.py against the in-process emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_every_step_offline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--emulator"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("  image https://") == 2  # num_images=2
    assert "(1024x768)" in out  # landscape_4_3
    assert "rejected before sending" in out and "num_inference_steps" in out
    assert "StartTimeoutError: 504 fal-ai/fast-sdxl" in out
    assert "the emulator received lifecycle=3600 s" in out
    assert "5. Another endpoint with a subpath: fal-ai/flux/dev" in out
    # The queue: position, logs, completion, resume by id, a verified webhook.
    assert "  in queue, position 1\n  in queue, position 0\n" in out
    assert "  running: loading model" in out and "  running: frame 2/2" in out
    assert "resumed by id in a second client: KlingVideoV16ProImageToVideoOutput https://" in out
    assert "webhook received, signature verified, typed payload: True" in out
    assert out.rstrip().endswith("done")


def test_demo_refuses_to_run_without_a_key_or_emulator() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "set FAL_KEY" in result.stderr

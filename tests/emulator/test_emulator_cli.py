"""``fal-typed emulate`` as a subprocess: it serves until terminated."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, SCHEMAS

CLI = Path(sys.executable).parent / "fal-typed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"emulator exited early with {process.returncode}")
        try:
            httpx.get(f"{url}/api/openapi/queue/openapi.json", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("emulator did not start")


@pytest.mark.skipif(not CLI.exists(), reason="fal-typed console script not installed")
def test_emulate_serves_until_terminated() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(CLI), "emulate", str(SCHEMAS / "fal-ai" / "flux"), "--port", str(port), "--key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_until_serving(url, process)
        response = httpx.post(
            f"{url}/fal-ai/flux/dev", json={"prompt": "a cat"}, headers={"Authorization": "Key k"}
        )
        assert response.status_code == 200
        assert response.json()["prompt"] == "a cat"
        forbidden = httpx.post(
            f"{url}/fal-ai/flux/dev", json={"prompt": "x"}, headers={"Authorization": "Key no"}
        )
        assert forbidden.status_code == 403
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert f"listening on {url}" in stdout
    assert "POST " + url + "/fal-ai/flux/dev" in stdout
    assert "POST " + url + "/fal-ai/flux/schnell" in stdout
    assert "FAL_RUN_HOST=" + url in stdout
    assert f"FAL_TYPED_OPENAPI_URL={url}/api/openapi/queue/openapi.json" in stdout
    assert f"FAL_TYPED_MODELS_URL={url}/v1/models" in stdout
    assert "POST /fal-ai/flux/dev -> 200" in stderr


def test_emulate_command_reports_bad_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fal_typed.testing._serve import emulate_command

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert emulate_command([bad], port=0, key=None) == 2
    assert "bad.json" in capsys.readouterr().err
    assert emulate_command([tmp_path / "missing"], port=0, key=None) == 2


def test_emulate_command_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    from fal_typed.testing._serve import emulate_command

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert emulate_command([SCHEMAS / "fal-ai" / "esrgan.json"], port=port, key=None) == 2
    assert "cannot listen" in capsys.readouterr().err

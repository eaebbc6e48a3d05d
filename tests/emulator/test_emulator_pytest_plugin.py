"""The ``fal_emulator`` fixture, used the way a user would: from a conftest in another project."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import SCHEMAS

CONFTEST = 'pytest_plugins = ["fal_typed.testing.pytest_plugin"]\n'

TESTS = textwrap.dedent(
    """
    import httpx
    import pytest

    def test_fixture_serves_the_schemas(fal_emulator):
        assert fal_emulator.endpoints == ["fal-ai/esrgan"]
        with fal_emulator.client() as client:
            out = client.run("fal-ai/esrgan", {"image_url": "https://example.com/a.png"})
        assert out["image"]["url"]
        assert fal_emulator.requests[-1].json == {"image_url": "https://example.com/a.png"}

    def test_fixture_is_fresh_per_test(fal_emulator):
        assert fal_emulator.requests == []

    @pytest.fixture
    def fal_emulator_options():
        return {"key": "custom"}

    def test_options_can_be_overridden(fal_emulator):
        assert fal_emulator.key == "custom"
    """
)


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugin_with_default_schemas_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    shutil.copy(SCHEMAS / "fal-ai" / "esrgan.json", tmp_path / "schemas" / "esrgan.json")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_user.py").write_text(TESTS)
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_plugin_with_ini_option(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(SCHEMAS / "fal-ai" / "esrgan.json", tmp_path / "docs" / "esrgan.json")
    (tmp_path / "pytest.ini").write_text("[pytest]\nfal_emulator_schemas = docs\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_user.py").write_text(TESTS)
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_importing_the_package_does_not_import_pytest_or_jsonschema() -> None:
    code = (
        "import sys, fal_typed.testing; "
        "assert 'pytest' not in sys.modules; assert 'jsonschema' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

"""``make update-schemas`` (scripts/update_schemas.py) end to end, in a copy of the repo layout.

The script runs as a subprocess with ``FAL_TYPED_OPENAPI_URL`` pointing at the emulator, which
serves a changed document for one endpoint, the same document for another and a 404 for a third.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fal_typed.testing import FalEmulator
from fal_typed_codegen._manifest import read_manifest

from .conftest import ROOT, SCHEMAS, openapi_of, read_json

SCRIPT = ROOT / "scripts" / "update_schemas.py"


def _project(tmp_path: Path, endpoints: list[str]) -> Path:
    root = tmp_path / "project"
    for endpoint in endpoints:
        target = root / "schemas" / f"{endpoint}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCHEMAS / f"{endpoint}.json", target)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    return root


def _run(root: Path, emu: FalEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FAL_TYPED_OPENAPI_URL": emu.openapi_url,
        "FAL_TYPED_MODELS_URL": emu.models_url,
    }
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_update_schemas_pulls_diffs_and_regenerates(emu: FalEmulator, tmp_path: Path) -> None:
    root = _project(tmp_path, ["fal-ai/flux/dev", "fal-ai/wizper"])
    wizper_before = (root / "schemas" / "fal-ai" / "wizper.json").read_bytes()
    changed = openapi_of("fal-ai/flux/dev")
    changed["components"]["schemas"]["FluxDevInput"]["properties"]["num_images"]["maximum"] = 2
    emu.override_document("fal-ai/flux/dev", body=changed)

    result = _run(root, emu)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # The pull, the classified diff, then the generator, in that order.
    assert out.index("fal-typed pull:") < out.index("fal-typed diff") < out.index("generate")
    assert "fal-ai/flux/dev\n  BREAKING  input     num_images: maximum lowered: 4 -> 2" in out
    assert "fal-ai/wizper" not in out.split("== fal-typed diff")[1].split("==")[0]

    schemas = root / "schemas"
    # schemas/fal-ai/flux/dev.json is a model-list entry: its document is replaced, its
    # endpoint_id and metadata are kept.
    saved = read_json(schemas / "fal-ai" / "flux" / "dev.json")
    original = read_json(SCHEMAS / "fal-ai" / "flux" / "dev.json")
    assert saved == {**original, "openapi": changed}
    assert (schemas / "fal-ai" / "wizper.json").read_bytes() == wizper_before  # unchanged
    assert sorted(read_manifest(schemas / "MANIFEST.tsv")) == ["fal-ai/flux/dev", "fal-ai/wizper"]
    module = root / "generated" / "fal_typed" / "models" / "fal_ai" / "flux_dev.py"
    assert "num_images: Annotated[int, Field(ge=1, le=2)] = 1" in module.read_text()
    assert (root / "generated" / "fal_typed" / "models" / "fal_ai" / "wizper.py").is_file()
    asked = sorted(r.path for r in emu.requests)
    assert asked == [
        "/api/openapi/queue/openapi.json?endpoint_id=fal-ai%2Fflux%2Fdev",
        "/api/openapi/queue/openapi.json?endpoint_id=fal-ai%2Fwizper",
    ]


def test_update_schemas_reports_endpoints_it_could_not_refresh(
    emu: FalEmulator, tmp_path: Path
) -> None:
    root = _project(tmp_path, ["fal-ai/esrgan"])
    before = (root / "schemas" / "fal-ai" / "esrgan.json").read_bytes()
    emu.override_document("fal-ai/esrgan", status=404)
    result = _run(root, emu, "fal-ai/esrgan")
    assert result.returncode == 1
    assert "could not be refreshed" in result.stderr
    assert (root / "schemas" / "fal-ai" / "esrgan.json").read_bytes() == before
    assert (root / "generated" / "fal_typed" / "models" / "fal_ai" / "esrgan.py").is_file()

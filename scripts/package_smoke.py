"""Use an installed fal-typed wheel outside the repository (run by check_package.sh)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path


def main(work: Path) -> None:
    import fal_typed
    from fal_typed.models import ENDPOINT_IDS, get_endpoint
    from fal_typed.models.fal_ai.fast_sdxl import FastSdxlOutput, fast_sdxl

    package_dir = Path(fal_typed.__file__).parent
    assert str(package_dir).startswith(str(work)), f"imported from {package_dir}, not the venv"
    assert (package_dir / "py.typed").is_file(), "py.typed is missing from the wheel"
    assert "fal-ai/fast-sdxl" in ENDPOINT_IDS
    assert get_endpoint("fal-ai/fast-sdxl").output_model is FastSdxlOutput
    print(f"imported {len(ENDPOINT_IDS)} generated endpoints from {package_dir}")

    help_text = subprocess.run(
        ["fal-typed", "--help"], check=True, capture_output=True, text=True
    ).stdout
    assert "generate" in help_text and "emulate" in help_text, help_text
    print("fal-typed --help works")

    out = work / "userpkg"
    subprocess.run(
        [
            "fal-typed",
            "generate",
            str(work / "fast-sdxl.json"),
            "--out",
            str(out),
            "--package",
            "myapp.fal",
        ],
        check=True,
    )
    sys.path.insert(0, str(out))
    registry = importlib.import_module("myapp.fal")
    assert list(registry.ENDPOINT_IDS) == ["fal-ai/fast-sdxl"], registry.ENDPOINT_IDS
    user_fast_sdxl = importlib.import_module("myapp.fal.fal_ai.fast_sdxl").fast_sdxl

    from fal_typed.testing import FalEmulator

    with FalEmulator(schemas=[work / "fast-sdxl.json"]) as emu, emu.client() as client:
        ours = user_fast_sdxl(prompt="a cat", num_images=2, client=client)
        theirs = fast_sdxl(prompt="a cat", num_images=2, client=client)
        assert len(ours.images) == 2 and ours.images[0].url, ours
        assert ours.model_dump() == theirs.model_dump()
        assert [r.json for r in emu.requests] == [{"prompt": "a cat", "num_images": 2}] * 2
    print("a package generated from the installed wheel called the emulator: ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())

"""Generation that fails or is interrupted midway leaves the output exactly as it was.

The failure is injected while generating the LAST endpoint (after every other one is done), as
a generator error (exit 1), an unexpected exception and a ``KeyboardInterrupt``; and while
writing (the last file, and between the two renames of the swap). Each time the output tree
is compared byte for byte with the one before, and no temporary directory is left behind.
Two documents mapping to the same module are an error naming both, and nothing is written.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fal_typed_codegen import _schema, _writer
from fal_typed_codegen._command import generate_command
from fal_typed_codegen._writer import GenerationError

from ._paths import FIXTURES

NAMES = ["big_int", "const", "nullable", "open_enum"]


def _generate(paths: list[Path], out: Path) -> int:
    kwargs: dict[str, Any] = {}
    parameters = inspect.signature(generate_command).parameters
    if "use_cache" in parameters:
        kwargs["use_cache"] = False  # every endpoint is generated (none comes from a cache)
    if "jobs" in parameters:
        kwargs["jobs"] = 1  # in this process, so the injected failure applies
    return generate_command(paths, out=out, package="pkg", check=False, **kwargs)


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _format_dirs() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("fal-typed-format-")}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Path], Path]:
    """Documents (changed since the last run, so a successful run would rewrite every module)
    and an output directory holding the previous run's package."""
    monkeypatch.setenv("FAL_TYPED_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    docs = tmp_path / "docs"
    docs.mkdir()
    paths = []
    for name in NAMES:
        path = docs / f"{name}.json"
        path.write_bytes((FIXTURES / f"{name}.json").read_bytes())
        paths.append(path)
    assert _generate(paths, out) == 0
    for path in paths:  # a new description on every Output
        data = json.loads(path.read_text())
        for schema in data["components"]["schemas"].values():
            schema["description"] = "changed"
        path.write_text(json.dumps(data))
    return paths, out


def _fail_on_last(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> list[str]:
    """Make normalizing the last endpoint (in generation order) raise ``error``."""
    seen: list[str] = []
    original = _schema._Normalizer.run_pending

    def run_pending(self: Any) -> None:
        seen.append(self.doc.endpoint_id)
        if self.doc.endpoint_id == "fixtures/open-enum":
            raise error
        original(self)

    monkeypatch.setattr(_schema._Normalizer, "run_pending", run_pending)
    return seen


@pytest.mark.parametrize(
    "error",
    [GenerationError("injected"), RuntimeError("injected"), KeyboardInterrupt()],
    ids=["generation-error", "unexpected-exception", "keyboard-interrupt"],
)
def test_failure_on_the_last_endpoint_leaves_the_output_unchanged(
    project: tuple[list[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
) -> None:
    paths, out = project
    before, temp_before = _snapshot(out.parent), _format_dirs()
    seen = _fail_on_last(monkeypatch, error)
    if isinstance(error, GenerationError):
        assert _generate(paths, out) == 1
        assert "injected" in capsys.readouterr().err
    else:
        with pytest.raises(type(error)):
            _generate(paths, out)
    assert seen[-1] == "fixtures/open-enum" and len(seen) == len(NAMES)  # the others were done
    assert _snapshot(out.parent) == before
    assert _format_dirs() <= temp_before


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
def test_failure_while_writing_the_last_file_leaves_the_output_unchanged(
    project: tuple[list[Path], Path], monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    paths, out = project
    before = _snapshot(out.parent)
    original = Path.write_bytes
    written: list[str] = []

    def write_bytes(self: Path, data: bytes) -> int:
        if ".pkg.new-" in str(self):
            written.append(self.name)
            if len(written) == len(NAMES) + 3:  # modules, 2 registries, _base: the last one
                raise error
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    # every file written, none hard-linked from the previous output (unchanged files are)
    monkeypatch.setattr(_writer, "_link", lambda source, link: False)
    with pytest.raises(type(error)):
        _generate(paths, out)
    assert len(written) == len(NAMES) + 3
    assert _snapshot(out.parent) == before


def test_interrupt_between_the_two_renames_restores_the_previous_output(
    project: tuple[list[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, out = project
    before = _snapshot(out.parent)
    original = os.replace
    calls: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        calls.append(str(dst))
        if len(calls) == 2:  # old tree moved aside; the new one not yet in place
            raise KeyboardInterrupt
        original(src, dst)

    monkeypatch.setattr(os, "replace", replace)  # the module _writer uses
    with pytest.raises(KeyboardInterrupt):
        _generate(paths, out)
    assert len(calls) == 3  # the third one put the previous tree back
    assert _snapshot(out.parent) == before


def test_two_documents_mapping_to_one_module_are_an_error_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_TYPED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert _generate([FIXTURES / "const.json"], out) == 0
    before = _snapshot(tmp_path)
    docs = []
    for endpoint_id, name in (("fal-ai/flux/dev", "a.json"), ("fal-ai/flux-dev", "b.json")):
        data = json.loads((FIXTURES / "const.json").read_text())
        data["info"]["x-fal-metadata"]["endpointId"] = endpoint_id
        data["paths"] = {
            p.replace("/fixtures/const", f"/{endpoint_id}"): v for p, v in data["paths"].items()
        }
        path = tmp_path / "docs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(data))
        docs.append(path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert _generate(docs, out) == 1
    err = capsys.readouterr().err
    assert (
        "endpoint ids 'fal-ai/flux-dev' (docs/b.json) and 'fal-ai/flux/dev' (docs/a.json) "
        "both map to the module fal_ai.flux_dev"
    ) in err, err
    assert _snapshot(tmp_path) == before

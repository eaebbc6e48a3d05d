"""The generation cache and worker processes never change the output bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fal_typed._document import DocumentError, find_documents
from fal_typed_codegen import _parallel
from fal_typed_codegen._cache import CACHE_ENV, GenerationCache, default_cache_dir
from fal_typed_codegen._command import build_package
from fal_typed_codegen._writer import GenerationError
from fal_typed_codegen.cli import main

from ._paths import FIXTURES, SCHEMAS

PACKAGE = "cachepkg"


def _entries(cache_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(cache_dir).as_posix(): p.read_bytes()
        for p in sorted(cache_dir.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def documents() -> list[Path]:
    return find_documents([FIXTURES, SCHEMAS])


@pytest.fixture(scope="module")
def plain(documents: list[Path]) -> dict[str, bytes]:
    """The reference: no cache, in this process."""
    return build_package(documents, PACKAGE).files


def test_cold_and_warm_cache_give_the_plain_bytes(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    cache = GenerationCache(tmp_path)
    assert build_package(documents, PACKAGE, cache=cache).files == plain
    assert cache.hits == 0
    stored = _entries(tmp_path)
    # One entry per generated file, one index entry per document.
    assert len(stored) == len(plain) + len(documents)

    warm = GenerationCache(tmp_path)
    assert build_package(documents, PACKAGE, cache=warm).files == plain
    assert warm.misses == 0
    assert warm.hits == len(stored)
    assert _entries(tmp_path) == stored


def test_corrupt_entries_are_ignored_and_rewritten(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    build_package(documents, PACKAGE, cache=GenerationCache(tmp_path))
    stored = _entries(tmp_path)
    paths = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    for i, path in enumerate(paths):
        data = path.read_bytes()
        if i % 4 == 0:
            path.write_bytes(data[: len(data) // 2])  # truncated
        elif i % 4 == 1:
            path.write_bytes(data.replace(b"class", b"klass", 1) + b"# tampered\n")
        elif i % 4 == 2:
            path.write_bytes(b"")
        else:
            path.write_bytes(b"\xff" * 10)
    cache = GenerationCache(tmp_path)
    assert build_package(documents, PACKAGE, cache=cache).files == plain
    assert cache.hits == 0
    assert _entries(tmp_path) == stored


def test_a_valid_looking_index_entry_of_the_wrong_shape_is_ignored(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    build_package(documents, PACKAGE, cache=GenerationCache(tmp_path))
    cache = GenerationCache(tmp_path)
    # Rewrite every index entry (document bytes -> id and digest) as another JSON shape.
    # (An entry with a valid checksum is trusted: the checksum catches accidents, not forgery.)
    rewritten = 0
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        data = cache.get(path.name)
        if data is not None and data.startswith(b'{"digest"'):
            bad = [b'["not", "an", "index"]', b'{"digest": 1}', b"{", b'{"endpoint_id": "a/b"}']
            cache.put(path.name, bad[rewritten % len(bad)])
            rewritten += 1
    assert rewritten == len(documents)
    assert build_package(documents, PACKAGE, cache=GenerationCache(tmp_path)).files == plain


def test_read_only_cache_is_used_but_never_written(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    read_only = GenerationCache(tmp_path, read_only=True)
    assert build_package(documents, PACKAGE, cache=read_only).files == plain
    assert not tmp_path.joinpath("generate-v1").exists()
    build_package(documents, PACKAGE, cache=GenerationCache(tmp_path))
    warm = GenerationCache(tmp_path, read_only=True)
    assert build_package(documents, PACKAGE, cache=warm).files == plain
    assert warm.misses == 0


def test_partial_cache_after_a_document_changes(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(FIXTURES, docs)
    cache_dir = tmp_path / "cache"
    first = build_package(find_documents([docs]), PACKAGE, cache=GenerationCache(cache_dir))
    target = docs / "refs.json"
    data = json.loads(target.read_text(encoding="utf-8"))
    prop = next(iter(_input_schema(data)["properties"].values()))
    prop["description"] = "A changed description."
    # Same content, other key order and layout: still a cache hit for the unchanged ones.
    for other in sorted(docs.glob("c*.json")):
        other.write_text(json.dumps(json.loads(other.read_text()), sort_keys=True, indent=3))
    target.write_text(json.dumps(data), encoding="utf-8")
    cache = GenerationCache(cache_dir)
    changed = build_package(find_documents([docs]), PACKAGE, cache=cache).files
    assert changed == build_package(find_documents([docs]), PACKAGE).files
    assert changed != first.files
    differ = {rel for rel in changed if changed[rel] != first.files[rel]}
    assert differ == {"fixtures/refs.py"}


def test_cache_keys_depend_on_the_package_and_source(tmp_path: Path, documents: list[Path]) -> None:
    cache_dir = tmp_path / "cache"
    build_package(documents, PACKAGE, cache=GenerationCache(cache_dir))
    other = GenerationCache(cache_dir)
    files = build_package(documents, "otherpkg.models", cache=other).files
    assert files == build_package(documents, "otherpkg.models").files
    assert other.misses > 0


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_give_the_plain_bytes(
    monkeypatch: pytest.MonkeyPatch, documents: list[Path], plain: dict[str, bytes], workers: int
) -> None:
    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 1)
    assert build_package(documents, PACKAGE, workers=workers).files == plain


def _input_schema(data: dict[str, Any]) -> dict[str, Any]:
    openapi = data["openapi"] if isinstance(data.get("openapi"), dict) else data
    schemas: dict[str, dict[str, Any]] = openapi["components"]["schemas"]
    return next(s for n, s in sorted(schemas.items()) if n.endswith("Input") and "properties" in s)


def _broken_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(FIXTURES, docs)
    for name in ("refs", "unions"):
        data = json.loads((docs / f"{name}.json").read_text(encoding="utf-8"))
        _input_schema(data)["properties"]["broken"] = {"$ref": "#/components/schemas/DoesNotExist"}
        (docs / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    return docs


def test_workers_report_the_first_error_like_a_serial_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    documents = find_documents([_broken_docs(tmp_path)])
    with pytest.raises((DocumentError, GenerationError)) as serial:
        build_package(documents, PACKAGE)
    monkeypatch.setattr(_parallel, "MIN_PARALLEL", 1)
    with pytest.raises((DocumentError, GenerationError)) as parallel:
        build_package(documents, PACKAGE, workers=2)
    assert type(parallel.value) is type(serial.value)
    assert str(parallel.value) == str(serial.value)
    assert "refs.json" in str(serial.value)


def test_cli_check_reads_the_cache_only_and_no_cache_skips_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache_dir))
    assert default_cache_dir() == cache_dir
    out = tmp_path / "out"
    args = ["generate", str(FIXTURES), "--out", str(out), "--package", PACKAGE]
    assert main([*args, "--no-cache", "--jobs", "1"]) == 0
    assert not cache_dir.exists()
    assert main([*args, "--check"]) == 0
    assert not cache_dir.exists()
    assert main(args) == 0
    stored = _entries(cache_dir)
    assert stored
    assert main([*args, "--check"]) == 0
    assert _entries(cache_dir) == stored
    capsys.readouterr()
    assert main([*args, "--jobs", "0"]) == 1
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "fal-typed"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    assert default_cache_dir() == Path.home() / ".cache" / "fal-typed"


def test_unwritable_cache_directory_only_disables_writing(
    tmp_path: Path, documents: list[Path], plain: dict[str, bytes]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = GenerationCache(blocker)
    assert build_package(documents, PACKAGE, cache=cache).files == plain


def test_progress_bar_only_on_a_terminal_and_for_long_runs(
    monkeypatch: pytest.MonkeyPatch, documents: list[Path], plain: dict[str, bytes]
) -> None:
    from fal_typed_codegen import _command

    assert _command._progress_bar(1000, enabled=False) is None
    assert _command._progress_bar(5, enabled=True) is None
    bar = _command._progress_bar(1000, enabled=True)
    assert bar is not None
    bar.close()
    updates: list[int] = []

    class Bar:
        def update(self, n: int) -> None:
            updates.append(n)

        def close(self) -> None:
            updates.append(0)

    monkeypatch.setattr(_command, "_progress_bar", lambda total, enabled: Bar())
    assert build_package(documents, PACKAGE, progress=True).files == plain
    assert updates == [1] * len(documents) + [0]

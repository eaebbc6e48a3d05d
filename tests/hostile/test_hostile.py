"""Hostile schemas: every corpus document is refused clearly or generates safe, exact code.

For each document in ``corpus/`` (written by ``make_corpus.py``) the generator either

- fails with a :class:`DocumentError`/:class:`GenerationError` naming the file and a JSON
  pointer that exists in it; ``fal-typed generate`` then exits 1 and writes nothing; or
- generates a package that (1) parses, (2) holds only the statements the templates emit
  (``_oracle.check_endpoint_module``: header imports, classes of fields with literal defaults
  and ``Field(...)`` metadata, ``ENDPOINT``, the endpoint class and object exactly as
  templated (one list of keywords for every method); registries and
  ``_base.py`` equal their templates but for strings), (3) imports and builds its models in a
  subprocess with no audit event (``_probe.py``), and (4) carries every description (model
  and field docstrings), default and enum value (``Literal`` arguments) exactly.

Documents are generated in-process one by one; all imports run in one subprocess.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from fal_typed._document import DocumentError, printable, resolve_pointer
from fal_typed_codegen._command import generate_command

from . import _oracle, make_corpus
from ._oracle import Built, Violation

CORPUS = make_corpus.CORPUS
NAMES = sorted(p.stem for p in CORPUS.glob("*.json"))
# Refused before a pointer can be named: the file is not JSON the loader accepts.
FILE_LEVEL_ERRORS = {"number_huge_int_literal"}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Built, Any]]:
    """Name -> (built document, probe result or None)."""
    built = [_oracle.build(name, CORPUS / f"{name}.json") for name in NAMES]
    ok = [b for b in built if b.error is None]
    root = tmp_path_factory.mktemp("hostile")
    _oracle.write_packages(root, ok)
    probed = _oracle.probe(root, [_oracle.probe_case(b) for b in ok])
    return {b.name: (b, probed.get(b.name)) for b in built}


def test_corpus_is_what_the_script_writes() -> None:
    wanted = {f"{n}.json": make_corpus.render(d) for n, d in make_corpus.cases().items()}
    on_disk = {p.name: p.read_text(encoding="ascii") for p in CORPUS.glob("*.json")}
    assert on_disk == wanted, "run: python tests/hostile/make_corpus.py"
    assert len(wanted) >= 60


@pytest.mark.parametrize("name", NAMES)
def test_hostile_document(name: str, corpus: dict[str, tuple[Built, Any]]) -> None:
    built, probed = corpus[name]
    if built.error is not None:
        _check_error(built)
    else:
        _oracle.check_generated(built, probed)


def _check_error(built: Built) -> None:
    message = str(built.error)
    source = built.path.as_posix()
    assert message.startswith(source + ": "), message
    if isinstance(built.error, DocumentError) and built.name not in FILE_LEVEL_ERRORS:
        pointer = built.error.pointer
        assert pointer is not None and pointer.startswith("#"), message
        assert f": {printable(pointer)}: " in message and message.isprintable()
        data = json.loads(built.path.read_text(encoding="utf-8"))
        resolve_pointer(data, pointer, source)  # the pointer names a place in the file
    else:
        assert built.name in FILE_LEVEL_ERRORS, f"no JSON pointer: {message}"


def _generate(paths: list[Path], out: Path, package: str) -> int:
    kwargs: dict[str, Any] = {}
    parameters = inspect.signature(generate_command).parameters
    if "use_cache" in parameters:
        kwargs["use_cache"] = False
    if "jobs" in parameters:
        kwargs["jobs"] = 1
    return generate_command(paths, out=out, package=package, check=False, **kwargs)


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def test_refused_documents_exit_1_and_write_nothing(
    tmp_path: Path,
    corpus: dict[str, tuple[Built, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAL_TYPED_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert _generate([CORPUS / "enum_colon_values.json"], out, "pkg") == 0
    (out / "pkg" / "keep.txt").write_text("not ours")  # outside the generated files
    before = _tree(tmp_path)
    refused = [b for b, _ in corpus.values() if b.error is not None]
    assert len(refused) >= 15
    for b in refused:
        capsys.readouterr()
        assert _generate([b.path], out, "pkg") == 1, b.name
        err = capsys.readouterr().err
        # The message names the file (shown relative to the project) and the same problem.
        problem = str(b.error).removeprefix(b.path.as_posix() + ": ")
        assert f"tests/hostile/corpus/{b.path.name}: {problem}" in err, err
        assert _tree(tmp_path) == before, b.name


def test_endpoint_ids_never_write_outside_the_output(tmp_path: Path) -> None:
    documents = sorted(CORPUS.glob("endpoint_id_*.json")) + sorted(CORPUS.glob("entry_*.json"))
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    for doc in documents:
        _generate([doc], out, "pkg")
        outside = [p for p in tmp_path.rglob("*") if out not in (p, *p.parents)]
        assert outside == [tmp_path / "work"], (doc.name, outside)


# -- the oracle catches what it should ------------------------------------------------------

CANARIES = {
    "open": "open(__file__).close()\n",
    "socket": "__import__('socket').socket().close()\n",
    "system": "import os\nos.system('true')\n",
    "py_read": "import pathlib\npathlib.Path(__file__).read_text()\n",
}


def test_the_oracle_flags_code_the_generator_does_not_mean_to_emit(tmp_path: Path) -> None:
    """Planted statements are caught by the AST check and, at import, by the audit hook; the
    unmodified module is clean (so the filter is neither blind nor noisy)."""
    clean = _oracle.build("enum_colon_values", CORPUS / "enum_colon_values.json")
    assert clean.generated is not None
    module_rel = clean.generated.modules[clean.endpoint_id]
    variants = []
    for label, code in {"clean": "", **CANARIES}.items():
        b = _oracle.build("enum_colon_values", CORPUS / "enum_colon_values.json")
        assert b.generated is not None
        b.package = b.name = f"canary_{label}"
        files = {
            rel: data.replace(b"hostile_enum_colon_values", b.package.encode())
            for rel, data in b.generated.files.items()
        }
        files[module_rel] += code.encode()
        b.generated = type(b.generated)(files, b.generated.modules)
        variants.append(b)
    _oracle.write_packages(tmp_path, variants)
    probed = _oracle.probe(tmp_path, [_oracle.probe_case(b) for b in variants])
    assert probed["canary_clean"]["events"] == []
    _oracle.check_generated(variants[0], probed["canary_clean"])
    expected_events = {"open": "open", "socket": "socket.", "system": "os.system"}
    expected_events["py_read"] = "open"
    for b in variants[1:]:
        label = b.package.removeprefix("canary_")
        events = probed[b.package]["events"]
        assert any(e.startswith(expected_events[label]) for e in events), (label, events)
        with pytest.raises(Violation):
            _oracle.check_generated(b, probed[b.package])


def test_docstring_inverse_is_exact() -> None:
    text = 'a"""b\n\n  c\\ \t\x00\r'
    from fal_typed_codegen._models import docstring_literal

    literal = docstring_literal(text, "    ")
    assert _oracle.model_docstring_text(ast.literal_eval(literal)) == text

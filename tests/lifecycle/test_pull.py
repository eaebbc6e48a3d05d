"""``fal-typed pull`` against the emulator: real HTTP on 127.0.0.1, asserting what it received."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fal_typed._document import find_documents, load_document
from fal_typed.testing import FalEmulator
from fal_typed_codegen._manifest import read_manifest
from fal_typed_codegen._pull import serialize

from .conftest import KEY, SCHEMAS, Run, openapi_of, read_json

Cli = Callable[..., Run]
TEXT_TO_IMAGE = [
    "fal-ai/fast-sdxl",
    "fal-ai/flux-lora",
    "fal-ai/flux-pro/v1.1-ultra",
    "fal-ai/flux/dev",
    "fal-ai/flux/schnell",
    "fal-ai/ideogram/v2",
    "fal-ai/recraft-v3",
]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_pull_one(
    emu: FalEmulator, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", "secret-not-for-documents")
    out = tmp_path / "schemas"
    run = cli("pull", "fal-ai/flux/dev", "--out", out)
    assert run.code == 0, run.err
    saved = out / "fal-ai" / "flux" / "dev.json"
    assert _files(out) == ["MANIFEST.tsv", "fal-ai/flux/dev.json"]
    # Saved as served (the bare document), pretty-printed, and loadable.
    assert read_json(saved) == emu.document("fal-ai/flux/dev").openapi
    assert saved.read_bytes() == serialize(emu.document("fal-ai/flux/dev").openapi)
    assert load_document(saved).endpoint_id == "fal-ai/flux/dev"
    assert re.search(r"fal-ai/flux/dev\s+new\s+", run.out)

    (request,) = emu.requests
    assert request.method == "GET"
    assert urlsplit(request.path).path == "/api/openapi/queue/openapi.json"
    assert _query(request.path) == {"endpoint_id": ["fal-ai/flux/dev"]}
    assert "authorization" not in request.headers  # the key only goes to the model list

    (entry,) = read_manifest(out / "MANIFEST.tsv").values()
    assert entry.endpoint_id == "fal-ai/flux/dev"
    assert entry.sha256 == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.fetched_at)
    assert entry.source == f"{emu.openapi_url}?endpoint_id=fal-ai%2Fflux%2Fdev"
    lines = (out / "MANIFEST.tsv").read_text().splitlines()
    assert lines[0].startswith("# fal-typed schema manifest")
    assert lines[1] == "# endpoint_id\tsha256\tfetched_at\tsource"


def test_pull_several_with_a_404(emu: FalEmulator, cli: Cli, tmp_path: Path) -> None:
    emu.override_document("fal-ai/esrgan", status=404)
    out = tmp_path / "out"
    run = cli("pull", "fal-ai/wizper", "fal-ai/esrgan", "fal-ai/recraft-v3", "--out", out)
    assert run.code == 1
    assert _files(out) == ["MANIFEST.tsv", "fal-ai/recraft-v3.json", "fal-ai/wizper.json"]
    assert re.search(r"fal-ai/esrgan\s+FAILED\s+HTTP 404", run.out)
    assert "1 of 3 endpoints failed" in run.err
    assert sorted(read_manifest(out / "MANIFEST.tsv")) == ["fal-ai/recraft-v3", "fal-ai/wizper"]
    asked = [_query(r.path)["endpoint_id"][0] for r in emu.requests]
    assert asked == ["fal-ai/wizper", "fal-ai/esrgan", "fal-ai/recraft-v3"]


def test_pull_all_pages_with_category_and_key(
    emu: FalEmulator, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", KEY)
    out = tmp_path / "out"
    run = cli("pull", "--all", "--category", "text-to-image", "--page-size", "2", "--out", out)
    assert run.code == 0, run.out + run.err
    saved = [p.relative_to(out).as_posix() for p in find_documents([out])]
    assert saved == [f"{i}.json" for i in TEXT_TO_IMAGE]
    # Model-list entries are saved as listed: endpoint_id, metadata, openapi.
    entry = read_json(out / "fal-ai" / "flux" / "dev.json")
    assert list(entry) == ["endpoint_id", "metadata", "openapi"]
    assert entry["metadata"]["category"] == "text-to-image"
    assert entry["openapi"] == emu.document("fal-ai/flux/dev").openapi

    pages = [r for r in emu.requests if urlsplit(r.path).path == "/v1/models"]
    assert len(pages) == 4  # 7 endpoints, 2 per page
    cursors = []
    for page in pages:
        query = _query(page.path)
        assert query["expand"] == ["openapi-3.0"]
        assert query["limit"] == ["2"]
        assert query["category"] == ["text-to-image"]
        assert page.headers["authorization"] == f"Key {KEY}"
        assert page.status == 200
        cursors.append(query.get("cursor", [None])[0])
    assert cursors[0] is None and None not in cursors[1:] and len(set(cursors)) == 4

    manifest = read_manifest(out / "MANIFEST.tsv")
    assert sorted(manifest) == TEXT_TO_IMAGE
    assert {e.source for e in manifest.values()} == {
        f"{emu.models_url}?expand=openapi-3.0&category=text-to-image"
    }


def test_pull_all_without_key_sends_no_authorization(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    emu.add_model_entry({"endpoint_id": "fal-ai/no-doc", "metadata": {"category": "x"}})
    run = cli("pull", "--all", "--out", tmp_path)
    assert run.code == 1  # the entry without a document
    assert re.search(r"fal-ai/no-doc\s+FAILED\s+the model list has no document", run.out)
    assert len(find_documents([tmp_path])) == 14
    assert all("authorization" not in r.headers for r in emu.requests)


HOSTILE_IDS: list[object] = [
    "../x",
    "/abs/x",
    "a/../../b",
    "a\\b",
    "a b/c",
    "a/b?c",
    "a/b#c",
    "fal-ai/",
    "fal-ai//x",
    ".hidden/x",
    "ok/.x",
    "x",
    "a/%2e%2e",
    "a/b\nc",
    "",
    42,
    None,
]


def test_hostile_ids_from_the_model_list_are_rejected(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    document = openapi_of("fal-ai/esrgan")
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "escape").symlink_to(outside, target_is_directory=True)
    for endpoint_id in [*HOSTILE_IDS, "escape/x"]:
        emu.add_model_entry({"endpoint_id": endpoint_id, "metadata": {}, "openapi": document})
    emu.add_model_entry(["not", "an", "entry"])
    run = cli("pull", "--all", "--category", "image-to-image", "--out", out)
    # Filtered by category, the hostile entries (no category) would not even be listed:
    assert run.code == 0
    run = cli("pull", "--all", "--out", out)
    assert run.code == 1
    failed = [line for line in run.out.splitlines() if " FAILED " in line]
    assert len(failed) == len(HOSTILE_IDS) + 2
    assert "resolves outside" in run.out
    # Nothing was written outside --out, nor anything but the 14 real documents inside it.
    assert _files(outside) == []
    assert _files(tmp_path) == sorted(
        ["out/MANIFEST.tsv", *(f"out/{d}" for d in _files(out) if d.endswith(".json"))]
    )
    assert len(find_documents([out])) == 14
    assert all(not p.name.startswith(".") for p in out.rglob("*"))


def test_hostile_ids_on_the_command_line(emu: FalEmulator, cli: Cli, tmp_path: Path) -> None:
    run = cli("pull", "../x", "a\\b", "fal-ai/flux/dev", "--out", tmp_path / "out")
    assert run.code == 1
    assert _files(tmp_path) == ["out/MANIFEST.tsv", "out/fal-ai/flux/dev.json"]
    assert len(emu.requests) == 1  # rejected ids are never requested


def test_unchanged_documents_are_not_rewritten(emu: FalEmulator, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("pull", "fal-ai/flux/dev", "fal-ai/wizper", "--out", out).code == 0
    dev, wizper, manifest = (
        out / "fal-ai/flux/dev.json",
        out / "fal-ai/wizper.json",
        out / "MANIFEST.tsv",
    )
    for path in (dev, wizper, manifest):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # an old mtime, easy to spot
    before = {p: p.read_bytes() for p in (dev, wizper, manifest)}

    run = cli("pull", "fal-ai/flux/dev", "fal-ai/wizper", "--out", out)
    assert run.code == 0
    assert "0 new, 0 updated, 2 unchanged, 0 failed" in run.out
    for path, data in before.items():
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == 1_000_000_000

    # Another formatting of the same JSON (key order, indentation) still counts as unchanged.
    dev.write_text(json.dumps(read_json(dev), sort_keys=True), encoding="utf-8")
    os.utime(dev, ns=(1_000_000_000, 1_000_000_000))
    reformatted = dev.read_bytes()
    assert "1 unchanged" in cli("pull", "fal-ai/flux/dev", "--out", out).out
    assert dev.read_bytes() == reformatted and dev.stat().st_mtime_ns == 1_000_000_000

    # A changed document is rewritten, and only its manifest line changes.
    changed = openapi_of("fal-ai/flux/dev")
    changed["components"]["schemas"]["FluxDevInput"]["properties"]["num_images"]["maximum"] = 8
    emu.override_document("fal-ai/flux/dev", body=changed)
    old_entries = read_manifest(manifest)
    run = cli("pull", "fal-ai/flux/dev", "fal-ai/wizper", "--out", out)
    assert run.code == 0 and re.search(r"fal-ai/flux/dev\s+updated", run.out)
    assert read_json(dev) == changed
    new_entries = read_manifest(manifest)
    assert new_entries["fal-ai/wizper"] == old_entries["fal-ai/wizper"]
    assert new_entries["fal-ai/flux/dev"].sha256 == hashlib.sha256(dev.read_bytes()).hexdigest()
    assert new_entries["fal-ai/flux/dev"].sha256 != old_entries["fal-ai/flux/dev"].sha256
    assert wizper.stat().st_mtime_ns == 1_000_000_000


def test_invalid_json_and_documents_without_input_output(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    emu.override_document("fal-ai/esrgan", body=b'{"openapi": "3.0.4", "paths": {')
    emu.override_document("fal-ai/wizper", body={"openapi": "3.0.4", "info": {}, "paths": {}})
    no_output = openapi_of("fal-ai/recraft-v3")
    del no_output["paths"]["/fal-ai/recraft-v3/requests/{request_id}"]
    emu.override_document("fal-ai/recraft-v3", body=no_output)
    out = tmp_path / "out"
    ids = ["fal-ai/esrgan", "fal-ai/wizper", "fal-ai/recraft-v3", "fal-ai/flux/dev"]
    run = cli("pull", *ids, "--out", out)
    assert run.code == 1
    assert re.search(r"fal-ai/esrgan\s+FAILED\s+invalid JSON", run.out)
    assert re.search(r"fal-ai/wizper\s+FAILED\s+not a usable endpoint document", run.out)
    assert re.search(r"fal-ai/recraft-v3\s+FAILED\s+not a usable endpoint document", run.out)
    assert re.search(r"fal-ai/flux/dev\s+new", run.out)
    assert _files(out) == ["MANIFEST.tsv", "fal-ai/flux/dev.json"]
    assert "3 of 4 endpoints failed" in run.err


def test_model_list_entries_without_input_output(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    broken = openapi_of("fal-ai/esrgan")
    broken["paths"] = {}
    emu.add_model_entry({"endpoint_id": "team/broken", "metadata": {}, "openapi": broken})
    run = cli("pull", "--all", "--out", tmp_path)
    assert run.code == 1
    assert re.search(r"team/broken\s+FAILED\s+not a usable endpoint document", run.out)
    assert not (tmp_path / "team").exists()


def test_transient_errors_are_retried(emu: FalEmulator, cli: Cli, tmp_path: Path) -> None:
    emu.override_document("fal-ai/wizper", status=503, times=1)
    run = cli("pull", "fal-ai/wizper", "--out", tmp_path)
    assert run.code == 0, run.out
    assert [r.status for r in emu.requests] == [503, 200]


def test_network_errors_are_reported(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/openapi/queue/openapi.json"
    run = cli("pull", "fal-ai/wizper", "--out", tmp_path, "--openapi-url", url, "--retries", "0")
    assert run.code == 1
    assert re.search(r"fal-ai/wizper\s+FAILED\s+network error: ConnectError", run.out)
    run = cli("pull", "--all", "--out", tmp_path, "--models-url", url, "--retries", "0")
    assert run.code == 1 and "model list" in run.err


def test_the_key_is_never_printed(
    emu: FalEmulator, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY_ID", "id-123")
    monkeypatch.setenv("FAL_KEY_SECRET", "very-secret")
    run = cli("pull", "--all", "--out", tmp_path)
    assert run.code == 1  # the emulator only accepts its own key: 403
    assert "HTTP 403" in run.err
    assert "very-secret" not in run.out + run.err
    assert emu.requests[0].headers["authorization"] == "Key id-123:very-secret"


def test_an_alias_document_is_saved_under_the_id_asked_for(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    emu.override_document("fal-ai/flux-dev-alias", body=openapi_of("fal-ai/flux/dev"))
    assert cli("pull", "fal-ai/flux-dev-alias", "--out", tmp_path).code == 0
    saved = load_document(tmp_path / "fal-ai" / "flux-dev-alias.json")
    assert (saved.endpoint_id, saved.alias_of) == ("fal-ai/flux-dev-alias", "fal-ai/flux/dev")


@pytest.mark.parametrize(
    "args",
    [
        ["pull"],
        ["pull", "fal-ai/x", "--all"],
        ["pull", "fal-ai/x", "--category", "text-to-image"],
        ["pull", "--all", "--page-size", "0"],
    ],
)
def test_usage_errors(cli: Cli, tmp_path: Path, args: list[str]) -> None:
    run = cli(*args, "--out", tmp_path)
    assert run.code == 2 and run.err.startswith("fal-typed pull: ")
    assert _files(tmp_path) == []


def test_a_saved_model_list_entry_keeps_its_envelope(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    saved = tmp_path / "fal-ai" / "wizper.json"
    saved.parent.mkdir(parents=True)
    shutil.copyfile(SCHEMAS / "fal-ai" / "wizper.json", saved)  # {"metadata", "openapi"}
    original = saved.read_bytes()
    run = cli("pull", "fal-ai/wizper", "--out", tmp_path)
    assert run.code == 0 and "1 unchanged" in run.out
    assert saved.read_bytes() == original

    changed = openapi_of("fal-ai/wizper")
    changed["info"]["version"] = "2.0.0"
    emu.override_document("fal-ai/wizper", body=changed)
    run = cli("pull", "fal-ai/wizper", "--out", tmp_path)
    assert run.code == 0 and "1 updated" in run.out
    before = json.loads(original)
    after = read_json(saved)
    assert list(after) == list(before) == ["metadata", "openapi"]
    assert after == {**before, "openapi": changed}


def test_default_out_is_the_project_schemas_directory(
    emu: FalEmulator, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    run = cli("pull", "fal-ai/wizper")
    assert run.code == 0, run.err
    assert _files(tmp_path) == [
        "pyproject.toml",
        "schemas/MANIFEST.tsv",
        "schemas/fal-ai/wizper.json",
    ]
    (tmp_path / "pyproject.toml").unlink()
    run = cli("pull", "fal-ai/wizper")
    assert run.code == 2 and "--out" in run.err


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (
            "pull",
            ["--all", "--category", "FAL_TYPED_OPENAPI_URL", "FAL_TYPED_MODELS_URL", "FAL_KEY"],
        ),
        ("diff", ["--json", "--fail-on-breaking", "BREAKING"]),
    ],
)
def test_help(cli: Cli, command: str, words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(command, "--help")
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(word in text for word in words)


def test_pull_all_names_saved_endpoints_the_model_list_no_longer_has(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert cli("pull", "--all", "--out", out).code == 0
    gone = out / "team" / "gone.json"  # saved by an earlier pull; fal has since removed it
    gone.parent.mkdir()
    gone.write_text(
        json.dumps({"endpoint_id": "team/gone", "openapi": openapi_of("fal-ai/esrgan")}),
        encoding="utf-8",
    )
    run = cli("pull", "--all", "--out", out)
    assert run.code == 0, run.err  # a warning: fal removes endpoints
    assert "1 saved endpoints are not in fal's model list any more" in run.err
    assert "team/gone" in run.err and "14 unchanged" in run.out
    assert gone.exists()  # kept: deleting is the user's decision
    # A category lists only part of the catalogue: no warning then.
    run = cli("pull", "--all", "--category", "image-to-image", "--out", out)
    assert "not in fal's model list" not in run.err


def test_a_duplicate_listing_after_one_without_a_document_is_saved(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    emu.add_model_entry({"endpoint_id": "team/dup", "metadata": {}})
    good = {"endpoint_id": "team/dup", "metadata": {}, "openapi": openapi_of("fal-ai/esrgan")}
    emu.add_model_entry(good)
    emu.add_model_entry({**good, "metadata": {"second": True}})
    run = cli("pull", "--all", "--out", tmp_path)
    assert run.code == 1  # the entry without a document is reported
    failed = [line for line in run.out.splitlines() if "team/dup" in line and "FAILED" in line]
    assert len(failed) == 2
    assert "no document" in failed[0] and "first one kept" in failed[1]
    assert read_json(tmp_path / "team" / "dup.json") == good


def test_a_saved_entry_of_another_id_takes_the_id_asked_for(
    emu: FalEmulator, cli: Cli, tmp_path: Path
) -> None:
    # A hand-made copy: fal-ai/flux-dev-alias.json holding flux/dev's model-list entry.
    copy = tmp_path / "fal-ai" / "flux-dev-alias.json"
    copy.parent.mkdir(parents=True)
    entry = {
        "endpoint_id": "fal-ai/flux/dev",
        "metadata": {},
        "openapi": openapi_of("fal-ai/esrgan"),
    }
    copy.write_text(json.dumps(entry), encoding="utf-8")
    emu.override_document("fal-ai/flux-dev-alias", body=openapi_of("fal-ai/flux/dev"))
    assert cli("pull", "fal-ai/flux-dev-alias", "--out", tmp_path).code == 0
    saved = load_document(copy)
    assert (saved.endpoint_id, saved.alias_of) == ("fal-ai/flux-dev-alias", "fal-ai/flux/dev")

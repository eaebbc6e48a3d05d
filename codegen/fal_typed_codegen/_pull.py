"""``fal-typed pull``: download endpoint documents from fal into a schemas directory.

- ``pull ID ...`` GETs ``<openapi-url>?endpoint_id=<id>`` (a bare OpenAPI document) per id;
- ``pull --all [--category C]`` pages through ``<models-url>?expand=openapi-3.0&limit=N``
  (following ``next_cursor`` while ``has_more``) and saves each entry
  ``{"endpoint_id", "metadata", "openapi"}`` as it is listed.

A per-endpoint pull into a file that holds a model-list entry (from ``--all``, or any
``{"metadata", "openapi"}`` file) replaces only its ``openapi`` and keeps the rest: fal's
per-endpoint document lacks the list's metadata (display name, description) that the generator
uses in docstrings. ``pull --all`` refreshes the metadata too.

Every document must parse (:func:`fal_typed._document.parse_document`: Input and Output found)
before it is saved as ``<out>/<endpoint id>.json``: pretty-printed JSON (2-space indent, keys in
the order served, UTF-8, final newline), written atomically. A document whose JSON equals the
saved one (compared canonically, so key order and formatting do not count) is left alone, file
and manifest entry included. Endpoint ids come from the network, so each becomes a path only if
every segment is a plain name (letters, digits, ``.``, ``_``, ``-``; not starting with ``.``)
and the resolved path stays inside ``<out>``. Failures are reported per endpoint; the others
are still saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx

from fal_typed._client import _key_from_env
from fal_typed._document import DocumentError, parse_document
from fal_typed._options import validate_endpoint_id

from ._fetch import Fetcher, FetchError
from ._manifest import MANIFEST_NAME, ManifestEntry, atomic_write, read_manifest, write_manifest
from ._shape import canonical

__all__ = [
    "DEFAULT_MODELS_URL",
    "DEFAULT_OPENAPI_URL",
    "MODELS_URL_ENV",
    "OPENAPI_URL_ENV",
    "Outcome",
    "document_path",
    "pull_command",
    "save_document",
]

DEFAULT_OPENAPI_URL = "https://fal.ai/api/openapi/queue/openapi.json"
DEFAULT_MODELS_URL = "https://api.fal.ai/v1/models"
OPENAPI_URL_ENV = "FAL_TYPED_OPENAPI_URL"
MODELS_URL_ENV = "FAL_TYPED_MODELS_URL"
DEFAULT_PAGE_SIZE = 50
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")

Status = Literal["new", "updated", "unchanged", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one endpoint."""

    endpoint_id: str
    """The id as received (shown with ``repr`` when it is not a valid id)."""
    status: Status
    detail: str = ""
    """The error (failed) or the saved file (otherwise)."""


def document_path(out: Path, endpoint_id: object) -> Path:
    """``out/<endpoint id>.json``, or ValueError if the id is not safe to use as a path."""
    if not isinstance(endpoint_id, str):
        raise ValueError(f"endpoint id must be a string, got {endpoint_id!r}")
    validate_endpoint_id(endpoint_id)  # no '?', '#', '\\', '%', whitespace, empty/'.'/'..'
    segments = endpoint_id.split("/")
    bad = [s for s in segments if not _SEGMENT.fullmatch(s)]
    if bad:
        raise ValueError(
            f"invalid endpoint id {endpoint_id!r}: segment {bad[0]!r} is not made of letters, "
            "digits, '.', '_' and '-' (not starting with '.')"
        )
    path = out.joinpath(*segments[:-1], segments[-1] + ".json")
    root = out.resolve()
    resolved = path.resolve()
    if root not in resolved.parents:  # a symlink inside out/ must not lead elsewhere
        raise ValueError(f"endpoint id {endpoint_id!r} resolves outside {out.as_posix()}")
    return path


def serialize(data: Any) -> bytes:
    """The bytes a document is saved as (deterministic for the same JSON)."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def save_document(path: Path, data: Any) -> tuple[Status, bytes]:
    """Save ``data`` at ``path`` unless an equal document is there; (status, file bytes)."""
    if path.is_file():
        existing = path.read_bytes()
        try:
            if canonical(json.loads(existing.decode("utf-8-sig"))) == canonical(data):
                return "unchanged", existing
        except ValueError:  # not JSON (or not UTF-8): replace it
            pass
        status: Status = "updated"
    else:
        status = "new"
    payload = serialize(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, payload)
    return status, payload


def _entry_at(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` if it is a model-list entry (has an ``openapi`` object)."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("openapi"), dict):
        return data
    return None


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _shown(endpoint_id: object) -> str:
    if isinstance(endpoint_id, str) and endpoint_id.isprintable() and endpoint_id.strip():
        return endpoint_id
    return repr(endpoint_id)


class _Puller:
    """Saves documents into ``out`` and collects outcomes and manifest entries."""

    def __init__(self, out: Path, fetcher: Fetcher) -> None:
        self.out = out
        self.fetcher = fetcher
        self.outcomes: list[Outcome] = []
        self.manifest_path = out / MANIFEST_NAME
        self.manifest = read_manifest(self.manifest_path)
        self.seen: set[str] = set()  # saved from the model list
        self.listed: set[str] = set()  # listed by it, with or without a document

    def fail(self, endpoint_id: object, detail: str) -> None:
        self.outcomes.append(Outcome(_shown(endpoint_id), "failed", detail))

    def store(self, endpoint_id: str, path: Path, data: Any, source: str) -> None:
        """Validate and save one document at ``path`` (from :func:`document_path`)."""
        try:
            parse_document(data, f"{endpoint_id} ({source})")
        except DocumentError as exc:
            self.fail(endpoint_id, f"not a usable endpoint document: {exc.problem}")
            return
        try:
            status, payload = save_document(path, data)
        except OSError as exc:
            self.fail(endpoint_id, f"cannot write {path.as_posix()}: {exc.strerror or exc}")
            return
        digest = hashlib.sha256(payload).hexdigest()
        old = self.manifest.get(endpoint_id)
        if old is None or (old.sha256, old.source) != (digest, source):
            self.manifest[endpoint_id] = ManifestEntry(endpoint_id, digest, _now(), source)
        self.outcomes.append(Outcome(endpoint_id, status, path.as_posix()))

    def pull_one(self, endpoint_id: str, openapi_url: str) -> None:
        """Fetch and save the document of one endpoint."""
        try:
            path = document_path(self.out, endpoint_id)
        except ValueError as exc:
            self.fail(endpoint_id, str(exc))
            return
        try:
            data, source = self.fetcher.get_json(openapi_url, {"endpoint_id": endpoint_id})
        except FetchError as exc:
            detail = str(exc)
            if exc.status == 404:  # fal answers 404 for endpoints it has no document for
                detail = f"HTTP 404: no document for this endpoint at {openapi_url}"
            self.fail(endpoint_id, detail)
            return
        envelope = _entry_at(path)
        if envelope is not None and isinstance(data, dict):
            # The saved file is a model-list entry: keep its envelope (endpoint_id and the
            # model list's metadata, which the bare document lacks), replace its document.
            data = {**envelope, "openapi": data}
        try:
            described = parse_document(data, endpoint_id).endpoint_id
        except DocumentError:
            described = endpoint_id  # store() reports it
        if described != endpoint_id:
            # fal serves an alias's document under its target's id: keep the id asked for in
            # the file (a model-list entry), so the file name and the endpoint id agree.
            if isinstance(data, dict) and isinstance(data.get("openapi"), dict):
                data = {**data, "endpoint_id": endpoint_id}
            else:
                data = {"endpoint_id": endpoint_id, "openapi": data}
        self.store(endpoint_id, path, data, source)

    def pull_entry(self, entry: Any, source: str) -> None:
        """Save one model-list entry ``{"endpoint_id", "metadata", "openapi"}``."""
        if not isinstance(entry, dict):
            self.fail("<model list entry>", f"not a JSON object: {str(entry)[:80]}")
            return
        endpoint_id = entry.get("endpoint_id")
        try:
            path = document_path(self.out, endpoint_id)
        except ValueError as exc:
            self.fail(endpoint_id, f"refused: {exc}")
            return
        assert isinstance(endpoint_id, str)
        self.listed.add(endpoint_id)
        if not isinstance(entry.get("openapi"), dict):
            self.fail(endpoint_id, "the model list has no document for it (no 'openapi')")
            return
        if endpoint_id in self.seen:
            self.fail(endpoint_id, "listed more than once by the model list; first one kept")
            return
        self.seen.add(endpoint_id)
        self.store(endpoint_id, path, entry, source)

    def unlisted(self) -> list[tuple[str, Path]]:
        """Saved documents (``out/<id>.json``) of endpoints the model list did not list."""
        found = []
        for path in sorted(self.out.rglob("*.json")):
            endpoint_id = path.relative_to(self.out).with_suffix("").as_posix()
            if endpoint_id not in self.listed:
                found.append((endpoint_id, path))
        return found

    def list_models(
        self, models_url: str, page_size: int, category: str | None, key: str | None
    ) -> Iterator[list[Any]]:
        """The entries of each page of the model list; FetchError if a page fails."""
        headers = {"Authorization": f"Key {key}"} if key else {}
        cursor: str | None = None
        cursors: set[str] = set()
        while True:
            params: dict[str, str | int] = {"expand": "openapi-3.0", "limit": page_size}
            if category is not None:
                params["category"] = category
            if cursor is not None:
                params["cursor"] = cursor
            page, url = self.fetcher.get_json(models_url, params, headers)
            models = page.get("models") if isinstance(page, dict) else None
            if not isinstance(models, list):
                raise FetchError(f"not a model list page (no 'models' list) at {url}")
            yield models
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not isinstance(cursor, str) or not cursor:
                return
            if cursor in cursors:
                raise FetchError(f"the model list repeats the cursor {cursor!r}; stopped")
            cursors.add(cursor)


def _progress(total: int | None) -> Any:
    """A tqdm progress bar on stderr (only on a terminal), or None without tqdm."""
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None
    return tqdm(
        total=total, unit="endpoint", desc="pull", file=sys.stderr, disable=not sys.stderr.isatty()
    )


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def pull_command(
    endpoint_ids: Sequence[str],
    *,
    all_endpoints: bool = False,
    category: str | None = None,
    out: Path | None = None,
    openapi_url: str | None = None,
    models_url: str | None = None,
    page_size: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    http_client: httpx.Client | None = None,
) -> int:
    """Run ``fal-typed pull``: 0 if every endpoint succeeded, 1 if any failed, 2 on usage errors.

    URLs: the argument, else ``$FAL_TYPED_OPENAPI_URL`` / ``$FAL_TYPED_MODELS_URL``, else fal's.
    """
    from ._command import project_root

    def usage(message: str) -> int:
        print(f"fal-typed pull: {message}", file=sys.stderr)
        return 2

    if all_endpoints == bool(endpoint_ids):
        return usage("give endpoint ids or --all (not both)")
    if category is not None and not all_endpoints:
        return usage("--category only applies to --all")
    page_size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    retries = DEFAULT_RETRIES if retries is None else retries
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if page_size < 1 or retries < 0 or timeout <= 0:
        return usage("--page-size must be >= 1, --retries >= 0 and --timeout > 0")
    if out is None:
        root = project_root(Path.cwd())
        if root is None:
            return usage("no pyproject.toml here or above to find schemas/: pass --out DIR")
        out = root / "schemas"
    openapi_url = openapi_url or os.environ.get(OPENAPI_URL_ENV) or DEFAULT_OPENAPI_URL
    models_url = models_url or os.environ.get(MODELS_URL_ENV) or DEFAULT_MODELS_URL
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return usage(f"cannot create {out.as_posix()}: {exc.strerror or exc}")

    key = _key_from_env()
    client = http_client or httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,  # httpx drops Authorization when a redirect changes host
        headers={"User-Agent": "fal-typed-pull"},
    )
    puller = _Puller(out, Fetcher(client, retries=retries, secret=key))
    listing_error: str | None = None
    unlisted: list[tuple[str, Path]] = []
    try:
        if all_endpoints:
            bar = _progress(None)
            # The manifest names the listing, not the page (cursors and page sizes vary).
            query = {"expand": "openapi-3.0", **({"category": category} if category else {})}
            source = str(httpx.URL(models_url, params=query))
            try:
                for models in puller.list_models(models_url, page_size, category, key):
                    for entry in models:
                        puller.pull_entry(entry, source)
                        if bar is not None:
                            bar.update(1)
            except FetchError as exc:
                listing_error = f"model list {models_url}: {exc}"
            finally:
                if bar is not None:
                    bar.close()
            if listing_error is None and category is None:
                unlisted = puller.unlisted()
        else:
            bar = _progress(len(endpoint_ids))
            try:
                for endpoint_id in dict.fromkeys(endpoint_ids):
                    puller.pull_one(endpoint_id, openapi_url)
                    if bar is not None:
                        bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
    finally:
        if http_client is None:
            client.close()
        try:
            write_manifest(puller.manifest_path, puller.manifest)
        except OSError as exc:
            listing_error = f"cannot write {puller.manifest_path.as_posix()}: {exc}"

    return _report(puller.outcomes, out, listing_error, unlisted)


def _report(
    outcomes: list[Outcome],
    out: Path,
    listing_error: str | None,
    unlisted: Sequence[tuple[str, Path]] = (),
) -> int:
    width = max((len(o.endpoint_id) for o in outcomes), default=0)
    for outcome in outcomes:
        label = "FAILED" if outcome.status == "failed" else outcome.status
        detail = outcome.detail
        if outcome.status != "failed":
            detail = _display(Path(detail))
        print(f"  {outcome.endpoint_id:<{width}}  {label:<9}  {detail}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("new", "updated", "unchanged")}
    failed = sum(o.status == "failed" for o in outcomes)
    print(
        f"fal-typed pull: {len(outcomes)} endpoints into {_display(out)}: "
        f"{counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged, "
        f"{failed} failed"
    )
    if unlisted:
        # Not an error (fal removes endpoints), but diff cannot report them while the files stay.
        print(
            f"fal-typed pull: {len(unlisted)} saved endpoints are not in fal's model list any "
            "more; their files are kept (delete them to drop the endpoints, and `fal-typed "
            "diff` then reports them as removed):",
            file=sys.stderr,
        )
        for endpoint_id, path in unlisted:
            print(f"  {endpoint_id}  {_display(path)}", file=sys.stderr)
    if listing_error is not None:
        print(f"fal-typed pull: {listing_error}", file=sys.stderr)
    if failed:
        print(f"fal-typed pull: {failed} of {len(outcomes)} endpoints failed", file=sys.stderr)
    return 1 if failed or listing_error is not None else 0

"""``fal-typed generate``: documents -> one typed module per endpoint, plus a lazy registry."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import keyword
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fal_typed._document import DocumentError, EndpointDocument, find_documents, load_document

from ._cache import GenerationCache, default_cache_dir, document_digest, entry_key
from ._naming import module_names
from ._parallel import EndpointJob, available_cpus, render_modules
from ._writer import GenerationError, diff_package, existing_files, format_files, write_package

__all__ = [
    "DEFAULT_PACKAGE",
    "GeneratedPackage",
    "build_package",
    "generate_command",
    "project_root",
]

DEFAULT_PACKAGE = "fal_typed.models"


def project_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a ``pyproject.toml``."""
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return None


def _display(path: Path, bases: Sequence[Path]) -> str:
    """``path`` relative to the first base containing it (POSIX), else as given."""
    absolute = Path(os.path.abspath(path))
    for base in bases:
        try:
            return absolute.relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _check_package(package: str) -> None:
    parts = package.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise GenerationError(f"--package {package!r}: not a dotted Python package name")


@dataclass(frozen=True)
class GeneratedPackage:
    """Everything generated for one package."""

    files: dict[str, bytes]
    """File contents by path relative to the package directory."""
    modules: dict[str, str]
    """Endpoint id -> path of its module file (relative to the package directory)."""


@dataclass(frozen=True)
class _Found:
    """A document found: its endpoint's source, and either the document or its digest."""

    path: Path
    source: str
    doc: EndpointDocument | None
    """The document (None when the cache's index supplied its id and digest)."""
    digest: str | None
    """Its content's digest (None without a cache)."""


def _load(path: Path, source: str) -> EndpointDocument:
    doc = load_document(path)
    return EndpointDocument(**{**doc.__dict__, "source": source})


def _indexed(cache: GenerationCache, key: str) -> tuple[str, str] | None:
    """The (endpoint id, digest) the cache's index holds under ``key``, if valid."""
    data = cache.get(key)
    if data is None:
        return None
    try:
        entry = json.loads(data)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    endpoint_id, digest = entry.get("endpoint_id"), entry.get("digest")
    if isinstance(endpoint_id, str) and isinstance(digest, str):
        return endpoint_id, digest
    return None


def _load_all(
    documents: Sequence[Path], display_bases: Sequence[Path], cache: GenerationCache | None
) -> dict[str, _Found]:
    """Every document by endpoint id; duplicate ids are an error.

    With a cache, a document whose exact bytes were loaded before is not parsed again: the
    cache's index maps its bytes to its endpoint id and content digest.
    """
    loaded: dict[str, _Found] = {}
    for path in documents:
        source = _display(path, display_bases)
        found: _Found | None = None
        if cache is not None:
            try:
                raw: bytes | None = path.read_bytes()
            except OSError:
                raw = None  # load_document reports it
            index_key = ""
            if raw is not None:
                index_key = entry_key("document", hashlib.sha256(raw).hexdigest(), source)
                indexed = _indexed(cache, index_key)
                if indexed is not None:
                    found = _Found(path, source, None, indexed[1])
                    endpoint_id = indexed[0]
        if found is None:
            doc = _load(path, source)
            endpoint_id = doc.endpoint_id
            digest = document_digest(doc.__dict__) if cache is not None else None
            found = _Found(path, source, doc, digest)
            if cache is not None and raw is not None and digest is not None:
                try:
                    unchanged = path.read_bytes() == raw  # not rewritten while it was loaded
                except OSError:
                    unchanged = False
                if unchanged:
                    entry = {"endpoint_id": endpoint_id, "digest": digest}
                    cache.put(index_key, json.dumps(entry, sort_keys=True).encode())
        if endpoint_id in loaded:
            other = loaded[endpoint_id].source
            raise DocumentError(
                source, None, f"endpoint id {endpoint_id!r} is also defined by {other}"
            )
        loaded[endpoint_id] = found
    return loaded


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr for ``total`` endpoints, or None (not a terminal, or few)."""
    if not enabled or total < 20:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:  # pragma: no cover - tqdm is in the codegen extra
        return None
    # No monitor thread: worker processes may be forked while the bar is shown.
    tqdm.monitor_interval = 0
    return tqdm(total=total, desc="generating", unit="endpoint", file=sys.stderr, leave=False)


def build_package(
    documents: Sequence[Path],
    package: str,
    *,
    display_bases: Sequence[Path] = (),
    regenerate: str = "make generate",
    cache: GenerationCache | None = None,
    workers: int = 1,
    progress: bool = False,
) -> GeneratedPackage:
    """Generate every file of ``package``.

    Endpoints found in ``cache`` are not generated again; the others are generated by
    ``workers`` processes (1: in this one) and formatted by one ruff run. The result is the
    same bytes whatever the cache holds and however many workers run.
    """
    _check_package(package)
    loaded = _load_all(documents, display_bases, cache)
    names = module_names(loaded)
    first_party = package.split(".")[0]
    jobs: dict[str, EndpointJob] = {}  # path of the module -> its job
    digests: dict[str, str | None] = {}  # path of the module -> its document's digest
    owners: dict[str, list[tuple[str, str]]] = {}
    modules: dict[str, str] = {}
    for endpoint_id in sorted(loaded):
        found = loaded[endpoint_id]
        owner, module = names[endpoint_id]
        modules[endpoint_id] = f"{owner}/{module}.py"
        jobs[modules[endpoint_id]] = EndpointJob(
            found.path, found.doc, found.source, owner, module, package, regenerate
        )
        digests[modules[endpoint_id]] = found.digest
        owners.setdefault(owner, []).append((endpoint_id, f"{package}.{owner}.{module}"))

    registry_header = (
        f"# Generated by fal-typed (registry of {{count}} endpoints); do not edit: "
        f"run `{regenerate}`."
    )
    every = sorted(m for group in owners.values() for m in group)
    # The other files, as (template, header, summary, modules); rendered only when needed.
    others: dict[str, tuple[str, str, str, list[tuple[str, str]]]] = {
        "__init__.py": (
            "registry",
            registry_header.format(count=len(every)),
            f"Typed fal endpoints generated by fal-typed ({len(every)} endpoints).",
            every,
        )
    }
    for owner, group in sorted(owners.items()):
        others[f"{owner}/__init__.py"] = (
            "registry",
            registry_header.format(count=len(group)),
            f"Typed fal endpoints of the owner ``{group[0][0].split('/')[0]}``.",
            group,
        )
    others["_base.py"] = (
        "base",
        f"# Generated by fal-typed (model base classes); do not edit: run `{regenerate}`.",
        "",
        [],
    )

    # Cache keys. How ruff sorts imports depends on the package's top-level names, so they
    # are part of every key (and every formatting batch below holds all of them).
    layout = json.dumps(sorted(owners))
    keys: dict[str, str] = {}

    def endpoint_key(rel: str, job: EndpointJob, digest: str) -> str:
        return entry_key(
            "endpoint", package, first_party, layout, rel, job.source, job.regenerate,
            job.owner, job.module, digest,
        )  # fmt: skip

    if cache is not None:
        for rel, job in jobs.items():
            digest = digests[rel]
            assert digest is not None  # computed whenever there is a cache
            keys[rel] = endpoint_key(rel, job, digest)
        for rel, (kind, header, summary, group) in others.items():
            keys[rel] = entry_key(
                kind, package, first_party, layout, rel, header, summary, json.dumps(group)
            )
    cached = cache.get_many(keys.values()) if cache is not None else {}
    done = {rel: cached[key] for rel, key in keys.items() if key in cached}
    missing = [rel for rel in jobs if rel not in done]
    if missing or len(done) < len(jobs) + len(others):
        from ._render import render_base, render_registry

        for rel in missing:
            job = jobs[rel]
            if job.doc is None:  # known from the cache's index, but its module is not cached
                job = jobs[rel] = dataclasses.replace(job, doc=_load(job.path, job.source))
                if cache is not None:  # key what is generated (even if the file just changed)
                    keys[rel] = endpoint_key(rel, job, document_digest(job.doc.__dict__))
        bar = _progress_bar(len(missing), progress)
        try:
            texts = render_modules(
                [jobs[rel] for rel in missing],
                workers=workers,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        batch = dict(zip(missing, texts, strict=True))
        for rel, (kind, header, summary, group) in others.items():
            batch[rel] = (
                render_registry(header, summary, group)
                if kind == "registry"
                else render_base(header)
            )
        formatted = format_files(batch, first_party=first_party)
        if cache is not None:
            for rel, data in formatted.items():
                if rel not in done:
                    cache.put(keys[rel], data)
        done.update(formatted)
    files = {rel: done[rel] for rel in sorted(done)}
    return GeneratedPackage(files, modules)


def generate_command(
    paths: list[Path],
    *,
    out: Path | None,
    package: str | None,
    check: bool,
    use_cache: bool = True,
    jobs: int | None = None,
) -> int:
    """Run ``fal-typed generate``; returns the exit code (errors are printed, not raised).

    ``use_cache``: reuse and store generated files in the cache (``--check`` only reads it);
    ``jobs``: worker processes (default: one per available CPU; 1 generates in this process).
    """
    cwd = Path.cwd()
    root = project_root(cwd)
    try:
        if not paths or out is None:
            missing = [what for what, given in (("DOC_OR_DIR", paths), ("--out", out)) if not given]
            if root is None or (not paths and not (root / "schemas").is_dir()):
                where = (
                    f"{root.as_posix()} has no schemas/ directory"
                    if root is not None
                    else f"no pyproject.toml in {cwd.as_posix()} or above"
                )
                print(
                    f"fal-typed generate: cannot use the default for {' and '.join(missing)}: "
                    f"{where}; pass documents and --out explicitly "
                    "(e.g. fal-typed generate my-app.json --out src --package myapp.fal)",
                    file=sys.stderr,
                )
                return 2
        if not paths:
            assert root is not None
            paths = [root / "schemas"]
        if out is None:
            assert root is not None
            out = root / "generated"
        package = package or DEFAULT_PACKAGE
        bases = [b for b in (root, cwd) if b is not None]
        regenerate = "make generate" if package == DEFAULT_PACKAGE else "fal-typed generate"
        documents = find_documents(paths)
        if not documents:
            raise GenerationError("no documents (*.json) found in " + ", ".join(map(str, paths)))
        _check_package(package)
        if jobs is not None and jobs < 1:
            raise GenerationError(f"--jobs must be at least 1, got {jobs}")
        cache = GenerationCache(default_cache_dir(), read_only=check) if use_cache else None
        generated = build_package(
            documents,
            package,
            display_bases=bases,
            regenerate=regenerate,
            cache=cache,
            workers=jobs if jobs is not None else available_cpus(),
            progress=sys.stderr.isatty(),
        )
        target = out.joinpath(*package.split("."))
        if check:
            diff = diff_package(target, generated.files)
            if diff:
                sys.stdout.write(diff)
                print(
                    f"fal-typed generate --check: {target.as_posix()} is out of date; "
                    f"run `{regenerate}`",
                    file=sys.stderr,
                )
                return 1
            return 0
        before = existing_files(target)
        if before != generated.files:  # an unchanged package is left alone
            write_package(target, generated.files, existing=before)
    except (DocumentError, GenerationError) as exc:
        print(f"fal-typed generate: {exc}", file=sys.stderr)
        return 1
    _print_summary(package, target, generated, before)
    return 0


def _print_summary(
    package: str, target: Path, generated: GeneratedPackage, before: dict[str, bytes]
) -> None:
    """One line per endpoint: its module, and whether this run changed it."""
    lines = []
    width = max(map(len, generated.modules), default=0)
    for endpoint_id, rel in sorted(generated.modules.items()):
        old = before.get(rel)
        status = "new" if old is None else "unchanged" if old == generated.files[rel] else "updated"
        dotted = f"{package}.{rel.removesuffix('.py').replace('/', '.')}"
        lines.append(f"  {endpoint_id:<{width}}  {dotted}  ({status})")
    removed = sorted(set(before) - set(generated.files))
    lines.extend(f"  removed {target.joinpath(rel).as_posix()}" for rel in removed)
    written = sum(before.get(rel) != data for rel, data in generated.files.items())
    print(
        f"fal-typed generate: {len(generated.modules)} endpoints in {target.as_posix()} "
        f"({written} files new or updated, {len(removed)} removed)"
    )
    print("\n".join(lines))

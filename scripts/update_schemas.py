"""Refresh schemas/ from fal, print what changed, regenerate: ``make update-schemas``.

Run from the project root (the directory with ``pyproject.toml``, ``schemas/``, ``generated/``):

1. the endpoints to refresh are the arguments, else every endpoint documented in ``schemas/``;
2. ``schemas/`` is copied to a temporary directory (the "before" side of the diff);
3. ``fal-typed pull <ids>`` updates ``schemas/`` in place (atomic per file, unchanged documents
   untouched, ``schemas/MANIFEST.tsv`` updated);
4. ``fal-typed diff <before> schemas/`` prints the changes, each BREAKING or not;
5. ``fal-typed generate`` regenerates ``generated/``.

Every step runs even if some endpoints could not be pulled (their documents stay as they were);
the exit code is then 1, else generate's. ``FAL_TYPED_OPENAPI_URL`` and ``FAL_TYPED_MODELS_URL``
redirect the downloads (e.g. to the emulator), like for ``fal-typed pull``. To undo:
``git checkout schemas generated``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from fal_typed._document import DocumentError, find_documents, load_document
from fal_typed_codegen._command import project_root
from fal_typed_codegen.cli import main as fal_typed


def listed_endpoints(schemas: Path) -> list[str]:
    """The endpoint ids of the documents in ``schemas`` (sorted)."""
    return sorted(load_document(path).endpoint_id for path in find_documents([schemas]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="update_schemas.py",
        description="Refresh schemas/ from fal, print what changed, regenerate generated/.",
    )
    parser.add_argument(
        "endpoint_ids",
        nargs="*",
        metavar="ENDPOINT_ID",
        help="endpoints to refresh (default: every endpoint in schemas/)",
    )
    args = parser.parse_args(argv)
    root = project_root(Path.cwd())
    if root is None or not (root / "schemas").is_dir():
        print(
            "update-schemas: run it in a project with pyproject.toml and schemas/", file=sys.stderr
        )
        return 2
    schemas = root / "schemas"
    try:
        endpoint_ids = args.endpoint_ids or listed_endpoints(schemas)
    except DocumentError as exc:
        print(f"update-schemas: {exc}", file=sys.stderr)
        return 2
    if not endpoint_ids:
        print(f"update-schemas: no documents in {schemas}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="fal-typed-update-") as tmp:
        before = Path(tmp) / "before"
        shutil.copytree(schemas, before)
        print(f"== fal-typed pull ({len(endpoint_ids)} endpoints)", flush=True)
        pulled = fal_typed(["pull", *endpoint_ids, "--out", str(schemas)])
        print("== fal-typed diff (before -> schemas/)", flush=True)
        diffed = fal_typed(["diff", str(before), str(schemas)])
    print("== fal-typed generate", flush=True)
    generated = fal_typed(["generate"])  # exactly `make generate`
    if pulled != 0 or diffed != 0:
        print("update-schemas: some endpoints could not be refreshed (see above)", file=sys.stderr)
        return 1
    return generated


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``fal-typed`` command line.

Subcommands import their heavy dependencies lazily, so ``fal-typed --help`` works with the
runtime alone and a missing extra is reported with the ``pip install`` line that fixes it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from fal_typed._version import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fal-typed",
        description=(
            "Typed SDK tooling for fal.ai endpoints: generate clients, run an emulator, "
            "pull documents from fal and diff them."
        ),
    )
    parser.add_argument("--version", action="version", version=f"fal-typed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    gen = sub.add_parser(
        "generate",
        help="generate typed pydantic models and wrapper functions from fal OpenAPI documents",
        description=(
            "Generate one typed module per endpoint from fal OpenAPI documents. With no "
            "arguments, regenerates this repository (schemas/ -> generated/, package "
            "fal_typed.models)."
        ),
    )
    gen.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="DOC_OR_DIR",
        help="OpenAPI documents (.json) or directories searched recursively (default: schemas/)",
    )
    gen.add_argument(
        "--out",
        type=Path,
        default=None,
        help="root directory to write the package into (default: generated/)",
    )
    gen.add_argument(
        "--package",
        default=None,
        metavar="DOTTED.NAME",
        help="dotted package name of the generated code (default: fal_typed.models)",
    )
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff of what would change and exit 1 if anything would",
    )
    gen.add_argument(
        "--no-cache",
        action="store_false",
        dest="use_cache",
        help="generate every endpoint again instead of reusing unchanged ones from the cache "
        "($FAL_TYPED_CACHE_DIR, else $XDG_CACHE_HOME/fal-typed or ~/.cache/fal-typed; entries "
        "are keyed by document content, generator and tool versions and options, so the "
        "output is the same either way; --check reads the cache but never writes it)",
    )
    gen.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes generating endpoints (default: one per available CPU; "
        "1: in this process); the output does not depend on it",
    )

    emu = sub.add_parser(
        "emulate",
        help="serve an offline emulator of fal's synchronous API for the given documents",
        description=(
            "Serve POST /{endpoint_id}[/{subpath}] on 127.0.0.1 for every loaded document: "
            "checks the key, validates inputs, answers schema-valid outputs. Ctrl-C stops it."
        ),
    )
    emu.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="DOC_OR_DIR",
        help="OpenAPI documents (.json) or directories searched recursively (default: schemas/)",
    )
    emu.add_argument("--port", type=int, default=0, help="port to listen on (default: ephemeral)")
    emu.add_argument(
        "--key",
        default=None,
        help="the only accepted API key (default: accept any non-empty key)",
    )
    _add_pull(sub)
    _add_diff(sub)
    return parser


def _add_pull(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pull = sub.add_parser(
        "pull",
        help="download endpoint documents from fal into schemas/ (or --out)",
        description=(
            "Download fal's OpenAPI document of each ENDPOINT_ID (or, with --all, of every "
            "endpoint in fal's model list, saved as listed) as DIR/<endpoint id>.json. "
            "Documents without an Input and Output schema are refused; unchanged documents are "
            "not rewritten; a saved model-list entry keeps its metadata and gets the new "
            "document; DIR/MANIFEST.tsv records each saved document's source URL, sha256 and "
            "fetch time. Exit code: 0 if every endpoint succeeded, 1 if any failed (the others "
            "are saved), 2 on usage errors."
        ),
        epilog=(
            "environment: FAL_TYPED_OPENAPI_URL and FAL_TYPED_MODELS_URL replace the default "
            "URLs; FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) is sent to the model list API "
            "when set (it is optional there)."
        ),
    )
    pull.add_argument(
        "endpoint_ids",
        nargs="*",
        metavar="ENDPOINT_ID",
        help="endpoint ids to download, e.g. fal-ai/flux/dev",
    )
    pull.add_argument(
        "--all",
        action="store_true",
        dest="all_endpoints",
        help="download every endpoint of fal's model list (GET <models-url>?expand=openapi-3.0)",
    )
    pull.add_argument(
        "--category",
        default=None,
        help="with --all: only this model-list category (e.g. text-to-image)",
    )
    pull.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory to save documents in (default: schemas/ of this project)",
    )
    pull.add_argument(
        "--openapi-url",
        default=None,
        metavar="URL",
        help="per-endpoint document URL, called with ?endpoint_id=<id> (default: "
        "$FAL_TYPED_OPENAPI_URL or https://fal.ai/api/openapi/queue/openapi.json)",
    )
    pull.add_argument(
        "--models-url",
        default=None,
        metavar="URL",
        help="model list URL for --all (default: $FAL_TYPED_MODELS_URL or "
        "https://api.fal.ai/v1/models)",
    )
    pull.add_argument(
        "--page-size",
        type=int,
        default=None,
        metavar="N",
        help="with --all: models per page (limit=N, default 50)",
    )
    pull.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="HTTP timeout per request (default 30)",
    )
    pull.add_argument(
        "--retries",
        type=int,
        default=None,
        metavar="N",
        help="retries of a request after a connection error, a timeout, 429 or 5xx (default 2)",
    )


def _add_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = sub.add_parser(
        "diff",
        help="compare two versions of endpoint documents and classify the changes",
        description=(
            "Compare two documents, or two directories of documents matched by endpoint id. "
            "Reports endpoints added/removed and, for each endpoint's input and output, fields "
            "added/removed, required <-> optional, type, nullability, enum, default and "
            "constraint changes, each marked BREAKING (callers' code may fail) or change. "
            "Exit code: 0; 1 with --fail-on-breaking when a breaking change was found; 2 when "
            "a document cannot be read."
        ),
    )
    diff.add_argument("old", type=Path, metavar="OLD", help="the old document or directory")
    diff.add_argument("new", type=Path, metavar="NEW", help="the new document or directory")
    diff.add_argument(
        "--json",
        action="store_true",
        dest="as_json",
        help='print a JSON report instead (format "fal-typed-diff/1")',
    )
    diff.add_argument(
        "--fail-on-breaking",
        action="store_true",
        help="exit 1 when any change is breaking",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fal-typed`` command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            from fal_typed_codegen._command import generate_command

            return generate_command(
                args.paths,
                out=args.out,
                package=args.package,
                check=args.check,
                use_cache=args.use_cache,
                jobs=args.jobs,
            )
        if args.command == "pull":
            from fal_typed_codegen._pull import pull_command

            return pull_command(
                args.endpoint_ids,
                all_endpoints=args.all_endpoints,
                category=args.category,
                out=args.out,
                openapi_url=args.openapi_url,
                models_url=args.models_url,
                page_size=args.page_size,
                timeout=args.timeout,
                retries=args.retries,
            )
        if args.command == "diff":
            from fal_typed_codegen._diff import diff_command

            return diff_command(
                args.old, args.new, as_json=args.as_json, fail_on_breaking=args.fail_on_breaking
            )
        from fal_typed.testing._serve import emulate_command

        return emulate_command(args.paths, port=args.port, key=args.key)
    except ModuleNotFoundError as exc:
        extra = "emulator" if args.command == "emulate" else "codegen"
        print(
            f"fal-typed {args.command}: missing dependency {exc.name!r}; "
            f"install it with: pip install 'fal-typed[{extra}]'",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

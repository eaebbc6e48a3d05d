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
        description="Typed SDK tooling for fal.ai endpoints: generate clients, run an emulator.",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fal-typed`` command line; returns the process exit code."""
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            from fal_typed_codegen._command import generate_command

            return generate_command(
                args.paths, out=args.out, package=args.package, check=args.check
            )
        from fal_typed.testing._serve import emulate_command

        return emulate_command(args.paths, port=args.port, key=args.key)
    except ModuleNotFoundError as exc:
        extra = "codegen" if args.command == "generate" else "emulator"
        print(
            f"fal-typed {args.command}: missing dependency {exc.name!r}; "
            f"install it with: pip install 'fal-typed[{extra}]'",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

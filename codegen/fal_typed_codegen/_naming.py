"""Name mapping: endpoint ids to modules and functions, schema names to classes.

Rules (also in the README):

- An endpoint id ``owner/rest...`` maps to module ``<package>.<owner>.<rest>``: the owner and the
  rest (with its ``/`` separators) are lowercased and every character that is not a letter, a
  digit or ``_`` (``-``, ``.``, ``/``, ...) becomes ``_``. ``fal-ai/flux/dev`` ->
  ``fal_ai.flux_dev``; ``fal-ai/hyper3d/rodin/v2.5`` -> ``fal_ai.hyper3d_rodin_v2_5``.
- A name starting with a digit gets the prefix ``m_`` (``3d-thing`` -> ``m_3d_thing``); a Python
  keyword, a builtin, or a name the generated code itself uses gets a trailing ``_``
  (``fal-ai/lambda`` -> ``lambda_``).
- A module name starting with ``_`` gets the prefix ``m`` (``x/__init__`` -> ``m__init__``), as
  an owner package name does: names starting with ``_`` are the generator's own.
- The function has the module's name. Two ids mapping to one module are an error naming both.
- Class names come from schema names: the part after the last ``__``
  (``registry__image__fast_sdxl__models__Image`` -> ``Image``), converted to PascalCase.
- Accented letters lose their accents first (``Ünïcode`` -> ``Unicode``, ``café`` -> ``cafe``).
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable, Mapping

from ._writer import GenerationError

__all__ = [
    "class_name",
    "endpoint_stem",
    "module_names",
    "python_identifier",
    "unique_name",
]

# Names bound at module level by every generated module (imports and constants), plus the
# registry API of the package ``__init__`` files: a function or module must not shadow them.
_MODULE_GLOBALS = frozenset(
    {
        "annotations",
        "overload",
        "httpx",
        "datetime",
        "typing",
        "pydantic",
        "get_endpoint",
        "importlib",
        "difflib",
    }
)
RESERVED_MODULE_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | _MODULE_GLOBALS

# Class names a schema class must not take: they are imported by generated modules.
RESERVED_CLASS_NAMES = frozenset(
    {
        "Annotated",
        "Any",
        "AwareDatetime",
        "BaseModel",
        "Callable",
        "ConfigDict",
        "Endpoint",
        "FalClient",
        "Field",
        "InputModel",
        "Literal",
        "Mapping",
        "NotGiven",
        "OutputModel",
        "QueueHandle",
        "RootModel",
        "Status",
        "TypeAliasType",
        "TypedEndpoint",
        "ENDPOINT",
        "NOT_GIVEN",
    }
    | set(keyword.kwlist)
    | set(dir(builtins))
)

_NON_IDENT = re.compile(r"[^0-9A-Za-z_]")


def _ascii(text: str) -> str:
    """Accents dropped (``Ünïcode`` -> ``Unicode``); other non-ASCII characters are kept (and
    then replaced like any other character that is not a letter, digit or ``_``)."""
    return "".join(
        c
        if c.isascii()
        else (unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or c)
        for c in text
    )


def python_identifier(text: str, reserved: Iterable[str] = RESERVED_MODULE_NAMES) -> str:
    """Lowercase ``text``, map other characters to ``_``, fix leading digits and keywords."""
    name = _NON_IDENT.sub("_", _ascii(text).lower()) or "_"
    if name[0].isdigit():
        name = "m_" + name
    if name in set(reserved):
        name += "_"
    return name


def _source_of(value: object) -> str | None:
    """The source file recorded for an endpoint id: a string, an object with a ``source``
    string (a loaded document), or the last item of a tuple such as ``(document, source)``."""
    if isinstance(value, str):
        return value
    source = getattr(value, "source", None)
    if isinstance(source, str):
        return source
    if isinstance(value, tuple) and value and isinstance(value[-1], str):
        return value[-1]
    return None


def module_names(
    endpoint_ids: Iterable[str] | Mapping[str, object],
) -> dict[str, tuple[str, str]]:
    """Map each endpoint id to ``(owner_package, module)``.

    Two ids mapping to one module are an error (GenerationError naming both ids and, when
    ``endpoint_ids`` maps each id to its source file, a loaded document with a ``source`` or
    ``(document, source)``, their files): a suffix would make a module's name depend on which
    other documents are generated with it.
    """
    sources = (
        {k: _source_of(v) for k, v in endpoint_ids.items()}
        if isinstance(endpoint_ids, Mapping)
        else {}
    )
    result: dict[str, tuple[str, str]] = {}
    owners: dict[tuple[str, str], str] = {}
    for endpoint_id in sorted(set(endpoint_ids)):
        owner, _, rest = endpoint_id.partition("/")
        names = []
        for part in (owner, rest):
            name = python_identifier(part)
            if name.startswith("_"):
                name = "m" + name  # names starting with ``_`` are the generator's own
            names.append(name)
        key = (names[0], names[1])
        if key in owners:
            other = owners[key]

            def named(endpoint: str) -> str:
                source = sources.get(endpoint)
                return f"{endpoint!r}" + (f" ({source})" if source else "")

            raise GenerationError(
                f"endpoint ids {named(other)} and {named(endpoint_id)} both map to the module "
                f"{names[0]}.{names[1]}; generate them into different packages (--package)"
            )
        owners[key] = endpoint_id
        result[endpoint_id] = key
    return result


def endpoint_stem(endpoint_id: str) -> str:
    """PascalCase stem for an endpoint's class names: ``fal-ai/flux/dev`` -> ``FluxDev``."""
    _, _, rest = endpoint_id.partition("/")
    return class_name(rest or endpoint_id)


def class_name(raw: str, reserved: Iterable[str] = RESERVED_CLASS_NAMES) -> str:
    """A PascalCase class name from a schema name (see module docstring)."""
    parts = [p for p in raw.split("__") if p.strip("_")]
    last = parts[-1] if parts else raw
    words = [w for w in _NON_IDENT.sub(" ", _ascii(last)).replace("_", " ").split() if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or "Model"
    if name[0].isdigit():
        name = "M" + name
    if name in set(reserved):
        name += "Model"
    return name


def unique_name(preferred: str, taken: set[str]) -> str:
    """``preferred``, or ``preferred2``, ``preferred3``... whichever is free; records it."""
    name, n = preferred, 1
    while name in taken:
        n += 1
        name = f"{preferred}{n}"
    taken.add(name)
    return name

"""The typed signatures of a generated endpoint object, as type checkers and IDEs see them.

The methods' implementations take ``**keywords`` (the overloads carry the types), so the
parameters are read from the overloads in the class's source rather than ``inspect.signature``
(``typing.get_overloads`` needs Python 3.11).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass

from fal_typed_codegen._render import METHODS

METHOD_NAMES = tuple(m.name for m in METHODS)


@dataclass(frozen=True)
class Overloads:
    """The two overloads of one method: (name, annotation) of each keyword-only parameter."""

    positional: list[tuple[str, str]]
    """The overload taking the input model or mapping: only request options."""
    keywords: list[tuple[str, str]]
    """The overload taking the input fields as keywords, then the request options."""

    @property
    def fields(self) -> list[str]:
        """The input keywords (before the first request option, ``client``)."""
        names = [name for name, _ in self.keywords]
        return names[: names.index("client")]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.keywords]


def overloads(endpoint: object, method: str = "__call__") -> Overloads:
    """The overloads of ``method`` of a generated endpoint object (``fast_sdxl``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(type(endpoint))))
    [cls] = tree.body
    assert isinstance(cls, ast.ClassDef)
    found: dict[bool, list[tuple[str, str]]] = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == method and node.decorator_list:
            assert [ast.unparse(d) for d in node.decorator_list] == ["overload"]
            takes_input = [a.arg for a in node.args.posonlyargs] == ["self", "input"]
            assert takes_input not in found, f"two overloads of the same kind for {method}"
            found[takes_input] = [
                (a.arg, ast.unparse(a.annotation) if a.annotation else "")
                for a in node.args.kwonlyargs
            ]
    return Overloads(positional=found[True], keywords=found[False])


def params(endpoint: object) -> list[str]:
    """The input keywords of a generated endpoint object (request options excluded)."""
    return overloads(endpoint).fields

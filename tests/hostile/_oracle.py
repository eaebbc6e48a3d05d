"""The oracle for generated code: AST allow-list, docstring round trip, expectations, probe.

Used by ``test_hostile.py`` (the committed corpus) and ``test_hostile_hypothesis.py`` (random
schemas). See ``_probe.py`` for the import and audit part.
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fal_typed._document import load_document
from fal_typed_codegen._command import GeneratedPackage
from fal_typed_codegen._render import render_base, render_registry
from fal_typed_codegen._schema import NormalizedEndpoint, normalize_endpoint

PROBE = Path(__file__).with_name("_probe.py")

# -- the allow-lists, derived from what the templates and datamodel-code-generator emit for
# -- schemas/ and the golden fixtures ---------------------------------------------------------

# (module, name) imports an endpoint module may have; ``{package}`` is the generated package.
# A name may be imported as ``<name>_aliased`` (datamodel-code-generator does that when a field
# is named like the import).
HEADER_IMPORTS = frozenset(
    {
        ("__future__", "annotations"),
        ("", "datetime"),
        ("", "httpx"),
        ("collections.abc", "Mapping"),
        ("collections.abc", "Callable"),
        ("typing", "Any"),
        ("typing", "overload"),
        ("typing", "Literal"),
        ("typing", "Annotated"),
        ("typing_extensions", "TypeAliasType"),
        ("fal_typed", "Endpoint"),
        ("fal_typed", "FalClient"),
        ("fal_typed", "NOT_GIVEN"),
        ("fal_typed", "NotGiven"),
        ("fal_typed", "QueueHandle"),
        ("fal_typed", "Status"),
        ("pydantic", "BaseModel"),
        ("pydantic", "ConfigDict"),
        ("pydantic", "Field"),
        ("pydantic", "RootModel"),
        ("{package}._base", "InputModel"),
        ("{package}._base", "OutputModel"),
        ("{package}._base", "NotNull"),
        ("{package}._base", "TypedEndpoint"),
        *(("builtins", t) for t in ("str", "int", "float", "bool", "list", "dict", "tuple")),
    }
)
# Names a type expression may use besides the module's own classes and aliases.
TYPE_NAMES = frozenset(
    {"str", "int", "float", "bool", "list", "dict", "tuple", "Any", "Literal", "Annotated"}
    | {"Mapping", "Endpoint", "FalClient", "NotGiven", "RootModel", "None"}
    | {"Callable", "QueueHandle", "Status", "object"}
)
TYPE_ATTRIBUTES = frozenset({("datetime", "timedelta"), ("httpx", "Timeout")})
FIELD_KEYWORDS = frozenset(
    {"alias", "default", "ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length"}
    | {"pattern", "min_items", "max_items"}
)
CONFIG_KEYWORDS = frozenset({"regex_engine", "defer_build", "extra", "populate_by_name"})
CLASS_BASES = frozenset({"InputModel", "OutputModel", "BaseModel"})
# Never anywhere in generated code (names, attributes, keyword names).
FORBIDDEN = frozenset(
    {"exec", "eval", "__import__", "open", "os", "subprocess", "compile", "globals", "locals"}
    | {"vars", "getattr", "setattr", "delattr", "breakpoint", "sys", "builtins"}
    | {"socket", "system", "popen", "importlib", "__builtins__", "__loader__", "__spec__"}
    | {"ctypes", "pickle", "marshal", "shutil", "pathlib", "Path", "io", "memoryview"}
)
REQUEST_OPTIONS = ("client", "start_timeout", "object_lifecycle", "timeout", "extra_headers")
_QUEUE_OPTIONS = ("webhook_url", "priority")
_FOLLOW_OPTIONS = ("on_enqueue", "on_status", "logs", "client_timeout")
# The endpoint class's methods: (name, request options, helper its implementation returns).
METHODS = (
    ("__call__", REQUEST_OPTIONS, "_run"),
    ("submit", ("client", *_QUEUE_OPTIONS, *REQUEST_OPTIONS[1:]), "_submit"),
    (
        "subscribe",
        ("client", *_FOLLOW_OPTIONS, *_QUEUE_OPTIONS, *REQUEST_OPTIONS[1:]),
        "_subscribe",
    ),
)


_NEVER_GENERATED = (
    *(ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Await),
    *(ast.Global, ast.Nonlocal, ast.Delete, ast.With, ast.For, ast.While, ast.Try),
    *(ast.AsyncFunctionDef, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.JoinedStr),
)


class Violation(AssertionError):
    pass


def _fail(node: ast.AST | None, problem: str) -> None:
    where = f"line {getattr(node, 'lineno', '?')}: " if node is not None else ""
    text = ast.unparse(node)[:200] if isinstance(node, ast.AST) else ""
    raise Violation(f"{where}{problem}: {text}")


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name_of(node.value)}.{node.attr}"
    return "?"


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _unaliased(name: str) -> str:
    return name.removesuffix("_aliased")


def _declared_names(tree: ast.AST) -> set[str]:
    """Field names (class attributes) and the wrapper's field parameters: schema property
    names may be anything (``eval``, ``open``...); as a class attribute or a parameter the name
    is harmless (the wrapper's body is compared with the template separately)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names.update(
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            )
        elif isinstance(node, ast.FunctionDef):
            kwonly = [a.arg for a in node.args.kwonlyargs]
            names.update(kwonly[: kwonly.index("client")] if "client" in kwonly else ())
    return names


def check_no_forbidden(tree: ast.AST) -> None:
    """No forbidden or dunder names, attributes or keywords anywhere (except declared fields)."""
    declared = _declared_names(tree)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            names.append(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        for name in names:
            harmless = name in declared and not isinstance(node, (ast.Attribute, ast.keyword))
            method = name == "__call__" and isinstance(node, ast.FunctionDef)
            if (name in FORBIDDEN and not harmless) or (
                name.startswith("__") and name != "__all__" and not method
            ):
                _fail(node, f"forbidden name {name!r}")
        if isinstance(
            node,
            _NEVER_GENERATED,
        ):
            _fail(node, f"{type(node).__name__} is never generated")


class _TypeChecker:
    def __init__(self, local_names: set[str]) -> None:
        self.local = local_names

    def check(self, node: ast.expr, in_annotated: bool = False) -> None:
        """A type expression: names, subscripts, ``|``, literals, Field(...) in Annotated."""
        if isinstance(node, ast.Name):
            if _unaliased(node.id) not in TYPE_NAMES and node.id not in self.local:
                _fail(node, f"unexpected name {node.id!r} in a type")
        elif isinstance(node, ast.Attribute):
            if (_name_of(node.value), node.attr) not in TYPE_ATTRIBUTES:
                _fail(node, "unexpected attribute in a type")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (str, int, bool, type(None), type(...))):
                _fail(node, "unexpected constant in a type")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if not (isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, int)):
                _fail(node, "unexpected unary operation in a type")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, ast.Subscript):
            self.check(node.value)
            base = _unaliased(_name_of(node.value))
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for i, element in enumerate(elements):
                if base == "Annotated" and i > 0:
                    check_field_call(element)
                elif base == "Literal":
                    if not _is_literal(element):
                        _fail(element, "Literal argument is not a literal")
                else:
                    self.check(element)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.check(element)
        else:
            _fail(node, f"unexpected {type(node).__name__} in a type")


def check_field_call(node: ast.expr) -> None:
    if isinstance(node, ast.Name) and _unaliased(node.id) == "NotNull":
        return  # the base module's marker of optional fields that refuse null
    if not (isinstance(node, ast.Call) and _unaliased(_name_of(node.func)) == "Field"):
        _fail(node, "expected Field(...)")
        return
    for arg in node.args:
        if not _is_literal(arg):
            _fail(arg, "Field argument is not a literal")
    for kw in node.keywords:
        if kw.arg not in FIELD_KEYWORDS or not _is_literal(kw.value):
            _fail(kw.value, f"unexpected Field keyword {kw.arg!r}")


def _check_config(node: ast.expr, keywords: frozenset[str] = CONFIG_KEYWORDS) -> None:
    if not (isinstance(node, ast.Call) and _name_of(node.func) == "ConfigDict" and not node.args):
        _fail(node, "expected ConfigDict(...)")
        return
    for kw in node.keywords:
        if kw.arg not in keywords or not _is_literal(kw.value):
            _fail(kw.value, f"unexpected ConfigDict keyword {kw.arg!r}")


def _check_class(cls: ast.ClassDef, types: _TypeChecker) -> None:
    if cls.decorator_list or cls.keywords or len(cls.bases) != 1:
        _fail(cls, "classes have one base, no decorators or keywords")
    base = cls.bases[0]
    if isinstance(base, ast.Subscript) and _name_of(base.value) == "RootModel":
        types.check(base.slice)
    elif _name_of(base) not in CLASS_BASES:
        _fail(base, "unexpected base class")
    for stmt in cls.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            if not isinstance(stmt.value.value, str):
                _fail(stmt, "only string expressions (docstrings) in a class")
        elif isinstance(stmt, ast.Pass):
            pass
        elif isinstance(stmt, ast.Assign):
            if [_name_of(t) for t in stmt.targets] != ["model_config"]:
                _fail(stmt, "only model_config is assigned in a class")
            _check_config(stmt.value)
        elif isinstance(stmt, ast.AnnAssign):
            if not isinstance(stmt.target, ast.Name) or not stmt.simple:
                _fail(stmt, "field target")
            types.check(stmt.annotation)
            if stmt.value is not None:
                if isinstance(stmt.value, ast.Call):
                    check_field_call(stmt.value)
                elif not _is_literal(stmt.value):
                    _fail(stmt.value, "field default is not a literal")
        else:
            _fail(stmt, "unexpected statement in a class")


def endpoint_class_name(function: str) -> str:
    """``fast_sdxl`` -> ``_FastSdxl`` (the class of the module's endpoint object)."""
    return "_" + "".join(part[:1].upper() + part[1:] for part in function.split("_"))


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _keywords(fn: ast.FunctionDef, types: _TypeChecker) -> list[tuple[str, str]]:
    """An overload's keyword-only parameters (name, annotation), after checking the rest."""
    if [_name_of(d) for d in fn.decorator_list] != ["overload"]:
        _fail(fn, "unexpected decorator")
    arguments = fn.args
    if arguments.vararg or arguments.kwarg or arguments.args or fn.returns is None:
        _fail(fn, "unexpected signature")
    for param in [*arguments.posonlyargs[1:], *arguments.kwonlyargs]:
        if param.annotation is None:
            _fail(fn, "parameter without annotation")
        else:
            types.check(param.annotation)
    if arguments.posonlyargs[0].annotation is not None or arguments.defaults:
        _fail(fn, "unexpected self or positional default")
    for default in arguments.kw_defaults:
        if default is None:
            continue
        if not (
            (isinstance(default, ast.Constant) and default.value in (None, False))
            or _name_of(default) == "NOT_GIVEN"
        ):
            _fail(default, "unexpected parameter default")
    if fn.returns is not None:
        types.check(fn.returns)
    if not (
        len(fn.body) == 1
        and isinstance(fn.body[0], ast.Expr)
        and isinstance(fn.body[0].value, ast.Constant)
        and fn.body[0].value.value is ...
    ):
        _fail(fn, "an overload's body is ...")
    return [(a.arg, ast.unparse(a.annotation or ast.Constant(None))) for a in arguments.kwonlyargs]


def _check_endpoint_class(
    cls: ast.ClassDef, function: str, types: _TypeChecker, local: set[str]
) -> None:
    """The endpoint class: a docstring, the keyword renames, then per method an overload with
    the input model, one with the typed keywords (the same for every method) and the
    implementation, which only hands its arguments to the base class's helper."""
    if cls.decorator_list or cls.keywords or len(cls.bases) != 1:
        _fail(cls, "the endpoint class has one base, no decorators or keywords")
    base = cls.bases[0]
    if not (
        isinstance(base, ast.Subscript)
        and _name_of(base.value) == "TypedEndpoint"
        and isinstance(base.slice, ast.Tuple)
        and len(base.slice.elts) == 2
        and all(_name_of(e) in local for e in base.slice.elts)
    ):
        _fail(base, "the endpoint class's base is TypedEndpoint[Input, Output]")
    body = list(cls.body)
    if not body or not _is_docstring(body[0]):
        _fail(cls, "the endpoint class starts with its docstring")
    body.pop(0)
    renamed: dict[str, str] = {}
    if body and isinstance(body[0], ast.Assign):
        stmt = body.pop(0)
        assert isinstance(stmt, ast.Assign)
        if [_name_of(t) for t in stmt.targets] != ["_json_names"] or not isinstance(
            stmt.value, ast.Dict
        ):
            _fail(stmt, "unexpected assignment in the endpoint class")
        value = ast.literal_eval(stmt.value)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            _fail(stmt, "_json_names maps names to names")
        renamed = value
    fields: list[tuple[str, str]] | None = None
    for name, options, helper in METHODS:
        if len(body) < 3 or not all(isinstance(b, ast.FunctionDef) for b in body[:3]):
            _fail(cls, f"expected the overloads and implementation of {name}")
        positional, keywords, implementation = body[:3]
        del body[:3]
        assert isinstance(positional, ast.FunctionDef) and isinstance(keywords, ast.FunctionDef)
        assert isinstance(implementation, ast.FunctionDef)
        if {positional.name, keywords.name, implementation.name} != {name}:
            _fail(positional, f"expected {name}")
        if [a.arg for a in positional.args.posonlyargs] != ["self", "input"]:
            _fail(positional, "the first overload takes the input positionally")
        if [a.arg for a in keywords.args.posonlyargs] != ["self"]:
            _fail(keywords, "the second overload takes keywords only")
        expected = [o for o, _ in _keywords(positional, types)]
        if tuple(expected) != options:
            _fail(positional, f"the request options of {name} are {options}")
        typed = _keywords(keywords, types)
        if tuple(k for k, _ in typed[len(typed) - len(options) :]) != options:
            _fail(keywords, "the request options end the signature")
        own = typed[: len(typed) - len(options)]
        if fields is None:
            fields = own
            if not set(renamed) <= {k for k, _ in own}:
                _fail(cls, "_json_names renames a name that is not a keyword")
        elif own != fields:
            _fail(keywords, f"the keywords of {name} differ from __call__'s")
        arguments = implementation.args
        if (
            implementation.decorator_list
            or [a.arg for a in arguments.posonlyargs] != ["self", "input"]
            or arguments.args
            or arguments.kwonlyargs
            or arguments.vararg
            or arguments.kwarg is None
            or arguments.kwarg.arg != "keywords"
        ):
            _fail(implementation, "unexpected implementation signature")
        kwarg = [arguments.kwarg] if arguments.kwarg is not None else []
        for param in [arguments.posonlyargs[1], *kwarg]:
            if param.annotation is not None:
                types.check(param.annotation)
        if implementation.returns is not None:
            types.check(implementation.returns)
        statements = list(implementation.body)
        if not statements or not _is_docstring(statements[0]):
            _fail(implementation, "the implementation starts with its docstring")
        actual = [ast.unparse(s) for s in statements[1:]]
        if actual != [f"return self.{helper}(input, keywords)"]:
            raise Violation(f"{name}'s body differs from the template: {actual}")
    if body:
        _fail(body[0], "unexpected statement in the endpoint class")


def check_endpoint_module(
    tree: ast.Module, *, package: str, function: str, endpoint_id: str
) -> None:
    """Every statement of an endpoint module is one the generator means to emit."""
    check_no_forbidden(tree)
    imports = {(m.replace("{package}", package), n) for m, n in HEADER_IMPORTS}
    local: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            local.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            local.update(_name_of(t) for t in stmt.targets)
        elif isinstance(stmt, ast.ImportFrom):
            local.update(a.asname or a.name for a in stmt.names)
        elif isinstance(stmt, ast.Import):
            local.update(a.name for a in stmt.names)
    local -= {"__all__"}
    types = _TypeChecker(local)
    class_name = endpoint_class_name(function)
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if (stmt.module or "", alias.name) not in imports or alias.asname not in (
                    None,
                    f"{alias.name}_aliased",
                ):
                    _fail(stmt, "import outside the header set")
            if stmt.level:
                _fail(stmt, "relative import")
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if ("", alias.name) not in imports or alias.asname:
                    _fail(stmt, "import outside the header set")
        elif isinstance(stmt, ast.Expr):
            value = stmt.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                continue  # a docstring
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr == "model_rebuild"
                and _name_of(value.func.value) in local
                and not value.args
                and not value.keywords
            ):
                continue
            _fail(stmt, "unexpected expression statement")
        elif isinstance(stmt, ast.Assign):
            targets = [_name_of(t) for t in stmt.targets]
            if targets == ["__all__"]:
                if not (
                    isinstance(stmt.value, ast.List)
                    and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str)
                        for e in stmt.value.elts
                    )
                ):
                    _fail(stmt, "__all__ is a list of names")
                continue
            value = stmt.value
            if (
                len(targets) == 1
                and isinstance(value, ast.Call)
                and _unaliased(_name_of(value.func)) == "TypeAliasType"
                and len(value.args) == 2
                and not value.keywords
                and isinstance(value.args[0], ast.Constant)
                and value.args[0].value == targets[0]
            ):
                types.check(value.args[1])
                continue
            if (
                targets == [function]
                and isinstance(value, ast.Call)
                and _name_of(value.func) == class_name
                and [_name_of(a) for a in value.args] == ["ENDPOINT"]
                and not value.keywords
            ):
                continue
            _fail(stmt, "unexpected assignment")
        elif isinstance(stmt, ast.AnnAssign):
            if _name_of(stmt.target) != "ENDPOINT" or not isinstance(stmt.value, ast.Call):
                _fail(stmt, "unexpected annotated assignment")
                continue
            types.check(stmt.annotation)
            call = stmt.value
            assert isinstance(call, ast.Call)
            if not (
                _name_of(call.func) == "Endpoint"
                and not call.keywords
                and len(call.args) == 3
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value == endpoint_id
                and all(_name_of(a) in local for a in call.args[1:])
            ):
                _fail(stmt, "unexpected ENDPOINT")
        elif isinstance(stmt, ast.ClassDef) and stmt.name == class_name:
            _check_endpoint_class(stmt, function, types, local)
        elif isinstance(stmt, ast.ClassDef):
            _check_class(stmt, types)
        else:
            _fail(stmt, "unexpected statement")


def _normalized_dump(tree: ast.Module) -> str:
    """The AST with every string constant blanked and dict displays emptied; the imports in a
    fixed order (isort orders ``fal_typed`` by whether it is the package's first party)."""

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            return ast.Constant("") if isinstance(node.value, str) else node

        def visit_Dict(self, node: ast.Dict) -> ast.AST:
            return ast.Dict(keys=[], values=[])

    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    others = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    imports.sort(key=ast.dump)
    tree = ast.Module(body=[*imports, *others], type_ignores=[])
    return ast.dump(Blank().visit(tree))


REFERENCE_REGISTRY = _normalized_dump(ast.parse(render_registry("# h", "s", [])))
REFERENCE_BASE = _normalized_dump(ast.parse(render_base("# h")))


def check_registry(tree: ast.Module, modules: dict[str, str]) -> None:
    """A registry is the template with its strings and its module map filled in, nothing else."""
    if _normalized_dump(tree) != REFERENCE_REGISTRY:
        raise Violation("the registry differs from its template beyond strings and _MODULES")
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.AnnAssign)
            and _name_of(stmt.target) == "_MODULES"
            and stmt.value is not None
        ):
            value = ast.literal_eval(stmt.value)
            if not set(value.items()) <= set(modules.items()):
                raise Violation(f"unexpected registry entries {value}")


def check_base(tree: ast.Module) -> None:
    if _normalized_dump(tree) != REFERENCE_BASE:
        raise Violation("_base.py differs from its template")


# -- round trip -------------------------------------------------------------------------------


def model_docstring_text(value: str, indent: str = "    ") -> str:
    """The description a model or field docstring carries (the generator's exact inverse).

    The docstring of description ``D`` is ``"\\n" + D's lines indented + "\\n" + indent``
    (empty lines stay empty).
    """
    if not (value.startswith("\n") and value.endswith("\n" + indent)):
        raise Violation(f"docstring {value!r} is not in the model docstring format")
    lines = value[1 : -len(indent) - 1].split("\n")
    for line in lines:
        if line and not line.startswith(indent):
            raise Violation(f"docstring line {line!r} is not indented")
    return "\n".join(line[len(indent) :] for line in lines)


def _docstring_after(body: list[ast.stmt], index: int) -> str | None:
    if index + 1 < len(body):
        nxt = body[index + 1]
        if (
            isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            return nxt.value.value
    return None


def field_statements(cls: ast.ClassDef) -> dict[str, tuple[str, str | None]]:
    """JSON name -> (Python name, docstring) of a class's fields, from the AST."""
    fields: dict[str, tuple[str, str | None]] = {}
    for i, stmt in enumerate(cls.body):
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        alias: str | None = None
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and _unaliased(_name_of(node.func)) == "Field":
                for kw in node.keywords:
                    if kw.arg == "alias" and isinstance(kw.value, ast.Constant):
                        alias = str(kw.value.value)
        fields[alias if alias is not None else stmt.target.id] = (
            stmt.target.id,
            _docstring_after(cls.body, i),
        )
    return fields


@dataclass
class Expectation:
    """What one generated class must carry, from the normalized schema."""

    cls: str
    description: str | None
    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()


def expectations(normalized: NormalizedEndpoint) -> list[Expectation]:
    defs = normalized.schema.get("$defs", {})
    classes = [(normalized.input_class, normalized.schema)] + [
        (name, schema) for name, schema in defs.items() if name != normalized.output_root
    ]
    found = []
    for name, schema in classes:
        description = schema.get("description")
        found.append(
            Expectation(
                name,
                description if isinstance(description, str) and description.strip() else None,
                schema.get("properties", {}),
                tuple(schema.get("required", ())),
            )
        )
    return found


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether a default is one the models carry (scalars and lists of scalars of the field's
    JSON type, finite numbers); other defaults are documented only and read None."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    schema = {k: v for k, v in schema.items() if k not in ("default", "description", "examples")}
    if schema == {}:
        return value is None or isinstance(value, (str, int, float, bool))
    if "anyOf" in schema:
        return any(_fits(value, b) for b in schema["anyOf"])
    if "$ref" in schema:
        return False
    if "enum" in schema:
        return any(type(value) is type(v) and value == v for v in schema["enum"])
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    for kind in kinds:
        if kind == "string" and isinstance(value, str):
            return True
        if kind == "integer" and type(value) is int:
            return True
        if kind == "number" and type(value) in (int, float):
            return True
        if kind == "boolean" and isinstance(value, bool):
            return True
        if kind == "null" and value is None:
            return True
        if kind == "array" and isinstance(value, list) and "prefixItems" not in schema:
            items = schema.get("items", {})
            if all(not isinstance(v, (dict, list)) and _fits(v, items) for v in value):
                return True
    return False


def expected_literals(schema: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(type name, JSON text) of the values a field's Literal types must hold exactly."""
    values: list[Any] = []
    branches = schema.get("anyOf", [schema])
    for branch in branches:
        if "enum" not in branch:
            continue
        enum = [v for v in branch["enum"] if v is not None]
        fractional = [v for v in enum if isinstance(v, float) and not v.is_integer()]
        if fractional and branch.get("type") == "number":
            continue  # number enums with fractional values are float fields (documented)
        # Fractional values of untyped enums are accepted by a ``float`` member instead.
        values.extend(int(v) if isinstance(v, float) else v for v in enum if v not in fractional)
    if not values:
        return None
    return sorted({(type(v).__name__, json.dumps(v)) for v in values})


def check_round_trip(
    tree: ast.Module, normalized: NormalizedEndpoint, probed: dict[str, Any]
) -> None:
    """Descriptions, defaults and enum values of every class are carried exactly."""
    classes = {s.name: s for s in tree.body if isinstance(s, ast.ClassDef)}
    for expected in expectations(normalized):
        cls = classes.get(expected.cls)
        if cls is None:
            raise Violation(f"class {expected.cls} missing")
        doc = _docstring_after([ast.Pass(), *cls.body], 0)
        if expected.description is None:
            if doc is not None:
                raise Violation(f"{expected.cls} has a docstring but no description")
        elif doc is None or model_docstring_text(doc) != expected.description:
            raise Violation(
                f"{expected.cls} docstring {doc!r} does not carry {expected.description!r}"
            )
        fields = field_statements(cls)
        runtime = probed["fields"][expected.cls]
        if set(fields) != set(expected.properties) or set(runtime) != set(fields):
            raise Violation(
                f"{expected.cls} fields {sorted(fields)} / {sorted(runtime)} != "
                f"{sorted(expected.properties)}"
            )
        for json_name, schema in expected.properties.items():
            python_name, doc = fields[json_name]
            description = schema.get("description")
            where = f"{expected.cls}.{python_name} ({json_name!r})"
            if isinstance(description, str) and description.strip():
                if doc is None or model_docstring_text(doc) != description:
                    raise Violation(f"{where}: docstring {doc!r} != {description!r}")
            elif doc is not None:
                raise Violation(f"{where}: docstring without a description")
            default = runtime[json_name]["default"]
            required = json_name in expected.required  # required fields have no default
            wanted = schema.get("default")
            if (
                isinstance(wanted, float)
                and wanted.is_integer()
                and not _fits(wanted, schema)
                and _fits(int(wanted), schema)
            ):
                wanted = int(wanted)  # 30.0 for an integer field: kept, as the int 30
            if "default" in schema and not required and _fits(wanted, schema):
                if (
                    default is None
                    or json.loads(default) != wanted
                    or type(json.loads(default)) is not type(wanted)
                ):
                    raise Violation(f"{where}: default {default} != {wanted!r}")
            elif default not in (None, "null"):
                raise Violation(f"{where}: unexpected default {default}")
            literals = expected_literals(schema)
            got = sorted({tuple(x) for x in runtime[json_name]["literals"]})
            if literals is not None and got != literals:
                raise Violation(f"{where}: Literal values {got} != {literals}")
            if literals is None and got:
                raise Violation(f"{where}: Literal values {got} without an enum")


# -- running everything -----------------------------------------------------------------------


@dataclass
class Built:
    """One document, generated (or refused)."""

    name: str
    path: Path
    package: str
    error: Exception | None = None
    generated: GeneratedPackage | None = None
    normalized: NormalizedEndpoint | None = None
    endpoint_id: str = ""


def build(name: str, path: Path) -> Built:
    from fal_typed._document import DocumentError
    from fal_typed_codegen._command import build_package
    from fal_typed_codegen._writer import GenerationError

    package = f"hostile_{name}"
    try:
        generated = build_package([path], package)
    except (DocumentError, GenerationError) as exc:
        return Built(name, path, package, error=exc)
    doc = load_document(path)
    return Built(
        name,
        path,
        package,
        generated=generated,
        normalized=normalize_endpoint(doc),
        endpoint_id=doc.endpoint_id,
    )


def write_packages(root: Path, built: list[Built]) -> None:
    for b in built:
        assert b.generated is not None
        for rel, data in b.generated.files.items():
            path = root / b.package / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def probe(root: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    request = root / "probe-request.json"
    request.write_text(json.dumps({"paths": [str(root)], "cases": cases}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-X", "utf8", str(PROBE), str(request)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(f"probe failed:\n{result.stderr}")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def probe_case(b: Built) -> dict[str, Any]:
    assert b.generated is not None and b.normalized is not None
    rel = b.generated.modules[b.endpoint_id]
    return {
        "name": b.name,
        "package": b.package,
        "endpoint_id": b.endpoint_id,
        "module": f"{b.package}.{rel.removesuffix('.py').replace('/', '.')}",
        "classes": [e.cls for e in expectations(b.normalized)],
    }


def check_generated(b: Built, probed: dict[str, Any]) -> None:
    """The whole oracle for one generated document (parse, AST, import and audit, round trip)."""
    assert b.generated is not None and b.normalized is not None
    module_rel = b.generated.modules[b.endpoint_id]
    registries = {
        e: f"{b.package}.{r.removesuffix('.py').replace('/', '.')}"
        for e, r in b.generated.modules.items()
    }
    for rel, data in b.generated.files.items():
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in parts):
            raise Violation(f"unsafe path {rel!r}")
        if not all(p.removesuffix(".py").isidentifier() for p in parts):
            raise Violation(f"path {rel!r} is not importable")
        tree = ast.parse(data.decode("utf-8"), rel)  # (1) parses
        if rel == module_rel:
            check_endpoint_module(
                tree,
                package=b.package,
                function=parts[-1].removesuffix(".py"),
                endpoint_id=b.endpoint_id,
            )
        elif parts[-1] == "__init__.py":
            check_registry(tree, registries)
        elif rel == "_base.py":
            check_base(tree)
        else:
            raise Violation(f"unexpected file {rel}")
    if probed["error"] is not None:
        raise Violation(f"importing or building the models failed: {probed['error']}")
    if probed["events"]:
        raise Violation(f"audit events while importing: {probed['events']}")
    tree = ast.parse(b.generated.files[module_rel])
    check_round_trip(tree, b.normalized, probed)


__all__ = [
    "Built",
    "Violation",
    "build",
    "builtins",
    "check_generated",
    "probe",
    "probe_case",
    "write_packages",
]

"""Render generated modules from jinja2 templates (formatting is done afterwards by ruff)."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from dataclasses import dataclass
from typing import Any

import jinja2

from fal_typed._document import EndpointDocument

from ._models import GeneratedModels, inline_docstring_literal
from ._schema import NormalizedEndpoint, accepts_null, schema_types

__all__ = [
    "METHODS",
    "REQUEST_OPTIONS",
    "Method",
    "Option",
    "Param",
    "endpoint_class_name",
    "header_line",
    "render_base",
    "render_endpoint",
    "render_registry",
]


@dataclass(frozen=True)
class Option:
    """A request option of the generated methods (a keyword that is not an input field)."""

    name: str
    annotation: str
    default: str
    doc: str


_OPTIONS = {
    option.name: option
    for option in (
        Option(
            "client",
            "FalClient | None",
            "None",
            "The ``FalClient`` to use (default: the shared default client).",
        ),
        Option(
            "on_enqueue",
            "Callable[[str], object] | None",
            "None",
            "Called with the request id once the request is in the queue.",
        ),
        Option(
            "on_status",
            "Callable[[Status], object] | None",
            "None",
            "Called with each new status (``Queued``, ``InProgress``, ``Completed``).",
        ),
        Option("logs", "bool", "False", "Ask for the runner's logs in the statuses."),
        Option(
            "client_timeout",
            "float | None",
            "None",
            "Seconds to wait in all; then the request is cancelled and "
            "``QueueTimeoutError`` raised (default: no limit).",
        ),
        Option(
            "webhook_url",
            "str | None",
            "None",
            "An absolute http(s) URL fal POSTs the result to when the request completes "
            "(read the body with ``{function}.parse_webhook``).",
        ),
        Option(
            "priority",
            'Literal["normal", "low"] | None',
            "None",
            'Queue priority, ``"normal"`` or ``"low"`` (default: fal\'s, normal).',
        ),
        Option(
            "start_timeout",
            "float | datetime.timedelta | None",
            "None",
            "Server-side limit for the request to start running.",
        ),
        Option(
            "object_lifecycle",
            "int | datetime.timedelta | None",
            "None",
            "How long the files the request creates are kept.",
        ),
        Option(
            "timeout",
            "float | httpx.Timeout | NotGiven | None",
            "NOT_GIVEN",
            "HTTP timeout of each request (default: the client's).",
        ),
        Option("extra_headers", "Mapping[str, str] | None", "None", "Extra HTTP headers."),
    )
}


@dataclass(frozen=True)
class Method:
    """A method of the generated endpoint class; each has the same typed input keywords.

    ``helper`` is the ``TypedEndpoint`` method that sends (it sorts the keywords into request
    options and input fields); ``returns`` is formatted with the output class. An async twin
    is one more entry with ``asynchronous=True`` (and its helper in the base template).
    """

    name: str
    helper: str
    options: tuple[str, ...]
    returns: str
    asynchronous: bool = False


_CALL = ("client", "start_timeout", "object_lifecycle", "timeout", "extra_headers")
_SUBMIT = ("client", "webhook_url", "priority", *_CALL[1:])
_SUBSCRIBE = ("client", "on_enqueue", "on_status", "logs", "client_timeout", *_SUBMIT[1:])
METHODS = (
    Method("__call__", "_run", _CALL, "{output}"),
    Method("submit", "_submit", _SUBMIT, "QueueHandle[{output}]"),
    Method("subscribe", "_subscribe", _SUBSCRIBE, "{output}"),
)
REQUEST_OPTIONS = tuple(_OPTIONS)
"""Every request option name (``client`` first); none is ever an input keyword's name."""
assert all(m.options[0] == "client" and set(m.options) <= set(_OPTIONS) for m in METHODS)

# Names the methods' signatures and bodies use besides the field parameters: a field whose
# Python name is one of these gets a trailing ``_`` as parameter name (its JSON key is
# unchanged). Some are no longer used by the methods but stay reserved, so that parameter
# names do not change between versions.
_WRAPPER_NAMES = frozenset(
    {
        *REQUEST_OPTIONS,
        "self",
        "input",
        "arguments",
        "dict",
        "str",
        "TypeError",
        "ENDPOINT",
        "NOT_GIVEN",
        "NotGiven",
        "Any",
        "Mapping",
        "FalClient",
        "Endpoint",
        "datetime",
        "httpx",
        "overload",
    }
)
_DOC_WIDTH = 92
# Method docstrings are indented by 8, not 4.
_METHOD_DOC_WIDTH = _DOC_WIDTH - 4


@dataclass(frozen=True)
class Param:
    name: str
    json_name: str
    annotation: str
    """The overload's annotation (``| NotGiven`` included when optional)."""
    required: bool
    impl_annotation: str
    """The implementation's annotation (always includes ``NotGiven``)."""


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("fal_typed_codegen", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)
_ENV.filters["pyrepr"] = lambda value: _pyrepr(value)


def _pyrepr(value: Any) -> str:
    text = repr(value)
    if isinstance(value, str) and text.startswith("'") and '"' not in value:
        text = '"' + text[1:-1].replace("\\'", "'") + '"'
    return text


def header_line(source: str, regenerate: str) -> str:
    """The first line of a generated module: a comment naming the source document.

    Characters that are not printable (line breaks, NUL, undecodable bytes of a file name...)
    are written as their ``repr()`` escapes, so the comment stays one comment line.
    """
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in source)
    return f"# Generated by fal-typed from {shown}; do not edit: run `{regenerate}`."


def _docstring(text: str, indent: str) -> str:
    """A triple-quoted docstring literal for ``text`` (later lines indented)."""
    return inline_docstring_literal(text, indent)


def _wrap(text: str, width: int = _DOC_WIDTH) -> list[str]:
    """Dedent ``text`` and wrap each of its lines (markdown lists and breaks are kept)."""
    lines: list[str] = []
    for line in inspect.cleandoc(text).splitlines():
        if not line.strip():
            lines.append("")
            continue
        stripped = line.lstrip()
        lead = line[: len(line) - len(stripped)]
        lines.extend(
            textwrap.wrap(
                stripped,
                width=max(width - len(lead), 30),
                initial_indent=lead,
                subsequent_indent=lead + "  " if stripped[:2] in ("- ", "* ") else lead,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _allowed(schema: dict[str, Any]) -> tuple[list[Any], bool]:
    """(enum values, open) of a normalized schema: open when any other string is accepted."""
    values: list[Any] = []
    open_ = False
    for branch in schema.get("anyOf", [schema]):
        if "enum" in branch:
            seen = {_json(v) for v in values}
            values.extend(v for v in branch["enum"] if v is not None and _json(v) not in seen)
        elif "string" in schema_types(branch):
            open_ = True
    return values, open_


def _constraints(schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for branch in schema.get("anyOf", [schema]):
        for key, label in (
            ("minimum", ">= {}"),
            ("exclusiveMinimum", "> {}"),
            ("maximum", "<= {}"),
            ("exclusiveMaximum", "< {}"),
            ("multipleOf", "multiple of {}"),
            ("minLength", "at least {} characters"),
            ("maxLength", "at most {} characters"),
            ("minItems", "at least {} items"),
            ("maxItems", "at most {} items"),
            ("pattern", "matches {}"),
        ):
            if key in branch:
                value = branch[key]
                text = label.format(_json(value) if key == "pattern" else value)
                if text not in found:
                    found.append(text)
    return found


def _param_doc(name: str, schema: dict[str, Any], required: bool) -> list[str]:
    parts: list[str] = []
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        parts.extend(_wrap(description, _METHOD_DOC_WIDTH - 8))
    facts: list[str] = []
    if required:
        facts.append("Required.")
    elif "default" in schema:
        facts.append(f"Default: `{_json(schema['default'])}`.")
    constraints = _constraints(schema)
    if constraints:
        facts.append("Constraints: " + ", ".join(constraints) + ".")
    values, open_ = _allowed(schema)
    if values:
        label = "Known values (other strings accepted)" if open_ else "Allowed values"
        facts.append(f"{label}: " + ", ".join(f"`{_json(v)}`" for v in values) + ".")
    if facts:
        parts.extend(_wrap(" ".join(facts), _METHOD_DOC_WIDTH - 8))
    if not parts:
        parts = ["(No description.)"]
    return [f"{name}: {parts[0]}"] + [("    " + p) if p else "" for p in parts[1:]]


def _example_value(name: str, schema: dict[str, Any]) -> str:
    for candidate in schema.get("examples", []) + (
        [schema["default"]] if "default" in schema else []
    ):
        if isinstance(candidate, (str, int, float, bool)):
            text = _pyrepr(candidate)
            if len(text) <= 48 and "\\" not in text:
                return text
    values, _ = _allowed(schema)
    if values:
        return _pyrepr(values[0])
    kinds = {k for b in schema.get("anyOf", [schema]) for k in schema_types(b)}
    if "string" in kinds:
        return _pyrepr(f"<{name}>")
    if "integer" in kinds:
        return "1"
    if "number" in kinds:
        return "1.0"
    if "boolean" in kinds:
        return "True"
    if "array" in kinds:
        return "[...]"
    return "..."


def _summary(doc: EndpointDocument) -> tuple[str, str]:
    meta = doc.metadata
    title = meta.get("display_name") or meta.get("title")
    description = meta.get("description") or meta.get("about")
    title = title.strip() if isinstance(title, str) and title.strip() else doc.endpoint_id
    description = description if isinstance(description, str) else ""
    return title, description


def _named(doc: EndpointDocument) -> str:
    """``id`` (title), or ``id`` when the document has no other title."""
    title, _ = _summary(doc)
    return f"``{doc.endpoint_id}``" + (f" ({title})" if title != doc.endpoint_id else "")


def _module_docstring(doc: EndpointDocument, function: str) -> str:
    title, description = _summary(doc)
    lines = [f"Typed models and wrapper for the fal endpoint ``{doc.endpoint_id}``."]
    if doc.alias_of:
        lines += ["", f"fal lists this endpoint as an alias of ``{doc.alias_of}``."]
    lines += ["", f"{title}."] if title != doc.endpoint_id else []
    if description.strip():
        lines += ["", *_wrap(description)]
    lines += [
        "",
        f"Call it with ``{function}(...)``, or go through fal's queue with "
        f"``{function}.submit(...)``",
        f"or ``{function}.subscribe(...)``; ``ENDPOINT`` is the ``fal_typed.Endpoint``.",
    ]
    return _docstring("\n".join(lines), "")


def _option_docs(names: list[str], function: str) -> list[str]:
    """Args entries of request options, indented for the Args section."""
    lines = []
    for name in names:
        text = _OPTIONS[name].doc.replace("{function}", function)
        first, *rest = _wrap(f"{name}: {text}", _METHOD_DOC_WIDTH - 4)
        lines += ["    " + first, *("        " + line for line in rest)]
    return lines


def _example_call(target: str, arguments: str) -> str:
    """``    {target}({arguments})``, one argument per line when it is too long."""
    call = f"    {target}({arguments})"
    if len(call) > _METHOD_DOC_WIDTH:
        call = (
            f"    {target}(\n" + "".join(f"        {a},\n" for a in arguments.split(", ")) + "    )"
        )
    return call


def _method_docstrings(
    doc: EndpointDocument,
    endpoint: NormalizedEndpoint,
    params: list[Param],
    function: str,
) -> dict[str, str]:
    """Each method's docstring: the full Args list on ``__call__``; the others document only
    the request options ``__call__`` does not take."""
    _, description = _summary(doc)
    output = endpoint.output_class
    required = ", ".join(
        f"{p.name}={_example_value(p.json_name, endpoint.input_properties[p.json_name])}"
        for p in params
        if p.required
    )
    call, submit, subscribe = METHODS

    def paragraphs(*texts: str) -> list[str]:
        lines: list[str] = []
        for text in texts:
            lines += ["", *_wrap(text, _METHOD_DOC_WIDTH)]
        return lines[1:]

    lines = [f"Run {_named(doc)} and return its output."]
    if description.strip():
        lines += ["", *_wrap(description, _METHOD_DOC_WIDTH)]
    lines += [
        "",
        *paragraphs(
            f"Pass either a ready ``{endpoint.input_class}`` (or a mapping of JSON names) as the "
            "only positional argument, or the fields as keyword arguments: only the arguments "
            "given are sent. The input is validated before any request is made "
            "(``pydantic.ValidationError``). The output comes back in the same HTTP request; "
            f"``{function}.submit`` and ``{function}.subscribe`` go through fal's queue instead."
        ),
        "",
        "Args:",
    ]
    for p in params:
        schema = endpoint.input_properties[p.json_name]
        entry = _param_doc(p.name, schema, p.required)
        if p.name != p.json_name:
            entry[0] += f" (sent as ``{p.json_name}``)" if len(entry) == 1 else ""
            if len(entry) > 1:
                entry.insert(1, f"    Sent as ``{p.json_name}``.")
        lines += ["    " + e if e else "" for e in entry]
    lines += [
        *_option_docs(list(call.options), function),
        "",
        "Returns:",
        f"    The validated ``{output}``.",
        "",
        "Example::",
        "",
        _example_call(f"result = {function}", required),
    ]
    docstrings = {call.name: lines}

    same = f"Takes the same input and request options as ``{function}(...)`` (see its Args)"
    docstrings[submit.name] = [
        f"Put a {_named(doc)} request in fal's queue and return its handle at once.",
        "",
        *paragraphs(
            f"{same}; the input is validated before anything is sent, and a sent submit is "
            f"never repeated. ``handle.result()`` waits for the ``{output}``; keep "
            f"``handle.request_id`` to resume later with ``{function}.get_handle(request_id)``."
        ),
        "",
        "Args:",
        *_option_docs([o for o in submit.options if o not in call.options], function),
        "",
        "Example::",
        "",
        _example_call(f"handle = {function}.submit", required),
        "    result = handle.result()",
    ]
    docstrings[subscribe.name] = [
        f"Put a {_named(doc)} request in fal's queue, wait for it and return its output.",
        "",
        *paragraphs(
            f"{same}, and those of ``{function}.submit``; the input is validated before "
            "anything is sent."
        ),
        "",
        "Args:",
        *_option_docs([o for o in subscribe.options if o not in submit.options], function),
        "",
        "Returns:",
        f"    The validated ``{output}``.",
    ]
    return {name: _docstring("\n".join(lines), "        ") for name, lines in docstrings.items()}


def endpoint_class_name(function: str) -> str:
    """The private class of the endpoint object: ``fast_sdxl`` -> ``_FastSdxl``."""
    return "_" + "".join(part[:1].upper() + part[1:] for part in function.split("_"))


def wrapper_params(endpoint: NormalizedEndpoint, models: GeneratedModels) -> list[Param]:
    """Keyword parameters of the wrapper: required first, then the properties' order."""
    taken: set[str] = set(_WRAPPER_NAMES)
    params: list[Param] = []
    order = [n for n in endpoint.input_properties if n in endpoint.input_required] + [
        n for n in endpoint.input_properties if n not in endpoint.input_required
    ]
    for json_name in order:
        field = models.input_fields[json_name]
        name = field.python_name
        while name in taken:
            name += "_"
        taken.add(name)
        required = json_name in endpoint.input_required
        bare = _without_none(field.annotation)
        nullable = accepts_null(endpoint.input_properties[json_name]) and bare != field.annotation
        with_not_given = bare + " | NotGiven" + (" | None" if nullable else "")
        annotation = field.annotation if required else with_not_given
        params.append(Param(name, json_name, annotation, required, with_not_given))
    return params


def _without_none(annotation: str) -> str:
    """``X | None`` -> ``X`` (the model allows ``None`` for unset optional fields; the schema
    does not, so the wrapper does not offer it)."""
    tree = ast.parse(annotation, mode="eval").body
    members: list[ast.expr] = []

    def flatten(node: ast.expr) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            flatten(node.left)
            flatten(node.right)
        else:
            members.append(node)

    flatten(tree)
    kept = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if not kept or len(kept) == len(members):
        return annotation
    return " | ".join(ast.get_source_segment(annotation, m) or ast.unparse(m) for m in kept)


def render_endpoint(
    doc: EndpointDocument,
    endpoint: NormalizedEndpoint,
    models: GeneratedModels,
    *,
    function: str,
    header: str,
    base_module: str,
) -> str:
    params = wrapper_params(endpoint, models)
    exports = [
        "ENDPOINT",
        *sorted({*endpoint.input_classes, *endpoint.output_classes}),
        function,
    ]
    return _ENV.get_template("endpoint.py.jinja").render(
        header=header,
        module_docstring=_module_docstring(doc, function),
        model_imports=models.imports,
        model_code=models.body,
        exports=exports,
        endpoint_id=doc.endpoint_id,
        input_class=endpoint.input_class,
        output_class=endpoint.output_class,
        function=function,
        base_module=base_module,
        class_name=endpoint_class_name(function),
        function_docstring=_docstring(
            "\n".join(
                _wrap(
                    f"The typed {_named(doc)} endpoint: ``{function}(...)``, "
                    f"``{function}.submit(...)``, ``{function}.subscribe(...)``.",
                    _DOC_WIDTH,
                )
            ),
            "",
        ),
        class_docstring=_docstring(
            "\n".join(
                _wrap(
                    f"{_named(doc)}: ``{function}(...)`` runs it; ``{function}.submit(...)`` and "
                    f"``{function}.subscribe(...)`` go through fal's queue, with the same "
                    "keywords. ``get_handle`` resumes a queued request, ``parse_webhook`` reads "
                    "a webhook's body, ``endpoint`` is ``ENDPOINT``.",
                    _DOC_WIDTH,
                )
            ),
            "    ",
        ),
        params=params,
        json_names={p.name: p.json_name for p in params if p.name != p.json_name},
        methods=METHODS,
        options=_OPTIONS,
        docstrings=_method_docstrings(doc, endpoint, params, function),
        endpoint_docstring=_docstring(
            f"The ``{doc.endpoint_id}`` endpoint: ``ENDPOINT(input)`` validates, calls and parses.",
            "",
        ),
    )


def render_registry(header: str, summary: str, modules: list[tuple[str, str]]) -> str:
    docstring = _docstring(
        f"{summary}\n\n``ENDPOINT_IDS`` lists the endpoint ids; ``get_endpoint(endpoint_id)`` "
        "imports only the module of\nthat endpoint and returns its ``Endpoint``.",
        "",
    )
    return _ENV.get_template("registry.py.jinja").render(
        header=header, docstring=docstring, modules=modules
    )


def render_base(header: str) -> str:
    return _ENV.get_template("base.py.jinja").render(header=header, methods=METHODS)

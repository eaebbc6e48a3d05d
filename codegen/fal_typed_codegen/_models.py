"""Pydantic models from a normalized schema, by datamodel-code-generator called as a library.

The exact version is pinned (its output changes between releases) and every one of its options
is set below, so nothing depends on its defaults. Its own formatters are off: the whole module is
formatted by ruff afterwards.
"""

from __future__ import annotations

import ast
import copy
import json
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datamodel_code_generator import (
    AllOfClassHierarchy,
    AllOfMergeMode,
    ClassNameAffixScope,
    CustomFileHeaderMode,
    HTTPBackend,
    InputFileType,
    LiteralType,
    ReuseScope,
    generate,
)
from datamodel_code_generator.enums import DataModelType, TargetPydanticVersion
from datamodel_code_generator.format import PythonVersion

from ._schema import NormalizedEndpoint, accepts_null, schema_types
from ._writer import GenerationError

__all__ = [
    "DMCG_VERSION",
    "GeneratedModels",
    "ModelField",
    "docstring_literal",
    "generate_models",
    "inline_docstring_literal",
    "options_for",
]

DMCG_VERSION = "0.89.0"


@dataclass(frozen=True)
class ModelField:
    """One field of the generated Input class."""

    json_name: str
    python_name: str
    annotation: str
    """The field's type with ``Annotated[...]`` metadata removed (source text)."""


@dataclass(frozen=True)
class GeneratedModels:
    imports: str
    """The import statements of the models (``from __future__`` removed)."""
    body: str
    """The class definitions."""
    input_fields: dict[str, ModelField]
    """The Input class's fields by JSON name."""


def options_for(input_class: str, base_class_map: dict[str, str]) -> dict[str, Any]:
    """Every option of ``datamodel_code_generator.generate`` (0.89.0), set explicitly."""
    return {
        # What goes in and comes out.
        "input_file_type": InputFileType.JsonSchema,
        "output": None,  # return the code as a string
        "emit_model_metadata": None,
        "output_model_type": DataModelType.PydanticV2BaseModel,
        "preset": None,
        "target_python_version": PythonVersion.PY_310,
        "target_pydantic_version": TargetPydanticVersion.V2,
        "encoding": "utf-8",
        "input_filename": None,
        "settings_path": None,
        "schema_version": None,
        "schema_version_mode": None,
        # Classes: our names (the schema is already normalized), our base classes.
        "class_name": input_class,
        "base_class": "",
        "base_class_map": base_class_map,
        "model_name_map": None,
        "use_generic_base_class": False,
        "allow_leading_underscore_class_name": False,
        "class_name_prefix": None,
        "class_name_suffix": None,
        "class_name_affix_scope": ClassNameAffixScope.All,
        "custom_class_name_generator": None,
        "use_title_as_name": False,
        "infer_union_variant_names": False,
        "use_tag_as_union_variant_name": False,
        "use_operation_id_as_name": False,
        "parent_scoped_naming": False,
        "naming_strategy": None,
        "duplicate_name_suffix": None,
        "capitalise_enum_members": False,
        "keep_model_order": True,
        "order_constructor_fields_by": (),
        "additional_imports": None,
        "class_decorators": None,
        "custom_template_dir": None,
        "extra_template_data": None,
        # Model configuration lives in the base classes (extra, populate by name).
        "allow_population_by_field_name": False,
        "allow_extra_fields": False,
        "extra_fields": None,
        "enable_faux_immutability": False,
        "frozen_dataclasses": False,
        "use_frozen_field": False,
        "keyword_only": False,
        "dataclass_arguments": None,
        # Fields: aliases for invalid or shadowing names, constraints in Annotated[..., Field()].
        "snake_case_field": False,
        "alias_generator": None,
        "pin_aliases_with_alias_generator": False,
        "aliases": None,
        "serialization_aliases": None,
        "no_alias": False,
        "use_serialization_alias": False,
        "special_field_name_prefix": None,
        "remove_special_field_name_prefix": False,
        "original_field_name_delimiter": None,
        "field_constraints": True,
        "use_annotated": True,
        "use_default_kwarg": False,
        "strip_default_none": False,
        "apply_default_values_for_required_fields": False,
        "force_optional_for_required_fields": False,
        "use_default_factory_for_optional_nested_models": False,
        "default_value_overrides": None,
        "deserialize_default_values": (),
        "use_missing_sentinel": False,
        "strict_nullable": True,
        "omit_redundant_reference_null": False,
        "strict_types": None,
        "use_non_positive_negative_number_constrained_types": False,
        "use_decimal_for_multiple_of": False,
        "use_decimal_in_field_forms": False,
        "omit_redundant_constraints": False,
        "use_site_models_for_constrained_refs": False,
        "field_extra_keys": None,
        "field_include_all_keys": False,
        "field_extra_keys_without_x_prefix": None,
        "model_extra_keys": None,
        "model_extra_keys_without_x_prefix": None,
        "validators": None,
        "validation": False,
        "generate_schema_validators": False,
        "schema_validator_type": None,
        "check_pattern_maps_strictly": False,
        "schema_validator_base_class_name": None,
        "field_type_collision_strategy": None,
        # Types: Literal for every enum, X | None, builtin collections, tuples for prefixItems.
        "enum_field_as_literal": LiteralType.All,
        "enum_field_as_literal_map": None,
        "ignore_enum_constraints": False,
        "use_one_literal_as_default": False,
        "use_enum_values_in_discriminator": False,
        "use_single_value_enum_as_const": False,
        "read_const_beside_enum": False,
        "filter_literal_values": False,
        "keep_enum_member_values": False,
        "set_default_enum_member": False,
        "use_subclass_enum": False,
        "use_specialized_enum": False,
        "empty_enum_field_name": None,
        "use_union_operator": True,
        "union_mode": None,
        "use_standard_collections": True,
        "use_generic_container_types": False,
        "use_standard_primitive_types": False,
        "use_object_type": False,
        "use_unique_items_as_set": False,
        "use_tuple_for_fixed_items": True,
        "use_tuple_for_closed_arrays": False,
        "use_tuple_for_fixed_length_arrays": False,
        "use_typed_nullable_map_values": False,
        "use_typed_map_values_beside_other_types": False,
        "use_single_dict_for_object_maps": False,
        "read_unevaluated_properties": False,
        "intersect_allof_keywords": False,
        "read_nullable_beside_type_list": False,
        "keep_field_defaults_off_branch_roots": False,
        "allof_merge_mode": AllOfMergeMode.Constraints,
        "allof_class_hierarchy": AllOfClassHierarchy.IfNoConflict,
        "use_pendulum": False,
        "output_datetime_class": None,
        "output_date_class": None,
        "type_mappings": None,
        "type_overrides": None,
        "import_overrides": None,
        "use_serialize_as_any": False,
        "use_msgspec_tagged_unions": False,
        "tag_msgspec_by_payload_name": False,
        "use_msgspec_nullable_enum_alias": False,
        "use_total_false_for_typed_dict": False,
        "use_closed_typed_dict": True,
        "disable_appending_item_suffix": False,
        # Root models: none (the normalized schema has no non-object classes).
        "collapse_root_models": True,
        "collapse_root_models_name_strategy": None,
        "collapse_shared_parent_wrappers": False,
        "collapse_reuse_models": False,
        "skip_root_model": False,
        "use_root_model_sequence_interface": False,
        "use_type_alias": True,  # constrained items: list[Alias], the alias = Annotated[...]
        "use_type_alias_type": False,
        "use_root_model_type_alias": False,
        "reuse_model": False,
        "reuse_scope": ReuseScope.Module,
        "shared_module_name": "shared",
        "dedupe_request_response_variants": False,
        "read_only_write_only_model_type": None,
        # Docs: schema and field descriptions as docstrings.
        "use_schema_description": True,
        "use_field_description": True,
        "use_field_description_example": False,
        "use_attribute_docstrings": False,
        "use_inline_field_description": False,
        "use_single_line_docstring": False,
        # Output text: no timestamp or version, our header (stripped), no formatter of its own.
        "disable_timestamp": True,
        "enable_version_header": False,
        "enable_command_header": False,
        "enable_generated_header_marker": False,
        "command_line": None,
        "custom_file_header": "# models",
        "custom_file_header_path": None,
        "custom_file_header_mode": CustomFileHeaderMode.Replace,
        "use_double_quotes": True,
        "wrap_string_literal": None,
        "formatters": [],
        "custom_formatters": None,
        "custom_formatters_kwargs": None,
        "builtin_format_line_length": None,
        "disable_future_imports": False,
        "use_exact_imports": False,
        "use_type_checking_imports": False,
        "treat_dot_as_module": None,
        "strict_dotted_module_names": False,
        "module_split_mode": None,
        "all_exports_scope": None,
        "all_exports_collision_strategy": None,
        # References: local only, never the network.
        "allow_remote_refs": False,
        "strict_refs": False,
        "allow_private_network": False,
        "external_ref_mapping": None,
        "http_backend": HTTPBackend.AUTO,
        "http_headers": None,
        "http_local_ref_path": None,
        "http_ignore_tls": False,
        "http_timeout": None,
        "http_query_parameters": None,
        "lockfile": None,
        "update_lock": False,
        "locked": False,
        # Other input kinds and generators we do not use.
        "include_path_parameters": False,
        "openapi_include_paths": None,
        "openapi_include_info_version": False,
        "openapi_as_definitions": (),
        "openapi_scopes": None,
        "graphql_no_typename": False,
        "graphql_scopes": None,
        "use_status_code_in_response_name": False,
        "generate_server": None,
        "server_output": None,
        "server_package": None,
        "server_model_package": None,
        "server_layout": None,
        "server_handler_mode": None,
        "server_handler_modes": None,
        "server_include_request": None,
        "server_body_mode": None,
        "server_body_modes": None,
        "server_primary_responses": None,
        "server_operation_names": None,
        "server_router_names": None,
        "server_parameter_names": None,
        "generate_client": None,
        "client_output": None,
        "client_package": None,
        "client_model_package": None,
        "client_signature_style": None,
        "client_body_arguments": None,
        "client_resource_names": None,
        "client_operations": None,
        "client_default_base_url": None,
        "client_server_base_url": None,
        "client_protocols": None,
    }


def _escape_docstring_line(line: str) -> str:
    """One line of docstring text as it is written between triple quotes.

    Characters are kept when they are printable; ``\\`` and every other character get the
    escape sequence ``repr()`` writes for them (``\\x00``, ``\\r``, ``\\t``, ``\\u2028``,
    lone surrogates...), so the source holds no control character, no line break Python or a
    formatter would reinterpret, and nothing that is not UTF-8. Quotes are escaped so that no
    three in a row close the literal; a trailing space is written ``\\x20`` (formatters strip
    trailing whitespace).
    """
    out = "".join(
        c if c.isprintable() and c != "\\" else repr(c)[1:-1] if c != "\\" else "\\\\" for c in line
    )
    out = out.replace('"""', '\\"\\"\\"')
    if out.endswith(" "):
        out = out[:-1] + "\\x20"
    return out


def _checked(literal: str, value: str) -> str:
    """``literal``, after checking that Python reads it as ``value``."""
    try:
        ok = ast.literal_eval(literal) == value
    except (SyntaxError, ValueError):  # pragma: no cover - a bug in the escaping above
        ok = False
    if not ok:  # pragma: no cover
        raise GenerationError(f"docstring rendering failed for {value!r} (a fal-typed bug)")
    return literal


def docstring_literal(text: str, indent: str, *, keep_indent: bool = False) -> str:
    """The triple-quoted literal of a model or field docstring carrying ``text`` exactly.

    Its value is ``"\\n"``, the lines of ``text`` each prefixed with ``indent`` (empty lines
    stay empty), then ``"\\n" + indent``: the text is recovered exactly by removing the first
    and the last line and the indent. ``keep_indent`` (class docstrings, which ruff re-indents):
    when every line of ``text`` starts with a space, the first one is written ``\\x20``, so the
    common indentation is ``indent`` and nothing is removed.
    """
    lines = [_escape_docstring_line(line) for line in text.split("\n")]
    filled = [i for i, line in enumerate(lines) if line]
    if keep_indent and filled and all(lines[i].startswith(" ") for i in filled):
        lines[filled[0]] = "\\x20" + lines[filled[0]][1:]
    body = "\n".join(indent + line if line else "" for line in lines)
    value = "\n" + "\n".join(indent + ln if ln else "" for ln in text.split("\n")) + "\n" + indent
    return _checked(f'"""\n{body}\n{indent}"""', value)


def inline_docstring_literal(text: str, indent: str) -> str:
    """A function or module docstring for ``text``: first line after the opening quotes, the
    others indented, closing quotes on their own line when there are several lines."""
    lines = [_escape_docstring_line(line) for line in text.split("\n")]
    if "\n" not in text and text.endswith('"'):  # the quote would touch the closing ones
        lines[0] = _escape_docstring_line(text[:-1]) + '\\"'
    body = "\n".join([lines[0]] + [(indent + line) if line else "" for line in lines[1:]])
    closing = f"\n{indent}" if len(lines) > 1 else ""
    raw = text.split("\n")
    value = "\n".join([raw[0]] + [(indent + line) if line else "" for line in raw[1:]]) + (closing)
    return _checked(f'"""{body}{closing}"""', value)


def _type_matches(value: Any, schema: dict[str, Any]) -> bool:
    """Whether a default fits a normalized schema's *type* (constraints are not checked)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if schema == {}:
        return isinstance(value, (str, int, float, bool)) or value is None
    if "anyOf" in schema:
        return any(_type_matches(value, b) for b in schema["anyOf"])
    if "$ref" in schema:
        return False  # object defaults are not materialized (see strip_unsafe_defaults)
    if "enum" in schema:
        return any(type(value) is type(v) and value == v for v in schema["enum"])
    kinds = schema_types(schema)
    if len(kinds) > 1:
        return any(_type_matches(value, {**schema, "type": k}) for k in sorted(kinds))
    kind = next(iter(kinds), None)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":  # inf and NaN (JSON 1e400, NaN) cannot be written as literals
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (math.isfinite(value))
        )
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "array":
        if not isinstance(value, list):
            return False
        if "prefixItems" in schema:
            return False
        items = schema.get("items", {})
        return all(not isinstance(v, (dict, list)) and _type_matches(v, items) for v in value)
    return False


def strip_unsafe_defaults(schema: Any) -> Any:
    """Drop defaults the models cannot carry as plain, type-correct Python literals.

    Scalar defaults that match the field's type stay, even when they break the field's own
    constraints (pydantic does not validate defaults, and unset fields are never sent). Object
    defaults, lists of objects and defaults of the wrong type are dropped from the *model* (the
    field then defaults to ``None``; the server applies its own default); the wrapper docstring
    still documents them.
    """
    if isinstance(schema, list):
        return [strip_unsafe_defaults(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("default", "examples", "enum"):
            out[key] = value
        elif key in ("properties", "$defs"):
            out[key] = {k: strip_unsafe_defaults(v) for k, v in value.items()}
        else:
            out[key] = strip_unsafe_defaults(value)
    if "default" in out:
        bare = {k: v for k, v in out.items() if k not in ("default", "description", "examples")}
        value = out["default"]
        if (
            isinstance(value, float)
            and value.is_integer()
            and not _type_matches(value, bare)
            and _type_matches(int(value), bare)
        ):
            # ``default: 30.0`` on an integer (fal's apps are pydantic models, and
            # ``steps: int = 30.0`` publishes that): the same number, as the field's type.
            value = out["default"] = int(value)
        if (value is None and not accepts_null(bare)) or (
            value is not None and not _type_matches(value, bare)
        ):
            del out["default"]
    out.pop("examples", None)
    return out


def _has_none(node: ast.expr) -> bool:
    """Whether a type annotation is a union with ``None`` at its top level."""
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _has_none(node.left) or _has_none(node.right)
    return False


def _import_line(module: str, name: str, bound_as: str) -> str:
    return f"from {module} import {name}" + ("" if bound_as == name else f" as {bound_as}") + "\n"


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_aliased`` (as datamodel-code-generator aliases its imports) when a
    class or field of the module is already called that."""
    if name not in taken:
        return name
    name += "_aliased"
    while name in taken:
        name += "_"
    return name


def _refuse_explicit_null(
    code: str,
    classes: dict[str, dict[str, Any]],
    input_classes: Iterable[str],
    base_module: str,
) -> tuple[str, str]:
    """Mark optional input fields that do not accept null with ``NotNull``.

    datamodel-code-generator writes a field that is neither required nor given a default as
    ``T | None = None``: there ``None`` means "not set" (and is never sent), but pydantic would
    also accept an explicit ``None`` and send ``null``, which the endpoint rejects. The mark
    (``Annotated[T | None, NotNull]``) refuses it before anything is sent. Returns the code and
    the import lines the marks need ("" when no field was marked).
    """
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    taken: set[str] = set()
    annotated: str | None = None  # how the module already imports typing.Annotated
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            taken.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            taken.add(node.target.id)
        elif isinstance(node, ast.Assign):  # type aliases
            taken.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                taken.add(alias.asname or alias.name)
                if node.module == "typing" and alias.name == "Annotated":
                    annotated = alias.asname or alias.name
    imports = ""
    if annotated is None:
        annotated = _free_name("Annotated", taken)
        imports += _import_line("typing", "Annotated", annotated)
    not_null = _free_name("NotNull", taken)
    imports += _import_line(base_module, "NotNull", not_null)

    edits: list[tuple[int, int, str]] = []  # (line index, character offset, text to insert)
    wanted = set(input_classes)
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef) or cls.name not in wanted or cls.name not in classes:
            continue
        schema = classes[cls.name]
        required = set(schema.get("required", ()))
        fields = _input_fields(tree, code, cls.name)
        by_python = {f.python_name: f.json_name for f in fields.values()}
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            json_name = by_python.get(stmt.target.id)
            if json_name is None or json_name in required:
                continue
            # As for the wrapper's signature: the normalizer inlines every non-class $ref, so a
            # property's own schema says whether it accepts null (a class never does).
            if accepts_null(schema["properties"][json_name]):
                continue
            annotation = inner = stmt.annotation
            wrapped = False
            if (
                isinstance(annotation, ast.Subscript)
                and isinstance(annotation.value, ast.Name)
                and annotation.value.id == annotated
                and isinstance(annotation.slice, ast.Tuple)
            ):
                wrapped, inner = True, annotation.slice.elts[0]
            if not _has_none(inner):
                continue  # a default of its own type: None is refused by the type already
            assert annotation.end_lineno is not None and annotation.end_col_offset is not None
            end_line = annotation.end_lineno - 1
            end = len(lines[end_line].encode()[: annotation.end_col_offset].decode())
            start = len(lines[annotation.lineno - 1].encode()[: annotation.col_offset].decode())
            if wrapped:
                edits.append((end_line, end - 1, f", {not_null}"))  # before the closing bracket
            else:
                edits.append((end_line, end, f", {not_null}]"))
                edits.append((annotation.lineno - 1, start, f"{annotated}["))
    for line, offset, text in sorted(edits, reverse=True):
        lines[line] = lines[line][:offset] + text + lines[line][offset:]
    return "".join(lines), imports if edits else ""


def _split_module(code: str) -> tuple[str, str, ast.Module]:
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    first_body = next(
        (n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))), None
    )
    cut = (first_body.lineno - 1) if first_body is not None else len(lines)
    import_lines = [
        line
        for line in lines[:cut]
        if line.strip() and not line.startswith("#") and "from __future__" not in line
    ]
    return "".join(import_lines), "".join(lines[cut:]), tree


def _source_lines(code: str) -> list[bytes]:
    """The lines of ``code`` split as ``ast.get_source_segment`` splits them (only at ``\\r\\n``,
    ``\\r`` and ``\\n``), UTF-8 encoded: AST column offsets count bytes."""
    return [line.encode() for line in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", code)]


def _segment(lines: list[bytes], node: ast.expr) -> str | None:
    """``ast.get_source_segment(code, node)`` over lines split once: that function re-splits the
    whole module on every call, which dominated generation time."""
    end_lineno, end_col = node.end_lineno, node.end_col_offset
    if end_lineno is None or end_col is None:
        return None
    first, last = node.lineno - 1, end_lineno - 1
    if first == last:
        return lines[first][node.col_offset : end_col].decode()
    parts = [lines[first][node.col_offset :], *lines[first + 1 : last], lines[last][:end_col]]
    return b"".join(parts).decode()


def _input_fields(tree: ast.Module, code: str, input_class: str) -> dict[str, ModelField]:
    lines = _source_lines(code)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == input_class)
    fields: dict[str, ModelField] = {}
    for stmt in cls.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        python_name = stmt.target.id
        if python_name == "model_config":
            continue
        annotation = stmt.annotation
        # The alias is in ``Annotated[T, Field(alias=...)]``, or in ``= Field(..., alias=...)``
        # when the field's name shadows a class name (``Field`` may be imported under an alias).
        calls: list[ast.expr] = [stmt.value] if stmt.value is not None else []
        if (
            isinstance(annotation, ast.Subscript)
            and isinstance(annotation.value, ast.Name)
            and annotation.value.id.startswith("Annotated")
            and isinstance(annotation.slice, ast.Tuple)
        ):
            calls.extend(annotation.slice.elts[1:])
            annotation = annotation.slice.elts[0]
        alias: str | None = None
        for meta in calls:
            if isinstance(meta, ast.Call):
                for kw in meta.keywords:
                    if kw.arg == "alias" and isinstance(kw.value, ast.Constant):
                        alias = str(kw.value.value)
        text = _segment(lines, annotation) or ast.unparse(annotation)
        json_name = alias if alias is not None else python_name
        fields[json_name] = ModelField(json_name, python_name, " ".join(text.split()))
    return fields


_ROOT_OUTPUT = '''


class {name}(RootModel[{value}]):
    """The endpoint's output, which is not a JSON object: its value is ``.root``."""

    model_config = ConfigDict(regex_engine="python-re", defer_build=True)

    root: {value}
'''


_DOC_INDENT = "    "


def _class_schemas(schema: dict[str, Any], input_class: str) -> dict[str, dict[str, Any]]:
    """Class name -> its object schema (the root is the Input class)."""
    classes = {input_class: schema}
    for name, sub in schema.get("$defs", {}).items():
        if isinstance(sub, dict) and "properties" in sub:
            classes[name] = sub
    return classes


def _without_descriptions(schema: Any) -> Any:
    """A normalized schema without ``description`` keys (the docstrings are written here, not
    by datamodel-code-generator, whose docstrings are escaped by hand)."""
    if isinstance(schema, list):
        return [_without_descriptions(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in ("default", "examples", "enum"):
            out[key] = value
        elif key in ("properties", "$defs"):
            out[key] = {k: _without_descriptions(v) for k, v in value.items()}
        else:
            out[key] = _without_descriptions(value)
    return out


def _nfkc_aliases(classes: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Python names for property names that Python would change (identifiers are read in NFKC
    form: ``\\ufb01eld``, with a ligature, is ``field``); datamodel-code-generator keeps them as
    they are, which would merge distinct fields. The names get their ASCII form (accents
    dropped, other characters ``_``) and a trailing ``_`` until they differ from every property
    name."""
    names = sorted({name for schema in classes.values() for name in schema["properties"]})
    taken = {unicodedata.normalize("NFKC", name) for name in names}
    aliases: dict[str, str] = {}
    for name in names:
        if unicodedata.normalize("NFKC", name) == name:
            continue
        text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
        python = re.sub(r"[^0-9A-Za-z_]", "_", text.encode("ascii", "ignore").decode())
        if not python.strip("_") or not python[0].isalpha():
            python = "field_" + python.lstrip("_")
        if keyword.iskeyword(python) or keyword.issoftkeyword(python):
            python += "_"
        while python in taken:
            python += "_"
        taken.add(python)
        aliases[name] = python
    return aliases


def _add_docstrings(code: str, classes: dict[str, dict[str, Any]]) -> str:
    """Insert each class's and field's description as a docstring below it."""
    ending = "" if code.endswith("\n") else "\n"  # added for the insertions, then removed
    code += ending
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    inserts: dict[int, list[str]] = {}  # line index -> docstring lines to put before it
    removed: set[int] = set()
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef) or cls.name not in classes:
            continue
        schema = classes[cls.name]
        description = schema.get("description")
        if isinstance(description, str) and description.strip():
            literal = docstring_literal(description, _DOC_INDENT, keep_indent=True)
            inserts.setdefault(cls.body[0].lineno - 1, []).append(_DOC_INDENT + literal + "\n")
            if len(cls.body) == 1 and isinstance(cls.body[0], ast.Pass):
                removed.add(cls.body[0].lineno - 1)
        fields = _input_fields(tree, code, cls.name)
        by_python = {f.python_name: f.json_name for f in fields.values()}
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            json_name = by_python.get(stmt.target.id)
            prop = schema["properties"].get(json_name) if json_name is not None else None
            text = prop.get("description") if isinstance(prop, dict) else None
            if isinstance(text, str) and text.strip():
                assert stmt.end_lineno is not None
                literal = docstring_literal(text, _DOC_INDENT)
                inserts.setdefault(stmt.end_lineno, []).append(_DOC_INDENT + literal + "\n")
    out: list[str] = []
    for index in range(len(lines) + 1):
        out.extend(inserts.get(index, ()))
        if index < len(lines) and index not in removed:
            out.append(lines[index])
    text = "".join(out)
    return text[: len(text) - len(ending)]


def generate_models(endpoint: NormalizedEndpoint, base_module: str) -> GeneratedModels:
    """Run datamodel-code-generator on ``endpoint.schema``; split imports and classes."""
    base_class_map = {name: f"{base_module}.InputModel" for name in endpoint.input_classes}
    base_class_map.update({name: f"{base_module}.OutputModel" for name in endpoint.output_classes})
    classes = _class_schemas(endpoint.schema, endpoint.input_class)
    schema = _without_descriptions(strip_unsafe_defaults(copy.deepcopy(endpoint.schema)))
    options = options_for(endpoint.input_class, base_class_map)
    options["aliases"] = _nfkc_aliases(classes) or None
    with warnings.catch_warnings():
        # Its warnings are about constructs the normalized schema no longer has; the generated
        # code is checked by importing it and by mypy --strict in the tests.
        warnings.simplefilter("ignore")
        try:
            code = generate(json.dumps(schema, ensure_ascii=False), **options)
        except Exception as exc:  # a construct the normalization does not cover: no traceback
            problem = " ".join(str(exc).split())[:500]
            raise GenerationError(
                f"{endpoint.source}: datamodel-code-generator failed on this document "
                f"(a fal-typed bug; please report it): {type(exc).__name__}: {problem}"
            ) from exc
    if not isinstance(code, str):  # pragma: no cover - single-module output is a str
        raise TypeError("datamodel-code-generator returned several modules")
    code, marks_imports = _refuse_explicit_null(code, classes, endpoint.input_classes, base_module)
    code = _add_docstrings(code, classes)
    imports, body, tree = _split_module(code)
    imports += marks_imports
    # Blank lines inside multi-line descriptions come out indented; strip trailing blanks.
    body = re.sub(r"[ \t]+$", "", body, flags=re.MULTILINE)
    if endpoint.output_root is not None:
        imports += "from pydantic import ConfigDict, RootModel\n"
        body = body.rstrip("\n") + _ROOT_OUTPUT.format(
            name=endpoint.output_class, value=endpoint.output_root
        )
    return GeneratedModels(
        imports=imports,
        body=body,
        input_fields=_input_fields(tree, code, endpoint.input_class),
    )

"""Import generated packages under an audit hook and report what they did (run as a script).

``python _probe.py REQUEST.json`` where the request is ``{"paths": [...], "cases": [{"name",
"package", "endpoint_id", "module", "classes": [...]}]}``. For each case it imports the
package registry and the endpoint module, builds every model (``model_rebuild(force=True)``:
validators are otherwise built on first use), and reports, as JSON on stdout:

- ``events``: audit events recorded while doing so (see ``_hook``);
- ``fields``: per class and JSON name, the field's default (JSON text) and the ``Literal``
  arguments of its annotation (``[type name, JSON text]`` pairs);
- ``error``: the exception raised, if any.

The audit filter. ``open`` events are ignored only when they come from the import system
reading code: the nearest Python frame is importlib's (``<frozen importlib...>`` or
``<frozen zipimport>``), the mode is read-only, and the file is a ``.py``/``.pyc``/extension
module or a package directory under ``sys.path``. An ``open()`` executed by generated code (or
by a library it calls) has that code's frame as the nearest one, so it is still recorded, even
for a ``.py`` file. Process, network, ctypes and file-system-changing events are always
recorded.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import typing
from typing import Any

_WATCHED = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.startfile",
    "os.kill",
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.putenv",
    "os.unsetenv",
    "subprocess.",
    "socket.",
    "ctypes.",
    "urllib.",
    "http.client.",
    "shutil.",
    "webbrowser.",
    "builtins.input",
    "pty.",
)
_CODE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".zip")
_IMPORT_FRAMES = ("<frozen importlib", "<frozen zipimport")
_recorded: list[str] = []
_roots: tuple[str, ...] = ()


def _import_system_read(path: object, mode: object) -> bool:
    caller = sys._getframe(2)  # 0: this function, 1: the hook, 2: who triggered the event
    if not caller.f_code.co_filename.startswith(_IMPORT_FRAMES):
        return False
    if not isinstance(mode, str) or any(c in mode for c in "wax+"):
        return False
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return False
    absolute = os.path.realpath(path)
    if not absolute.startswith(_roots):
        return False
    return absolute.endswith(_CODE_SUFFIXES) or os.path.isdir(absolute)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path, mode = args[0], args[1]
        if not _import_system_read(path, mode):
            _recorded.append(f"open {path!r} {mode!r}")
    elif event.startswith(_WATCHED):
        _recorded.append(f"{event} {args!r}"[:300])


def _literal_args(annotation: Any, found: list[list[str]], depth: int = 0) -> None:
    if depth > 20:
        return
    value = getattr(annotation, "__value__", None)  # TypeAliasType
    if value is not None and type(annotation).__name__ == "TypeAliasType":
        _literal_args(value, found, depth + 1)
        return
    if typing.get_origin(annotation) is typing.Literal:
        found.extend([type(a).__name__, json.dumps(a)] for a in typing.get_args(annotation))
        return
    for arg in typing.get_args(annotation):
        _literal_args(arg, found, depth + 1)


def _probe(case: dict[str, Any]) -> dict[str, Any]:
    import pydantic
    import pydantic_core

    del _recorded[:]
    result: dict[str, Any] = {"events": _recorded, "fields": {}, "error": None}
    try:
        registry = importlib.import_module(case["package"])
        module = importlib.import_module(case["module"])
        endpoint = registry.get_endpoint(case["endpoint_id"])
        assert endpoint is module.ENDPOINT, "get_endpoint returned another endpoint"
        for name in case["classes"]:
            cls = getattr(module, name)
            cls.model_rebuild(force=True)
            fields: dict[str, Any] = {}
            for python_name, info in cls.model_fields.items():
                literals: list[list[str]] = []
                _literal_args(info.annotation, literals)
                default = info.default
                fields[info.alias if info.alias is not None else python_name] = {
                    "python_name": python_name,
                    "default": None
                    if default is pydantic_core.PydanticUndefined
                    else json.dumps(default, allow_nan=True),
                    "literals": literals,
                }
            result["fields"][name] = fields
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, pydantic.BaseModel):
                value.model_rebuild(force=True)
                value.model_json_schema()
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    result["events"] = list(_recorded)
    return result


def main() -> None:
    global _roots
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    sys.path[:0] = request["paths"]
    import pydantic  # the libraries are imported before the hook is on
    import typing_extensions  # noqa: F401

    import fal_typed  # noqa: F401

    class Warm(pydantic.BaseModel):  # one-time library set-up (pydantic's plugin discovery
        x: int = 0  # reads entry points) happens before auditing

    Warm.model_json_schema()
    Warm(x=1)
    _roots = tuple(os.path.realpath(p) for p in sys.path if p)
    sys.addaudithook(_hook)
    results = {case["name"]: _probe(case) for case in request["cases"]}
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()

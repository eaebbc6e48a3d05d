"""A synthetic catalogue of fal endpoint documents, derived deterministically from ``schemas/``.

fal serves well over 1,000 endpoints; the repository holds 14 real documents. The corpus keeps
those 14 (under their own ids, so a benchmark can measure the same module in a small and a big
package) and adds variants of them, each with:

- a new endpoint id (``bench-ownerK/eNNNN-<stem>``), in ``paths`` and ``x-fal-metadata``;
- renamed properties (a suffix on about a third of the properties of every component schema,
  ``required`` lists updated; discriminator-free documents only, which all 14 are);
- re-ordered properties (a seeded shuffle);
- varied enums (string enums rotated and given an extra value; defaults stay valid).

The same ``size`` always yields the same bytes (``random.Random`` seeded per document), so
two runs of a benchmark generate the same code. Nothing here is committed: benchmarks build
the corpus in a temporary directory.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"


def real_documents() -> list[Path]:
    """The real documents, sorted."""
    return sorted(SCHEMAS.rglob("*.json"))


def _openapi(data: dict[str, Any]) -> dict[str, Any]:
    inner = data.get("openapi")
    return inner if isinstance(inner, dict) else data


def _vary_enum(schema: dict[str, Any], rng: random.Random, n: int) -> None:
    values = schema.get("enum")
    if not isinstance(values, list) or len(values) < 2:
        return
    if not all(isinstance(v, str) for v in values):
        return
    k = rng.randrange(len(values))
    schema["enum"] = [*values[k:], *values[:k], f"{values[0]}_v{n}"]


def _walk(node: Any, rng: random.Random, n: int) -> None:
    """Vary the enums of every schema below ``node`` (in place)."""
    if isinstance(node, dict):
        _vary_enum(node, rng, n)
        for value in node.values():
            _walk(value, rng, n)
    elif isinstance(node, list):
        for value in node:
            _walk(value, rng, n)


def _rename_properties(schema: dict[str, Any], rng: random.Random, n: int) -> None:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return
    names = list(properties)
    renamed = {name: f"{name}_r{n}" if rng.random() < 0.33 else name for name in names}
    order = list(names)
    rng.shuffle(order)
    schema["properties"] = {renamed[name]: properties[name] for name in order}
    if isinstance(schema.get("required"), list):
        schema["required"] = [renamed.get(r, r) for r in schema["required"]]


def variant(src: Path, n: int, owners: int = 7) -> tuple[str, dict[str, Any]]:
    """Variant number ``n`` of the document ``src``: its new endpoint id and data."""
    data = json.loads(src.read_text(encoding="utf-8"))
    openapi = _openapi(data)
    rng = random.Random(f"{src.relative_to(SCHEMAS).as_posix()}#{n}")
    old_id = src.relative_to(SCHEMAS).with_suffix("").as_posix()
    new_id = f"bench-owner{n % owners}/e{n:04d}-{src.stem}"
    openapi["paths"] = {
        path.replace(f"/{old_id}", f"/{new_id}", 1): item for path, item in openapi["paths"].items()
    }
    openapi["info"].setdefault("x-fal-metadata", {})["endpointId"] = new_id
    components = openapi.get("components", {}).get("schemas", {})
    for name in sorted(components):
        if name == "QueueStatus":
            continue
        _rename_properties(components[name], rng, n)
        _walk(components[name], rng, n)
    return new_id, {"endpoint_id": new_id, "metadata": {}, "openapi": openapi}


def build_corpus(root: Path, size: int) -> Path:
    """Write ``size`` documents (the real ones first, then variants) under ``root/docs``."""
    docs = real_documents()
    out = root / "docs"
    out.mkdir(parents=True)
    for doc in docs[:size]:
        dest = out / doc.relative_to(SCHEMAS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(doc, dest)
    for n in range(max(0, size - len(docs))):
        new_id, data = variant(docs[n % len(docs)], n)
        dest = out / f"{new_id}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return out


def touch_one(docs: Path, n: int = 0) -> Path:
    """Change one variant's document (a description edit), as a re-pulled schema would be."""
    path = sorted(docs.glob("bench-owner*/*.json"))[n]
    data = json.loads(path.read_text(encoding="utf-8"))
    info = _openapi(data)["info"]
    info["description"] = str(info.get("description", "")) + " (changed)"
    for name, schema in sorted(_openapi(data)["components"]["schemas"].items()):
        if name.endswith("Input") and isinstance(schema.get("properties"), dict):
            for prop in schema["properties"].values():
                if isinstance(prop, dict):
                    prop["description"] = str(prop.get("description", "")) + " Changed."
                    break
            break
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path

"""Render endpoint modules, in this process or in a pool of worker processes.

Rendering one endpoint (normalize, datamodel-code-generator in-process, jinja) is a pure
function of its :class:`EndpointJob`, so endpoints are spread over worker processes and the
results are put back in job order: the output does not depend on the number of workers. A
failure is reported for the first failing endpoint in job order, as a serial run would.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fal_typed._document import DocumentError, EndpointDocument

from ._writer import GenerationError

__all__ = ["EndpointJob", "available_cpus", "render_modules"]

# Below this many endpoints, starting workers costs more than it saves.
MIN_PARALLEL = 16


@dataclass(frozen=True)
class EndpointJob:
    """Everything one endpoint module is generated from."""

    path: Path
    doc: EndpointDocument | None
    """The loaded document (None until loaded)."""
    source: str
    owner: str
    module: str
    package: str
    regenerate: str


def render_module(job: EndpointJob) -> str:
    """The endpoint's module source, before formatting."""
    from ._models import generate_models
    from ._render import header_line, render_endpoint
    from ._schema import normalize_endpoint

    if job.doc is None:
        raise ValueError(f"{job.source}: document not loaded")
    normalized = normalize_endpoint(job.doc)
    base_module = f"{job.package}._base"
    models = generate_models(normalized, base_module)
    return render_endpoint(
        job.doc,
        normalized,
        models,
        function=job.module,
        header=header_line(job.source, job.regenerate),
        base_module=base_module,
    )


# A worker's answer: the module text, or a picklable description of the error.
_Outcome = tuple[str, str | None, str | None, str]


def _render_outcome(job: EndpointJob) -> _Outcome:
    try:
        return ("ok", None, None, render_module(job))
    except DocumentError as exc:  # its __init__ takes 3 arguments: not picklable as is
        return ("document", exc.source, exc.pointer, exc.problem)
    except GenerationError as exc:
        return ("generation", None, None, str(exc))


def _raise(outcome: _Outcome) -> str:
    kind, source, pointer, text = outcome
    if kind == "document":
        assert source is not None
        raise DocumentError(source, pointer, text)
    if kind == "generation":
        raise GenerationError(text)
    return text


def available_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _context() -> multiprocessing.context.BaseContext:
    # fork shares the already imported generator with the workers (no import per worker);
    # elsewhere the platform's default start method is used.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def render_modules(
    jobs: Sequence[EndpointJob],
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Each job's module source, in job order; ``progress(n)`` after every n more are done."""
    if workers <= 1 or len(jobs) < MIN_PARALLEL:
        texts = []
        for job in jobs:
            texts.append(render_module(job))
            if progress is not None:
                progress(1)
        return texts
    # Import the generator here first, so forked workers inherit it.
    from . import _models, _render, _schema  # noqa: F401

    workers = min(workers, len(jobs))
    chunksize = max(1, min(16, len(jobs) // (workers * 8)))
    outcomes: list[_Outcome] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        for outcome in pool.map(_render_outcome, jobs, chunksize=chunksize):
            outcomes.append(outcome)
            if progress is not None:
                progress(1)
    return [_raise(outcome) for outcome in outcomes]

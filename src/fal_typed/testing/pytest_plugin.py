"""A pytest plugin providing the ``fal_emulator`` fixture.

Activate it in your root ``conftest.py``::

    pytest_plugins = ["fal_typed.testing.pytest_plugin"]

Then::

    def test_generates(fal_emulator):
        with fal_emulator.client() as client:
            ...
        assert fal_emulator.requests[-1].json["prompt"] == "a cat"

The documents come from the ``fal_emulator_schemas`` ini option (paths relative to the ini
file; default: ``schemas/`` under pytest's rootdir). Override the ``fal_emulator_schemas``
fixture to choose them per directory or test, and ``fal_emulator_options`` to pass other
:class:`~fal_typed.testing.FalEmulator` arguments (``key``, ``start_delay``, ``time_scale``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fal_typed.testing import FalEmulator

__all__ = ["fal_emulator", "fal_emulator_options", "fal_emulator_schemas"]

_INI = "fal_emulator_schemas"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        type="paths",
        default=[],
        help="fal endpoint documents or directories for the fal_emulator fixture "
        "(default: schemas/ under the rootdir)",
    )


@pytest.fixture
def fal_emulator_schemas(request: pytest.FixtureRequest) -> list[str | os.PathLike[str]]:
    """The documents the ``fal_emulator`` fixture loads; override to choose others."""
    configured: list[Path] = request.config.getini(_INI)
    if configured:
        return list(configured)
    return [request.config.rootpath / "schemas"]


@pytest.fixture
def fal_emulator_options() -> dict[str, Any]:
    """Extra keyword arguments for :class:`FalEmulator`; override to set ``key`` etc."""
    return {}


@pytest.fixture
def fal_emulator(
    fal_emulator_schemas: list[str | os.PathLike[str]], fal_emulator_options: dict[str, Any]
) -> Iterator[FalEmulator]:
    """A running :class:`FalEmulator` for one test (closed afterwards)."""
    with FalEmulator(schemas=fal_emulator_schemas, **fal_emulator_options) as emulator:
        yield emulator

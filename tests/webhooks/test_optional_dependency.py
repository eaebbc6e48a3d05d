"""fal_typed.webhooks imports without cryptography; verify() then says how to install it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

import pydantic
import pytest

import fal_typed
import fal_typed.webhooks
from fal_typed import webhooks as original_webhooks
from tests.webhooks._signing import NOW, Signer, jwks


class _Model(pydantic.BaseModel):
    pass


@pytest.fixture
def without_cryptography(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A freshly imported fal_typed.webhooks that cannot import cryptography."""
    for name in list(sys.modules):
        if name == "cryptography" or name.startswith("cryptography."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)  # makes any import of it fail
    monkeypatch.delitem(sys.modules, "fal_typed.webhooks")
    monkeypatch.setattr(fal_typed, "webhooks", fal_typed.webhooks)  # restored afterwards
    yield importlib.import_module("fal_typed.webhooks")


def test_import_works_without_cryptography(without_cryptography: ModuleType) -> None:
    assert without_cryptography is not original_webhooks  # a fresh import
    assert "cryptography.hazmat.primitives.asymmetric.ed25519" not in sys.modules
    event = without_cryptography.parse_event({"request_id": "r", "status": "ERROR"}, _Model)
    assert event.status == "ERROR"


def test_verify_says_how_to_install(without_cryptography: ModuleType) -> None:
    body = b"{}"
    headers = Signer().sign(body)  # signed before: the Signer's key was made with cryptography
    with pytest.raises(ImportError, match=r"pip install 'fal-typed\[webhooks\]'") as info:
        without_cryptography.verify(body, headers, jwks={"keys": []}, now=NOW)
    assert info.value.name == "cryptography"


def test_import_does_not_load_cryptography() -> None:
    import subprocess

    code = (
        "import sys, fal_typed.webhooks; "
        "print(any(m.startswith('cryptography') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_verify_works_again_after(signer: Signer) -> None:
    body = b"{}"
    fal_typed.webhooks.verify(body, signer.sign(body), jwks=jwks(signer), now=NOW)

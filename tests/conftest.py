from __future__ import annotations

from collections.abc import Iterator

import pytest

import fal_typed._client


@pytest.fixture(autouse=True, scope="session")
def _private_generation_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the generator's cache out of the user's ~/.cache and shared by nothing else.

    Set in os.environ so subprocesses (``fal-typed generate``) use it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAL_TYPED_CACHE_DIR", str(tmp_path_factory.mktemp("fal-typed-cache")))
        yield


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry back-off waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(fal_typed._client, "_sleep", waited.append)
    return waited


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's fal credentials or host."""
    for name in (
        "FAL_KEY",
        "FAL_KEY_ID",
        "FAL_KEY_SECRET",
        "FAL_RUN_HOST",
        "FAL_QUEUE_RUN_HOST",
        "FAL_TYPED_REST_URL",
        "FAL_TYPED_JWKS_URL",
    ):
        monkeypatch.delenv(name, raising=False)

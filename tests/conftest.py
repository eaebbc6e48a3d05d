from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_generation_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the generator's cache out of the user's ~/.cache and shared by nothing else.

    Set in os.environ so subprocesses (``fal-typed generate``) use it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FAL_TYPED_CACHE_DIR", str(tmp_path_factory.mktemp("fal-typed-cache")))
        yield

"""Small shared types."""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """Sentinel for "the caller did not pass this argument".

    Different from ``None``, which is a value the caller chose: ``timeout=None`` disables the
    timeout, while leaving ``timeout`` out (``NOT_GIVEN``) keeps the client's default. Generated
    wrappers use it so that only the arguments the caller passed are sent.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

"""The one contract every analyzer backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Analyzer", "Token"]


@dataclass(frozen=True, slots=True)
class Token:
    """One morpheme: its surface form, its tag in the backend's tagset, and character offsets
    into the analysed text where the backend reports them."""

    form: str
    tag: str
    start: int | None = None
    end: int | None = None


@runtime_checkable
class Analyzer(Protocol):
    """A morphological analyzer. `pos` must be safe to call from worker threads."""

    name: str
    version: str
    tagset: str

    def pos(self, text: str) -> list[Token]: ...

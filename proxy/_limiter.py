"""The Limiter protocol shared by the in-process and the Redis-backed stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from ._gcra import Decision, GCRAPolicy

__all__ = ["Clock", "Limiter"]

Clock = Callable[[], float]
"""A monotonic clock in seconds (``time.monotonic`` by default; tests pass a fake)."""


@runtime_checkable
class Limiter(Protocol):
    """Decides whether one request under ``key`` may pass, under a fixed GCRA policy."""

    @property
    def kind(self) -> Literal["memory", "redis"]:
        """Where the limiter state lives (reported by ``/_proxy/healthz``)."""
        ...

    @property
    def policy(self) -> GCRAPolicy:
        """The rate and burst this limiter enforces."""
        ...

    async def hit(self, key: str) -> Decision:
        """Count one request against ``key`` and return the decision. Never raises for
        store trouble: a store that cannot decide falls back to an in-process decision."""
        ...

    async def aclose(self) -> None:
        """Release connections held by the limiter."""
        ...

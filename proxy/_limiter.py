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
    """Decides whether one request under ``key`` may pass under a GCRA policy.

    A store is built with a default policy; each call may name another (one per client).
    """

    @property
    def kind(self) -> Literal["memory", "redis"]:
        """Where the limiter state lives (reported by ``/_proxy/healthz``)."""
        ...

    @property
    def policy(self) -> GCRAPolicy:
        """The default rate and burst (used when ``hit`` names none)."""
        ...

    async def hit(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        """Count one request against ``key`` and return the decision; ``max_wait`` seconds
        lets it reserve a later slot (``Decision.wait``). Never raises for store trouble: a
        store that cannot decide falls back to an in-process decision."""
        ...

    async def aclose(self) -> None:
        """Release connections held by the limiter."""
        ...

"""MemoryStore: the in-process GCRA limiter (the embedded default and the Redis fallback)."""

from __future__ import annotations

import time
from typing import Literal

from ._gcra import MICROS, Decision, GCRAPolicy
from ._limiter import Clock

__all__ = ["MemoryStore"]

_PRUNE_ABOVE = 10_000


class MemoryStore:
    """GCRA state in a dict, keyed by limit key; for one event loop (not thread-safe).

    ``hit`` never awaits between reading and writing a key, so concurrent tasks on one loop
    cannot interleave inside a decision. Keys whose TAT has passed are dropped once the dict
    grows past a bound, since a missing key means exactly the same as an expired one.
    """

    def __init__(self, policy: GCRAPolicy, *, clock: Clock | None = None) -> None:
        self._policy = policy
        self._clock = clock or time.monotonic
        self._tats: dict[str, int] = {}

    @property
    def kind(self) -> Literal["memory"]:
        return "memory"

    @property
    def policy(self) -> GCRAPolicy:
        return self._policy

    def check(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        """Synchronous ``hit``: decide and record one request under ``key``."""
        now = round(self._clock() * MICROS)
        policy = policy or self._policy
        decision, tat = policy.step(self._tats.get(key), now, round(max_wait * MICROS))
        if decision.allowed:
            if len(self._tats) >= _PRUNE_ABOVE and key not in self._tats:
                self._prune(now)
            self._tats[key] = tat
        return decision

    async def hit(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        return self.check(key, policy, max_wait=max_wait)

    def reset(self) -> None:
        """Forget every key (a fresh start for the next Redis outage)."""
        self._tats.clear()

    async def aclose(self) -> None:
        self._tats.clear()

    def _prune(self, now: int) -> None:
        self._tats = {k: tat for k, tat in self._tats.items() if tat > now}

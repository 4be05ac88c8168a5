"""RedisStore: GCRA decided atomically in Redis, shared by every proxy replica.

The decision runs as one Lua script (``gcra.lua``, registered once and called by EVALSHA)
that reads Redis ``TIME``, so replicas never compare clocks. Keys look like
``<prefix>:{<key>}:tat``; the hash tag keeps a limit's keys on one cluster slot.

Redis trouble never reaches the client as a 5xx: redis errors become ``LimiterStoreError`` in
``check_shared`` and ``hit`` answers from an in-process ``MemoryStore`` instead, logging one
warning per outage. While Redis is down it is probed again at most every ``retry_interval``
seconds, so an outage costs one socket timeout per interval rather than one per request.
"""

from __future__ import annotations

import functools
import logging
import time
from importlib.resources import files
from typing import Literal

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ._errors import LimiterStoreError
from ._gcra import Decision, GCRAPolicy
from ._limiter import Clock
from ._memory import MemoryStore

__all__ = ["RedisStore"]

log = logging.getLogger(__name__)


@functools.cache
def _lua_source() -> str:
    return files(__package__).joinpath("gcra.lua").read_text(encoding="utf-8")


class RedisStore:
    """A Limiter whose state lives in Redis; falls back to memory when Redis fails.

    ``client`` is a ``redis.asyncio.Redis`` built with short socket timeouts (see
    ``from_url``). Construction does no I/O. ``clock`` drives only the fallback limiter and
    the re-probe interval; admission under Redis uses Redis server time.
    """

    def __init__(
        self,
        policy: GCRAPolicy,
        client: aioredis.Redis,
        *,
        key_prefix: str = "nlpfeat",
        clock: Clock | None = None,
        retry_interval: float = 1.0,
        owns_client: bool = False,
    ) -> None:
        self._policy = policy
        self._client = client
        self._prefix = key_prefix
        self._clock = clock or time.monotonic
        self._retry_interval = retry_interval
        self._owns_client = owns_client
        self._script = client.register_script(_lua_source())
        self._fallback = MemoryStore(policy, clock=self._clock)
        self._down_until: float | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        policy: GCRAPolicy,
        *,
        timeout: float = 0.05,
        key_prefix: str = "nlpfeat",
        clock: Clock | None = None,
    ) -> RedisStore:
        """Build a store with its own client: ``timeout`` seconds per connect and per
        reply, no client-side retries (the fallback is the retry). Connects lazily."""
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(policy, client, key_prefix=key_prefix, clock=clock, owns_client=True)

    @property
    def kind(self) -> Literal["redis"]:
        return "redis"

    @property
    def policy(self) -> GCRAPolicy:
        return self._policy

    @property
    def degraded(self) -> bool:
        """True while Redis is considered down and decisions come from memory."""
        return self._down_until is not None

    def redis_key(self, key: str) -> str:
        """The Redis key holding ``key``'s TAT."""
        return f"{self._prefix}:{{{key}}}:tat"

    async def check_shared(self, key: str) -> Decision:
        """Decide in Redis only; raise ``LimiterStoreError`` when Redis cannot answer."""
        policy = self._policy
        try:
            allowed, tat, now = await self._script(
                keys=[self.redis_key(key)],
                args=[policy.emission_interval_us, policy.burst_offset_us],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise LimiterStoreError(f"Redis limiter store failed: {exc!r}") from exc
        return policy.describe(bool(allowed), int(tat), int(now))

    async def hit(self, key: str) -> Decision:
        if self._down_until is not None and self._clock() < self._down_until:
            return self._fallback.check(key)
        try:
            decision = await self.check_shared(key)
        except LimiterStoreError as exc:
            if self._down_until is None:
                log.warning("%s; limiting in-process until Redis answers again", exc)
            self._down_until = self._clock() + self._retry_interval
            return self._fallback.check(key)
        if self._down_until is not None:
            log.warning("Redis limiter store is back; limits are shared again")
            self._down_until = None
        return decision

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

"""RedisStore: GCRA decided atomically in Redis, shared by every proxy replica.

The decision runs as one Lua script (``gcra.lua``, registered once and called by EVALSHA)
that reads Redis ``TIME``, so replicas never compare clocks. Keys look like
``<prefix>:{<key>}:tat``; the hash tag keeps a limit's keys on one cluster slot.

Redis trouble never reaches the client as a 5xx and never holds a request for long: every call
has a timeout of a few milliseconds; a request whose call fails is decided locally. A refused
connection opens the circuit breaker at once, timeouts after ``open_after`` in a row (one slow
reply on a busy machine is not an outage). While it is open, decisions are local
(``on_failure``): ``local-share`` enforces each limit divided by the number of replicas (the live
count last seen through Redis heartbeats, at least the configured one), ``open`` admits
everything, ``closed`` refuses with 503. No request waits on a dead Redis: a background task
PINGs it every ``retry_interval`` and the first answer closes the breaker, so limits are shared
again within ``retry_interval`` of Redis coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import time
import uuid
from importlib.resources import files
from typing import Literal

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._errors import LimiterStoreError, LimiterUnavailable
from ._gcra import Decision, GCRAPolicy
from ._limiter import Clock
from ._memory import MemoryStore
from ._metrics import ProxyMetrics

__all__ = ["RedisStore"]

log = logging.getLogger(__name__)


@functools.cache
def _lua_source() -> str:
    return files(__package__).joinpath("gcra.lua").read_text(encoding="utf-8")


_HEARTBEAT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""
OnFailure = Literal["local-share", "open", "closed"]


def local_share(policy: GCRAPolicy, replicas: int) -> GCRAPolicy:
    """One replica's part of ``policy`` when ``replicas`` enforce it without talking."""
    if replicas <= 1:
        return policy
    return GCRAPolicy(policy.rate / replicas, max(1, math.ceil(policy.burst / replicas)))


class RedisStore:
    """A Limiter whose state lives in Redis; falls back to memory when Redis fails.

    ``client`` is a ``redis.asyncio.Redis`` built with short socket timeouts (see
    ``from_url``). Construction does no I/O. ``clock`` drives only the in-process fallback;
    admission under Redis uses Redis server time, and the background probe asyncio's clock.
    """

    def __init__(
        self,
        policy: GCRAPolicy,
        client: aioredis.Redis,
        *,
        key_prefix: str = "nlpfeat",
        clock: Clock | None = None,
        retry_interval: float = 0.25,
        owns_client: bool = False,
        on_failure: OnFailure = "local-share",
        replicas: int = 1,
        metrics: ProxyMetrics | None = None,
        heartbeat_interval: float = 1.0,
        open_after: int = 3,
    ) -> None:
        self._policy = policy
        self._on_failure = on_failure
        self._configured_replicas = replicas
        self._live_replicas = 0
        self._metrics = metrics
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._replica_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._shares: dict[tuple[GCRAPolicy, int], GCRAPolicy] = {}
        self._client = client
        self._prefix = key_prefix
        self._clock = clock or time.monotonic
        self._retry_interval = retry_interval
        self._owns_client = owns_client
        self._script = client.register_script(_lua_source())
        self._heartbeat = client.register_script(_HEARTBEAT_LUA)
        self._fallback = MemoryStore(policy, clock=self._clock)
        self._open_after = open_after
        self._failures = 0
        self._down = False
        self._prober: asyncio.Task[None] | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        policy: GCRAPolicy,
        *,
        timeout: float = 0.05,
        key_prefix: str = "nlpfeat",
        clock: Clock | None = None,
        retry_interval: float = 0.25,
        on_failure: OnFailure = "local-share",
        replicas: int = 1,
        metrics: ProxyMetrics | None = None,
    ) -> RedisStore:
        """Build a store with its own client: ``timeout`` seconds per reply (connecting may
        take up to 20 ms), no client-side retries (the local decision is the fallback).
        Connects lazily."""
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=max(timeout, 0.02),
            retry=Retry(NoBackoff(), 0),
        )
        return cls(
            policy,
            client,
            key_prefix=key_prefix,
            clock=clock,
            owns_client=True,
            retry_interval=retry_interval,
            on_failure=on_failure,
            replicas=replicas,
            metrics=metrics,
        )

    @property
    def kind(self) -> Literal["redis"]:
        return "redis"

    @property
    def policy(self) -> GCRAPolicy:
        return self._policy

    @property
    def degraded(self) -> bool:
        """True while Redis is considered down and decisions are local (breaker open)."""
        return self._down

    @property
    def replicas(self) -> int:
        """Replicas sharing the limits: the live count from heartbeats, at least the
        configured one. Each enforces 1/replicas of every limit while Redis is down."""
        return max(self._configured_replicas, self._live_replicas)

    def redis_key(self, key: str) -> str:
        """The Redis key holding ``key``'s TAT."""
        return f"{self._prefix}:{{{key}}}:tat"

    async def check_shared(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        """Decide in Redis only; raise ``LimiterStoreError`` when Redis cannot answer."""
        policy = policy or self._policy
        try:
            allowed, tat, now = await self._script(
                keys=[self.redis_key(key)],
                args=[
                    policy.emission_interval_us,
                    policy.burst_offset_us,
                    round(max_wait * 1_000_000),
                ],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise LimiterStoreError(f"Redis limiter store failed: {exc!r}") from exc
        return policy.describe(bool(allowed), int(tat), int(now))

    async def hit(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        policy = policy or self._policy
        if self._down:
            return self._local(key, policy, max_wait)
        try:
            decision = await self.check_shared(key, policy, max_wait=max_wait)
        except LimiterStoreError as exc:
            self._failed(exc)
            return self._local(key, policy, max_wait)
        self._failures = 0
        return decision

    def _failed(self, exc: LimiterStoreError) -> None:
        if self._metrics:
            self._metrics.redis_errors.inc()
        self._failures += 1
        timed_out = isinstance(exc.__cause__, TimeoutError | RedisTimeoutError)
        if self._down or (timed_out and self._failures < self._open_after):
            return
        self._down = True
        if self._metrics:
            self._metrics.breaker_open.set(1)
        log.warning(
            "%s; limiting in-process (%s, %d replicas) until Redis answers again",
            exc,
            self._on_failure,
            self.replicas,
        )
        self._prober = asyncio.get_running_loop().create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        """PING every ``retry_interval`` until Redis answers; then share limits again."""
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                await self._client.ping()
            except (RedisError, OSError, TimeoutError):
                if self._metrics:
                    self._metrics.redis_errors.inc()
                continue
            break
        self._failures = 0
        self._fallback.reset()
        self._down = False
        if self._metrics:
            self._metrics.breaker_open.set(0)
        log.warning("Redis limiter store is back; limits are shared again")

    def _local(self, key: str, policy: GCRAPolicy, max_wait: float) -> Decision:
        if self._on_failure == "open":
            return Decision(True, 0.0, policy.burst, 0.0)
        if self._on_failure == "closed":
            raise LimiterUnavailable(
                "The shared limiter (Redis) is unreachable and on_failure is 'closed'; "
                "retry shortly, or set redis.on_failure = 'local-share'."
            )
        n = self.replicas
        share = self._shares.get((policy, n))
        if share is None:
            share = self._shares[(policy, n)] = local_share(policy, n)
        return self._fallback.check(key, share, max_wait=max_wait)

    async def start(self) -> None:
        """Begin the replica heartbeat (counts live replicas for the local share)."""
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(self._beat_forever())

    async def beat(self) -> int:
        """Register this replica once and return the live count; raises LimiterStoreError."""
        ttl_ms = round(self._heartbeat_interval * 3000)
        try:
            live = await self._heartbeat(
                keys=[f"{self._prefix}:{{replicas}}:live"], args=[self._replica_id, ttl_ms]
            )
        except (RedisError, OSError, TimeoutError) as exc:
            raise LimiterStoreError(f"Redis heartbeat failed: {exc!r}") from exc
        self._live_replicas = int(live)
        if self._metrics:
            self._metrics.replicas.set(self.replicas)
        return self._live_replicas

    async def _beat_forever(self) -> None:
        while True:
            if not self._down:
                with contextlib.suppress(LimiterStoreError):
                    await self.beat()
            await asyncio.sleep(self._heartbeat_interval)

    async def aclose(self) -> None:
        for task in (self._prober, self._heartbeat_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._prober = self._heartbeat_task = None
        if self._owns_client:
            await self._client.aclose()

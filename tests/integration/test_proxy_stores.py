"""One contract for every limiter store (memory, real Redis), plus Redis failure handling."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
import redis
from _fakes import FakeClock
from _loopback import RedisServer

from proxy import Decision, GCRAPolicy, Limiter, MemoryStore, RedisStore
from proxy._errors import LimiterUnavailable

TINY_RATE = 1e-6
StoreFactory = Callable[[GCRAPolicy], Limiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """``make_store(policy)``: a new limiter; Redis ones of one test share a key prefix, like
    proxy replicas would. Call it inside the test's event loop; close what it returns."""
    if request.param == "memory":
        return MemoryStore
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")

    def make(policy: GCRAPolicy) -> Limiter:
        return RedisStore.from_url(url, policy, timeout=2.0, key_prefix=prefix)

    return make


async def hits(store: Limiter, n: int, key: str = "k") -> list[Decision]:
    return [await store.hit(key) for _ in range(n)]


def assert_shared(store: Limiter) -> None:
    assert not getattr(store, "degraded", False), "Redis store fell back to memory"


def test_fresh_burst_then_refusal(make_store: StoreFactory) -> None:
    async def main() -> list[Decision]:
        store = make_store(GCRAPolicy(rate=TINY_RATE, burst=5))
        try:
            return await hits(store, 7)
        finally:
            assert_shared(store)
            await store.aclose()

    decisions = asyncio.run(main())
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert decisions[5].retry_after == pytest.approx(1 / TINY_RATE, abs=5)
    assert decisions[4].reset == pytest.approx(5 / TINY_RATE, abs=5)


def test_same_decisions_as_the_pure_policy(make_store: StoreFactory) -> None:
    policy = GCRAPolicy(rate=TINY_RATE, burst=3)
    expected, tat = [], None
    for _ in range(6):
        decision, tat = policy.step(tat, 0)
        expected.append((decision.allowed, decision.remaining))

    async def main() -> list[Decision]:
        store = make_store(policy)
        try:
            return await hits(store, 3, "a") + await hits(store, 3, "a") + await hits(store, 1, "b")
        finally:
            assert_shared(store)
            await store.aclose()

    decisions = asyncio.run(main())
    assert [(d.allowed, d.remaining) for d in decisions[:6]] == expected
    assert decisions[6].allowed, "another key has its own budget"


def test_admits_again_after_one_interval(make_store: StoreFactory) -> None:
    async def main() -> tuple[list[Decision], Decision]:
        store = make_store(GCRAPolicy(rate=20.0, burst=1))
        try:
            first = await hits(store, 2)
            await asyncio.sleep(first[1].retry_after + 0.02)
            return first, await store.hit("k")
        finally:
            assert_shared(store)
            await store.aclose()

    (admitted, refused), later = asyncio.run(main())
    assert admitted.allowed and not refused.allowed
    assert 0 < refused.retry_after <= 0.05
    assert later.allowed


def test_100_concurrent_callers_against_burst_5_admit_exactly_5(make_store: StoreFactory) -> None:
    """All callers race at once; for Redis they come from 4 replicas, each with a pool."""
    policy = GCRAPolicy(rate=TINY_RATE, burst=5)

    async def main() -> list[Decision]:
        replicas = 1 if make_store is MemoryStore else 4
        stores = [make_store(policy) for _ in range(replicas)]
        try:
            calls = [stores[i % replicas].hit("race") for i in range(100)]
            return list(await asyncio.gather(*calls))
        finally:
            for store in stores:
                assert_shared(store)
                await store.aclose()

    decisions = asyncio.run(main())
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.remaining for d in decisions if d.allowed) == [0, 1, 2, 3, 4]


@pytest.mark.redis
def test_redis_key_is_hash_tagged_and_expires(redis_url: str, redis_prefix: str) -> None:
    async def main() -> None:
        store = RedisStore.from_url(
            redis_url, GCRAPolicy(rate=10.0, burst=5), timeout=2.0, key_prefix=redis_prefix
        )
        try:
            await hits(store, 5, "default")
        finally:
            await store.aclose()

    asyncio.run(main())
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{redis_prefix}:{{default}}:tat"
        assert 0 < client.pttl(key) <= 500
        time.sleep(0.6)
        assert not client.exists(key), "an idle key must vanish"
    finally:
        client.close()


def test_unreachable_redis_falls_back_quickly_and_warns_once(
    dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(start=0.0)

    async def main() -> list[Decision]:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{dead_port}/0",
            GCRAPolicy(rate=TINY_RATE, burst=2),
            clock=clock,
        )
        try:
            out = await hits(store, 2)
            await asyncio.sleep(0.6)  # background probes (every 0.25 s) fail quietly
            out += await hits(store, 1)
            assert store.degraded
            return out
        finally:
            await store.aclose()

    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="proxy"):
        decisions = asyncio.run(main())
    assert time.perf_counter() - started < 1.0
    assert [d.allowed for d in decisions] == [True, True, False]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "in-process" in warnings[0].getMessage()


def test_redis_outage_and_recovery(
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Killed: the breaker opens on the refused connection; restarted: the background probe
    closes it without any request having to wait on Redis."""
    server = redis_server

    async def main() -> list[bool]:
        store = RedisStore.from_url(
            server.url,
            GCRAPolicy(rate=TINY_RATE, burst=50),
            retry_interval=0.05,
        )
        states = []
        try:
            await store.hit("k")
            states.append(store.degraded)
            server.stop()
            assert (await store.hit("k")).allowed
            states.append(store.degraded)
            server.start()
            for _ in range(100):
                await asyncio.sleep(0.02)
                if not store.degraded:
                    break
            states.append(store.degraded)
            await store.hit("k")
            assert_shared(store)
            return states
        finally:
            await store.aclose()

    with caplog.at_level(logging.WARNING, logger="proxy"):
        assert asyncio.run(main()) == [False, True, False]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("in-process" in m for m in messages) == 1
    assert sum("back" in m for m in messages) == 1


def test_reservations_queue_at_the_rate(make_store: StoreFactory) -> None:
    async def main() -> list[Decision]:
        store = make_store(GCRAPolicy(rate=10.0, burst=1))
        try:
            return [await store.hit("q", max_wait=0.35) for _ in range(5)]
        finally:
            assert_shared(store)
            await store.aclose()

    decisions = asyncio.run(main())
    assert [d.allowed for d in decisions] == [True] * 4 + [False]
    assert [d.wait for d in decisions[:4]] == pytest.approx([0, 0.1, 0.2, 0.3], abs=0.02)


def test_per_call_policies_are_independent_per_key(make_store: StoreFactory) -> None:
    async def main() -> tuple[list[Decision], list[Decision]]:
        store = make_store(GCRAPolicy(rate=TINY_RATE, burst=1))
        wide = GCRAPolicy(rate=TINY_RATE, burst=3)
        try:
            return await hits(store, 2, "narrow"), [await store.hit("wide", wide) for _ in range(4)]
        finally:
            assert_shared(store)
            await store.aclose()

    narrow, wide = asyncio.run(main())
    assert [d.allowed for d in narrow] == [True, False]
    assert [d.allowed for d in wide] == [True, True, True, False]


@pytest.mark.parametrize(
    ("on_failure", "expected"),
    [("local-share", [True, True, False, False]), ("open", [True] * 4)],
)
def test_while_redis_is_down_each_replica_enforces_its_share(
    dead_port: int, on_failure: str, expected: list[bool]
) -> None:
    """Two replicas configured: a burst of 4 becomes 2 per replica; 'open' admits all."""

    async def main() -> tuple[list[Decision], int]:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{dead_port}/0",
            GCRAPolicy(rate=TINY_RATE, burst=4),
            clock=FakeClock(start=0.0),
            replicas=2,
            on_failure=on_failure,  # type: ignore[arg-type]
        )
        try:
            return await hits(store, 4), store.replicas
        finally:
            await store.aclose()

    decisions, replicas = asyncio.run(main())
    assert replicas == 2
    assert [d.allowed for d in decisions] == expected


def test_closed_failure_policy_refuses_while_redis_is_down(dead_port: int) -> None:
    async def main() -> None:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{dead_port}/0",
            GCRAPolicy(rate=1.0, burst=4),
            clock=FakeClock(start=0.0),
            on_failure="closed",
        )
        try:
            with pytest.raises(LimiterUnavailable, match="on_failure"):
                await store.hit("k")
        finally:
            await store.aclose()

    asyncio.run(main())


@pytest.mark.redis
def test_replicas_count_each_other_through_heartbeats(redis_url: str, redis_prefix: str) -> None:
    async def main() -> list[int]:
        stores = [
            RedisStore.from_url(redis_url, GCRAPolicy(1.0, 1), timeout=2.0, key_prefix=redis_prefix)
            for _ in range(3)
        ]
        try:
            counts = [await s.beat() for s in stores]
            await stores[0].beat()
            return [*counts, stores[0].replicas]
        finally:
            for s in stores:
                await s.aclose()

    assert asyncio.run(main()) == [1, 2, 3, 3]


def test_a_stopped_redis_costs_a_request_at_most_the_timeout(
    redis_server: RedisServer,
) -> None:
    """SIGSTOP: the socket stays open but nothing answers; the breaker must open fast."""

    async def main() -> list[float]:
        store = RedisStore.from_url(
            redis_server.url, GCRAPolicy(rate=1000.0, burst=100), timeout=0.005
        )
        try:
            await store.hit("k")
            assert not store.degraded
            redis_server.pause()
            latencies = []
            for _ in range(20):
                started = time.perf_counter()
                assert (await store.hit("k")).allowed
                latencies.append(time.perf_counter() - started)
            assert store.degraded
            return latencies
        finally:
            redis_server.resume()
            await store.aclose()

    latencies = asyncio.run(main())
    slow = [t for t in latencies if t >= 0.004]
    assert len(slow) <= 3, f"the breaker opens after 3 timeouts in a row: {latencies}"
    assert max(latencies) < 0.02, latencies

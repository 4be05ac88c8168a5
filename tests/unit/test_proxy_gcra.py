"""GCRA math (pure) and the in-process limiter, stepped with a fake clock."""

from __future__ import annotations

import asyncio
import math

import pytest
from _fakes import FakeClock

from proxy import Decision, GCRAPolicy, MemoryStore
from proxy._gcra import MICROS


def run_offers(store: MemoryStore, clock: FakeClock, times: list[float]) -> int:
    admitted = 0
    for t in times:
        clock.now = t
        admitted += store.check("k").allowed
    return admitted


def test_pure_step_admits_exactly_burst_at_one_instant() -> None:
    policy = GCRAPolicy(rate=1e-6, burst=5)
    tat: int | None = None
    now = 1_700_000_000 * MICROS
    verdicts = []
    for _ in range(8):
        decision, tat = policy.step(tat, now)
        verdicts.append(decision.allowed)
    assert verdicts == [True] * 5 + [False] * 3


def test_pure_step_leaves_tat_unchanged_when_refused() -> None:
    policy = GCRAPolicy(rate=1.0, burst=1)
    decision, tat = policy.step(None, 0)
    assert decision.allowed and tat == MICROS
    refused, tat_after = policy.step(tat, MICROS // 2)
    assert not refused.allowed
    assert tat_after == tat
    assert refused.retry_after == pytest.approx(0.5)


def test_burst_then_reject_with_correct_retry_after() -> None:
    clock = FakeClock()
    store = MemoryStore(GCRAPolicy(rate=2.0, burst=3), clock=clock)
    decisions = [store.check("k") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert decisions[-1].reset == pytest.approx(1.5)  # three intervals of 0.5 s to refill

    refused = store.check("k")
    assert refused == Decision(allowed=False, retry_after=0.5, remaining=0, reset=1.5)

    clock.advance(0.3)
    assert store.check("k").retry_after == pytest.approx(0.2)


def test_waiting_one_interval_admits_exactly_one_more() -> None:
    clock = FakeClock()
    store = MemoryStore(GCRAPolicy(rate=4.0, burst=2), clock=clock)
    assert [store.check("k").allowed for _ in range(3)] == [True, True, False]
    clock.advance(0.25 - 1e-3)
    assert not store.check("k").allowed
    clock.advance(1e-3)
    assert store.check("k").allowed
    assert not store.check("k").allowed


def test_idle_limiter_refills_to_full_burst_and_no_more() -> None:
    clock = FakeClock()
    store = MemoryStore(GCRAPolicy(rate=10.0, burst=5), clock=clock)
    assert sum(store.check("k").allowed for _ in range(10)) == 5
    clock.advance(3600)
    assert sum(store.check("k").allowed for _ in range(10)) == 5


def test_keys_are_independent() -> None:
    store = MemoryStore(GCRAPolicy(rate=1e-6, burst=1), clock=FakeClock())
    assert store.check("a").allowed
    assert not store.check("a").allowed
    assert store.check("b").allowed


@pytest.mark.parametrize(("rate", "burst"), [(10.0, 5), (3.0, 1), (50.0, 20)])
def test_long_run_admits_rate_times_span_plus_burst(rate: float, burst: int) -> None:
    """Offered at 3x the rate for 60 s, the admitted count meets the GCRA bound exactly."""
    clock = FakeClock(start=0.0)
    store = MemoryStore(GCRAPolicy(rate=rate, burst=burst), clock=clock)
    step = 1 / (3 * rate)
    offers = [i * step for i in range(round(60 / step) + 1)]  # 0 s .. 60 s inclusive
    admitted = run_offers(store, clock, offers)
    assert admitted == math.floor(rate * 60) + burst


def test_long_run_below_rate_admits_everything() -> None:
    clock = FakeClock(start=0.0)
    store = MemoryStore(GCRAPolicy(rate=10.0, burst=1), clock=clock)
    offers = [i * 0.2 for i in range(300)]
    assert run_offers(store, clock, offers) == 300


def test_hit_is_the_async_face_of_check() -> None:
    store = MemoryStore(GCRAPolicy(rate=1e-6, burst=2), clock=FakeClock())
    results = asyncio.run(_hits(store, 3))
    assert [d.allowed for d in results] == [True, True, False]


async def _hits(store: MemoryStore, n: int) -> list[Decision]:
    return [await store.hit("k") for _ in range(n)]


def test_policy_window_and_interval() -> None:
    policy = GCRAPolicy(rate=4.0, burst=10)
    assert policy.emission_interval_us == 250_000
    assert policy.burst_offset_us == 2_500_000
    assert policy.window == 2.5


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (2e6, 1), (1.0, 0), (1e-12, 5)])
def test_policy_rejects_unusable_values(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        GCRAPolicy(rate=rate, burst=burst)


def test_a_request_over_the_rate_may_reserve_the_next_slot_within_max_wait() -> None:
    policy = GCRAPolicy(rate=10.0, burst=1)  # T = 100 ms
    tat, decisions = None, []
    for _ in range(7):
        decision, tat = policy.step(tat, 0, max_wait_us=500_000)
        decisions.append(decision)
    assert [d.allowed for d in decisions] == [True] * 6 + [False]
    assert [d.wait for d in decisions[:6]] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert decisions[6].retry_after == pytest.approx(0.6), "when it would pass without waiting"
    # reservations spend the rate: the next free slot after them is at 0.6 s
    later, _ = policy.step(tat, 550_000)
    assert not later.allowed and later.retry_after == pytest.approx(0.05)

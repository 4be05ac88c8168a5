"""UpstreamPool on a fake clock: least-outstanding choice, ejection and its end, 503 hints."""

from __future__ import annotations

from typing import Any

import pytest
from _fakes import FakeClock

from proxy._config import UpstreamConfig
from proxy._errors import NoHealthyUpstream
from proxy._metrics import ProxyMetrics
from proxy._upstreams import Upstream, UpstreamPool

A, B, C = "http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003"


def make_pool(
    urls: list[str], **fields: Any
) -> tuple[UpstreamPool, FakeClock, ProxyMetrics, dict[str, Upstream]]:
    clock, metrics = FakeClock(), ProxyMetrics()
    pool = UpstreamPool(UpstreamConfig(urls=urls, **fields), metrics, clock=clock)
    return pool, clock, metrics, {up.url: up for up in pool.upstreams}


def healthy_gauge(metrics: ProxyMetrics, url: str) -> float | None:
    return metrics.registry.get_sample_value("nlpfeat_proxy_upstream_healthy", {"upstream": url})


def errors(metrics: ProxyMetrics, url: str, kind: str) -> float | None:
    return metrics.registry.get_sample_value(
        "nlpfeat_proxy_upstream_errors_total", {"upstream": url, "kind": kind}
    )


def test_picks_the_upstream_with_fewest_outstanding_requests() -> None:
    pool, _, _, up = make_pool([A, B, C])
    up[A].outstanding, up[B].outstanding, up[C].outstanding = 3, 1, 2
    assert pool.pick() is up[B]
    up[B].outstanding = 5
    assert pool.pick() is up[C]
    assert pool.pick(exclude=[up[C]]) is up[A]


def test_ties_go_round_robin() -> None:
    pool, _, _, _ = make_pool([A, B, C])
    assert [pool.pick().url for _ in range(7)] == [A, B, C, A, B, C, A]


def test_ties_among_the_least_loaded_spread_while_busier_ones_wait() -> None:
    pool, _, _, up = make_pool([A, B, C])
    up[B].outstanding = 1
    assert [pool.pick().url for _ in range(4)] == [A, C, A, C]


def test_trailing_slash_is_dropped_from_urls() -> None:
    pool, _, _, _ = make_pool([A + "/"])
    assert pool.pick().url == A


def test_ejected_after_consecutive_failures_and_back_after_eject_seconds() -> None:
    pool, clock, metrics, up = make_pool([A, B], eject_after=3, eject_seconds=5.0)
    for _ in range(2):
        pool.record(up[A], ok=False, kind="connect")
    assert up[A].healthy(clock())
    pool.record(up[A], ok=False, kind="status_5xx")
    assert not up[A].healthy(clock())
    assert healthy_gauge(metrics, A) == 0
    assert healthy_gauge(metrics, B) == 1
    assert errors(metrics, A, "connect") == 2
    assert errors(metrics, A, "status_5xx") == 1
    assert {pool.pick().url for _ in range(4)} == {B}

    clock.now += 4.9
    assert {pool.pick().url for _ in range(4)} == {B}
    clock.now += 0.1
    assert {pool.pick().url for _ in range(4)} == {A, B}


def test_first_failure_after_the_rest_ejects_again_at_once() -> None:
    pool, clock, _, up = make_pool([A, B], eject_after=3, eject_seconds=5.0)
    for _ in range(3):
        pool.record(up[A], ok=False, kind="connect")
    clock.now += 5.0
    assert up[A].healthy(clock())
    pool.record(up[A], ok=False, kind="connect")
    assert not up[A].healthy(clock())
    assert up[A].ejected_until == pytest.approx(clock() + 5.0)


def test_a_success_resets_the_failure_count() -> None:
    pool, clock, _, up = make_pool([A], eject_after=3)
    for _ in range(2):
        pool.record(up[A], ok=False, kind="timeout")
    pool.record(up[A], ok=True)
    assert up[A].consecutive_failures == 0
    for _ in range(2):
        pool.record(up[A], ok=False, kind="timeout")
    assert up[A].healthy(clock())
    assert pool.pick() is up[A]


def test_failures_while_ejected_do_not_extend_the_rest() -> None:
    pool, clock, _, up = make_pool([A], eject_after=1, eject_seconds=5.0)
    pool.record(up[A], ok=False, kind="connect")
    clock.now += 3
    pool.record(up[A], ok=False, kind="connect")
    assert up[A].ejected_until == pytest.approx(105.0)


def test_none_healthy_raises_503_with_retry_after_of_the_first_to_return() -> None:
    pool, clock, _, up = make_pool([A, B], eject_after=1, eject_seconds=5.0)
    pool.record(up[A], ok=False, kind="connect")
    clock.now += 2.5
    pool.record(up[B], ok=False, kind="connect")
    with pytest.raises(NoHealthyUpstream) as caught:
        pool.pick()
    exc = caught.value
    assert (exc.status, exc.title, exc.problem) == (503, "Service Unavailable", "no-upstream")
    assert exc.retry_after == 3  # A returns in 2.5 s, rounded up
    assert A in exc.detail and B in exc.detail and "ejected" in exc.detail
    assert exc.upstream == f"{A}, {B}"

    clock.now += 2.4
    with pytest.raises(NoHealthyUpstream) as caught:
        pool.pick()
    assert caught.value.retry_after == 1, "at least one second"
    clock.now += 0.1
    assert pool.pick() is up[A]


def test_failing_readiness_check_waits_for_the_next_check() -> None:
    pool, _, _, up = make_pool([A], check_interval=2.0)
    up[A].check_ok = False
    with pytest.raises(NoHealthyUpstream) as caught:
        pool.pick()
    assert caught.value.retry_after == 2


def test_excluded_upstreams_are_never_picked() -> None:
    pool, _, _, up = make_pool([A, B])
    with pytest.raises(NoHealthyUpstream):
        pool.pick(exclude=[up[A], up[B]])


def test_snapshot_reports_each_upstream() -> None:
    pool, clock, _, up = make_pool([A, B], eject_after=2, eject_seconds=5.0)
    up[A].outstanding = 2
    pool.record(up[B], ok=False, kind="connect")
    pool.record(up[B], ok=False, kind="connect")
    clock.now += 1.25
    assert pool.snapshot() == [
        {
            "url": A,
            "healthy": True,
            "outstanding": 2,
            "consecutive_failures": 0,
            "ejected_for": 0.0,
            "check": "ok",
        },
        {
            "url": B,
            "healthy": False,
            "outstanding": 0,
            "consecutive_failures": 2,
            "ejected_for": 3.75,
            "check": "ok",
        },
    ]


def test_snapshot_refreshes_the_healthy_gauge_once_the_rest_is_over() -> None:
    pool, clock, metrics, up = make_pool([A], eject_after=1, eject_seconds=5.0)
    pool.record(up[A], ok=False, kind="connect")
    assert healthy_gauge(metrics, A) == 0
    clock.now += 5
    pool.snapshot()
    assert healthy_gauge(metrics, A) == 1

"""Prometheus metrics of one proxy replica, served at ``GET /_proxy/metrics``.

Each app owns its own ``CollectorRegistry`` so that several proxies in one process (tests,
benchmarks) never share counters.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "ProxyMetrics"]

_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ProxyMetrics:
    """Every metric the proxy exports; label values are client names, classes, upstream URLs."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.admitted = Counter(
            "nlpfeat_proxy_admitted", "Requests forwarded upstream", ["client", "class"], registry=r
        )
        self.queued = Counter(
            "nlpfeat_proxy_queued",
            "Requests that waited in their client's queue (rate or capacity)",
            ["client", "class"],
            registry=r,
        )
        self.rejected = Counter(
            "nlpfeat_proxy_rejected",
            "Requests answered by the proxy itself with 4xx/5xx; reason: rate, queue_full, "
            "deadline, in_flight, unauthenticated, disabled, client_gone, no_upstream",
            ["client", "class", "reason"],
            registry=r,
        )
        self.would_reject = Counter(
            "nlpfeat_proxy_dry_run_would_reject",
            "Dry-run mode: requests that would have been refused or queued",
            ["client", "class", "reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "nlpfeat_proxy_queue_depth", "Requests waiting per client", ["client"], registry=r
        )
        self.in_flight = Gauge(
            "nlpfeat_proxy_in_flight", "Requests being forwarded, per class", ["class"], registry=r
        )
        self.wait_seconds = Histogram(
            "nlpfeat_proxy_wait_seconds",
            "Time a forwarded request spent in the proxy before going upstream",
            ["class"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "nlpfeat_proxy_upstream_latency_seconds",
            "Upstream response time (to the response headers)",
            ["upstream"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "nlpfeat_proxy_upstream_errors",
            "Upstream failures; kind: connect, timeout, disconnect, protocol, status_5xx, check",
            ["upstream", "kind"],
            registry=r,
        )
        self.upstream_healthy = Gauge(
            "nlpfeat_proxy_upstream_healthy",
            "1 while the upstream takes traffic, 0 while ejected or failing /readyz",
            ["upstream"],
            registry=r,
        )
        self.redis_errors = Counter(
            "nlpfeat_proxy_redis_errors", "Redis calls that failed or timed out", registry=r
        )
        self.breaker_open = Gauge(
            "nlpfeat_proxy_redis_breaker_open",
            "1 while Redis is considered down and limits are enforced locally",
            registry=r,
        )
        self.replicas = Gauge(
            "nlpfeat_proxy_replicas", "Proxy replicas seen through Redis heartbeats", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

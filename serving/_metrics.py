"""Prometheus metrics of the serving app, per model and version, in a registry of its own.

serving_requests_total{model, version, route, code}     answered requests
serving_request_seconds{model, version, route}          latency (histogram)
serving_errors_total{model, version, route, type}       requests answered with an error
serving_rejected_total{route}                           503s for too many in flight
serving_model_loads_total{model, version}               versions loaded and swapped in
serving_model_load_failures_total{model, version}       versions that failed to load
serving_model_version{model}                            the version now served (0: none)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from ._errors import ServingError
from ._model import LoadedModel

__all__ = ["CONTENT_TYPE_LATEST", "ServingMetrics"]

_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class ServingMetrics:
    """The app's counters; `track` times one request on the model version answering it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        kw: dict[str, Any] = {"registry": self.registry}
        served = ("model", "version", "route")
        self.requests = Counter("serving_requests", "requests answered", (*served, "code"), **kw)
        self.latency = Histogram(
            "serving_request_seconds", "time to answer", served, buckets=_BUCKETS, **kw
        )
        self.errors = Counter("serving_errors", "error answers", (*served, "type"), **kw)
        self.rejected = Counter("serving_rejected", "refused: too many in flight", ("route",), **kw)
        self.loads = Counter("serving_model_loads", "versions loaded", ("model", "version"), **kw)
        self.load_failures = Counter(
            "serving_model_load_failures",
            "versions that failed to load",
            ("model", "version"),
            **kw,
        )
        self.version = Gauge("serving_model_version", "version served", ("model",), **kw)

    @contextmanager
    def track(self, route: str, model: LoadedModel) -> Iterator[None]:
        """Count and time the block as one request of `route` answered by `model`."""
        start = time.perf_counter()
        code, kind = 200, ""
        try:
            yield
        except ServingError as exc:
            code, kind = exc.status, exc.slug
            raise
        except Exception:
            code, kind = 500, "internal-error"
            raise
        finally:
            labels = (model.name, str(model.version), route)
            self.latency.labels(*labels).observe(time.perf_counter() - start)
            self.requests.labels(*labels, str(code)).inc()
            if kind:
                self.errors.labels(*labels, kind).inc()

    def loaded(self, name: str, version: int) -> None:
        self.loads.labels(name, str(version)).inc()
        self.version.labels(name).set(version)

    def failed(self, name: str, version: int) -> None:
        self.load_failures.labels(name, str(version)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus metrics: docs, tokens, errors and latency per analyzer and op.

With several uvicorn workers, `PROMETHEUS_MULTIPROC_DIR` (set by `nlp_api.run` before the
workers start) makes every worker write its samples there; each worker's app is given that
directory (`multiprocess_dir`) and `/metrics` sums the samples found in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_collect_from_dir: Callable[..., object] = multiprocess.MultiProcessCollector
"""Registers on the registry it is given the samples of every worker's files in `path`."""
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


Results = list[dict[str, Any]]


class Metrics:
    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        labels = ("analyzer", "op")
        kw: dict[str, Any] = {"registry": self.registry}
        self.docs = Counter("nlp_docs", "documents analysed", labels, **kw)
        self.tokens = Counter("nlp_tokens", "tokens produced", labels, **kw)
        self.errors = Counter("nlp_doc_errors", "documents that failed", (*labels, "type"), **kw)
        self.latency = Histogram(
            "nlp_request_seconds", "time to analyse one request", labels, buckets=_BUCKETS, **kw
        )

    @contextmanager
    def track(self, analyzer: str, op: str) -> Iterator[Callable[[Results], None]]:
        """Time the block; call the yielded function with the per-doc results to count them."""
        start = time.perf_counter()

        def record(results: Results) -> None:
            self.docs.labels(analyzer, op).inc(len(results))
            tokens = 0
            for r in results:
                if "error" in r:
                    self.errors.labels(analyzer, op, r["error"]["type"]).inc()
                else:
                    tokens += len(next((v for k, v in r.items() if k in _TOKEN_KEYS), ()))
            self.tokens.labels(analyzer, op).inc(tokens)

        yield record
        self.latency.labels(analyzer, op).observe(time.perf_counter() - start)

    def exposition(self) -> bytes:
        if self.multiprocess_dir:
            merged = CollectorRegistry()
            _collect_from_dir(merged, path=self.multiprocess_dir)
            return generate_latest(merged)
        return generate_latest(self.registry)


_TOKEN_KEYS = ("tokens", "morphs", "nouns", "terms", "indices")

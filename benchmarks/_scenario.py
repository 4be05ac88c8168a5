"""What every scenario is handed: the options, the fleet, the progress display; and the few
measurements they share (waiting for a moment, reading a proxy's or model's counters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from _fleet import Fleet, LoadRun
from _load import Recording
from _report import Ui
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = ["Context", "Options", "metric", "metrics", "model_busy", "run_load"]


@dataclass(frozen=True)
class Options:
    """Command-line knobs; the defaults are the goals' own figures."""

    duration: float = 60.0
    outage: float = 20.0
    rate: float = 100.0
    burst: int = 20
    slots: int = 16
    base_ms: float = 20.0
    per_doc_ms: float = 2.0
    reserved: float = 0.25
    batch_docs: int = 64
    pin: bool = False
    """Latency: the API on one CPU, the proxy, Redis and the load generator on the other, as
    in a deployment where the proxy does not take the API's cores."""
    preempt: bool = True
    """Fairness: the model API serves interactive requests between a batch's docs (as the
    nlp_api's priority turns do); False: a strict FIFO of slots (an API without them)."""


@dataclass
class Context:
    options: Options
    fleet: Fleet
    ui: Ui

    def load(self, description: str, streams: list[dict[str, Any]]) -> dict[str, Recording]:
        """Run ``streams`` in a generator process to the end, with a progress bar."""
        return run_load(self, description, self.fleet.start_load(streams))


def run_load(
    ctx: Context,
    description: str,
    run: LoadRun,
    during: Callable[[], None] | None = None,
) -> dict[str, Recording]:
    """Wait for ``run`` (calling ``during`` every ~0.1 s meanwhile); return its recordings."""
    with ctx.ui.timed(description, run.start_at, run.end) as advance:

        def tick() -> None:
            advance()
            if during:
                during()

        result = run.wait(tick)
    return {name: Recording(cols) for name, cols in result["streams"].items()}


def metrics(url: str) -> list[Sample]:
    """Every sample on a Prometheus page (``/_proxy/metrics``)."""
    text = httpx.get(url, timeout=5.0).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def metric(samples: list[Sample], name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0.0 if none)."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def model_busy(url: str) -> float:
    """Slot-seconds the model upstream has been busy since it started."""
    return float(httpx.get(f"{url}/_model/stats", timeout=5.0).json()["busy_seconds"])

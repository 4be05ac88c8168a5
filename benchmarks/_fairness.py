"""Interactive traffic beside two saturating batch clients, on an upstream of known capacity.

Capacity: the model upstream serves ``slots`` requests at once, each for ``base + per_doc *
docs`` ms, so it delivers exactly ``slots`` slot-seconds per second. "20% of capacity" is an
interactive Poisson stream of single sentences whose offered work is ``rate * (base +
per_doc) = 0.2 * slots``. Utilisation is the model's busy slot-seconds over ``slots * t``.

By default the model serves interactive requests between a batch's docs, as the real API's
priority turns do (``model_upstream.py --preempt``). The proxy then has ``max_in_flight =
slots + R`` with the last ``R = ceil(slots * --reserved)`` kept for interactive: batch fills
every slot, and an interactive request that finds them all busy goes upstream at once and
takes the next doc boundary there instead of waiting for a 64-doc batch to end. R is sized
for the interactive stream's peaks, not its mean: at 20% of 16 slots, 3.2 requests are in
flight on average, and a Poisson count with that mean exceeds 8 in 0.6% of instants but 4
in 22% (the default ``--reserved 0.5`` gives 8; 0.25 gave p99 1.69x in a 30 s run). With
``--fifo`` the model is an API without priority turns: the proxy has ``max_in_flight =
slots`` and ``interactive_reserved = --reserved`` of them, which batch may not take.

Phase 1 measures the interactive stream alone (its unloaded p99), phase 2 the same stream
while batch client A runs ``slots - reserved`` closed-loop workers of 64-doc batches and
client B ten times as many. Batch shares are compared with Jain's fairness index,
``(sum x)^2 / (n * sum x^2)`` over the clients' completed requests per second.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from _load import Recording
from _proxy_config import ClientSpec, ProxySpec
from _report import Outcome
from _scenario import Context, Options, metric, metrics, model_busy, run_load

__all__ = ["fairness", "jain"]

_WARM = 3.0
"""Seconds batch runs alone first, and that interactive runs before it is measured."""
_BATCH = ("batch-a", "batch-b")


def jain(shares: list[float]) -> float:
    """Jain's fairness index: 1 when all shares are equal, 1/n when one takes everything."""
    total, squares = sum(shares), sum(x * x for x in shares)
    return total * total / (len(shares) * squares) if squares else float("nan")


@dataclass(frozen=True)
class _Plan:
    """The scenario's figures, derived from the options."""

    slots: int
    reserved: int
    preempt: bool
    s_int: float
    s_batch: float
    docs: int
    duration: float

    @classmethod
    def of(cls, o: Options) -> _Plan:
        return cls(
            slots=o.slots,
            reserved=min(o.slots - 1, math.ceil(o.slots * o.reserved)),
            preempt=o.preempt,
            s_int=(o.base_ms + o.per_doc_ms) / 1000,
            s_batch=(o.base_ms + o.per_doc_ms * o.batch_docs) / 1000,
            docs=o.batch_docs,
            duration=o.duration,
        )

    @property
    def rate(self) -> float:
        return 0.2 * self.slots / self.s_int

    @property
    def workers(self) -> int:
        return self.slots if self.preempt else max(1, self.slots - self.reserved)

    @property
    def max_in_flight(self) -> int:
        return self.slots + self.reserved if self.preempt else self.slots

    @property
    def reserved_share(self) -> float:
        """``capacity.interactive_reserved``: the reserve as a share of ``max_in_flight``."""
        return self.reserved / self.max_in_flight

    def describe(self) -> str:
        return (
            f"model upstream: capacity {self.slots} slot-s/s ({self.slots} slots; 1 doc "
            f"{self.s_int * 1000:g} ms, {self.docs} docs {self.s_batch * 1000:g} ms); interactive "
            f"20% = {self.rate:.0f} req/s Poisson x {self.s_int * 1000:g} ms = "
            f"{0.2 * self.slots:g} slot-s/s; "
            + (
                "interactive served between batch docs; "
                if self.preempt
                else "strict FIFO of slots; "
            )
            + f"proxy max_in_flight {self.max_in_flight}, {self.reserved} "
            f"reserved; batch A x{self.workers}, B x{10 * self.workers} closed loop; "
            f"{self.duration:g} s measured after {2 * _WARM:g} s warm-up"
        )


def _clients(slots: int) -> list[ClientSpec]:
    many = {"rate": 1e5, "burst": 100_000, "max_in_flight": slots, "queue_cap": 10_000}
    return [
        ClientSpec("web", "interactive", max_wait=30.0, **many),
        *(ClientSpec(name, "batch", max_wait=120.0, **many) for name in _BATCH),
    ]


def fairness(ctx: Context) -> Outcome:
    o, plan = ctx.options, _Plan.of(ctx.options)
    model = ctx.fleet.model(plan.slots, o.base_ms, o.per_doc_ms, preempt=plan.preempt)
    clients = _clients(plan.max_in_flight)
    spec = ProxySpec(
        [model.url],
        clients,
        max_in_flight=plan.max_in_flight,
        interactive_reserved=plan.reserved_share,
    )
    proxy = ctx.fleet.proxy(spec)
    web, a, b = clients
    alone_s = max(3.0, plan.duration / 3)
    interactive = {
        "name": "web",
        "mode": "open",
        "rate": plan.rate,
        "urls": [proxy.url],
        "api_key": web.key,
        "duration": alone_s,
        "seed": 1,
    }
    alone = ctx.load(f"interactive alone, {plan.rate:.0f} req/s, {alone_s:g} s", [interactive])
    base = alone["web"].where(alone["web"].send >= alone["web"].send.min() + 1.0)
    batch = [
        {
            "name": c.name,
            "mode": "closed",
            "concurrency": k,
            "urls": [proxy.url],
            "api_key": c.key,
            "docs": plan.docs,
            "duration": plan.duration + 2 * _WARM,
        }
        for c, k in ((a, plan.workers), (b, 10 * plan.workers))
    ]
    loaded = dict(interactive, start=_WARM, duration=plan.duration + _WARM, seed=2)
    run = ctx.fleet.start_load([*batch, loaded])
    moments = (run.start_at + 2 * _WARM, run.start_at + 2 * _WARM + plan.duration)
    marks: list[dict[str, Any]] = []

    def during() -> None:
        if len(marks) < 2 and time.monotonic() >= moments[len(marks)]:
            marks.append(
                {"t": time.monotonic(), "busy": model_busy(model.url), "held": _held(proxy.url)}
            )

    label = f"interactive + batch A x{plan.workers}, B x{10 * plan.workers}"
    recs = run_load(ctx, label, run, during)
    start, end = marks
    span = end["t"] - start["t"]
    window = {name: r.between(start["t"], end["t"]) for name, r in recs.items()}
    out = Outcome("fairness", plan.describe())
    util = (end["busy"] - start["busy"]) / (plan.slots * span)
    _goal_rows(out, base, window, span, util)
    held = [e - s for s, e in zip(start["held"], end["held"], strict=True)]
    _info_rows(out, plan, window, span, held[1] / max(1.0, held[0]))
    return out


def _held(proxy: str) -> tuple[float, float]:
    """Interactive requests admitted so far, and those held over 5 ms in the proxy first."""
    samples = metrics(f"{proxy}/_proxy/metrics")
    name, klass = "nlpfeat_proxy_wait_seconds", {"class": "interactive"}
    count = metric(samples, f"{name}_count", **klass)
    return count, count - metric(samples, f"{name}_bucket", le="0.005", **klass)


def _goal_rows(
    out: Outcome, base: Recording, window: dict[str, Recording], span: float, util: float
) -> None:
    web = window["web"]
    ok = web.status == 200
    p99_alone, p99_loaded = base.quantile_ms(0.99), web.quantile_ms(0.99, ok)
    refused = int((~ok).sum()) + int((base.status != 200).sum())
    shares = [window[n].count(200) / span for n in _BATCH]
    index = jain(shares)
    out.figures.update(
        p99_alone_ms=p99_alone,
        p99_loaded_ms=p99_loaded,
        p50_alone_ms=base.quantile_ms(0.5),
        p50_loaded_ms=web.quantile_ms(0.5, ok),
        interactive_refused=refused,
        shares=shares,
        jain=index,
        utilisation=util,
        n_interactive=len(web),
    )
    out.add(
        "interactive p99 loaded / unloaded",
        "<= 1.2x",
        f"{p99_loaded / p99_alone:.2f}x ({p99_alone:.1f} -> {p99_loaded:.1f} ms)",
        p99_loaded <= 1.2 * p99_alone,
    )
    out.add("interactive refused / failed", "0", str(refused), refused == 0)
    out.add(
        "batch shares, Jain's index",
        ">= 0.95",
        f"{index:.3f} (A {shares[0]:.1f}/s, B {shares[1]:.1f}/s)",
        index >= 0.95,
    )
    out.add("total, share of capacity", ">= 95%", f"{util:.1%}", util >= 0.95)


def _info_rows(
    out: Outcome, plan: _Plan, window: dict[str, Recording], span: float, held: float
) -> None:
    capacity = plan.slots * span
    interactive = window["web"].count(200) * plan.s_int / capacity
    batch = sum(window[n].count(200) for n in _BATCH) * plan.s_batch / capacity
    out.figures.update(
        rate=plan.rate,
        slots=plan.slots,
        reserved=plan.reserved,
        held_over_5ms=held,
        work_interactive=interactive,
        work_batch=batch,
    )
    out.add("interactive held > 5 ms in the proxy", "info", f"{held:.1%} (wait histogram)", None)
    out.add("nominal work: interactive / batch", "info", f"{interactive:.1%} / {batch:.1%}", None)

"""Scenarios for the rate limit itself: one replica, two replicas, Redis stopped.

Each runs on an own ``redis-server`` and a no-op upstream (``model_upstream.py --slots 0``), so
what is measured is the limiter, not the NLP API. The client refuses over-rate requests at
once (``queue_cap = 0``): every request is either admitted (200) or refused (429).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import numpy as np
from _load import Recording
from _proxy_config import ClientSpec, ProxySpec
from _report import Outcome
from _scenario import Context, metric, metrics, run_load
from _servers import Server

__all__ = ["one_replica", "redis_outage", "two_replicas"]

_CLIENT = "limited"
_POLL = 0.05
_WAIT = "nlpfeat_proxy_wait_seconds"


def _limited_proxies(ctx: Context, n: int, redis: Server, upstream: Server) -> list[Server]:
    o = ctx.options
    client = ClientSpec(_CLIENT, "batch", rate=o.rate, burst=o.burst, queue_cap=0, max_wait=0)
    spec = ProxySpec([upstream.url], [client], redis_url=redis.url, replicas=n, key_prefix="bench")
    return [ctx.fleet.proxy(spec, name=f"proxy-{i + 1}") for i in range(n)]


def _stream(urls: list[str], rate: float, duration: float) -> dict[str, Any]:
    key = ClientSpec(_CLIENT).key
    return {
        "name": _CLIENT,
        "mode": "open",
        "rate": rate,
        "poisson": False,
        "urls": urls,
        "route": "round-robin",
        "api_key": key,
        "duration": duration,
    }


def _admission(
    ctx: Context, replicas: int, scenario: str, setup: str
) -> tuple[Outcome, Recording, float, int, int]:
    """3R offered to `replicas` proxies sharing one Redis: the scenario's outcome, the
    recording, R·T+B, and the admitted and refused counts (also in the outcome's figures)."""
    o = ctx.options
    out = Outcome(scenario, setup)
    redis, upstream = ctx.fleet.redis(), ctx.fleet.model(slots=0)
    proxies = _limited_proxies(ctx, replicas, redis, upstream)
    ctx.ui.note(f"{replicas} proxy replica(s) on {redis.url}, offering {3 * o.rate:g} req/s")
    stream = _stream([p.url for p in proxies], 3 * o.rate, o.duration)
    rec = ctx.load(f"offered 3R for {o.duration:g} s", [stream])[_CLIENT]
    admitted, refused = rec.count(200), rec.count(429)
    out.figures.update(
        admitted=admitted,
        refused=refused,
        other=len(rec) - admitted - refused,
        span=rec.span(),
        sent=len(rec),
        errors=rec.errors,
    )
    return out, rec, o.rate * o.duration + o.burst, admitted, refused


def one_replica(ctx: Context) -> Outcome:
    o = ctx.options
    out, rec, nominal, admitted, refused = _admission(
        ctx,
        1,
        "one-replica",
        f"1 replica, Redis limiter, R={o.rate:g}/s B={o.burst}, {3 * o.rate:g} req/s fixed-rate "
        f"for {o.duration:g} s, queue_cap 0 (no-op upstream)",
    )
    bound = o.rate * rec.span() + o.burst
    out.figures.update(nominal=nominal, bound=bound, rate=o.rate, burst=o.burst)
    off = admitted / nominal - 1
    out.add(
        "admitted vs R·T+B",
        f"{nominal:.0f} ±1%",
        f"{admitted} ({off:+.2%}; {refused} refused)",
        abs(off) <= 0.01 and admitted + refused == len(rec),
    )
    out.add("never above the GCRA bound", f"<= {bound:.0f}", str(admitted), admitted <= bound)
    return out


def two_replicas(ctx: Context) -> Outcome:
    o = ctx.options
    setup = f"2 replicas sharing one Redis, R={o.rate:g}/s B={o.burst}, {3 * o.rate:g} req/s "
    setup += f"round-robin over both for {o.duration:g} s"
    out, rec, nominal, admitted, refused = _admission(ctx, 2, "two-replicas", setup)
    limit = 1.02 * o.rate * o.duration + o.burst
    split = [int(((rec.route == i) & (rec.status == 200)).sum()) for i in (0, 1)]
    out.figures.update(nominal=nominal, limit=limit, per_replica=split)
    out.add(
        "total admitted",
        f"<= {limit:.0f}",
        f"{admitted} ({admitted / nominal - 1:+.2%} vs R·T+B; {split[0]}+{split[1]})",
        admitted <= limit and admitted + refused == len(rec),
    )
    return out


class _Watch:
    """Polls each replica's /_proxy/healthz and records (time, degraded)."""

    def __init__(self, proxies: list[Server]) -> None:
        self.proxies = proxies
        self.samples: list[tuple[float, bool]] = []
        self._next = 0.0
        self._http = httpx.Client(timeout=1.0)

    def poll(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + _POLL
        try:
            degraded = any(
                self._http.get(f"{p.url}/_proxy/healthz").json()["degraded"] for p in self.proxies
            )
        except httpx.HTTPError:
            degraded = True
        self.samples.append((time.monotonic(), degraded))

    def first(self, after: float, degraded: bool) -> float | None:
        for t, d in self.samples:
            if t >= after and d is degraded:
                return t - after
        return None

    def close(self) -> None:
        self._http.close()


def _delayed(proxies: list[Server]) -> tuple[float, float]:
    """Admitted requests so far, and those of them held over 10 ms inside the proxies."""
    total = slow = 0.0
    for p in proxies:
        samples = metrics(f"{p.url}/_proxy/metrics")
        count = metric(samples, f"{_WAIT}_count")
        total += count
        slow += count - metric(samples, f"{_WAIT}_bucket", le="0.01")
    return total, slow


def redis_outage(ctx: Context) -> Outcome:
    o = ctx.options
    pre, post = min(5.0, o.outage / 2), 5.0
    out = Outcome(
        "redis-outage",
        f"2 replicas (replicas = 2), Redis SIGSTOPped for {o.outage:g} s under {1.5 * o.rate:g} "
        f"req/s (1.5R, R={o.rate:g}/s B={o.burst}); redis timeout_ms 5, probe 0.25 s; "
        "no-op upstream; healthz polled every 50 ms",
    )
    redis, upstream = ctx.fleet.redis(), ctx.fleet.model(slots=0)
    proxies = _limited_proxies(ctx, 2, redis, upstream)
    stream = _stream([p.url for p in proxies], 1.5 * o.rate, pre + o.outage + post)
    stream["poisson"] = True
    run = ctx.fleet.start_load([stream])
    stop_at, cont_at = run.start_at + pre, run.start_at + pre + o.outage
    watch = _Watch(proxies)
    marks: dict[str, Any] = {}

    def during() -> None:
        now = time.monotonic()
        if "stop" not in marks and now >= stop_at:
            marks["before"] = _delayed(proxies)
            os.kill(redis.proc.pid, signal.SIGSTOP)
            marks["stop"] = time.monotonic()
            ctx.ui.note(f"Redis stopped (SIGSTOP pid {redis.proc.pid})")
        elif "stop" in marks and "cont" not in marks and now >= cont_at:
            os.kill(redis.proc.pid, signal.SIGCONT)
            marks["cont"] = time.monotonic()
            marks["after"] = _delayed(proxies)
            ctx.ui.note("Redis continued (SIGCONT)")
        watch.poll()

    try:
        rec = run_load(
            ctx, f"Redis down {o.outage:g} s of {pre + o.outage + post:g} s", run, during
        )[_CLIENT]
    finally:
        watch.close()
        os.kill(redis.proc.pid, signal.SIGCONT)
    _outage_rows(out, rec, watch, marks, o.rate, len(proxies))
    return out


def _outage_rows(
    out: Outcome, rec: Recording, watch: _Watch, marks: dict[str, Any], rate: float, n: int
) -> None:
    stop, cont = marks["stop"], marks["cont"]
    down = rec.between(stop, cont)
    length = cont - stop
    admitted = down.count(200)
    per_s = admitted / length
    (n0, slow0), (n1, slow1) = marks["before"], marks["after"]
    slow, held = slow1 - slow0, n1 - n0
    lat = down.latency * 1000
    normal = rec.between(rec.send.min() + 1.0, stop).quantile_ms(0.5)
    worst = float(lat.max()) if len(lat) else float("nan")
    over = int((lat - normal > 10).sum())
    recovered = watch.first(cont, degraded=False)
    tripped = watch.first(stop, degraded=True)
    errors = rec.server_errors()
    out.figures.update(
        outage_s=length,
        admitted_down=admitted,
        per_s=per_s,
        sent_down=len(down),
        slow_in_proxy=slow,
        admitted_in_window=held,
        e2e_max_ms=worst,
        e2e_normal_p50_ms=normal,
        e2e_over_10ms=over,
        e2e_p999_ms=float(np.quantile(lat, 0.999)) if len(lat) else None,
        recovered_s=recovered,
        tripped_s=tripped,
        server_errors=errors,
        replicas=n,
        admitted_total=rec.count(200),
        sent_total=len(rec),
    )
    out.add(
        "admitted while Redis is down",
        f"<= {1.1 * rate:g}/s (1.1R)",
        f"{per_s:.1f}/s ({admitted} in {length:.1f} s, {len(down)} sent)",
        per_s <= 1.1 * rate,
    )
    out.add(
        "held > 10 ms in the proxy (admitted)",
        "0",
        f"{slow:.0f} of {held:.0f} (wait histogram)",
        slow == 0,
    )
    out.add(
        "end-to-end > 10 ms over normal",
        "0",
        f"{over} of {len(down)}; max {worst:.1f} ms, normal p50 {normal:.1f} ms",
        over == 0,
    )
    out.add("5xx / connection errors", "0", str(errors), errors == 0)
    out.add(
        "shared again after SIGCONT",
        "<= 2 s",
        "never" if recovered is None else f"{recovered:.2f} s",
        recovered is not None and recovered <= 2.0,
    )
    out.add(
        "degraded after SIGSTOP",
        "info",
        "never" if tripped is None else f"{tripped:.2f} s",
        None,
    )

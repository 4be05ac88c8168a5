"""Scenarios for the cost of the hop: added latency in front of the real API, and forwarding
throughput per proxy CPU-second in front of a no-op upstream."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import numpy as np
from _load import Recording
from _proxy_config import ClientSpec, ProxySpec
from _report import Outcome
from _scenario import Context, run_load
from _servers import Server

__all__ = ["latency", "throughput"]

_BLOCK = 2.0
"""Seconds per turn when alternating direct / proxied; below uvicorn's 5 s keep-alive."""


def _open_client(name: str, klass: str = "interactive") -> ClientSpec:
    return ClientSpec(name, klass, rate=1e5, burst=100_000, max_in_flight=1000, queue_cap=0)


@contextlib.contextmanager
def _pinned(on: bool) -> Iterator[int | None]:
    """With ``on`` and two or more CPUs: everything started meanwhile (proxy, Redis, load
    generator) runs on the second CPU, as children inherit this process's affinity; yields
    the first, for ``_pin_api``. Restored afterwards."""
    before = os.sched_getaffinity(0)
    cpus = sorted(before)
    if not on or len(cpus) < 2:
        yield None
        return
    os.sched_setaffinity(0, {cpus[1]})
    try:
        yield cpus[0]
    finally:
        os.sched_setaffinity(0, before)


def _pin_api(server: Server, cpu: int) -> None:
    """Every thread of the API process (and of its children) onto ``cpu``."""
    for proc in (server.process, *server.process.children(recursive=True)):
        for thread in proc.threads():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(thread.id, {cpu})


def latency(ctx: Context) -> Outcome:
    with _pinned(ctx.options.pin) as api_cpu:
        return _latency(ctx, api_cpu)


def _latency(ctx: Context, api_cpu: int | None) -> Outcome:
    o = ctx.options
    cap_s = max(3.0, min(10.0, o.duration / 6))
    seq_s = max(4.0, min(10.0, o.duration / 6))
    ctx.ui.note("starting the NLP API (mecab), an own Redis and the proxy")
    api, redis = ctx.fleet.api(), ctx.fleet.redis()
    if api_cpu is not None:
        _pin_api(api, api_cpu)
    client = _open_client("web")
    proxy = ctx.fleet.proxy(ProxySpec([api.url], [client], redis_url=redis.url))
    both = {"urls": [api.url, proxy.url], "api_key": client.key}
    warm = {"name": "warm", "mode": "closed", "concurrency": 4, "duration": 2.0, **both}
    cap = {
        "name": "capacity",
        "mode": "closed",
        "concurrency": 8,
        "urls": [api.url],
        "start": 2.5,
        "duration": cap_s,
    }
    rec = ctx.load(f"API capacity (closed loop, 8 workers, {cap_s:g} s)", [warm, cap])["capacity"]
    capacity = rec.count(200) / cap_s
    rate = capacity / 2
    ctx.ui.note(f"API capacity {capacity:.0f} req/s; open loop at {rate:.0f} req/s")
    turns = {"route": "blocks", "block": _BLOCK, **both}
    half = {"name": "half", "mode": "open", "rate": rate, "duration": 2 * o.duration, **turns}
    one = {"name": "one", "mode": "closed", "concurrency": 1, "duration": 2 * seq_s, **turns}
    rec = ctx.load(f"Poisson {rate:.0f} req/s, direct/proxy in {_BLOCK:g} s turns", [half])["half"]
    seq = ctx.load("one request at a time, direct/proxy in turns", [one])["one"]
    out = Outcome(
        "latency",
        f"real NLP API (mecab, 1 worker), single sentences; capacity = closed-loop max "
        f"{capacity:.0f} req/s; Poisson {rate:.0f} req/s (50%) for {o.duration:g} s each way, "
        f"alternating {_BLOCK:g} s turns; proxy: interactive key, Redis limiter, high limit"
        + (
            "; pinned: API on CPU 0, proxy, Redis and load generator on CPU 1"
            if api_cpu is not None
            else "; API, proxy, Redis and load generator share both cores"
        ),
    )
    out.figures = {"capacity": capacity, "rate": rate, "lag_p99_ms": _lag(rec)}
    for q, limit in ((0.5, 1.0), (0.99, 5.0)):
        d, p = _added(out, rec, q, "half")
        out.add(
            f"added latency p{q * 100:g}",
            f"<= {limit:g} ms",
            f"{p - d:+.2f} ms ({d:.2f} -> {p:.2f})",
            p - d <= limit,
        )
    d, p = _added(out, seq, 0.5, "one")
    out.add(
        "added p50, one request at a time", "info", f"{p - d:+.2f} ms ({d:.2f} -> {p:.2f})", None
    )
    errors = len(rec) - rec.count(200) + len(seq) - seq.count(200)
    out.figures["not_ok"] = errors
    out.add("errors (non-200)", "0", str(errors), errors == 0)
    return out


def _added(out: Outcome, rec: Recording, q: float, label: str) -> tuple[float, float]:
    """Latency quantile ``q`` (ms) of the direct and the proxied requests of ``rec``."""
    ok = rec.status == 200
    d = rec.quantile_ms(q, ok & (rec.route == 0))
    p = rec.quantile_ms(q, ok & (rec.route == 1))
    out.figures[f"{label}_p{q * 100:g}"] = {"direct": d, "proxy": p, "n": int(ok.sum())}
    return d, p


def _lag(rec: Recording) -> float:
    return float(np.quantile(rec.lag, 0.99) * 1000) if len(rec) else float("nan")


def throughput(ctx: Context) -> Outcome:
    o = ctx.options
    length = min(o.duration, 20.0)
    upstream = ctx.fleet.model(slots=0)
    client = _open_client("load", "batch")
    proxy = ctx.fleet.proxy(ProxySpec([upstream.url], [client], max_in_flight=1000))
    stream = {
        "name": "load",
        "mode": "closed",
        "concurrency": 32,
        "urls": [proxy.url],
        "api_key": client.key,
        "duration": length + 1.5,
    }
    run = ctx.fleet.start_load([stream])
    t0, t1 = run.start_at + 1.0, run.start_at + 1.0 + length
    marks: dict[str, float] = {}

    def during() -> None:
        now = time.monotonic()
        if "cpu0" not in marks and now >= t0:
            marks.update(cpu0=proxy.cpu_seconds(), up0=upstream.cpu_seconds(), w0=now)
        if "cpu1" not in marks and now >= t1:
            marks.update(cpu1=proxy.cpu_seconds(), up1=upstream.cpu_seconds(), w1=now)

    rec = run_load(ctx, f"no-op upstream, closed loop x32, {length:g} s", run, during)["load"]
    window = rec.between(marks["w0"], marks["w1"])
    wall = marks["w1"] - marks["w0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    n = window.count(200)
    per_core = n / cpu if cpu > 0 else float("nan")
    out = Outcome(
        "throughput",
        f"no-op upstream, in-process limiter, closed loop 32 connections for {length:g} s; "
        "proxy CPU = user+sys of its process (psutil); generator and upstream in own processes",
    )
    out.figures = {
        "requests": n,
        "wall_s": wall,
        "proxy_cpu_s": cpu,
        "per_core": per_core,
        "raw_rps": n / wall,
        "upstream_cpu_s": marks["up1"] - marks["up0"],
        "not_ok": len(window) - n,
        "p50_ms": window.quantile_ms(0.5),
    }
    out.add("req/s per proxy CPU-second", ">= 1500", f"{per_core:.0f}", per_core >= 1500)
    out.add(
        "raw req/s (2 shared cores)",
        "info",
        f"{n / wall:.0f} (proxy {cpu / wall:.0%} of a core)",
        None,
    )
    out.add("errors (non-200)", "0", str(len(window) - n), len(window) == n)
    return out

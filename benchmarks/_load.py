"""An asyncio load generator: open-loop (Poisson or fixed-rate) and closed-loop streams.

    python benchmarks/_load.py SPEC.json OUT.json

It runs in a process of its own, so that it shares no GIL with the proxy it measures. The
spec (JSON, written by ``bench_proxy.py``) names the streams to run side by side::

    {"start_at": <time.monotonic() to begin>, "data": "data/reviews_sample.tsv",
     "streams": [{"name": "web", "mode": "open", "rate": 200, "poisson": true,
                  "urls": ["http://127.0.0.1:8000"], "route": "blocks", "block": 5,
                  "path": "/v1/analyze", "docs": 1, "api_key": "...", "start": 0,
                  "duration": 60},
                 {"name": "spark", "mode": "closed", "concurrency": 8, ...}]}

``route`` spreads requests over ``urls``: ``round-robin`` per request, or ``blocks``: all
requests of a ``block``-second span to one URL, then the next (to compare two targets under
the same drift). Every request is recorded: send time (``time.monotonic()``, comparable across
processes on one machine), latency from send to the last body byte, HTTP status (0 for a
connection error or timeout), the URL index, and for open-loop streams the lag behind the
schedule (large lag means the generator could not keep up and its figures are suspect).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import orjson
from _data import cycled_bodies, read_reviews

from contracts import headers as h

__all__ = ["Recording", "Stream", "run_spec"]

_COLUMNS = ("send", "latency", "status", "route", "lag")


@dataclass
class Stream:
    """One stream of requests; see the module docstring for the fields."""

    name: str
    urls: list[str]
    mode: str = "open"
    rate: float = 0.0
    poisson: bool = True
    concurrency: int = 1
    route: str = "round-robin"
    block: float = 5.0
    path: str = "/v1/analyze"
    docs: int = 1
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    start: float = 0.0
    duration: float = 10.0
    timeout: float = 30.0
    seed: int = 0

    def request_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self.headers}
        if self.api_key:
            headers[h.API_KEY] = self.api_key
        return headers

    def pick(self, index: int, offset: float) -> int:
        if len(self.urls) == 1:
            return 0
        if self.route == "blocks":
            return int(offset // self.block) % len(self.urls)
        return index % len(self.urls)

    def arrivals(self) -> np.ndarray:
        """Offsets (seconds from the stream's start) of an open-loop stream's requests."""
        if self.rate <= 0:
            return np.empty(0)
        if not self.poisson:
            return np.arange(0.0, self.duration, 1.0 / self.rate)
        rng = np.random.default_rng(self.seed)
        n = int(self.rate * self.duration * 1.2 + 100)
        offsets = np.cumsum(rng.exponential(1.0 / self.rate, n))
        while offsets[-1] < self.duration:
            more = offsets[-1] + np.cumsum(rng.exponential(1.0 / self.rate, n))
            offsets = np.concatenate([offsets, more])
        return offsets[offsets < self.duration]


class _Recorder:
    """Sends one stream's requests on one session and records each (`_COLUMNS`)."""

    def __init__(self, session: aiohttp.ClientSession, stream: Stream) -> None:
        self.session = session
        self.headers = stream.request_headers()
        self.urls = [u.rstrip("/") + stream.path for u in stream.urls]
        self.rows: list[tuple[float, float, int, int, float]] = []
        self.errors: dict[str, int] = {}

    async def send(self, route: int, body: bytes, due: float | None) -> None:
        sent = time.monotonic()
        try:
            async with self.session.post(self.urls[route], data=body, headers=self.headers) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = 0
            kind = type(exc).__name__
            self.errors[kind] = self.errors.get(kind, 0) + 1
        done = time.monotonic()
        lag = 0.0 if due is None else sent - due
        self.rows.append((sent, done - sent, status, route, lag))


async def _open_loop(rec: _Recorder, stream: Stream, bodies: list[bytes], begin: float) -> None:
    pending: set[asyncio.Task[None]] = set()
    for i, offset in enumerate(stream.arrivals()):
        due = begin + float(offset)
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        route = stream.pick(i, float(offset))
        task = asyncio.create_task(rec.send(route, bodies[i % len(bodies)], due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)


async def _closed_loop(rec: _Recorder, stream: Stream, bodies: list[bytes], begin: float) -> None:
    end = begin + stream.duration
    counter = itertools.count()

    async def worker(k: int) -> None:
        rnd = random.Random(stream.seed * 1000 + k)
        while (now := time.monotonic()) < end:
            route = stream.pick(next(counter), now - begin)
            await rec.send(route, bodies[rnd.randrange(len(bodies))], None)

    delay = begin - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    await asyncio.gather(*(worker(k) for k in range(stream.concurrency)))


async def _run_stream(stream: Stream, bodies: list[bytes], begin: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=stream.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        rec = _Recorder(session, stream)
        loop = _closed_loop if stream.mode == "closed" else _open_loop
        await loop(rec, stream, bodies, begin)
    columns = list(zip(*rec.rows, strict=True)) if rec.rows else [()] * len(_COLUMNS)
    out: dict[str, Any] = {name: list(col) for name, col in zip(_COLUMNS, columns, strict=True)}
    out["errors"] = rec.errors
    return out


async def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run every stream of ``spec`` side by side; return the recording as plain lists."""
    docs = read_reviews(Path(spec["data"]), skip_blank=True)
    streams = [Stream(**s) for s in spec["streams"]]
    bodies = {n: cycled_bodies(docs, n) for n in {s.docs for s in streams}}
    start_at = float(spec.get("start_at") or time.monotonic())
    cpu0 = time.process_time()
    results = await asyncio.gather(
        *(_run_stream(s, bodies[s.docs], start_at + s.start) for s in streams)
    )
    return {
        "start_at": start_at,
        "cpu_seconds": time.process_time() - cpu0,
        "streams": {s.name: r for s, r in zip(streams, results, strict=True)},
    }


class Recording:
    """One stream's requests as numpy columns (``send``, ``latency``, ``status``, ...)."""

    def __init__(self, columns: dict[str, Any]) -> None:
        self.send = np.asarray(columns["send"], dtype=float)
        self.latency = np.asarray(columns["latency"], dtype=float)
        self.status = np.asarray(columns["status"], dtype=int)
        self.route = np.asarray(columns["route"], dtype=int)
        self.lag = np.asarray(columns["lag"], dtype=float)
        self.errors: dict[str, int] = dict(columns.get("errors", {}))

    def __len__(self) -> int:
        return len(self.send)

    def where(self, mask: np.ndarray) -> Recording:
        cols = {name: getattr(self, name)[mask] for name in _COLUMNS}
        return Recording({**cols, "errors": {}})

    def between(self, t0: float, t1: float) -> Recording:
        """Requests sent in ``[t0, t1)`` (``time.monotonic()`` seconds)."""
        return self.where((self.send >= t0) & (self.send < t1))

    def count(self, *statuses: int) -> int:
        return int(np.isin(self.status, statuses).sum())

    def server_errors(self) -> int:
        """5xx answers plus connection errors and timeouts (status 0)."""
        return int(((self.status >= 500) | (self.status == 0)).sum())

    def quantile_ms(self, q: float, mask: np.ndarray | None = None) -> float:
        values = self.latency if mask is None else self.latency[mask]
        return float(np.quantile(values, q) * 1000) if len(values) else float("nan")

    def span(self) -> float:
        """Seconds from the first send to the last answer."""
        if not len(self):
            return 0.0
        return float((self.send + self.latency).max() - self.send.min())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python benchmarks/_load.py SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = orjson.loads(Path(argv[0]).read_bytes())
    runner = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    result = runner(run_spec(spec))
    Path(argv[1]).write_bytes(orjson.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

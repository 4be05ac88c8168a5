"""A stand-in NLP API with a fixed, known capacity, for proxy benchmarks.

    python benchmarks/model_upstream.py --port 8101 --slots 16 --base-ms 20 --per-doc-ms 2

It serves ``--slots`` requests at once; each holds its slot for ``base + per_doc * len(docs)``
milliseconds (an ``asyncio.sleep``, so the model costs almost no CPU), and requests beyond the
slots wait in one FIFO queue. Its capacity is therefore exactly ``slots`` slot-seconds per
second, whatever the load generator and the proxy cost on a small machine, which the real,
CPU-bound API cannot promise. ``--slots 0`` answers at once, without a queue (a no-op upstream).

``--preempt`` models the real API's priority turns (``nlp_api/_turns.py``): a request marked
``X-Request-Class: interactive`` (the proxy marks its interactive clients' requests) that
finds every slot busy does not queue behind batches: the next slot running a batch stops at
its next doc boundary, serves the interactive request for its whole service time, then goes
on with the batch. A slot stays busy throughout, so capacity is unchanged.

Endpoints: ``POST /v1/analyze`` and ``POST /v1/features`` answer small bodies shaped like the
real API's; ``GET /readyz`` and ``GET /healthz``; ``GET /_model/stats`` reports requests, docs
and ``busy_seconds`` (the integral of slots in use over time, so utilisation over a window is
``delta busy_seconds / (slots * delta t)``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from collections import deque

import orjson
from aiohttp import web

from contracts import headers as h

__all__ = ["ModelUpstream", "create_app", "main"]

_JSON = "application/json"


class ModelUpstream:
    """Slots, a FIFO queue and the accounting; one event loop."""

    def __init__(self, slots: int, base: float, per_doc: float, preempt: bool = False) -> None:
        self.slots = slots
        self.base = base
        self.per_doc = per_doc
        self.preempt = preempt
        self.preemptions = 0
        self.in_service = 0
        self._urgent: deque[asyncio.Future[asyncio.Future[None] | None]] = deque()
        """Interactive requests waiting for a batch's doc boundary (or a free slot)."""
        self._running: set[asyncio.Future[None]] = set()
        """One future per batch in its doc phase; setting it asks the batch to stop soon."""
        self.requests = 0
        self.docs = 0
        self._queue: deque[asyncio.Future[None]] = deque()
        self._busy = 0.0
        self._since = time.monotonic()

    def service_time(self, n_docs: int) -> float:
        return self.base + self.per_doc * n_docs

    def _integrate(self) -> None:
        now = time.monotonic()
        self._busy += self.in_service * (now - self._since)
        self._since = now

    async def serve(self, n_docs: int, interactive: bool = False) -> None:
        """Hold a slot for the modelled service time (waiting FIFO for one first)."""
        self.requests += 1
        self.docs += n_docs
        if self.slots == 0:
            return
        if self.preempt and interactive and self.in_service >= self.slots:
            await self._serve_urgent(n_docs)
            return
        if self.in_service >= self.slots or self._queue:
            waiter = asyncio.get_running_loop().create_future()
            self._queue.append(waiter)
            try:
                await waiter  # the slot is handed over already taken
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()
                else:
                    with contextlib.suppress(ValueError):
                        self._queue.remove(waiter)
                raise
        else:
            self._integrate()
            self.in_service += 1
        try:
            if self.preempt and not interactive:
                await self._batch(n_docs)
            else:
                await asyncio.sleep(self.service_time(n_docs))
        finally:
            self._release()

    async def _serve_urgent(self, n_docs: int) -> None:
        """Wait for a batch's doc boundary (or a freed slot), take its slot meanwhile."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[asyncio.Future[None] | None] = loop.create_future()
        self._urgent.append(waiter)
        for poke in self._running:  # ask one batch to stop at its next doc boundary
            if not poke.done():
                poke.set_result(None)
                break
        try:
            resume = await waiter
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._urgent.remove(waiter)
            if waiter.done() and not waiter.cancelled():
                self._hand_back(waiter.result())
            raise
        try:
            await asyncio.sleep(self.service_time(n_docs))
        finally:
            self._hand_back(resume)

    def _hand_back(self, resume: asyncio.Future[None] | None) -> None:
        if resume is None:  # it had a freed slot of its own
            self._release()
        elif not resume.done():
            resume.set_result(None)  # the paused batch goes on

    async def _batch(self, n_docs: int) -> None:
        """A batch's service time, giving its slot to waiting interactive requests between
        docs. A request's base time is not split."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.base)
        docs_left = float(n_docs)
        while docs_left > 0:
            poke: asyncio.Future[None] = loop.create_future()
            if self._urgent:
                poke.set_result(None)
            self._running.add(poke)
            start = loop.time()
            try:
                await asyncio.wait({poke}, timeout=docs_left * self.per_doc)
            finally:
                self._running.discard(poke)
            if not poke.done():
                return  # ran to the end without being asked to stop
            done_docs = min(docs_left, math.ceil((loop.time() - start) / self.per_doc - 1e-9))
            boundary = start + done_docs * self.per_doc
            await asyncio.sleep(max(0.0, boundary - loop.time()))
            docs_left -= done_docs
            while self._urgent and docs_left > 0:
                waiter = self._urgent.popleft()
                if waiter.done():
                    continue
                self.preemptions += 1
                resume: asyncio.Future[None] = loop.create_future()
                waiter.set_result(resume)
                await resume

    def _release(self) -> None:
        while self._urgent:  # interactive requests waiting for a slot go first
            waiter = self._urgent.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on; in_service stays
                return
        self._integrate()
        self.in_service -= 1

    def stats(self) -> dict[str, float | int]:
        self._integrate()
        return {
            "slots": self.slots,
            "base_s": self.base,
            "per_doc_s": self.per_doc,
            "requests": self.requests,
            "docs": self.docs,
            "busy_seconds": self._busy,
            "in_service": self.in_service,
            "queued": len(self._queue),
            "preemptions": self.preemptions,
        }


def create_app(model: ModelUpstream) -> web.Application:
    async def analyze(request: web.Request) -> web.Response:
        docs = await _docs(request)
        await model.serve(len(docs), _interactive(request))
        results = [{"tokens": [{"form": d[:8], "tag": "NNG"}]} for d in docs]
        return _json(
            {
                "analyzer": "model",
                "analyzer_version": "0",
                "dictionary": "system",
                "op": "pos",
                "results": results,
            }
        )

    async def features(request: web.Request) -> web.Response:
        docs = await _docs(request)
        await model.serve(len(docs), _interactive(request))
        results = [{"indices": [len(d) % 1024], "values": [1.0]} for d in docs]
        return _json(
            {
                "analyzer": "model",
                "analyzer_version": "0",
                "dictionary": "system",
                "num_features": 1024,
                "term_format": "form/TAG",
                "spec": {},
                "spec_hash": "0",
                "results": results,
            }
        )

    async def ok(request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def stats(request: web.Request) -> web.Response:
        return _json(model.stats())

    app = web.Application()
    app.router.add_post("/v1/analyze", analyze)
    app.router.add_post("/v1/features", features)
    app.router.add_get("/readyz", ok)
    app.router.add_get("/healthz", ok)
    app.router.add_get("/_model/stats", stats)
    return app


def _interactive(request: web.Request) -> bool:
    return request.headers.get(h.REQUEST_CLASS, "").lower() == h.INTERACTIVE


async def _docs(request: web.Request) -> list:
    try:
        body = orjson.loads(await request.read())
        docs = body["docs"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise web.HTTPUnprocessableEntity(
            text='expected {"analyzer": ..., "docs": [...]}'
        ) from None
    if not isinstance(docs, list):
        raise web.HTTPUnprocessableEntity(text="docs must be a list")
    return docs


def _json(payload: object) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type=_JSON)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--slots", type=int, default=16, help="requests served at once (0: no-op)")
    parser.add_argument("--base-ms", type=float, default=20.0, help="ms per request")
    parser.add_argument("--per-doc-ms", type=float, default=2.0, help="ms per doc")
    parser.add_argument(
        "--preempt",
        action="store_true",
        help="serve interactive requests between a batch's docs, as the real API does",
    )
    args = parser.parse_args(argv)
    if args.slots < 0 or args.base_ms < 0 or args.per_doc_ms < 0:
        parser.error("--slots, --base-ms and --per-doc-ms must be >= 0")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    model = ModelUpstream(
        args.slots, args.base_ms / 1000, args.per_doc_ms / 1000, preempt=args.preempt
    )
    print(
        f"model upstream on http://{args.host}:{args.port}: {args.slots} slots, "
        f"{args.base_ms:g} ms + {args.per_doc_ms:g} ms/doc"
        + (", interactive between batch docs" if args.preempt else ""),
        flush=True,
    )
    web.run_app(create_app(model), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

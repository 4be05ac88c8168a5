"""The aiohttp.web application: who is calling, may it go now, and on to which upstream.

One request's path through ``relay``:

1. **Auth**: ``X-API-Key`` or ``Authorization: Bearer``, compared by sha256 digest; missing or
   unknown -> 401, a disabled client -> 403 (keyless only with the flag shorthand).
2. **Rate**: the client's GCRA in the limiter (Redis, shared by replicas). Over the rate, a
   request with time left (``max_wait``, shortened by an ``X-Max-Wait`` header) reserves the
   next slot and waits for it in the proxy; one that cannot -> 429 at once.
3. **Capacity**: a slot from the ``Scheduler`` (interactive first, batch in fair turns).
4. **Forward** to the least-busy healthy upstream, unless the caller has gone away meanwhile.

Every response carries ``RateLimit-Policy`` and ``RateLimit``; every 429/503 ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from contracts import settle_heap
from contracts.headers import API_KEY, MAX_WAIT

from ._config import ANONYMOUS, ProxyConfig
from ._errors import LimiterUnavailable, UpstreamError
from ._forward import Forwarder, open_session
from ._limiter import Clock, Limiter
from ._memory import MemoryStore
from ._metrics import CONTENT_TYPE_LATEST, ProxyMetrics
from ._problems import (
    problem_response,
    rate_limit_headers,
    refused,
    too_many_requests,
    upstream_problem,
)
from ._redis import RedisStore
from ._scheduler import ClientState, Refused, Scheduler
from ._settings import ProxySettings
from ._upstreams import UpstreamPool

__all__ = ["LIMIT_KEY", "create_app", "run"]

LIMIT_KEY = f"client:{ANONYMOUS}"
"""The limit key of the flag shorthand's one anonymous client."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _AuthProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Proxy:
    """Per-app state, set up and torn down by ``lifecycle``."""

    def __init__(
        self,
        config: ProxyConfig,
        limiter: Limiter | None,
        clock: Clock | None,
        metrics: ProxyMetrics,
    ) -> None:
        self.config = config
        self._given_limiter = limiter
        self._clock = clock or time.monotonic
        self.metrics = metrics
        self.clients = {c.name: ClientState(c) for c in config.clients}
        self._by_digest = {
            c.key_digest(): self.clients[c.name] for c in config.clients if config.auth
        }
        self.scheduler = Scheduler(config.capacity, metrics=metrics, clock=self._clock)
        self.pool = UpstreamPool(config.upstream, metrics, clock=self._clock)
        self.limiter: Limiter | None = None
        self.forwarder: Forwarder | None = None

    def _build_limiter(self) -> Limiter:
        r = self.config.redis
        default = self.config.clients[0].policy
        if r.url is None:
            return MemoryStore(default, clock=self._clock)
        return RedisStore.from_url(
            r.url,
            default,
            timeout=r.timeout_ms / 1000,
            key_prefix=r.key_prefix,
            clock=self._clock,
            retry_interval=r.probe_interval,
            on_failure=r.on_failure,
            replicas=r.replicas,
            metrics=self.metrics,
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        limiter = self._given_limiter or self._build_limiter()
        up = self.config.upstream
        session = open_session(up.pool_size, up.timeout)
        check_session = open_session(2 * len(up.urls), min(1.0, up.check_interval))
        self.limiter = limiter
        self.forwarder = Forwarder(session, self.pool, self.metrics, token=up.resolved_token)
        if isinstance(limiter, RedisStore):
            await limiter.start()
        await self.pool.check_once(check_session)  # checks never queue behind forwarding
        checks = asyncio.create_task(self.pool.check_forever(check_session))
        settle_heap()
        try:
            yield
        finally:
            checks.cancel()
            await asyncio.gather(checks, return_exceptions=True)
            self.forwarder = self.limiter = None
            await session.close()
            await check_session.close()
            if self._given_limiter is None:
                await limiter.aclose()

    # -- own endpoints ----------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        limiter = self.limiter
        return web.json_response(
            {
                "status": "ok",
                "limiter": limiter.kind if limiter else "none",
                "degraded": bool(getattr(limiter, "degraded", False)),
                "replicas": getattr(limiter, "replicas", 1),
                "dry_run": self.config.server.dry_run,
                "in_flight": self.scheduler.in_flight,
                "upstreams": self.pool.snapshot(),
            }
        )

    async def readyz(self, request: web.Request) -> web.Response:
        ready = any(u["healthy"] for u in self.pool.snapshot())
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def reserved(self, request: web.Request) -> web.Response:
        return problem_response(
            404,
            f"No proxy endpoint {request.path}; try /_proxy/healthz, /_proxy/readyz or "
            "/_proxy/metrics.",
        )

    # -- the relay --------------------------------------------------------------------------

    def authenticate(self, request: web.Request) -> ClientState:
        if not self.config.auth:
            return self.clients[ANONYMOUS]
        key = request.headers.get(API_KEY)
        if key is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        if not key:
            raise _AuthProblem(
                401, f"No API key: send it as {API_KEY} or Authorization: Bearer <key>."
            )
        digest = hashlib.sha256(key.encode()).hexdigest()
        client = self._by_digest.get(digest)  # a digest lookup leaks nothing about the key
        if client is None:
            raise _AuthProblem(401, "Unknown API key; ask the platform team for one.")
        if not client.config.enabled:
            raise _AuthProblem(
                403, f"Client {client.name!r} is disabled in the proxy configuration."
            )
        return client

    def max_wait(self, request: web.Request, client: ClientState) -> float:
        if client.config.queue_cap == 0:
            return 0.0
        wait = client.config.max_wait
        asked = request.headers.get(MAX_WAIT)
        if asked is not None:
            try:
                wait = min(wait, max(0.0, float(asked)))
            except ValueError:
                raise web.HTTPBadRequest(
                    text=f"{MAX_WAIT} must be a number of seconds, got {asked!r}"
                ) from None
        return wait

    async def relay(self, request: web.Request) -> web.StreamResponse:
        limiter, forwarder = self.limiter, self.forwarder
        if limiter is None or forwarder is None:
            raise web.HTTPServiceUnavailable(text="proxy is not started")
        try:
            client = self.authenticate(request)
        except _AuthProblem as exc:
            self.metrics.rejected.labels("unknown", "none", "unauthenticated").inc()
            headers = {"WWW-Authenticate": 'Bearer realm="nlpfeat"'} if exc.status == 401 else {}
            return problem_response(exc.status, exc.detail, headers=headers)
        labels = (client.name, client.klass)
        max_wait = self.max_wait(request, client)
        body = await request.read()
        started = self._clock()
        if self.config.server.dry_run:
            return await self._dry_run(request, client, body, limiter, forwarder)
        if client.waiting >= client.config.queue_cap and max_wait > 0:
            self.metrics.rejected.labels(*labels, "queue_full").inc()
            return refused(
                429,
                "queue-full",
                f"Client {client.name!r} already has {client.waiting} requests waiting "
                "(queue_cap); send fewer at once.",
                self.scheduler.predict_wait(client),
                {},
            )
        try:
            decision = await limiter.hit(client.limit_key, client.policy, max_wait=max_wait)
        except LimiterUnavailable as exc:
            self.metrics.rejected.labels(*labels, "limiter").inc()
            return refused(503, "limiter-unavailable", str(exc), 1.0, {})
        headers = rate_limit_headers(client.policy, decision, client.name)
        if not decision.allowed:
            self.metrics.rejected.labels(*labels, "rate").inc()
            return too_many_requests(decision, headers)
        client.waiting += 1
        try:
            if decision.wait > 0:
                self.metrics.queued.labels(*labels).inc()
                await asyncio.sleep(decision.wait)
            await self.scheduler.acquire(client, started + max_wait, counted=decision.wait > 0)
        except Refused as exc:
            self.metrics.rejected.labels(*labels, exc.reason).inc()
            problem = "queue-full" if exc.reason == "queue_full" else "capacity"
            return refused(exc.status, problem, exc.detail, exc.retry_after, headers)
        finally:
            client.waiting -= 1
        upstream_time = None
        try:
            if _gone(request):
                self.metrics.rejected.labels(*labels, "client_gone").inc()
                return web.Response(status=499, text="client closed the request")
            self.metrics.admitted.labels(*labels).inc()
            self.metrics.wait_seconds.labels(client.klass).observe(self._clock() - started)
            sent = time.perf_counter()
            response = await forwarder.forward(request, body, headers, request_class=client.klass)
            upstream_time = time.perf_counter() - sent
            return response
        finally:
            self.scheduler.release(client, upstream_time)

    async def _dry_run(
        self,
        request: web.Request,
        client: ClientState,
        body: bytes,
        limiter: Limiter,
        forwarder: Forwarder,
    ) -> web.StreamResponse:
        """Decide as usual, count what would have happened, forward at once regardless."""
        labels = (client.name, client.klass)
        try:
            decision = await limiter.hit(client.limit_key, client.policy)
        except LimiterUnavailable:
            self.metrics.would_reject.labels(*labels, "limiter").inc()
        else:
            if not decision.allowed:
                self.metrics.would_reject.labels(*labels, "rate").inc()
        slot = self.scheduler.try_take(client)
        if not slot:
            self.metrics.would_reject.labels(*labels, "capacity").inc()
        self.metrics.admitted.labels(*labels).inc()
        try:
            return await forwarder.forward(request, body, {}, request_class=client.klass)
        finally:
            if slot:
                self.scheduler.release(client)


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@web.middleware
async def _problems(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """The one place proxy errors become HTTP responses."""
    try:
        return await handler(request)
    except UpstreamError as exc:
        return upstream_problem(exc)
    except web.HTTPRequestEntityTooLarge:
        return problem_response(
            413,
            f"The body is over {request.client_max_size} bytes (server.max_body_bytes); "
            "split the batch.",
            slug="body-too-large",
            title="Content Too Large",
        )
    except web.HTTPBadRequest as exc:
        return problem_response(400, exc.text or "bad request")


def create_app(
    config: ProxyConfig | ProxySettings,
    *,
    limiter: Limiter | None = None,
    clock: Clock | None = None,
    metrics: ProxyMetrics | None = None,
) -> web.Application:
    """Build the proxy application; nothing connects until the app starts.

    Every path and method is forwarded after auth, limiter and scheduler, except
    ``/_proxy/*`` (``healthz``, ``readyz``, ``metrics``), served here and never limited.
    ``config`` is a ``ProxyConfig`` (``proxy.toml``) or the flag shorthand ``ProxySettings``.
    ``limiter`` replaces the one the config describes (the caller then owns and closes it);
    ``clock`` (monotonic seconds) drives the in-process limiter, scheduler and ejections.
    """
    if isinstance(config, ProxySettings):
        config = config.to_config()
    proxy = _Proxy(config, limiter, clock, metrics or ProxyMetrics())
    app = web.Application(middlewares=[_problems], client_max_size=config.server.max_body_bytes)
    app.cleanup_ctx.append(proxy.lifecycle)
    app.router.add_get("/_proxy/healthz", proxy.healthz, allow_head=False)
    app.router.add_get("/_proxy/readyz", proxy.readyz, allow_head=False)
    app.router.add_get("/_proxy/metrics", proxy.metrics_page, allow_head=False)
    app.router.add_route("*", "/_proxy/{tail:.*}", proxy.reserved)
    app.router.add_route("*", "/{tail:.*}", proxy.relay)
    return app


def run(config: ProxyConfig | ProxySettings) -> None:
    """Serve the proxy until interrupted (blocking)."""
    if isinstance(config, ProxySettings):
        config = config.to_config()
    s, r = config.server, config.redis
    limiter = f"redis {r.url} ({r.on_failure} on failure)" if r.url else "in-process limiter"
    mode = "DRY RUN: counting only, " if s.dry_run else ""
    line = (
        f"nlpfeat proxy listening on http://{s.host}:{s.port} -> "
        f"{', '.join(config.upstream.urls)} ({mode}{len(config.clients)} client(s), {limiter}, "
        f"{config.capacity.max_in_flight} in flight, "
        f"{config.capacity.reserved_slots} reserved for interactive)"
    )
    try:
        import uvloop  # comes with uvicorn[standard]; ~0.2 ms less per forwarded request here
    except ImportError:
        loop = None
    else:
        loop = uvloop.new_event_loop()
    web.run_app(
        create_app(config),
        host=s.host,
        port=s.port,
        print=lambda _default: print(line, flush=True),
        access_log=None,
        loop=loop,
    )

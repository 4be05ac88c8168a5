"""The aiohttp.web application: limiter in front, forwarder behind, own endpoints aside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from ._errors import UpstreamError
from ._forward import Forwarder, open_session
from ._limiter import Clock, Limiter
from ._memory import MemoryStore
from ._problem import problem_response, rate_limit_headers, too_many_requests, upstream_problem
from ._redis import RedisStore
from ._settings import ProxySettings

__all__ = ["LIMIT_KEY", "create_app", "run"]

LIMIT_KEY = "default"
"""The single global limit key of this version (also the RateLimit policy name)."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Proxy:
    """Per-app state: the limiter and forwarder, set up and torn down by ``lifecycle``."""

    def __init__(self, settings: ProxySettings, limiter: Limiter | None, clock: Clock | None):
        self._settings = settings
        self._given_limiter = limiter
        self._clock = clock
        self._limiter: Limiter | None = None
        self._forwarder: Forwarder | None = None

    def _build_limiter(self) -> Limiter:
        s = self._settings
        if s.redis_url is None:
            return MemoryStore(s.policy, clock=self._clock)
        return RedisStore.from_url(
            s.redis_url,
            s.policy,
            timeout=s.redis_timeout,
            key_prefix=s.key_prefix,
            clock=self._clock,
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        limiter = self._given_limiter or self._build_limiter()
        session = open_session(self._settings.pool_size, self._settings.upstream_timeout)
        self._limiter = limiter
        self._forwarder = Forwarder(session, self._settings.upstream)
        try:
            yield
        finally:
            self._forwarder = self._limiter = None
            await session.close()
            if self._given_limiter is None:
                await limiter.aclose()

    async def healthz(self, request: web.Request) -> web.Response:
        kind = self._limiter.kind if self._limiter else "none"
        return web.json_response({"status": "ok", "limiter": kind})

    async def reserved(self, request: web.Request) -> web.Response:
        return problem_response(
            404, "Not Found", "not-found", f"No proxy endpoint {request.path}; try /_proxy/healthz."
        )

    async def relay(self, request: web.Request) -> web.StreamResponse:
        limiter, forwarder = self._limiter, self._forwarder
        if limiter is None or forwarder is None:
            raise web.HTTPServiceUnavailable(text="proxy is not started")
        decision = await limiter.hit(LIMIT_KEY)
        headers = rate_limit_headers(limiter.policy, decision, LIMIT_KEY)
        if not decision.allowed:
            return too_many_requests(decision, headers)
        return await forwarder.forward(request, headers)


@web.middleware
async def _problems(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """The one place proxy errors become HTTP responses."""
    try:
        return await handler(request)
    except UpstreamError as exc:
        return upstream_problem(exc)


def create_app(
    settings: ProxySettings,
    *,
    limiter: Limiter | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """Build the proxy application; nothing connects until the app starts.

    Every path and method is forwarded to ``settings.upstream`` after one limiter check,
    except ``/_proxy/*`` (``GET /_proxy/healthz``), which is served here and not limited.
    ``limiter`` replaces the one the settings describe (the caller then owns and closes
    it); ``clock`` (monotonic seconds) drives the in-process limiter.
    """
    proxy = _Proxy(settings, limiter, clock)
    app = web.Application(middlewares=[_problems])
    app.cleanup_ctx.append(proxy.lifecycle)
    app.router.add_get("/_proxy/healthz", proxy.healthz, allow_head=False)
    app.router.add_route("*", "/_proxy/{tail:.*}", proxy.reserved)
    app.router.add_route("*", "/{tail:.*}", proxy.relay)
    return app


def run(settings: ProxySettings) -> None:
    """Serve the proxy on ``settings.host:settings.port`` until interrupted (blocking)."""
    limiter = "redis" if settings.redis_url else "memory"
    line = (
        f"nlpfeat proxy listening on http://{settings.host}:{settings.port} -> "
        f"{settings.upstream} (rate {settings.rate}/s, burst {settings.burst}, {limiter} limiter)"
    )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _default: print(line, flush=True),
    )

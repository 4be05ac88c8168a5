"""Forwarder + UpstreamPool over real sockets: spread, retry, ejection, readiness, credentials.

The app here is a minimal one around the forwarder (read body, forward, map UpstreamError to
problem+json), so these tests do not depend on how ``create_app`` wires it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import pytest
from _loopback import LoopThread, echo_app
from aiohttp import web

from nlpfeat._services import free_port
from proxy._config import UpstreamConfig
from proxy._errors import UpstreamError
from proxy._forward import Forwarder, open_session
from proxy._metrics import ProxyMetrics
from proxy._problems import upstream_problem
from proxy._upstreams import UpstreamPool

TOKEN = "upstream-secret-token"
FORWARDER = web.AppKey("forwarder", Forwarder)
SEEN = web.AppKey("seen", list)


@dataclass
class Rig:
    url: str
    pool: UpstreamPool
    metrics: ProxyMetrics
    loop: LoopThread

    def check(self) -> None:
        self.loop.call(_check_once(self.pool))

    def errors(self, upstream: str, kind: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "nlpfeat_proxy_upstream_errors_total", {"upstream": upstream, "kind": kind}
        )
        return value or 0.0

    def healthy(self) -> dict[str, bool]:
        return {row["url"]: row["healthy"] for row in self.pool.snapshot()}


async def _check_once(pool: UpstreamPool) -> None:
    async with aiohttp.ClientSession() as session:
        await pool.check_once(session)


def forwarding_app(
    config: UpstreamConfig, pool: UpstreamPool, metrics: ProxyMetrics
) -> web.Application:
    async def lifecycle(app: web.Application) -> Any:
        session = open_session(config.pool_size, config.timeout)
        app[FORWARDER] = Forwarder(session, pool, metrics, token=config.resolved_token)
        yield
        await session.close()

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            return await request.app[FORWARDER].forward(request, body, {"X-Extra": "1"})
        except UpstreamError as exc:
            return upstream_problem(exc)

    app = web.Application()
    app.cleanup_ctx.append(lifecycle)
    app.router.add_route("*", "/{tail:.*}", relay)
    return app


def counting_app(
    seen: list[str], *, ready: int = 200, tokens: list[str | None] | None = None
) -> web.Application:
    """echo_app that notes each request's path (and X-Upstream-Token in ``tokens``) and
    answers ``/readyz`` with ``ready``."""

    @web.middleware
    async def note(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        if tokens is not None:
            tokens.append(request.headers.get("X-Upstream-Token"))
        if request.path == "/readyz":
            return web.Response(status=ready)
        return await handler(request)

    app = echo_app()
    app.middlewares.append(note)
    return app


@pytest.fixture
def rig(servers: Callable[[web.Application], str], loop_thread: LoopThread) -> Callable[..., Rig]:
    """``rig(urls, **UpstreamConfig fields)`` -> a forwarding app in front of ``urls``."""

    def start(urls: list[str], **fields: Any) -> Rig:
        config = UpstreamConfig(urls=urls, **fields)
        metrics = ProxyMetrics()
        pool = UpstreamPool(config, metrics)
        return Rig(servers(forwarding_app(config, pool, metrics)), pool, metrics, loop_thread)

    return start


@pytest.fixture
def dropper(loop_thread: LoopThread) -> Iterator[tuple[str, list[int]]]:
    """A server that reads each request and closes the connection without answering."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    server = loop_thread.call(start())
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", connections
    server.close()
    loop_thread.call(server.wait_closed())


def served_by(resp: httpx.Response) -> str:
    received = dict(json.loads(resp.headers["X-Echo-Headers"]))
    return "http://" + received["host"]


def test_requests_spread_over_two_upstreams(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    a, b = servers(echo_app()), servers(echo_app())
    proxy = rig([a, b])
    with httpx.Client(base_url=proxy.url) as client:
        responses = [client.post("/v1/pos", json={"text": "안녕"}) for _ in range(10)]
    assert {r.status_code for r in responses} == {200}
    assert Counter(served_by(r) for r in responses) == {a: 5, b: 5}
    assert responses[0].headers["X-Extra"] == "1"
    assert [row["outstanding"] for row in proxy.pool.snapshot()] == [0, 0]


def test_concurrent_requests_go_to_the_least_busy_upstream(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    a, b = servers(echo_app()), servers(echo_app())
    proxy = rig([a, b])

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            slow = asyncio.ensure_future(client.get("/slow"))
            await asyncio.sleep(0.3)
            quick = [await client.get("/v1/pos") for _ in range(4)]
            return [await slow, *quick]

    slow, *quick = asyncio.run(burst())
    assert slow.text == "late"
    assert len({served_by(r) for r in quick}) == 1, "the upstream busy with /slow gets none"


def test_dead_upstream_is_retried_elsewhere_then_ejected(
    upstream: str, dead_port: int, rig: Callable[..., Rig]
) -> None:
    dead = f"http://127.0.0.1:{dead_port}"
    proxy = rig([dead, upstream], eject_after=2, eject_seconds=60)
    with httpx.Client(base_url=proxy.url) as client:
        statuses = [client.post("/v1/pos", json={"text": "문장"}).status_code for _ in range(8)]
    assert statuses == [200] * 8
    assert proxy.errors(dead, "connect") == 2
    assert proxy.healthy() == {dead: False, upstream: True}
    assert proxy.pool.snapshot()[0]["ejected_for"] > 50


def test_upstream_not_ready_gets_no_traffic_after_a_check(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    loading_seen: list[str] = []
    ready = servers(echo_app())
    loading = servers(counting_app(loading_seen, ready=503))
    proxy = rig([loading, ready], token=TOKEN)
    proxy.check()
    assert loading_seen == ["/readyz"]
    assert proxy.healthy() == {loading: False, ready: True}
    assert proxy.pool.snapshot()[0]["check"] == "/readyz: HTTP 503"
    assert proxy.errors(loading, "check") == 1
    with httpx.Client(base_url=proxy.url) as client:
        assert {served_by(client.get("/v1/pos")) for _ in range(6)} == {ready}
    assert loading_seen == ["/readyz"]


def test_readiness_check_sends_the_upstream_token_and_readmits(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    seen: list[str] = []
    tokens: list[str | None] = []
    url = servers(counting_app(seen, tokens=tokens))
    proxy = rig([url], token=TOKEN)
    proxy.pool.upstreams[0].check_ok = False
    assert proxy.healthy() == {url: False}
    proxy.check()
    assert proxy.healthy() == {url: True}
    assert (seen, tokens) == (["/readyz"], [TOKEN])


def test_passing_check_ends_an_ejection_for_connect_errors(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    url = servers(echo_app())
    proxy = rig([url], eject_after=1, eject_seconds=60)
    up = proxy.pool.upstreams[0]
    proxy.pool.record(up, ok=False, kind="connect")
    assert proxy.healthy() == {url: False}
    proxy.check()
    assert proxy.healthy() == {url: True}
    assert up.consecutive_failures == 0

    proxy.pool.record(up, ok=False, kind="timeout")
    proxy.check()
    assert proxy.healthy() == {url: False}, "a slow upstream still answers /readyz"


def test_credentials_are_stripped_and_upstream_token_added(
    upstream: str, rig: Callable[..., Rig]
) -> None:
    proxy = rig([upstream], token=TOKEN)
    resp = httpx.post(
        f"{proxy.url}/v1/pos",
        json={"text": "비밀"},
        headers={
            "X-API-Key": "client-key-0123456789",
            "Authorization": "Bearer client",
            "X-Max-Wait": "3",
            "X-Upstream-Token": "forged",
            "X-Keep": "kept",
        },
    )
    assert resp.status_code == 200
    received = json.loads(resp.headers["X-Echo-Headers"])
    names = [name for name, _ in received]
    assert "x-api-key" not in names and "authorization" not in names
    assert "x-max-wait" not in names
    assert [v for n, v in received if n == "x-upstream-token"] == [TOKEN]
    assert dict(received)["x-keep"] == "kept"
    assert dict(received)["x-forwarded-for"] == "127.0.0.1"


def test_without_a_token_a_client_sent_one_is_still_dropped(
    upstream: str, rig: Callable[..., Rig]
) -> None:
    proxy = rig([upstream])
    resp = httpx.get(f"{proxy.url}/h", headers={"X-Upstream-Token": "forged"})
    assert "x-upstream-token" not in dict(json.loads(resp.headers["X-Echo-Headers"]))


def test_all_dead_gets_502_naming_each_then_503_once_ejected(
    rig: Callable[..., Rig], dead_port: int
) -> None:
    dead = [f"http://127.0.0.1:{dead_port}", f"http://127.0.0.1:{free_port()}"]
    proxy = rig(dead, eject_after=1, eject_seconds=30)
    resp = httpx.post(f"{proxy.url}/v1/pos", json={"text": "안녕"})
    assert resp.status_code == 502
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["type"] == "urn:nlpfeat:problem:upstream-unavailable"
    assert dead[0] in body["detail"] and dead[1] in body["detail"]
    assert "nlpfeat api" in body["detail"]
    assert body["upstream"] == ", ".join(dead)

    resp = httpx.post(f"{proxy.url}/v1/pos", json={"text": "안녕"})
    assert resp.status_code == 503
    assert resp.json()["type"] == "urn:nlpfeat:problem:no-upstream"
    assert 29 <= int(resp.headers["Retry-After"]) <= 30


def test_dropped_connection_is_retried_on_another_upstream(
    dropper: tuple[str, list[int]], upstream: str, rig: Callable[..., Rig]
) -> None:
    drop_url, connections = dropper
    proxy = rig([drop_url, upstream], eject_after=2, eject_seconds=60)
    with httpx.Client(base_url=proxy.url) as client:
        responses = [client.post("/v1/pos", content=b"{}") for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert {served_by(r) for r in responses} == {upstream}
    assert responses[0].request.content == b"{}"
    assert len(connections) == 2, "one try each for the first two requests, then ejected"
    assert proxy.errors(drop_url, "disconnect") == 2
    assert proxy.healthy() == {drop_url: False, upstream: True}


def test_dropped_connection_on_the_only_upstream_is_resent_once_then_502(
    dropper: tuple[str, list[int]], rig: Callable[..., Rig]
) -> None:
    drop_url, connections = dropper
    proxy = rig([drop_url], eject_after=10)
    resp = httpx.post(f"{proxy.url}/v1/pos", json={"text": "안녕"})
    assert resp.status_code == 502
    assert len(connections) == 2
    assert "disconnected" in resp.json()["detail"].lower()


def test_timeout_is_504_and_not_retried(
    servers: Callable[[web.Application], str], rig: Callable[..., Rig]
) -> None:
    seen_a: list[str] = []
    seen_b: list[str] = []
    a, b = servers(counting_app(seen_a)), servers(counting_app(seen_b))
    proxy = rig([a, b], timeout=0.2)
    resp = httpx.get(f"{proxy.url}/slow")
    assert resp.status_code == 504
    assert resp.json()["title"] == "Gateway Timeout"
    assert sorted([*seen_a, *seen_b]) == ["/slow"]
    assert proxy.errors(a, "timeout") + proxy.errors(b, "timeout") == 1


def test_failing_status_is_relayed_and_counts_toward_ejection(
    upstream: str, rig: Callable[..., Rig]
) -> None:
    proxy = rig([upstream], eject_after=2, eject_seconds=60)
    with httpx.Client(base_url=proxy.url) as client:
        assert client.get("/x?status=503").status_code == 503
        assert client.get("/x?status=500").status_code == 500
        assert client.get("/x?status=504").status_code == 504
        assert proxy.healthy() == {upstream: True}, "500 is the API's answer, not ill health"
        assert client.get("/x?status=502").status_code == 502
        assert proxy.healthy() == {upstream: False}
        assert client.get("/x").status_code == 503
    assert proxy.errors(upstream, "status_5xx") == 3

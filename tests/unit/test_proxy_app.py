"""The proxy app with an injected fake limiter: 429s, own endpoints, header filtering."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, cast

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from multidict import CIMultiDict

from contracts import PROBLEM_CONTENT_TYPE, problem_type
from proxy import Decision, GCRAPolicy, ProxySettings, create_app
from proxy._config import ServerConfig
from proxy._forward import Forwarder
from proxy._metrics import ProxyMetrics
from proxy._problems import rate_limit_headers, retry_after_seconds
from proxy._upstreams import UpstreamPool

SETTINGS = ProxySettings(upstream="http://127.0.0.1:9/base/", rate=10, burst=5)


class FakeLimiter:
    def __init__(self, *decisions: Decision) -> None:
        self._decisions = list(decisions)
        self.keys: list[str] = []
        self.closed = False

    @property
    def kind(self) -> Literal["memory"]:
        return "memory"

    @property
    def policy(self) -> GCRAPolicy:
        return SETTINGS.policy

    async def hit(
        self, key: str, policy: GCRAPolicy | None = None, *, max_wait: float = 0.0
    ) -> Decision:
        self.keys.append(key)
        return self._decisions.pop(0)

    async def aclose(self) -> None:
        self.closed = True


def with_client(app: web.Application, body: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await body(client)

    asyncio.run(main())


def test_refused_request_gets_429_problem_with_retry_after_and_ratelimit_headers() -> None:
    limiter = FakeLimiter(Decision(allowed=False, retry_after=2.2, remaining=0, reset=0.6))

    async def body(client: TestClient) -> None:
        resp = await client.post("/v1/pos?x=1", json={"text": "안녕"})
        assert resp.status == 429
        assert resp.headers["Retry-After"] in {"3", "4"}, "2.2 s rounded up, plus jitter"
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.headers["RateLimit-Policy"] == '"anonymous";q=10;w=1;burst=5'
        assert resp.headers["RateLimit"] == '"anonymous";r=0;t=3'
        problem = await resp.json(content_type="application/problem+json")
        assert problem["status"] == 429
        assert problem["title"] == "Too Many Requests"
        assert problem["type"] == "urn:nlpfeat:problem:rate-limited"
        assert problem["predicted_wait_ms"] == 2200
        assert "2.200 s" in problem["detail"]

    with_client(create_app(SETTINGS, limiter=limiter), body)
    assert limiter.keys == ["client:anonymous"]
    assert not limiter.closed, "an injected limiter belongs to the caller"


def test_retry_after_is_at_least_one_second() -> None:
    limiter = FakeLimiter(Decision(allowed=False, retry_after=0.001, remaining=0, reset=0.1))

    async def body(client: TestClient) -> None:
        resp = await client.get("/anything")
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "1"

    with_client(create_app(SETTINGS, limiter=limiter), body)


def test_own_endpoints_are_not_limited_or_forwarded() -> None:
    limiter = FakeLimiter()

    async def body(client: TestClient) -> None:
        resp = await client.get("/_proxy/healthz")
        assert resp.status == 200
        health = await resp.json()
        assert (health["status"], health["limiter"], health["degraded"]) == ("ok", "memory", False)
        assert [u["url"] for u in health["upstreams"]] == ["http://127.0.0.1:9/base"]
        missing = await client.get("/_proxy/nope")
        assert missing.status == 404
        assert missing.headers["Content-Type"] == "application/problem+json"

    with_client(create_app(SETTINGS, limiter=limiter), body)
    assert limiter.keys == []


def test_healthz_reports_redis_when_configured_without_connecting() -> None:
    settings = ProxySettings(
        upstream="http://127.0.0.1:9", rate=1, burst=1, redis_url="redis://127.0.0.1:9/0"
    )

    async def body(client: TestClient) -> None:
        resp = await client.get("/_proxy/healthz")
        assert (await resp.json())["limiter"] == "redis"

    with_client(create_app(settings), body)


def test_rate_limit_headers_format() -> None:
    policy = GCRAPolicy(rate=0.5, burst=3)
    decision = Decision(allowed=True, retry_after=0.0, remaining=2, reset=1.2)
    assert rate_limit_headers(policy, decision, "job") == {
        "RateLimit-Policy": '"job";q=1;w=2;burst=3',
        "RateLimit": '"job";r=2;t=2',
    }
    empty = Decision(allowed=True, retry_after=0.0, remaining=0, reset=6.0)
    # r=0: t is when the next request passes (reset - window + 1/rate = 6 - 6 + 2)
    assert rate_limit_headers(policy, empty, "job")["RateLimit"] == '"job";r=0;t=2'
    fast = GCRAPolicy(rate=100, burst=20)
    assert rate_limit_headers(fast, empty, "b")["RateLimit-Policy"] == '"b";q=100;w=1;burst=20'


def test_retry_after_has_jitter_but_never_less_than_the_wait() -> None:
    values = {retry_after_seconds(4.0) for _ in range(200)}
    assert values == {4, 5}
    assert retry_after_seconds(0.0) == 1


def test_forwarded_headers_drop_hop_by_hop_and_host() -> None:
    headers = CIMultiDict(
        [
            ("Host", "proxy.local"),
            ("Connection", "keep-alive, X-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("X-Hop", "secret"),
            ("TE", "trailers"),
            ("Proxy-Authorization", "Basic Zm9v"),
            ("Accept", "application/json"),
            ("X-Request-Id", "abc"),
            ("X-Request-Id", "def"),
        ]
    )
    request = make_mocked_request("GET", "/v1/pos?q=%ED%95%9C", headers=headers)
    config = SETTINGS.to_config()
    pool = UpstreamPool(config.upstream, ProxyMetrics())
    forwarder = Forwarder(
        cast(aiohttp.ClientSession, None), pool, ProxyMetrics(), token="upstream-secret"
    )
    out = forwarder.request_headers(request)
    assert out["X-Upstream-Token"] == "upstream-secret"
    assert "Host" not in out and "Connection" not in out and "X-Hop" not in out
    assert "Keep-Alive" not in out and "TE" not in out and "Proxy-Authorization" not in out
    assert out["Accept"] == "application/json"
    assert out.getall("X-Request-Id") == ["abc", "def"]
    assert out["X-Forwarded-Host"] == "proxy.local"
    target = forwarder.target(request, pool.pick())
    assert str(target) == "http://127.0.0.1:9/base/v1/pos?q=%ED%95%9C"


def test_a_body_over_max_body_bytes_is_a_413_problem_naming_the_limit() -> None:
    config = SETTINGS.to_config()
    small = config.model_copy(update={"server": ServerConfig(max_body_bytes=1024)})

    async def body(client: TestClient) -> None:
        resp = await client.post("/v1/features", data=b"x" * 4096)
        assert resp.status == 413
        assert resp.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
        problem = await resp.json(content_type=PROBLEM_CONTENT_TYPE)
        assert problem["type"] == problem_type("body-too-large")
        assert problem["title"] == "Content Too Large"
        assert "over 1024 bytes" in problem["detail"]

    with_client(create_app(small, limiter=FakeLimiter()), body)

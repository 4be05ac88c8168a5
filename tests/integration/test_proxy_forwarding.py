"""The real proxy in front of a real (fake NLP) upstream, driven by a real HTTP client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

import proxy

TINY_RATE = 1e-6


def problem(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.fixture
def proxy_url(upstream: str, start_proxy: Callable[..., str]) -> str:
    return start_proxy(upstream=upstream, rate=1000.0, burst=1000)


def test_post_json_korean_body_is_forwarded_byte_exact(proxy_url: str) -> None:
    payload = json.dumps({"text": "아버지가 방에 들어가신다.", "n": 1}, ensure_ascii=False).encode()
    resp = httpx.post(
        f"{proxy_url}/v1/pos",
        content=payload,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 200
    assert resp.content == payload
    assert resp.headers["X-Echo-Method"] == "POST"
    assert resp.headers["X-Echo-Path"] == "/v1/pos"
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"


def test_path_and_query_string_pass_unchanged(proxy_url: str) -> None:
    resp = httpx.get(f"{proxy_url}/v1/nouns/%EB%AC%B8%EC%9E%A5?text=%ED%95%9C+%EA%B8%80&k=1&k=2")
    assert resp.headers["X-Echo-Path"] == "/v1/nouns/%EB%AC%B8%EC%9E%A5"
    assert resp.headers["X-Echo-Query"] == "text=%ED%95%9C+%EA%B8%80&k=1&k=2"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_is_forwarded(proxy_url: str, method: str) -> None:
    resp = httpx.request(method, f"{proxy_url}/items/7", content=b"x")
    assert resp.status_code == 200
    assert resp.headers["X-Echo-Method"] == method


def test_status_and_headers_come_back(proxy_url: str) -> None:
    resp = httpx.get(f"{proxy_url}/teapot?status=418")
    assert resp.status_code == 418
    assert resp.headers["X-Custom"] == "custom-value"
    assert resp.headers.get_list("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert resp.headers["RateLimit-Policy"] == '"anonymous";q=1000;w=1;burst=1000'
    assert resp.headers["RateLimit"].startswith('"anonymous";r=999;')


def test_request_headers_are_cleaned_and_host_fixed(upstream: str, proxy_url: str) -> None:
    resp = httpx.get(
        f"{proxy_url}/h",
        headers={"Connection": "keep-alive, X-Hop", "X-Hop": "1", "X-Keep": "kept"},
    )
    received = dict(json.loads(resp.headers["X-Echo-Headers"]))
    assert received["host"] == upstream.removeprefix("http://")
    assert received["x-keep"] == "kept"
    assert "x-hop" not in received
    assert received["x-forwarded-for"] == "127.0.0.1"
    assert received["x-forwarded-host"] == proxy_url.removeprefix("http://")


def test_compressed_body_passes_through_undecoded(proxy_url: str, gzipped_body: bytes) -> None:
    with httpx.stream("GET", f"{proxy_url}/gzip", headers={"Accept-Encoding": "gzip"}) as resp:
        raw = b"".join(resp.iter_raw())
    assert resp.headers["Content-Encoding"] == "gzip"
    assert raw == gzipped_body


def test_chunked_upstream_response_is_streamed(proxy_url: str) -> None:
    resp = httpx.get(f"{proxy_url}/chunked")
    assert resp.text == "".join(f"조각 {i}\n" for i in range(5))


def test_over_the_limit_gets_429_problem(upstream: str, start_proxy: Callable[..., str]) -> None:
    url = start_proxy(upstream=upstream, rate=TINY_RATE, burst=2)
    with httpx.Client(base_url=url) as client:
        assert [client.get("/v1/pos").status_code for _ in range(2)] == [200, 200]
        resp = client.get("/v1/pos")
        body = problem(resp, 429)
        assert int(resp.headers["Retry-After"]) >= 1
        assert resp.headers["RateLimit"].startswith('"anonymous";r=0;')
        assert body["title"] == "Too Many Requests"
        health = client.get("/_proxy/healthz")
        assert health.status_code == 200, "own endpoints are not limited"
        assert health.json()["limiter"] == "memory"


def test_upstream_down_gets_503_naming_the_upstream(
    start_proxy: Callable[..., str], dead_port: int
) -> None:
    """The startup /readyz check already knows it is down: 503 with Retry-After at once."""
    dead = f"http://127.0.0.1:{dead_port}"
    url = start_proxy(upstream=dead, rate=1000.0, burst=10)
    resp = httpx.post(f"{url}/v1/pos", json={"text": "안녕"})
    body = problem(resp, 503)
    assert int(resp.headers["Retry-After"]) >= 1
    assert body["type"] == "urn:nlpfeat:problem:no-upstream"
    assert dead in str(body["detail"])
    assert "nlpfeat api" in str(body["detail"])
    assert body["upstream"] == dead


def test_upstream_timeout_gets_504(upstream: str, start_proxy: Callable[..., str]) -> None:
    url = start_proxy(upstream=upstream, rate=1000.0, burst=10, upstream_timeout=0.2)
    body = problem(httpx.get(f"{url}/slow"), 504)
    assert body["title"] == "Gateway Timeout"


@pytest.mark.redis
def test_redis_limited_proxy_replicas_share_one_limit(
    upstream: str, start_proxy: Callable[..., str], redis_url: str, redis_prefix: str
) -> None:
    fields = {"upstream": upstream, "rate": TINY_RATE, "burst": 3, "redis_url": redis_url}
    replicas = [start_proxy(**fields, key_prefix=redis_prefix) for _ in range(2)]
    statuses = [httpx.get(f"{replicas[i % 2]}/v1/pos").status_code for i in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert httpx.get(f"{replicas[0]}/_proxy/healthz").json()["limiter"] == "redis"
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.pttl(f"{redis_prefix}:{{client:anonymous}}:tat") > 0
    finally:
        client.close()


def test_redis_down_falls_back_to_in_process_limit(
    upstream: str, start_proxy: Callable[..., str], dead_port: int
) -> None:
    dead_redis = f"redis://127.0.0.1:{dead_port}/0"
    url = start_proxy(upstream=upstream, rate=TINY_RATE, burst=2, redis_url=dead_redis)
    statuses = [httpx.get(f"{url}/v1/pos").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_run_serves_until_stopped_and_says_where(upstream: str, dead_port: int) -> None:
    code = (
        "import proxy\n"
        f"proxy.run(proxy.ProxySettings(upstream={upstream!r}, rate=5, burst=5, port={dead_port}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(proxy.__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"listening on http://127.0.0.1:{dead_port}" in line
        assert upstream in line
        resp = httpx.get(f"http://127.0.0.1:{dead_port}/v1/pos?x=1")
        assert resp.headers["X-Echo-Query"] == "x=1"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert proc.stdout is not None
        proc.stdout.close()

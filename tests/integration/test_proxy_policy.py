"""The configured proxy on real sockets: API keys, per-client limits and queues, dry run,
metrics, and a caller that leaves before its turn."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from proxy import ProxyConfig, create_app

WEB_KEY = "web-key-0123456789"
JOB_KEY = "job-key-0123456789"
OFF_KEY = "off-key-0123456789"
TOKEN = "upstream-token-42"


def config(upstream: str, **overrides: Any) -> ProxyConfig:
    clients = [
        {"name": "web", "key": WEB_KEY, "class": "interactive", "rate": 1000, "burst": 100},
        {
            "name": "job",
            "key": JOB_KEY,
            "class": "batch",
            "rate": 1000,
            "burst": 100,
            "max_wait": 5,
        },
        {"name": "off", "key": OFF_KEY, "rate": 1, "burst": 1, "enabled": False},
    ]
    for c in clients:
        c.update(overrides.pop(c["name"], {}))
    raw = {"upstream": {"urls": [upstream], "token": TOKEN}, "clients": clients, **overrides}
    return ProxyConfig.model_validate(raw)


@pytest.fixture
def start(servers: Callable[[web.Application], str]) -> Callable[[ProxyConfig], str]:
    return lambda cfg: servers(create_app(cfg))


def echoed_headers(resp: httpx.Response) -> dict[str, str]:
    return dict(json.loads(resp.headers["X-Echo-Headers"]))


def test_keys_decide_who_may_pass(upstream: str, start: Callable[[ProxyConfig], str]) -> None:
    url = start(config(upstream))
    with httpx.Client(base_url=url) as http:
        missing = http.post("/v1/analyze", json={})
        unknown = http.post("/v1/analyze", headers={"X-API-Key": "nobody-0123456789"})
        disabled = http.post("/v1/analyze", headers={"X-API-Key": OFF_KEY})
        by_header = http.post(
            "/v1/analyze",
            headers={"X-API-Key": JOB_KEY, "X-Request-Class": "interactive"},
            json={"a": 1},
        )
        by_bearer = http.get("/v1/analyzers", headers={"Authorization": f"Bearer {WEB_KEY}"})
    for resp, status in ((missing, 401), (unknown, 401), (disabled, 403)):
        assert resp.status_code == status
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.json()["status"] == status
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "X-API-Key" in missing.json()["detail"]
    assert "disabled" in disabled.json()["detail"]
    assert by_header.status_code == 200 and by_header.json() == {"a": 1}
    assert by_bearer.status_code == 200
    seen = echoed_headers(by_header)
    assert "x-api-key" not in seen and "authorization" not in echoed_headers(by_bearer)
    assert seen["x-upstream-token"] == TOKEN
    assert seen["x-request-class"] == "batch", "the class comes from the key, not the client"
    assert echoed_headers(by_bearer)["x-request-class"] == "interactive"
    assert by_header.headers["RateLimit-Policy"] == '"job";q=1000;w=1;burst=100'
    assert by_header.headers["RateLimit"].startswith('"job";r=99;')


def test_over_the_rate_a_batch_request_waits_its_turn_and_an_interactive_one_is_refused(
    upstream: str, start: Callable[[ProxyConfig], str]
) -> None:
    url = start(
        config(
            upstream,
            web={"rate": 2, "burst": 1, "max_wait": 0, "queue_cap": 0},
            job={"rate": 5, "burst": 1},
        )
    )
    with httpx.Client(base_url=url) as http:
        web_key, job_key = {"X-API-Key": WEB_KEY}, {"X-API-Key": JOB_KEY}
        assert http.get("/x", headers=web_key).status_code == 200
        refused = http.get("/x", headers=web_key)
        assert http.get("/x", headers=job_key).status_code == 200
        started = time.perf_counter()
        queued = http.get("/x", headers=job_key)
        waited = time.perf_counter() - started
        short = http.get("/x", headers={**job_key, "X-Max-Wait": "0"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["type"].endswith("rate-limited")
    assert queued.status_code == 200, queued.text
    assert waited >= 0.15, "the second batch request waited for the next slot (1/5 s)"
    assert short.status_code == 429, "X-Max-Wait: 0 shortens the wait to nothing"


def test_dry_run_counts_but_forwards_everything(
    upstream: str, start: Callable[[ProxyConfig], str]
) -> None:
    url = start(config(upstream, web={"rate": 1, "burst": 1}, server={"dry_run": True}))
    with httpx.Client(base_url=url) as http:
        statuses = [http.get("/x", headers={"X-API-Key": WEB_KEY}).status_code for _ in range(5)]
        metrics = http.get("/_proxy/metrics").text
    assert statuses == [200] * 5
    line = (
        'nlpfeat_proxy_dry_run_would_reject_total{class="interactive",client="web",reason="rate"}'
    )
    assert f"{line} 4.0" in metrics


def test_metrics_count_admitted_and_rejected_per_client(
    upstream: str, start: Callable[[ProxyConfig], str]
) -> None:
    url = start(config(upstream, web={"rate": 1, "burst": 2, "queue_cap": 0}))
    with httpx.Client(base_url=url) as http:
        for _ in range(3):
            http.get("/x", headers={"X-API-Key": WEB_KEY})
        http.get("/x")
        text = http.get("/_proxy/metrics").text
        health = http.get("/_proxy/healthz").json()
    assert 'nlpfeat_proxy_admitted_total{class="interactive",client="web"} 2.0' in text
    assert (
        'nlpfeat_proxy_rejected_total{class="interactive",client="web",reason="rate"} 1.0' in text
    )
    assert 'reason="unauthenticated"} 1.0' in text
    assert "nlpfeat_proxy_upstream_latency_seconds_bucket" in text
    assert health["limiter"] == "memory" and health["upstreams"][0]["healthy"] is True


def test_a_caller_that_leaves_while_queued_is_never_forwarded(
    servers: Callable[[web.Application], str], loop_thread: Any
) -> None:
    """One slot upstream, held by a slow request; a second caller queues, then hangs up."""
    hits: list[str] = []
    release = threading.Event()

    async def slow(request: web.Request) -> web.Response:
        if request.path == "/readyz":
            return web.Response(text="ready")
        hits.append(request.path)
        while not release.is_set():
            await asyncio.sleep(0.01)
        return web.Response(text="ok")

    upstream_app = web.Application()
    upstream_app.router.add_route("*", "/{tail:.*}", slow)
    upstream_url = servers(upstream_app)
    url = servers(
        create_app(config(upstream_url, capacity={"max_in_flight": 1, "interactive_reserved": 0}))
    )
    headers = {"X-API-Key": JOB_KEY}

    holder = threading.Thread(target=lambda: httpx.get(f"{url}/first", headers=headers, timeout=10))
    holder.start()
    while not hits:
        time.sleep(0.01)
    try:
        answer = httpx.get(f"{url}/second", headers=headers, timeout=0.3)
        pytest.fail(f"expected to wait in the queue, got {answer.status_code} {answer.text}")
    except httpx.ReadTimeout:
        pass  # the caller gives up while queued
    release.set()
    holder.join(10)
    time.sleep(0.2)
    assert hits == ["/first"], "the abandoned request must not reach the upstream"
    with httpx.Client(base_url=url) as http:
        text = http.get("/_proxy/metrics").text
    assert 'reason="client_gone"} 1.0' in text

"""Fixtures of the proxy integration tests: aiohttp apps (the fake NLP API, the proxy) on a
private event loop in a background thread, and Redis key prefixes of a test's own.

The helpers behind them (``LoopThread``, ``echo_app``...) are in ``tests/_loopback.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from _loopback import GZIPPED, LoopThread, echo_app, serve
from aiohttp import web

from nlpfeat._services import free_port
from proxy import ProxySettings, create_app


@pytest.fixture
def dead_port() -> int:
    """A localhost port with nothing listening on it."""
    return free_port()


@pytest.fixture
def gzipped_body() -> bytes:
    """The exact bytes ``/gzip`` of the fake upstream answers with."""
    return GZIPPED


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def servers(loop_thread: LoopThread) -> Iterator[Callable[[web.Application], str]]:
    """Start aiohttp apps on the loop thread; all are cleaned up after the test."""
    runners: list[web.AppRunner] = []

    def start(app: web.Application) -> str:
        runner, url = loop_thread.call(serve(app))
        runners.append(runner)
        return url

    yield start
    for runner in reversed(runners):
        loop_thread.call(runner.cleanup())


@pytest.fixture
def upstream(servers: Callable[[web.Application], str]) -> str:
    """Base URL of a running fake NLP API."""
    return servers(echo_app())


@pytest.fixture
def start_proxy(servers: Callable[[web.Application], str]) -> Callable[..., str]:
    """``start_proxy(upstream=..., rate=..., burst=..., **settings)`` -> the proxy's URL."""

    def start(**fields: Any) -> str:
        return servers(create_app(ProxySettings(**fields)))

    return start


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-proxy-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

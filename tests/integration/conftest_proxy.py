"""Fixtures for the proxy integration tests (loaded with ``pytest_plugins``).

Servers run on a private event loop in a background thread so that tests can stay plain
synchronous functions and use a real blocking HTTP client against real sockets.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import redis
from aiohttp import web

from proxy import ProxySettings, create_app

T = TypeVar("T")

GZIPPED = gzip.compress("압축된 본문 ".encode() * 50, mtime=0)


def free_port() -> int:
    """A port nothing listens on right now (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopThread:
    """An asyncio loop running in a daemon thread; ``call`` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(_cancel_leftovers())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _cancel_leftovers() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start ``app`` on a fresh 127.0.0.1 port; return its runner and base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    received = [[name.lower(), value] for name, value in request.headers.items()]
    response = web.Response(
        status=int(request.query.get("status", "200")),
        body=body,
        headers={
            "Content-Type": request.headers.get("Content-Type", "application/octet-stream"),
            "X-Echo-Method": request.method,
            "X-Echo-Path": request.rel_url.raw_path,
            "X-Echo-Query": request.rel_url.raw_query_string,
            "X-Echo-Headers": json.dumps(received),
            "X-Custom": "custom-value",
        },
    )
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


async def _gzipped(request: web.Request) -> web.Response:
    return web.Response(
        body=GZIPPED, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
    )


async def _chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    await response.prepare(request)
    for i in range(5):
        await response.write(f"조각 {i}\n".encode())
    await response.write_eof()
    return response


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(1.0)
    return web.Response(text="late")


def echo_app() -> web.Application:
    """The fake NLP API: ``/gzip``, ``/chunked``, ``/slow``, and echo for everything else."""
    app = web.Application()
    app.router.add_get("/gzip", _gzipped)
    app.router.add_get("/chunked", _chunked)
    app.router.add_get("/slow", _slow)
    app.router.add_route("*", "/{tail:.*}", _echo)
    return app


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


class PrivateRedis:
    """A redis-server of the test's own on a spare port: it may be stopped and resumed
    (SIGSTOP/SIGCONT) without touching the shared one on 6379."""

    def __init__(self, binary: str, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        cmd = [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 5
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        self.resume()
        self.proc.terminate()
        self.proc.wait(5)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = PrivateRedis(binary, free_port())
    yield server
    server.close()

"""Real servers on loopback for the integration tests: an asyncio loop in a thread, aiohttp
apps on fresh ports, the fake NLP API, and a redis-server of a test's own.

Imported as ``_loopback`` (``tests/`` is on ``sys.path``); the fixtures around these live in
``tests/conftest.py`` and ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import redis
from aiohttp import web

from nlpfeat._services import free_port

__all__ = ["GZIPPED", "LoopThread", "RedisServer", "echo_app", "serve"]

T = TypeVar("T")

GZIPPED = gzip.compress("압축된 본문 ".encode() * 50, mtime=0)
"""The exact bytes ``/gzip`` of the fake upstream answers with."""


class LoopThread:
    """An asyncio loop running in a daemon thread; ``call`` runs a coroutine on it, so tests
    stay plain synchronous functions with a real blocking HTTP client on real sockets."""

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


class RedisServer:
    """A redis-server of a test's own on a spare port, never the shared one on 6379: it may
    be stopped and started again on the same port, or paused (SIGSTOP) and resumed."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> RedisServer:
        """Launch it and return once it answers PING."""
        cmd = [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.proc = proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def pause(self) -> None:
        os.kill(self._running().pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self._running().pid, signal.SIGCONT)

    def stop(self) -> None:
        """Terminate it (resumed first, if paused); ``start`` may bring it back."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
        self.proc.wait(5)
        self.proc = None

    def _running(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise RuntimeError(f"redis-server on port {self.port} is not started")
        return self.proc

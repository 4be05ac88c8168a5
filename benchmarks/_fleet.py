"""The processes a benchmark scenario starts, and the guarantee that they all stop.

``Fleet`` is a context manager: every server it starts (NLP API, proxy, model upstream, an own
``redis-server``) and every load-generator run is a child process in a session of its own, so
Ctrl-C reaches only the benchmark, which then stops them all on the way out. A stopped
(SIGSTOPped) Redis is continued before it is terminated.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from nlpfeat._services import ServiceFailed, free_port, redis_reachable, service

__all__ = ["ClientSpec", "Fleet", "LoadRun", "ProxySpec", "Server", "workdir"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class ClientSpec:
    """One ``[[clients]]`` entry of a generated proxy.toml."""

    name: str
    klass: str = "batch"
    rate: float = 1e5
    burst: int = 1000
    max_in_flight: int = 1000
    queue_cap: int = 0
    max_wait: float = 0.0

    @property
    def key(self) -> str:
        return f"bench-key-{self.name}-0123456789"


@dataclass(frozen=True)
class ProxySpec:
    """What a generated proxy.toml says; ``redis_url`` None means the in-process limiter."""

    upstreams: Sequence[str]
    clients: Sequence[ClientSpec]
    redis_url: str | None = None
    replicas: int = 1
    key_prefix: str = "bench"
    max_in_flight: int = 1000
    interactive_reserved: float = 0.0
    pool_size: int = 1000

    def toml(self, port: int) -> str:
        def value(v: object) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            return json.dumps(v) if isinstance(v, str | list) else repr(v)

        def table(name: str, items: dict[str, object]) -> list[str]:
            return [name, *(f"{k} = {value(v)}" for k, v in items.items()), ""]

        redis: dict[str, object] = {"key_prefix": self.key_prefix, "replicas": self.replicas}
        if self.redis_url:
            redis["url"] = self.redis_url
        lines = [
            *table("[server]", {"host": "127.0.0.1", "port": port}),
            *table("[redis]", redis),
            *table(
                "[capacity]",
                {
                    "max_in_flight": self.max_in_flight,
                    "interactive_reserved": self.interactive_reserved,
                },
            ),
            *table("[upstream]", {"urls": list(self.upstreams), "pool_size": self.pool_size}),
        ]
        for c in self.clients:
            lines += table(
                "[[clients]]",
                {
                    "name": c.name,
                    "key": c.key,
                    "class": c.klass,
                    "rate": float(c.rate),
                    "burst": c.burst,
                    "max_in_flight": c.max_in_flight,
                    "queue_cap": c.queue_cap,
                    "max_wait": float(c.max_wait),
                },
            )
        return "\n".join(lines)


@dataclass
class Server:
    """A started child: its base URL and process (for CPU time and signals)."""

    name: str
    url: str
    proc: subprocess.Popen

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def cpu_seconds(self) -> float:
        t = self.process.cpu_times()
        return t.user + t.system


@dataclass
class Fleet:
    """Starts servers and load runs for one benchmark; stops all of them on exit."""

    workdir: Path
    data: Path
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _runs: int = 0

    def __enter__(self) -> Fleet:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._stack.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(None, None, None)

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def stop(self, server: Server) -> None:
        """Stop one server early (the rest stop with the fleet)."""
        _terminate(server.proc)

    # -- servers ----------------------------------------------------------------------------

    def api(self, analyzers: str = "mecab") -> Server:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = ["api", "--port", str(port), "--analyzers", analyzers, "--isolate", ""]
        proc = self._stack.enter_context(service("api", args, f"{url}/readyz", log_dir=self.logs))
        return Server("api", url, proc)

    def proxy(self, spec: ProxySpec, name: str = "proxy") -> Server:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        path = self.workdir / f"{name}.toml"
        path.write_text(spec.toml(port), encoding="utf-8")
        args = ["proxy", "--config", str(path)]
        ready = f"{url}/_proxy/readyz"
        proc = self._stack.enter_context(service(name, args, ready, log_dir=self.logs))
        return Server(name, url, proc)

    def model(
        self,
        slots: int = 0,
        base_ms: float = 0.0,
        per_doc_ms: float = 0.0,
        name: str = "model",
        preempt: bool = False,
    ) -> Server:
        """``benchmarks/model_upstream.py``; ``slots=0`` is the no-op upstream; ``preempt``
        serves interactive requests between a batch's docs, as the real API does."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [
            sys.executable,
            str(HERE / "model_upstream.py"),
            "--port",
            str(port),
            "--slots",
            str(slots),
            "--base-ms",
            str(base_ms),
            "--per-doc-ms",
            str(per_doc_ms),
            *(["--preempt"] if preempt else []),
        ]
        proc = self._spawn(name, argv, lambda: _http_ok(f"{url}/readyz"))
        return Server(name, url, proc)

    def redis(self, name: str = "redis") -> Server:
        """An own ``redis-server`` on a spare port (no persistence), free to SIGSTOP."""
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        argv = [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        proc = self._spawn(name, argv, lambda: redis_reachable(url, timeout=0.2))
        return Server(name, url, proc)

    def _spawn(self, name: str, argv: list[str], ready: Callable[[], bool]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("wb")
        self._stack.callback(log.close)
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        self._stack.callback(_terminate, proc)
        deadline = time.monotonic() + 30
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceFailed(f"{name} did not start; see {self.logs / name}.log")
            time.sleep(0.1)
        return proc

    # -- load -------------------------------------------------------------------------------

    def start_load(self, streams: list[dict[str, Any]], delay: float = 1.5) -> LoadRun:
        """Start ``_load.py`` in its own process; its streams begin ``delay`` s from now."""
        self._runs += 1
        spec_path = self.workdir / f"load-{self._runs}.json"
        out_path = self.workdir / f"load-{self._runs}.out.json"
        start_at = time.monotonic() + delay
        spec = {"start_at": start_at, "data": str(self.data), "streams": streams}
        spec_path.write_bytes(orjson.dumps(spec))
        log = (self.logs / f"load-{self._runs}.log").open("wb")
        self._stack.callback(log.close)
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_load.py"), str(spec_path), str(out_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._stack.callback(_terminate, proc)
        end = start_at + max(s.get("start", 0.0) + s["duration"] for s in streams)
        return LoadRun(proc, out_path, start_at, end, self.logs / f"load-{self._runs}.log")


@dataclass
class LoadRun:
    """A running load generator; ``start_at``/``end`` are ``time.monotonic()`` seconds."""

    proc: subprocess.Popen
    out: Path
    start_at: float
    end: float
    log: Path

    def wait(self, tick: Callable[[], None] | None = None) -> dict[str, Any]:
        while self.proc.poll() is None:
            if tick:
                tick()
            time.sleep(0.1)
        if self.proc.returncode != 0:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise ServiceFailed(f"load generator failed ({self.proc.returncode}):\n{tail}")
        return orjson.loads(self.out.read_bytes())


def _http_ok(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """``keep`` if given (created), else a temporary directory removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        yield Path(tmp)

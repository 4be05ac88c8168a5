"""The servers a benchmark starts, one launcher per kind, one way to wait until they answer,
and the guarantee that they all stop.

``Servers`` is a context manager: every server it starts (the NLP API or another ``nlpfeat``
stage, the model upstream, an own ``redis-server``) is a child process in a session of its own,
so Ctrl-C reaches only the benchmark, which then stops them all on the way out. A stopped
(SIGSTOPped) Redis is continued before it is terminated. ``wait_until`` is the one readiness
poll: it names what did not come up, and where its log is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
from _proxy_config import ProxySpec

from nlpfeat._services import ServiceFailed, free_port, redis_reachable, service

__all__ = [
    "Server",
    "Servers",
    "ServiceFailed",
    "cpu_seconds",
    "http_ok",
    "terminate",
    "wait_until",
    "workdir",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
T = TypeVar("T")


def wait_until(
    what: str,
    probe: Callable[[], T | None],
    *,
    proc: subprocess.Popen | None = None,
    timeout: float = 30.0,
    log: Path | None = None,
    every: float = 0.1,
) -> T:
    """Call `probe` until it returns something other than None or False, and return that;
    raise ServiceFailed naming `what` (and `log`) if `proc` exits or `timeout` s pass first."""
    see = f"; see {log}" if log else ""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServiceFailed(f"{what} exited with {proc.returncode} before it came up{see}")
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise ServiceFailed(f"{what} did not come up within {timeout:.0f} s{see}")
        time.sleep(every)


def http_ok(url: str) -> bool:
    """Whether GET `url` answers 200 within a second."""
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def _analyzer_states(url: str) -> dict[str, str] | None:
    """{} once /readyz is 200; the analyzers that failed once every one is ready or failed;
    None while some are still loading."""
    with contextlib.suppress(httpx.HTTPError, ValueError):
        resp = httpx.get(f"{url}/readyz", timeout=5)
        if resp.status_code == 200:
            return {}
        states = resp.json().get("analyzers", {})
        if states and all(s == "ready" or s.startswith("failed") for s in states.values()):
            return {a: s for a, s in states.items() if s != "ready"}
    return None


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User+system CPU of a process so far; with `children`, also that of its children
    (isolated analyzers), including children already gone (an isolated analyzer killed after
    a doc timeout): their time moves into the parent's children_user/children_system when it
    reaps them."""
    proc = psutil.Process(pid)
    t = proc.cpu_times()
    total = t.user + t.system
    if children:
        total += t.children_user + t.children_system
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
    return total


@dataclass
class Server:
    """A started child: its base URL and process (for CPU time and signals); for the NLP API,
    the analyzers that failed to load."""

    name: str
    url: str
    proc: subprocess.Popen
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)


class Servers:
    """Starts servers for one benchmark, logs in `logs`; stops all of them on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Servers:
        self.logs.mkdir(parents=True, exist_ok=True)
        self._stack.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(None, None, None)

    def stop(self, server: Server) -> None:
        """Stop one server early (the rest stop on exit)."""
        terminate(server.proc)

    def nlpfeat(
        self,
        name: str,
        argv: list[str],
        url: str,
        ready_path: str,
        *,
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
        stop_grace: float = 10.0,
        timeout: float = 180.0,
    ) -> Server:
        """`nlpfeat <argv>` (through `nlpfeat._services.service`), once GET
        `url + ready_path` answers 200."""
        cm = service(
            name,
            argv,
            f"{url}{ready_path}",
            log_dir=self.logs,
            timeout=timeout,
            env=env,
            launcher=launcher,
            stop_grace=stop_grace,
        )
        return Server(name, url, self._stack.enter_context(cm))

    def api(
        self,
        analyzers: str | Sequence[str] = "mecab",
        *,
        workers: int = 1,
        isolate: str | None = "",
        name: str = "api",
        env: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
        stop_grace: float = 10.0,
        timeout: float = 600.0,
        allow_failed: bool = False,
    ) -> Server:
        """`nlpfeat api`, once every analyzer is loaded or has failed (`server.failed`; an
        error unless `allow_failed`). `isolate` None keeps the API's default isolation."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        names = analyzers if isinstance(analyzers, str) else ",".join(analyzers)
        argv = ["api", "--port", str(port), "--workers", str(workers), "--analyzers", names]
        if isolate is not None:
            argv += ["--isolate", isolate]
        server = self.nlpfeat(
            name,
            argv,
            url,
            "/healthz",
            env=env,
            launcher=launcher,
            stop_grace=stop_grace,
            timeout=timeout,
        )
        log = self.logs / f"{name}.log"
        what = f"{name}'s analyzers ({url}/readyz)"
        probe = functools.partial(_analyzer_states, url)
        server.failed = wait_until(what, probe, proc=server.proc, timeout=timeout, log=log)
        if server.failed and not allow_failed:
            raise ServiceFailed(f"{name}: analyzers failed to load: {server.failed}; see {log}")
        return server

    def proxy(self, spec: ProxySpec, name: str = "proxy") -> Server:
        """`nlpfeat proxy` with the proxy.toml `spec` says (written to the logs folder)."""
        port = free_port()
        config = self.logs / f"{name}.toml"
        config.write_text(spec.toml(port), encoding="utf-8")
        argv = ["proxy", "--config", str(config)]
        return self.nlpfeat(name, argv, f"http://127.0.0.1:{port}", "/_proxy/readyz")

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
        argv = [sys.executable, str(HERE / "model_upstream.py"), "--port", str(port)]
        argv += ["--slots", str(slots), "--base-ms", str(base_ms), "--per-doc-ms", str(per_doc_ms)]
        argv += ["--preempt"] if preempt else []
        return self.spawn(name, argv, url, lambda: http_ok(f"{url}/readyz"))

    def redis(self, name: str = "redis") -> Server:
        """An own ``redis-server`` on a spare port (no persistence), free to SIGSTOP."""
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        return self.spawn(name, argv, url, lambda: redis_reachable(url, timeout=0.2))

    def spawn(self, name: str, argv: list[str], url: str, ready: Callable[[], bool]) -> Server:
        """Any program, in a session of its own, once `ready()`; output to `<name>.log`."""
        log_path = self.logs / f"{name}.log"
        log = log_path.open("wb")
        self._stack.callback(log.close)
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        self._stack.callback(terminate, proc)
        wait_until(f"{name} ({url})", ready, proc=proc, log=log_path)
        return Server(name, url, proc)


def terminate(proc: subprocess.Popen) -> None:
    """SIGCONT and SIGTERM to the process's session, SIGKILL after 10 s."""
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
def workdir(keep: Path | None, prefix: str = "nlpfeat-bench-") -> Iterator[Path]:
    """``keep`` if given (created), else a temporary directory removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)

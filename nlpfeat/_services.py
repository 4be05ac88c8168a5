"""Start the platform's servers as child processes, wait until they answer, always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

__all__ = ["ServiceFailed", "free_port", "port_is_free", "redis_reachable", "service"]


class ServiceFailed(RuntimeError):
    pass


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def redis_reachable(url: str, timeout: float = 0.5) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@contextlib.contextmanager
def service(
    name: str,
    args: Sequence[str],
    ready_url: str,
    *,
    log_dir: Path,
    timeout: float = 180.0,
    env: dict[str, str] | None = None,
    launcher: Sequence[str] = (),
    stop_grace: float = 10.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `nlpfeat <args>` until the block exits; yields once GET `ready_url` answers 200.
    `launcher` goes before the interpreter (e.g. a valgrind command line, which keeps the
    pid); on exit the process gets SIGTERM and `stop_grace` seconds before SIGKILL."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*launcher, sys.executable, "-m", "nlpfeat", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            _wait_ready(name, proc, ready_url, log_path, timeout)
            yield proc
        finally:
            _stop(proc, stop_grace)


def _wait_ready(
    name: str, proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceFailed(f"{name} exited with {proc.returncode}:\n{_tail(log_path)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise ServiceFailed(f"{name} not ready at {url} after {timeout:.0f}s:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

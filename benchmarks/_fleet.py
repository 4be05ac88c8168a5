"""The servers of a proxy benchmark scenario and its load-generator runs.

``Fleet`` is ``Servers`` (NLP API, proxy, model upstream, an own ``redis-server``) plus runs
of the load generator ``_load.py``, each a child process in a session of its own, stopped with
the servers on the way out.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from _data import SAMPLE
from _servers import Servers, ServiceFailed, terminate

__all__ = ["Fleet", "LoadRun"]

HERE = Path(__file__).resolve().parent


class Fleet(Servers):
    """Servers and load runs for one scenario, in `workdir` (logs under `workdir/logs`); the
    load generator's sentences come from the reviews file `data`."""

    def __init__(self, workdir: Path, data: Path = SAMPLE) -> None:
        super().__init__(workdir / "logs")
        self.workdir = workdir
        self.data = data
        self._runs = 0

    def __enter__(self) -> Fleet:
        super().__enter__()
        return self

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
        self._stack.callback(terminate, proc)
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

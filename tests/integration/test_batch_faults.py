"""BATCH under faults, all real: the API SIGKILLed and restarted and the proxy restarted while a
job runs, and a job killed half-way then run again.

Each test starts its own API (mecab) and proxy on fixed ports so that they can be restarted
in place, with a proxy limit that keeps the job running long enough for the faults to land.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from contracts import TABLE_METADATA_FILENAME, read_table_info
from nlpfeat._services import free_port, service

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "reviews_sample.tsv"


class Restartable:
    """One `nlpfeat` server on a fixed port that a test can kill and start again."""

    def __init__(self, name: str, args: list[str], ready: str, logs: Path) -> None:
        self.name, self.args, self.ready, self.logs = name, args, ready, logs
        self._stack = contextlib.ExitStack()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        cm = service(f"{self.name}-{self.starts}", self.args, self.ready, log_dir=self.logs)
        self.proc = self._stack.enter_context(cm)

    def kill(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(30)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def stack(redis_url: str, logs: Path) -> Iterator[dict[str, Restartable]]:
    api_port, proxy_port = free_port(), free_port()
    api = Restartable(
        "chaos-api",
        ["api", "--port", str(api_port), "--analyzers", "mecab", "--isolate", ""],
        f"http://127.0.0.1:{api_port}/readyz",
        logs,
    )
    proxy = Restartable(
        "chaos-proxy",
        [
            "proxy",
            "--upstream",
            f"http://127.0.0.1:{api_port}",
            "--port",
            str(proxy_port),
            "--rate",
            "20",
            "--burst",
            "5",
            "--redis-url",
            redis_url,
        ],
        f"http://127.0.0.1:{proxy_port}/_proxy/healthz",
        logs,
    )
    api.start()
    proxy.start()
    try:
        yield {"api": api, "proxy": proxy, "url": f"http://127.0.0.1:{proxy_port}"}  # type: ignore[dict-item]
    finally:
        proxy.close()
        api.close()


def kept_sample(tmp_path: Path, rows: int) -> tuple[Path, pd.DataFrame]:
    frame = pd.read_csv(SAMPLE, sep="\t", quoting=3, dtype={"id": str, "document": str})
    frame = frame.head(rows)
    path = tmp_path / "reviews.tsv"
    frame.to_csv(path, sep="\t", index=False, quoting=3)
    kept = frame[frame["document"].fillna("").str.len() >= 1]
    return path, kept


def test_faults_lose_no_row_and_turn_no_good_row_into_an_error(spark, stack, tmp_path):
    from spark_udfs import featurize, load_job

    source, kept = kept_sample(tmp_path, 3000)
    job = load_job(
        overrides={
            "input": {"path": str(source)},
            "filters": {"min_chars": 1},
            "output": {"path": str(tmp_path / "features"), "rows_per_part": 600},
            "service": {"proxy": stack["url"], "batch_size": 10, "deadline": 60.0},
        }
    )
    faults: list[str] = []
    out = tmp_path / "features"

    def chaos() -> None:  # once requests flow (the first part is written), kill the API...
        while not list(out.glob("part=*/_SUCCESS")):
            time.sleep(0.05)
        stack["api"].kill(signal.SIGKILL)
        faults.append(f"api SIGKILLed at {time.monotonic() - t0:.1f}s")
        stack["api"].start()
        faults.append(f"api back at {time.monotonic() - t0:.1f}s")
        time.sleep(1)
        stack["proxy"].kill(signal.SIGKILL)  # ...then the proxy, mid-request
        faults.append(f"proxy SIGKILLed at {time.monotonic() - t0:.1f}s")
        stack["proxy"].start()
        faults.append(f"proxy back at {time.monotonic() - t0:.1f}s")

    t0 = time.monotonic()
    thread = threading.Thread(target=chaos)
    thread.start()
    try:
        result = featurize(job, spark=spark, progress=False)
    finally:
        thread.join()
    elapsed = time.monotonic() - t0
    assert len(faults) == 4, f"the faults must land while the job runs: {faults}"

    table = pd.read_parquet(tmp_path / "features")
    assert len(table) == len(kept)
    assert table["id"].is_unique and set(table["id"]) == set(kept["id"])
    assert table["error"].isna().all(), table["error"].dropna().value_counts().to_dict()
    info = read_table_info(tmp_path / "features")
    assert info.job["rows"]["errored"] == {}
    assert info.job["rows"]["featurized"] == len(kept)
    retries = {k: v for k, v in result.job["retries"].items() if k != "requests"}
    met = sum(v for k, v in retries.items() if k != "429")
    assert met > 0, f"no request met a fault: the test proved nothing ({retries})"
    print(f"\nchaos: {faults}; {elapsed:.1f}s; retries by cause {retries}")


def test_a_killed_job_resumes_without_redoing_finished_parts(stack, tmp_path):
    source, kept = kept_sample(tmp_path, 2000)
    out = tmp_path / "features"
    config = tmp_path / "job.toml"
    config.write_text(
        f"""
[input]
path = "{source}"
[filters]
min_chars = 1
[output]
path = "{out}"
rows_per_part = 200
[service]
proxy = "{stack["url"]}"
batch_size = 16
""",
        encoding="utf-8",
    )
    cmd = [sys.executable, "-m", "nlpfeat", "featurize", "--config", str(config), "--no-progress"]
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 240
    while len(list(out.glob("part=*/_SUCCESS"))) < 3:
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("part=*/_SUCCESS")}
    assert not (out / TABLE_METADATA_FILENAME).exists()
    assert 3 <= len(finished) < 10, "killed too late to show a resume"

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("part=*/_SUCCESS")}
    assert {k: after[k] for k in finished} == finished, "finished parts were written again"
    table = pd.read_parquet(out)
    assert len(table) == len(kept) and table["id"].is_unique
    assert set(table["id"]) == set(kept["id"])
    info = json.loads((out / TABLE_METADATA_FILENAME).read_text())
    assert info["job"]["rows"]["kept"] == len(kept)
    assert "resumed" in again.stderr, again.stderr[-2000:]

    # a third run over the finished table changes nothing and says so
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "already complete" in third.stderr, third.stderr[-2000:]
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("part=*/_SUCCESS")} == after
    assert httpx.get(f"{stack['url']}/_proxy/healthz").status_code == 200

"""Two proxy processes, two NLP API processes and real Redis, started as a user would
(`nlpfeat proxy --config`, `nlpfeat api --upstream-token`); then faults under load: Redis
stopped and resumed, one API process killed."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from _loopback import RedisServer

from nlpfeat._services import free_port, service

TOKEN = "cluster-upstream-token"
JOB_KEY = "cluster-job-key-0123"
WEB_KEY = "cluster-web-key-0123"
DOC = "이 영화 정말 재밌어요 배우들 연기가 최고"


def proxy_toml(redis_url: str, prefix: str, apis: list[str], *, job_rate: float) -> str:
    urls = ", ".join(f'"{u}"' for u in apis)
    return f"""
[redis]
url = "{redis_url}"
key_prefix = "{prefix}"
replicas = 2
timeout_ms = 5

[capacity]
max_in_flight = 8
interactive_reserved = 0.25

[upstream]
urls = [{urls}]
token_env = "CLUSTER_TEST_TOKEN"
eject_after = 2
eject_seconds = 30
check_interval = 0.2

[[clients]]
name = "job"
key = "{JOB_KEY}"
class = "batch"
rate = {job_rate}
burst = 4
max_wait = 0
queue_cap = 0

[[clients]]
name = "web"
key = "{WEB_KEY}"
class = "interactive"
rate = 1000
burst = 100
"""


@contextlib.contextmanager
def cluster(
    tmp_path: Path, redis_url: str, *, job_rate: float
) -> Iterator[tuple[list[str], list[str], list]]:
    """Yield (proxy URLs, API URLs, API processes)."""
    env = {"CLUSTER_TEST_TOKEN": TOKEN}
    with contextlib.ExitStack() as stack:
        apis, procs = [], []
        for i in range(2):
            port = free_port()
            args = ["api", "--port", str(port), "--analyzers", "mecab", "--isolate", ""]
            args += ["--upstream-token", TOKEN]
            url = f"http://127.0.0.1:{port}"
            procs.append(
                stack.enter_context(service(f"api{i}", args, f"{url}/readyz", log_dir=tmp_path))
            )
            apis.append(url)
        config = tmp_path / "proxy.toml"
        prefix = f"test-cluster-{os.getpid()}-{time.monotonic_ns()}"
        config.write_text(proxy_toml(redis_url, prefix, apis, job_rate=job_rate))
        proxies = []
        for i in range(2):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            args = ["proxy", "--config", str(config), "--port", str(port)]
            stack.enter_context(
                service(f"proxy{i}", args, f"{url}/_proxy/readyz", log_dir=tmp_path, env=env)
            )
            proxies.append(url)
        yield proxies, apis, procs


def analyze(http: httpx.Client, url: str, key: str, docs: list[str]) -> httpx.Response:
    return http.post(
        f"{url}/v1/analyze",
        json={"analyzer": "mecab", "docs": docs},
        headers={"X-API-Key": key},
    )


def upstream_counts(proxy: str) -> dict[str, float]:
    text = httpx.get(f"{proxy}/_proxy/metrics").text
    out = {}
    for line in text.splitlines():
        if line.startswith("nlpfeat_proxy_upstream_latency_seconds_count"):
            upstream = line.split('upstream="')[1].split('"')[0]
            out[upstream] = float(line.rsplit(" ", 1)[1])
    return out


@pytest.mark.redis
@pytest.mark.slow
def test_two_proxies_share_limits_and_spread_over_two_apis(tmp_path: Path, redis_url: str) -> None:
    with cluster(tmp_path, redis_url, job_rate=5) as (proxies, apis, _):
        with httpx.Client(timeout=10) as http:
            direct = http.post(f"{apis[0]}/v1/analyze", json={"analyzer": "mecab", "docs": [DOC]})
            assert direct.status_code == 401, "the API refuses calls that bypass the proxy"
            with_token = http.post(
                f"{apis[0]}/v1/analyze",
                json={"analyzer": "mecab", "docs": [DOC]},
                headers={"X-Upstream-Token": TOKEN},
            )
            via_proxy = analyze(http, proxies[1], WEB_KEY, [DOC])
            assert via_proxy.status_code == 200
            assert via_proxy.json()["results"] == with_token.json()["results"]

            for i in range(40):  # interactive traffic spreads over both APIs
                assert analyze(http, proxies[i % 2], WEB_KEY, [DOC]).status_code == 200

            started = time.monotonic()
            statuses = [
                analyze(http, proxies[i % 2], JOB_KEY, [DOC]).status_code for i in range(30)
            ]
            elapsed = time.monotonic() - started
        admitted = statuses.count(200)
        assert set(statuses) <= {200, 429}
        bound = 4 + 5 * elapsed  # burst + rate x time, for both replicas together
        assert admitted <= bound + 1, (admitted, bound)
        assert admitted >= 4
        for proxy in proxies:
            counts = upstream_counts(proxy)
            assert all(counts.get(api, 0) > 0 for api in apis), counts


@dataclass
class Load:
    """Background clients sending single-doc requests through both proxies."""

    proxies: list[str]
    key: str
    threads: int = 4
    results: list[tuple[float, int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, i: int) -> None:
        with httpx.Client(timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    status = analyze(http, self.proxies[(i + n) % 2], self.key, [DOC]).status_code
                except httpx.HTTPError:
                    status = 0
                self.results.append((sent, status, time.monotonic() - sent))
                n += 1
                if status == 429:
                    time.sleep(0.01)

    def __enter__(self) -> Load:
        self._workers = [threading.Thread(target=self.run, args=(i,)) for i in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for w in self._workers:
            w.join(15)

    def between(self, start: float, end: float) -> list[tuple[float, int, float]]:
        return [r for r in self.results if start <= r[0] < end]


def degraded(proxy: str) -> bool:
    return bool(httpx.get(f"{proxy}/_proxy/healthz", timeout=2).json()["degraded"])


@pytest.mark.slow
def test_redis_stopped_and_resumed_then_an_api_killed_under_load(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rate = 20.0
    with cluster(tmp_path, redis_server.url, job_rate=rate) as (proxies, _apis, procs):
        with Load(proxies, JOB_KEY) as load:
            time.sleep(1.0)
            redis_server.pause()
            paused = time.monotonic()
            time.sleep(3.0)
            assert all(degraded(p) for p in proxies), "both replicas limit locally"
            redis_server.resume()
            resumed = time.monotonic()
            while any(degraded(p) for p in proxies) and time.monotonic() - resumed < 5:
                time.sleep(0.05)
            recovered = time.monotonic() - resumed
            time.sleep(0.5)
            os.killpg(procs[0].pid, signal.SIGKILL)
            killed = time.monotonic()
            time.sleep(3.0)
        during = load.between(paused + 0.2, resumed)
        after_kill = load.between(killed, killed + 3.0)

    before_kill = [s for t, s, _ in load.results if t < killed]
    assert before_kill and set(before_kill) <= {200, 429}, "no 5xx while Redis was stopped"
    assert recovered <= 2.0, f"Redis mode came back {recovered:.2f} s after SIGCONT"
    window = resumed - (paused + 0.2)
    admitted = sum(s == 200 for _, s, _ in during)
    # each replica enforces rate/2 with burst ceil(4/2) from a fresh local state
    assert admitted <= 1.1 * rate * window + 4, (admitted, window)
    assert admitted >= 0.5 * rate * window, "local limits still admit their share"
    refused_fast = [lat for _, s, lat in during if s == 429]
    assert refused_fast and max(refused_fast) < 0.5, "no request is held by the limiter"
    failed = [s for _, s, _ in after_kill if s != 200 and s != 429]
    assert len(failed) <= 2, f"killing one API failed {len(failed)} requests: {failed}"
    assert any(s == 200 for _, s, _ in after_kill[-20:]), "the live API keeps answering"

"""Smoke tests of the proxy benchmarks: they run, and what they measure is right.

The one-replica scenario is a real measurement (on an own ``redis-server``): over any span ``d``
GCRA admits at most ``R * d + B``, and at three times the rate it should admit nearly that.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"

pytestmark = pytest.mark.slow


@pytest.fixture
def bench_modules(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))
    import _fleet
    import _proxy_config

    return _fleet, _proxy_config


def test_one_replica_admits_the_gcra_bound(tmp_path: Path, redis_server_binary: str) -> None:
    """bench_proxy.py starts a redis-server of its own: the fixture says when there is none."""
    out = tmp_path / "figures.json"
    argv = [
        sys.executable,
        str(BENCH / "bench_proxy.py"),
        "--scenarios",
        "one-replica",
        "--duration",
        "3",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path / "work"),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (outcome,) = json.loads(out.read_text())["outcomes"]
    f = outcome["figures"]
    assert f["other"] == 0, f"answers other than 200/429: {f}"
    assert f["admitted"] + f["refused"] == f["sent"]
    assert f["sent"] >= 0.95 * 3 * f["rate"] * 3, "the generator did not offer 3R"
    bound = f["rate"] * f["span"] + f["burst"]
    assert f["admitted"] <= bound, f"admitted {f['admitted']} above R*d+B = {bound:.1f}"
    assert f["admitted"] >= 0.9 * f["nominal"], f"admitted {f['admitted']} of {f['nominal']}"


@pytest.fixture
def proxy_before_model(
    bench_modules: tuple[ModuleType, ModuleType], tmp_path: Path
) -> Iterator[tuple[str, dict]]:
    fl, config = bench_modules
    with fl.Fleet(tmp_path, ROOT / "data" / "reviews_sample.tsv") as fleet:
        model = fleet.model(slots=8, base_ms=2, per_doc_ms=0.05)
        web = config.ClientSpec("web", "interactive", queue_cap=100, max_wait=5)
        batch = config.ClientSpec("spark", "batch", queue_cap=100, max_wait=5)
        proxy = fleet.proxy(config.ProxySpec([model.url], [web, batch], max_in_flight=8))
        keys = {"NLPFEAT_INTERACTIVE_KEY": web.key, "NLPFEAT_BATCH_KEY": batch.key}
        yield proxy.url, keys


def test_locust_headless_through_the_proxy(
    proxy_before_model: tuple[str, dict], tmp_path: Path
) -> None:
    if importlib.util.find_spec("locust") is None:  # never import it: gevent monkey-patches
        pytest.skip("locust is not installed: pip install -e '.[bench]'")
    url, keys = proxy_before_model
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(BENCH / "locustfile.py"),
        "--headless",
        "-u",
        "2",
        "-r",
        "2",
        "-t",
        "3s",
        "--host",
        url,
        "--json",
        "--skip-log-setup",
    ]
    env = {**_env(), **keys}
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    stats = {s["name"]: s for s in json.loads(done.stdout)}
    assert set(stats) == {"/v1/analyze [1 doc]", "/v1/analyze [64 docs]"}, stats.keys()
    for name, s in stats.items():
        assert s["num_requests"] > 0, f"{name}: no requests made"
        assert s["num_failures"] == 0, f"{name}: {s['num_failures']} failed"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NLPFEAT_")}

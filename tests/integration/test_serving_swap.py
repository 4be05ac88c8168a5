"""A promotion, a rollback and a corrupt version under continuous load, on a real uvicorn
server with the registry watcher on: zero failed requests, and the answers switch versions
within a few seconds of each alias move."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn

from contracts import (
    CANDIDATE,
    PRODUCTION,
    FeatureSpec,
    ModelRegistry,
    ModelRepository,
    headers,
    spec_hash,
)
from nlpfeat._services import free_port
from serving import ServingSettings, create_app
from training import build_graph

NUM_FEATURES = 256
ANALYZER = "fake"
SPEC = FeatureSpec(num_features=NUM_FEATURES)
SWITCH_S = 3.0
INFER = {
    "inputs": [
        {"name": "indices", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3, 0]]},
        {"name": "values", "shape": [2, 2], "datatype": "FP32", "data": [[1.0, 2.0], [1.0, 0.0]]},
    ]
}


class Features:
    """Every doc: features 1 and 2 once each."""

    async def features(
        self,
        docs: Sequence[str],
        analyzer: str,
        spec: FeatureSpec,
        *,
        dictionary: str | None = None,
    ) -> list[dict[str, Any]]:
        return [{"indices": [1, 2], "values": [1.0, 1.0]} for _ in docs]


def new_version(repository: ModelRepository, weight: float, model: bytes | None = None) -> int:
    blob = model or build_graph(np.full(NUM_FEATURES, weight, np.float32), 0.0).SerializeToString()
    metadata = {
        "analyzer": ANALYZER,
        "num_features": NUM_FEATURES,
        "spec": SPEC.to_json(),
        "spec_hash": spec_hash(SPEC, ANALYZER),
    }
    return repository.write_version("sentiment", blob, metadata)[0]


@dataclass
class Load:
    """Threads sending /v2 infer and /v1/predict in turn until stopped; every answer kept as
    (sent, answered, status, version)."""

    url: str
    answers: list[tuple[float, float, int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self.stop.is_set():
                for path, body in (
                    ("/v2/models/sentiment/infer", INFER),
                    ("/v1/predict", {"texts": ["좋다", "싫다"]}),
                ):
                    sent = time.monotonic()
                    try:
                        response = http.post(path, json=body)
                        status = response.status_code
                        version = response.headers.get(headers.MODEL_VERSION, "")
                    except httpx.HTTPError:
                        status, version = 0, ""
                    self.answers.append((sent, time.monotonic(), status, version))

    def versions_since(self, since: float) -> list[str]:
        return [v for sent, _, _, v in list(self.answers) if sent >= since]

    def switched(self, since: float, version: str) -> float:
        """Seconds from `since` until requests sent get `version` only (the last request that
        got another version, sent after `since`, bounds it)."""
        deadline = since + SWITCH_S + 2
        while time.monotonic() < deadline:
            answers = [(s, a, v) for s, a, _, v in list(self.answers) if s >= since]
            firsts = [a for s, a, v in answers if v == version]
            if firsts:
                first = min(firsts)
                late = [s for s, _, v in answers if v != version and s > first]
                assert not late, f"version {version} answered, then another one again"
                return first - since
            time.sleep(0.05)
        raise AssertionError(f"no answer from version {version} within {SWITCH_S + 2} s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, ModelRepository]]:
    repository = ModelRepository(tmp_path / "models")
    ModelRegistry(repository).set_alias(
        "sentiment", PRODUCTION, new_version(repository, 1.0), by="test", reason="first"
    )
    port = free_port()
    settings = ServingSettings(
        models_dir=repository.root, proxy_url="http://proxy.invalid:1", port=port, poll_interval=0.2
    )
    app = create_app(settings, features_client=Features())
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "serving did not start"
        time.sleep(0.05)
    yield url, repository
    server.should_exit = True
    thread.join(10)


def test_promotion_rollback_and_a_corrupt_version_under_load(
    served: tuple[str, ModelRepository],
) -> None:
    url, repository = served
    registry = ModelRegistry(repository)
    load = Load(url)
    threads = [threading.Thread(target=load.run) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        v2 = new_version(repository, -1.0)
        registry.set_alias("sentiment", CANDIDATE, v2, by="test", reason="trained")
        time.sleep(1.0)
        assert set(load.versions_since(0)) == {"1"}, "a candidate is not served"

        moved = time.monotonic()
        registry.set_alias("sentiment", PRODUCTION, v2, by="test", reason="promote")
        assert load.switched(moved, "2") < SWITCH_S

        moved = time.monotonic()
        registry.set_alias("sentiment", PRODUCTION, 1, by="test", reason="rollback")
        assert load.switched(moved, "1") < SWITCH_S

        v3 = new_version(repository, 1.0, model=b"\x00 truncated onnx")
        moved = time.monotonic()
        registry.set_alias("sentiment", PRODUCTION, v3, by="test", reason="broken")
        time.sleep(1.5)
        assert set(load.versions_since(moved)) == {"1"}
        with httpx.Client(base_url=url) as http:
            ready = http.get("/v2/models/sentiment/ready").json()
            assert ready["ready"] is True and ready["version"] == "1"
            assert f"version {v3}" in ready["reason"]
            meta = http.get("/v2/models/sentiment").json()
            error = meta["parameters"]["lifecycle"]["last_load_error"]
            assert error["version"] == str(v3) and "cannot load" in error["detail"]
            assert http.get("/v2/health/ready").status_code == 200
            metrics = http.get("/metrics").text
            assert (
                f'serving_model_load_failures_total{{model="sentiment",version="{v3}"}}' in metrics
            )
            assert 'serving_model_loads_total{model="sentiment",version="2"} 1.0' in metrics
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(10)
    statuses = [status for _, _, status, _ in load.answers]
    failed = [s for s in statuses if s != 200]
    assert len(statuses) > 200 and not failed, f"{len(failed)} of {len(statuses)} failed"

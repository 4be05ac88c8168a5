"""Model lifecycle in the serving app: which version answers, promotions, rollbacks, failed
loads, several models, the KServe v2 per-version routes, metrics and the in-flight limit.

Versions are tiny graphs from `training.build_graph`: version weights +1 answer label 1,
-1 label 0. The watcher is off (``poll_interval=0``); a test looks at the registry by
calling ``app.state.models.refresh()``, which is what the watcher does every poll.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from contracts import (
    CANDIDATE,
    PRODUCTION,
    FeatureSpec,
    ModelRegistry,
    ModelRepository,
    headers,
    spec_hash,
)
from serving import ServingSettings, create_app
from training import build_graph

NUM_FEATURES = 64
ANALYZER = "fake"
SPEC = FeatureSpec(num_features=NUM_FEATURES)
ONE_ROW = {
    "inputs": [
        {"name": "indices", "shape": [1, 2], "datatype": "INT64", "data": [[1, 2]]},
        {"name": "values", "shape": [1, 2], "datatype": "FP32", "data": [[1.0, 1.0]]},
    ]
}


def graph_bytes(weight: float) -> bytes:
    return build_graph(np.full(NUM_FEATURES, weight, np.float32), 0.0).SerializeToString()


def write_version(
    repository: ModelRepository, weight: float = 1.0, name: str = "sentiment", **overrides: Any
) -> int:
    """A complete version whose rows all get label ``weight > 0``."""
    model = overrides.pop("model", None) or graph_bytes(weight)
    metadata = {
        "analyzer": ANALYZER,
        "num_features": NUM_FEATURES,
        "spec": SPEC.to_json(),
        "spec_hash": spec_hash(SPEC, ANALYZER),
        **overrides,
    }
    return repository.write_version(name, model, metadata)[0]


class OneFeature:
    """Every doc has feature 1 once; with `hold`, waits for it to be set first."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.hold = hold
        self.entered = 0

    async def features(
        self,
        docs: Sequence[str],
        analyzer: str,
        spec: FeatureSpec,
        *,
        dictionary: str | None = None,
    ) -> list[dict[str, Any]]:
        self.entered += 1
        if self.hold is not None:
            await self.hold.wait()
        return [{"indices": [1], "values": [1.0]} for _ in docs]


@pytest.fixture
def repository(tmp_path: Path) -> ModelRepository:
    repository = ModelRepository(tmp_path / "models")
    write_version(repository, 1.0)
    write_version(repository, -1.0)
    return repository


def app_for(repository: ModelRepository, features: OneFeature | None = None, **kwargs: Any) -> Any:
    settings = ServingSettings(
        models_dir=repository.root, proxy_url="http://proxy.invalid:1", poll_interval=0, **kwargs
    )
    return create_app(settings, features_client=features or OneFeature())


@pytest.fixture
def client(repository: ModelRepository) -> Any:
    with TestClient(app_for(repository)) as test_client:
        yield test_client


def promote(repository: ModelRepository, version: int, alias: str = PRODUCTION) -> None:
    ModelRegistry(repository).set_alias("sentiment", alias, version, by="test", reason="test")


def answered(client: TestClient, path: str = "/v2/models/sentiment/infer") -> tuple[str, int]:
    """(version, label) of one inference through `path`."""
    response = client.post(path, json=ONE_ROW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers[headers.MODEL_VERSION] == body["model_version"]
    label = next(o for o in body["outputs"] if o["name"] == "label")
    return body["model_version"], label["data"][0]


def lifecycle(client: TestClient) -> dict[str, Any]:
    lifecycle: dict[str, Any] = client.get("/v2/models/sentiment").json()["parameters"]["lifecycle"]
    return lifecycle


def test_without_an_alias_the_latest_version_serves_and_says_so(client: TestClient) -> None:
    assert answered(client) == ("2", 0)
    state = lifecycle(client)
    assert state["version"] == "2" and state["source"] == "latest version (no production alias)"
    assert state["last_load_error"] is None


def test_promotion_and_rollback_swap_versions_without_a_restart(
    client: TestClient, repository: ModelRepository
) -> None:
    promote(repository, 1)
    promote(repository, 2, CANDIDATE)
    assert answered(client) == ("2", 0)  # nothing looked at the registry yet
    client.app.state.models.refresh()
    assert answered(client) == ("1", 1)
    assert lifecycle(client)["source"] == "production alias"
    predict = client.post("/v1/predict", json={"texts": ["좋다"]})
    assert predict.json()["model_version"] == "1" == predict.headers[headers.MODEL_VERSION]
    assert predict.json()["predictions"] == [
        {"label": 1, "probability": pytest.approx(0.731, 1e-3)}
    ]
    promote(repository, 2)
    client.app.state.models.refresh()
    assert answered(client) == ("2", 0)
    assert client.get("/v2/models/sentiment").json()["versions"] == ["1", "2"]


def test_loaded_versions_answer_on_their_own_routes(
    client: TestClient, repository: ModelRepository
) -> None:
    promote(repository, 1)
    client.app.state.models.refresh()  # 1 serves, 2 stays loaded
    assert answered(client, "/v2/models/sentiment/versions/2/infer") == ("2", 0)
    assert answered(client, "/v2/models/sentiment/versions/1/infer") == ("1", 1)
    meta = client.get("/v2/models/sentiment/versions/2").json()
    assert meta["versions"] == ["2"] and meta["parameters"]["version"] == 2
    assert client.get("/v2/models/sentiment/versions/1/ready").json() == {
        "name": "sentiment",
        "ready": True,
        "version": "1",
    }
    missing = client.get("/v2/models/sentiment/versions/7/ready")
    assert missing.status_code == 503 and missing.json()["ready"] is False
    for response, status in (
        (client.post("/v2/models/sentiment/versions/7/infer", json=ONE_ROW), 404),
        (client.post("/v2/models/sentiment/versions/x/infer", json=ONE_ROW), 400),
        (client.get("/v2/models/sentiment/versions/7"), 404),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def wrong_inputs() -> bytes:
    """A valid graph whose second input is called ``x`` instead of ``values``."""
    model = build_graph(np.ones(NUM_FEATURES, np.float32), 0.0)
    model.graph.input[1].name = "x"
    for node in model.graph.node:
        node.input[:] = ["x" if i == "values" else i for i in node.input]
    return model.SerializeToString()


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"model": b"not an onnx graph"}, "cannot load"),
        ({"model": wrong_inputs()}, "expected inputs"),
        ({"spec_hash": "0" * 16}, "spec_hash"),
    ],
)
def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    client: TestClient, repository: ModelRepository, overrides: dict[str, Any], why: str
) -> None:
    broken = write_version(repository, **overrides)
    promote(repository, broken)
    models = client.app.state.models
    models.refresh()
    models.refresh()  # the same broken files are not tried again
    assert answered(client) == ("2", 0)
    error = lifecycle(client)["last_load_error"]
    assert error["version"] == str(broken) and why in error["detail"]
    ready = client.get("/v2/models/sentiment/ready")
    assert ready.status_code == 200 and why in ready.json()["reason"]
    assert client.get("/v2/health/ready").json() == {"ready": True}
    failures = f'serving_model_load_failures_total{{model="sentiment",version="{broken}"}} 1.0'
    assert failures in client.get("/metrics").text
    promote(repository, 1)  # rolling back to a good version clears the failure
    models.refresh()
    assert answered(client) == ("1", 1) and lifecycle(client)["last_load_error"] is None


def test_a_pinned_version_ignores_the_alias(repository: ModelRepository) -> None:
    promote(repository, 2)
    with TestClient(app_for(repository, model_names=("sentiment",), version=1)) as client:
        client.app.state.models.refresh()
        assert answered(client) == ("1", 1)
        assert lifecycle(client)["source"] == "pinned version"


def test_several_models_and_one_that_appears_later(repository: ModelRepository) -> None:
    write_version(repository, 1.0, name="other")
    with TestClient(app_for(repository)) as client:
        response = client.post("/v1/predict", json={"texts": ["좋다"]})
        assert response.status_code == 400 and "other" in response.json()["detail"]
        body = client.post("/v1/predict", json={"texts": ["좋다"], "model": "other"}).json()
        assert (body["model"], body["model_version"]) == ("other", "1")
        assert client.get("/v2/models/other/ready").json()["ready"] is True
        write_version(repository, 1.0, name="third")
        assert client.get("/v2/models/third").status_code == 404
        client.app.state.models.refresh()
        assert client.get("/v2/models/third").json()["versions"] == ["1"]


def test_server_metadata_and_metrics(client: TestClient) -> None:
    meta = client.get("/v2").json()
    assert meta == {"name": "nlpfeat-serving", "version": "0.1.0", "extensions": []}
    answered(client)
    client.post("/v1/predict", json={"texts": ["좋다"]})
    client.post("/v2/models/sentiment/infer", json={"inputs": ONE_ROW["inputs"][:1]})
    text = client.get("/metrics").text
    served = 'model="sentiment",route="infer",version="2"'
    for line in (
        f'serving_requests_total{{code="200",{served}}} 1.0',
        f'serving_requests_total{{code="400",{served}}} 1.0',
        'serving_errors_total{model="sentiment",route="infer",type="invalid-input",'
        'version="2"} 1.0',
        'serving_requests_total{code="200",model="sentiment",route="predict",version="2"} 1.0',
        f"serving_request_seconds_count{{{served}}} 2.0",
        'serving_model_loads_total{model="sentiment",version="2"} 1.0',
        'serving_model_version{model="sentiment"} 2.0',
    ):
        assert line in text, line


def test_over_the_in_flight_limit_is_503_with_retry_after(repository: ModelRepository) -> None:
    async def scenario() -> None:
        hold = asyncio.Event()
        features = OneFeature(hold)
        app = app_for(repository, features=features, max_predict_in_flight=1, retry_after=2)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://serving") as http,
        ):
            body = {"texts": ["좋다"]}
            held = asyncio.create_task(http.post("/v1/predict", json=body))
            while not features.entered:
                await asyncio.sleep(0)
            refused = await http.post("/v1/predict", json=body)
            assert refused.status_code == 503 and refused.headers[headers.RETRY_AFTER] == "2"
            assert refused.json()["type"].endswith(":overloaded")
            assert (await http.post("/v2/models/sentiment/infer", json=ONE_ROW)).status_code == 200
            hold.set()
            assert (await held).status_code == 200
            assert (await http.post("/v1/predict", json=body)).status_code == 200
            metrics = (await http.get("/metrics")).text
            assert 'serving_rejected_total{route="predict"} 1.0' in metrics

    asyncio.run(scenario())

"""The serving app with a model trained in tmp_path and a fake features client."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import mmh3
import numpy as np
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # starlette >= 1.x prefers httpx2 for its TestClient; httpx is what the project pins.
    warnings.filterwarnings("ignore", "Using `httpx`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

import serving
from contracts import (
    PROBLEM_TYPE_BASE,
    FeatureSpec,
    FeatureTableInfo,
    ModelRepository,
    headers,
    spec_hash,
    write_table_info,
)
from serving import ServingSettings, create_app
from serving._errors import UpstreamThrottled, UpstreamUnavailable

REVIEWS = Path(__file__).resolve().parents[2] / "data" / "reviews_sample.tsv"
NUM_FEATURES = 1 << 20
ANALYZER = "fake-whitespace"
SPEC = FeatureSpec(num_features=NUM_FEATURES)
FAIL = "<analyzer fails on this>"
PROBLEM = "application/problem+json"


def hash_doc(text: str) -> tuple[list[int], list[float]]:
    """Words, word bigrams and in-word char bigrams, hashed like Spark's HashingTF."""
    words = text.split()
    terms = words + [f"{a} {b}" for a, b in pairwise(words)]
    terms += [word[i : i + 2] for word in words for i in range(len(word) - 1)]
    counts: dict[int, float] = {}
    for term in terms:
        index = mmh3.hash(term.encode(), 42, signed=True) % NUM_FEATURES
        counts[index] = counts.get(index, 0.0) + 1.0
    ordered = sorted(counts)
    return ordered, [counts[i] for i in ordered]


class FakeFeatures:
    """Answers like the features API; a doc equal to FAIL gets an error entry."""

    def __init__(self, exc: Exception | None = None) -> None:
        self.calls: list[tuple[list[str], str, FeatureSpec, str | None]] = []
        self.exc = exc

    async def features(
        self,
        docs: Sequence[str],
        analyzer: str,
        spec: FeatureSpec,
        *,
        dictionary: str | None = None,
    ) -> list[dict[str, Any]]:
        self.calls.append((list(docs), analyzer, spec, dictionary))
        if self.exc is not None:
            raise self.exc
        results: list[dict[str, Any]] = []
        for doc in docs:
            if doc == FAIL:
                results.append({"error": {"type": "AnalyzerFailed", "detail": "boom"}})
            else:
                indices, values = hash_doc(doc)
                results.append({"indices": indices, "values": values, "error": None})
        return results


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    frame = pd.read_csv(REVIEWS, sep="\t", quoting=3, nrows=800, dtype={"id": str})
    return frame.assign(document=frame["document"].fillna(""))


@pytest.fixture(scope="module")
def trained_version(reviews: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train with the real training package; return the version directory."""
    from training import train

    features = tmp_path_factory.mktemp("data") / "features.parquet"
    features.mkdir()
    hashed = [hash_doc(doc) for doc in reviews["document"]]
    table = pa.table(
        {
            "id": reviews["id"],
            "label": pa.array(reviews["label"], pa.int32()),
            "indices": pa.array([h[0] for h in hashed], pa.list_(pa.int32())),
            "values": pa.array([h[1] for h in hashed], pa.list_(pa.float64())),
            "error": pa.nulls(len(reviews), pa.string()),
        }
    )
    pq.write_table(table, features / "part-00000.parquet")
    answer = {
        "analyzer": ANALYZER,
        "analyzer_version": "0",
        "dictionary": "none",
        "spec": SPEC.to_json(),
        "spec_hash": spec_hash(SPEC, ANALYZER),
        "user_dictionary": {"name": "movies", "version": "3"},
    }
    write_table_info(features, FeatureTableInfo.from_api(answer, rows=len(reviews)))
    result = train(features, tmp_path_factory.mktemp("models"), name="sentiment")
    return result.path


@pytest.fixture
def models_dir(trained_version: Path, tmp_path: Path) -> Path:
    """A models dir holding versions 2 and 10 (copies) and an in-progress temp dir."""
    for version in ("2", "10", ".tmp-abc"):
        shutil.copytree(trained_version, tmp_path / "sentiment" / version)
    return tmp_path


def settings_for(models_dir: Path, **kwargs: Any) -> ServingSettings:
    """No watcher: a test that wants a look at the registry calls ``models.refresh()``."""
    kwargs.setdefault("poll_interval", 0)
    return ServingSettings(models_dir=models_dir, proxy_url="http://proxy.invalid:1", **kwargs)


@pytest.fixture
def fake() -> FakeFeatures:
    return FakeFeatures()


@pytest.fixture
def client(models_dir: Path, fake: FakeFeatures) -> Any:
    with TestClient(create_app(settings_for(models_dir), features_client=fake)) as test_client:
        yield test_client


def session_for(version_dir: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(version_dir / "model.onnx"), providers=["CPUExecutionProvider"])


def direct(session: ort.InferenceSession, text: str) -> tuple[float, int]:
    indices, values = hash_doc(text)
    feeds = {
        "indices": np.array([indices], dtype=np.int64),
        "values": np.array([values], dtype=np.float32),
    }
    probability, label = session.run(None, feeds)
    return float(probability[0]), int(label[0])


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith(PROBLEM_TYPE_BASE)
    return body


def test_public_surface() -> None:
    assert serving.__all__ == sorted(serving.__all__)
    assert set(serving.__all__) == {
        "FeaturesClient",
        "ServingError",
        "ServingSettings",
        "create_app",
        "run",
    }


def test_predict_answers_every_text_in_order(
    client: TestClient, fake: FakeFeatures, reviews: pd.DataFrame, models_dir: Path
) -> None:
    texts = [*reviews["document"].iloc[:20].tolist(), "", "최고의 영화"]
    response = client.post("/v1/predict", json={"texts": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "sentiment" and body["model_version"] == "10"
    assert response.headers[headers.MODEL_VERSION] == "10"
    assert fake.calls == [(texts, ANALYZER, SPEC, "movies")]
    session = session_for(models_dir / "sentiment" / "10")
    assert len(body["predictions"]) == len(texts)
    for text, prediction in zip(texts, body["predictions"], strict=True):
        probability, label = direct(session, text)
        assert prediction["label"] == label
        assert prediction["probability"] == pytest.approx(probability, abs=1e-6)
    assert len({p["label"] for p in body["predictions"]}) == 2


def test_error_row_stays_an_error(client: TestClient) -> None:
    texts = ["정말 재미있다", FAIL, "지루하고 최악"]
    predictions = client.post("/v1/predict", json={"texts": texts}).json()["predictions"]
    assert predictions[1] == {"error": {"type": "AnalyzerFailed", "detail": "boom"}}
    assert {"label", "probability"} <= predictions[0].keys()
    assert {"label", "probability"} <= predictions[2].keys()


def test_all_rows_failing_and_empty_request(client: TestClient, fake: FakeFeatures) -> None:
    body = client.post("/v1/predict", json={"texts": [FAIL]}).json()
    assert list(body["predictions"][0]) == ["error"]
    assert client.post("/v1/predict", json={"texts": []}).json()["predictions"] == []
    assert len(fake.calls) == 1


def test_ready_and_metadata_with_model(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    response = client.get("/v2/health/ready")
    assert (response.status_code, response.json()) == (200, {"ready": True})
    meta = client.get("/v2/models/sentiment").json()
    assert meta["versions"] == ["10"]
    assert [i["name"] for i in meta["inputs"]] == ["indices", "values"]
    assert [(i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        ("INT64", [-1, -1]),
        ("FP32", [-1, -1]),
    ]
    assert [(o["name"], o["datatype"], o["shape"]) for o in meta["outputs"]] == [
        ("probability", "FP32", [-1]),
        ("label", "INT64", [-1]),
    ]
    assert meta["parameters"]["analyzer"] == ANALYZER
    assert meta["parameters"]["spec"] == SPEC.to_json()
    assert meta["parameters"]["spec_hash"] == spec_hash(SPEC, ANALYZER)
    assert client.get("/v2/models/sentiment/ready").json()["ready"] is True
    assert_problem(client.get("/v2/models/other"), 404)


def test_not_ready_without_model_until_one_appears(
    tmp_path: Path, trained_version: Path, fake: FakeFeatures
) -> None:
    app = create_app(settings_for(tmp_path / "models"), features_client=fake)
    with TestClient(app) as client:
        response = client.get("/v2/health/ready")
        assert (response.status_code, response.json()) == (503, {"ready": False})
        body = assert_problem(client.post("/v1/predict", json={"texts": ["좋다"]}), 503)
        assert "nlpfeat train" in body["detail"]
        assert_problem(
            client.post("/v2/models/sentiment/infer", json=infer_body([[1]], [[1]])), 404
        )
        assert fake.calls == []
        shutil.copytree(trained_version, tmp_path / "models" / "sentiment" / "1")
        assert client.get("/v2/health/ready").status_code == 503
        client.app.state.models.refresh()  # what the watcher does every poll_interval
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.post("/v1/predict", json={"texts": ["좋다"]}).json()["model_version"] == "1"


def infer_body(indices: Any, values: Any, **overrides: Any) -> dict[str, Any]:
    n, k = len(indices), len(indices[0]) if indices else 0
    tensors = [
        {"name": "indices", "shape": [n, k], "datatype": "INT64", "data": indices},
        {"name": "values", "shape": [n, k], "datatype": "FP32", "data": values},
    ]
    return {"inputs": tensors, **overrides}


def padded(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows = [hash_doc(text) for text in texts]
    k = max(len(r[0]) for r in rows)
    indices = np.zeros((len(rows), k), np.int64)
    values = np.zeros((len(rows), k), np.float32)
    for i, (row_indices, row_values) in enumerate(rows):
        indices[i, : len(row_indices)] = row_indices
        values[i, : len(row_values)] = row_values
    return indices, values


def test_v2_infer_matches_onnxruntime(
    client: TestClient, reviews: pd.DataFrame, models_dir: Path
) -> None:
    indices, values = padded(reviews["document"].iloc[:16].tolist())
    expected_p, expected_label = session_for(models_dir / "sentiment" / "10").run(
        None, {"indices": indices, "values": values}
    )
    nested = infer_body(indices.tolist(), values.tolist(), id="req-1")
    flat = infer_body(indices.tolist(), values.tolist())
    for tensor in flat["inputs"]:
        tensor["data"] = np.asarray(tensor["data"]).ravel().tolist()
    for body in (nested, flat):
        response = client.post("/v2/models/sentiment/infer", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["model_name"] == "sentiment" and answer["model_version"] == "10"
        assert response.headers[headers.MODEL_VERSION] == "10"
        outputs = {o["name"]: o for o in answer["outputs"]}
        assert outputs["probability"]["shape"] == [16]
        assert outputs["probability"]["datatype"] == "FP32"
        assert outputs["label"]["datatype"] == "INT64"
        np.testing.assert_array_equal(
            np.asarray(outputs["probability"]["data"], np.float32), expected_p
        )
        assert outputs["label"]["data"] == expected_label.tolist()
    assert client.post("/v2/models/sentiment/infer", json=nested).json()["id"] == "req-1"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (infer_body([[NUM_FEATURES]], [[1.0]]), 400),
        (infer_body([[-1]], [[1.0]]), 400),
        (infer_body([[1, 2]], [[1.0]]), 400),
        (infer_body([[1.5]], [[1.0]]), 400),
        (infer_body([["a"]], [[1.0]]), 400),
        (infer_body([[1], [2, 3]], [[1.0], [1.0, 1.0]]), 400),
        ({"inputs": infer_body([[1]], [[1.0]])["inputs"][:1]}, 400),
        (infer_body([[1]], [[1.0]], outputs=[{"name": "logit"}]), 400),
        ({"inputs": []}, 422),
        ({"inputs": [{"name": "indices"}]}, 422),
        ({"nothing": 1}, 422),
    ],
)
def test_v2_infer_bad_inputs_are_problems(
    client: TestClient, body: dict[str, Any], status: int
) -> None:
    assert_problem(client.post("/v2/models/sentiment/infer", json=body), status)


def test_v2_wrong_datatype_and_shape(client: TestClient) -> None:
    body = infer_body([[1]], [[1.0]])
    body["inputs"][0]["datatype"] = "FP32"
    assert_problem(client.post("/v2/models/sentiment/infer", json=body), 400)
    body = infer_body([[1]], [[1.0]])
    body["inputs"][0]["shape"] = [1]
    assert_problem(client.post("/v2/models/sentiment/infer", json=body), 400)


def test_other_bad_requests_are_problems(client: TestClient) -> None:
    assert_problem(client.post("/v2/models/nope/infer", json=infer_body([[1]], [[1.0]])), 404)
    body = assert_problem(client.post("/v1/predict", json={"texts": "not a list"}), 422)
    assert body["errors"]
    assert_problem(
        client.post("/v1/predict", content=b"{", headers={"content-type": "application/json"}), 422
    )
    assert assert_problem(client.get("/no/such/route"), 404)["type"].endswith(":not-found")
    assert assert_problem(client.get("/v1/predict"), 405)["type"].endswith(":method-not-allowed")


def test_too_many_texts(models_dir: Path, fake: FakeFeatures) -> None:
    app = create_app(settings_for(models_dir, max_texts=2), features_client=fake)
    with TestClient(app) as client:
        assert_problem(client.post("/v1/predict", json={"texts": ["a", "b", "c"]}), 400)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (UpstreamThrottled("slow down", retry_after="7"), 429, "7"),
        (UpstreamUnavailable("down"), 503, None),
    ],
)
def test_upstream_errors_are_problems(
    models_dir: Path, exc: Exception, status: int, retry_after: str | None
) -> None:
    app = create_app(settings_for(models_dir), features_client=FakeFeatures(exc))
    with TestClient(app) as client:
        response = client.post("/v1/predict", json={"texts": ["좋다"]})
    assert_problem(response, status)
    assert response.headers.get("retry-after") == retry_after


def test_unexpected_error_is_a_problem(models_dir: Path) -> None:
    app = create_app(settings_for(models_dir), features_client=FakeFeatures(RuntimeError("bug")))
    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_problem(client.post("/v1/predict", json={"texts": ["좋다"]}), 500)
    assert "bug" not in body["detail"]


def test_the_served_version_is_the_repository_latest(models_dir: Path, client: TestClient) -> None:
    repository = ModelRepository(models_dir)
    assert repository.names() == ["sentiment"] and repository.versions("sentiment") == [2, 10]
    assert client.get("/v2/models/sentiment").json()["versions"] == [
        str(repository.latest("sentiment"))
    ]
    (models_dir / "sentiment" / "11").mkdir()  # incomplete: no model, no metadata
    (models_dir / "sentiment" / "11" / "model.onnx").write_bytes(b"half")
    app = create_app(settings_for(models_dir), features_client=FakeFeatures())
    with TestClient(app) as fresh:
        assert fresh.get("/v2/models/sentiment").json()["versions"] == ["10"]


def test_a_model_from_before_specs_were_recorded_gets_the_spec_of_its_time(
    models_dir: Path, fake: FakeFeatures
) -> None:
    path = models_dir / "sentiment" / "10" / "metadata.json"
    meta = json.loads(path.read_text())
    for key in ("spec", "spec_hash", "user_dictionary"):
        del meta[key]
    path.write_text(json.dumps(meta))
    with TestClient(create_app(settings_for(models_dir), features_client=fake)) as client:
        assert client.post("/v1/predict", json={"texts": ["좋다"]}).status_code == 200
    then = FeatureSpec(
        ngram_range=(1, 2),
        char_ngram_range=None,
        text_char_ngram_range=None,
        num_features=NUM_FEATURES,
    )
    assert fake.calls == [(["좋다"], ANALYZER, then, None)]


def test_a_model_whose_spec_hash_was_edited_does_not_load(
    models_dir: Path, fake: FakeFeatures
) -> None:
    path = models_dir / "sentiment" / "10" / "metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "spec_hash": "0" * 16}))
    with TestClient(create_app(settings_for(models_dir), features_client=fake)) as client:
        response = client.get("/v2/models/sentiment/ready")
        assert response.status_code == 503 and "spec_hash" in response.json()["reason"]
        body = assert_problem(client.post("/v1/predict", json=PREDICT), 503)
        assert "spec_hash" in body["detail"]
    pinned = settings_for(models_dir, model_names=("sentiment",), version=10)
    with pytest.raises(serving.ServingError, match="spec_hash"), TestClient(create_app(pinned)):
        pass


PREDICT = {"texts": ["좋다"]}


def test_named_model_and_broken_model(models_dir: Path, fake: FakeFeatures) -> None:
    app = create_app(settings_for(models_dir, model_names=("missing",)), features_client=fake)
    with TestClient(app) as client:
        assert client.get("/v2/health/ready").status_code == 503
        assert "nlpfeat train" in client.get("/v2/models/missing/ready").json()["reason"]
    (models_dir / "sentiment" / "10" / "model.onnx").write_bytes(b"not onnx")
    app = create_app(settings_for(models_dir, model_names=("sentiment",)), features_client=fake)
    with TestClient(app) as client:
        assert client.get("/v2/health/ready").status_code == 503
        assert "cannot load" in client.get("/v2/models/sentiment/ready").json()["reason"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"proxy_url": "ftp://x"},
        {"proxy_url": "localhost:8001"},
        {"port": 70000},
        {"timeout": 0},
        {"model_names": ("../etc",)},
        {"model_names": ("has space",)},
        {"model_names": ("a", "a")},
        {"version": 2},
        {"model_names": ("a", "b"), "version": 2},
        {"model_names": ("a",), "version": 0},
        {"poll_interval": -1},
        {"max_texts": 0},
        {"max_predict_in_flight": 0},
        {"max_infer_in_flight": 0},
    ],
)
def test_settings_are_validated(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"models_dir": tmp_path, "proxy_url": "http://127.0.0.1:8001"}
    with pytest.raises(ValueError):
        ServingSettings(**{**base, **kwargs})


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = ServingSettings(models_dir=str(tmp_path), proxy_url="http://127.0.0.1:8001")  # type: ignore[arg-type]
    assert settings.models_dir == tmp_path and settings.port == 8002 and settings.timeout == 30.0
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]

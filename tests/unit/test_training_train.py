"""Train on synthetic hashed features of real reviews; check the model, its ONNX export and
the versioned model directory."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import mmh3
import numpy as np
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

import training
from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    TABLE_METADATA_FILENAME,
    FeatureSpec,
    FeatureTableInfo,
    ModelRepository,
    pad_sparse,
    spec_hash,
    write_table_info,
)
from training import ExportMismatch, FeaturesError, TrainResult, build_graph, train

REVIEWS = Path(__file__).resolve().parents[2] / "data" / "reviews_sample.tsv"
NUM_FEATURES = 1 << 20
N_ERRORS = 7
N_UNLABELLED = 5
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("label", pa.int32()),
        ("tokens", pa.list_(pa.string())),
        ("indices", pa.list_(pa.int32())),
        ("values", pa.list_(pa.float64())),
        ("error", pa.string()),
    ]
)
ANSWER = {  # what /v1/features answers beside its results
    "analyzer": "whitespace-test",
    "analyzer_version": "0.0.1",
    "dictionary": "test-dic 1",
    "num_features": NUM_FEATURES,
    "term_format": "form",
    "spec": FeatureSpec(num_features=NUM_FEATURES).to_json(),
    "spec_hash": spec_hash(FeatureSpec(num_features=NUM_FEATURES), "whitespace-test"),
}
TABLE = FeatureTableInfo.from_api(ANSWER, input="reviews.tsv", rows=1000)


def hash_doc(text: str, num_features: int = NUM_FEATURES) -> tuple[list[int], list[float]]:
    """Hash words, word bigrams and in-word character bigrams (a crude stand-in for
    morphemes) like Spark's HashingTF; return sorted indices and term counts."""
    words = text.split()
    terms = words + [f"{a} {b}" for a, b in pairwise(words)]
    terms += [word[i : i + 2] for word in words for i in range(len(word) - 1)]
    counts: dict[int, float] = {}
    for term in terms:
        index = mmh3.hash(term.encode(), 42, signed=True) % num_features
        counts[index] = counts.get(index, 0.0) + 1.0
    ordered = sorted(counts)
    return ordered, [counts[i] for i in ordered]


def write_features(directory: Path, n_rows: int = 1000) -> pd.DataFrame:
    """Write a features.parquet dir (two part files + spec) from the first reviews."""
    reviews = pd.read_csv(REVIEWS, sep="\t", quoting=3, nrows=n_rows, dtype={"id": str})
    reviews["document"] = reviews["document"].fillna("")
    rows = []
    for i, review in enumerate(reviews.itertuples(index=False)):
        indices, values = hash_doc(review.document)
        error = "AnalyzerFailed: boom" if i < N_ERRORS else None
        label = None if N_ERRORS <= i < N_ERRORS + N_UNLABELLED else int(review.label)
        rows.append(
            {
                "id": str(review.id),
                "label": label,
                "tokens": review.document.split(),
                "indices": [] if error else indices,
                "values": [] if error else values,
                "error": error,
            }
        )
    frame = pd.DataFrame(rows).astype({"label": "Int64"})
    directory.mkdir(parents=True)
    half = len(frame) // 2
    for part, chunk in enumerate((frame.iloc[:half], frame.iloc[half:])):
        table = pa.Table.from_pandas(chunk, schema=SCHEMA, preserve_index=False)
        pq.write_table(table, directory / f"part-{part:05d}.parquet")
    (directory / "_SUCCESS").write_text("")
    write_table_info(directory, TABLE)
    return frame


@pytest.fixture(scope="module")
def features_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("data") / "features.parquet"
    write_features(directory)
    return directory


@pytest.fixture(scope="module")
def trained(features_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return train(features_dir, tmp_path_factory.mktemp("models"), name="sentiment")


def test_public_surface_is_short_and_sorted() -> None:
    assert training.__all__ == sorted(training.__all__)
    assert set(training.__all__) == {
        "CALIBRATION_FILENAME",
        "ExportMismatch",
        "FeaturesError",
        "GateError",
        "GateReport",
        "LifecycleResult",
        "TrainResult",
        "TrainingError",
        "Verdict",
        "build_graph",
        "compare",
        "decide",
        "gate",
        "production_lineage",
        "promote",
        "retrain",
        "rollback",
        "table_key",
        "thresholds",
        "train",
        "train_spark",
    }


def test_accuracy_well_above_chance_and_counts(trained: TrainResult) -> None:
    assert trained.accuracy > 0.68
    assert trained.n_skipped_error == N_ERRORS
    assert trained.n_skipped_unlabelled == N_UNLABELLED
    assert trained.n_skipped == N_ERRORS + N_UNLABELLED
    assert trained.skipped_errors == {"AnalyzerFailed": N_ERRORS}
    assert trained.metadata["metrics"]["skipped_errors"] == {"AnalyzerFailed": N_ERRORS}
    assert trained.n_train + trained.n_test == 1000 - N_ERRORS - N_UNLABELLED
    assert trained.n_test == pytest.approx(0.2 * (trained.n_train + trained.n_test), abs=1)
    assert trained.version == 1
    assert trained.path.name == "1"


def test_files_and_metadata(trained: TrainResult) -> None:
    assert sorted(p.name for p in trained.path.iterdir()) == ["metadata.json", "model.onnx"]
    meta = json.loads((trained.path / "metadata.json").read_text())
    assert meta["name"] == "sentiment"
    assert meta["version"] == 1
    assert meta["created_at"].endswith("Z")
    assert meta["feature_spec"] == TABLE.to_json()
    assert meta["analyzer"] == "whitespace-test"
    assert meta["analyzer_version"] == "0.0.1"
    assert meta["dictionary"] == "test-dic 1"
    assert meta["num_features"] == NUM_FEATURES
    assert meta["spec"] == ANSWER["spec"]
    assert meta["spec_hash"] == ANSWER["spec_hash"]
    assert meta["spec_hash"] == spec_hash(FeatureSpec.from_json(meta["spec"]), meta["analyzer"])
    assert meta["user_dictionary"] is None and meta["hashing"] == TABLE.hashing
    assert meta["metrics"]["accuracy"] == trained.accuracy
    assert meta["metrics"]["n_skipped"] == N_ERRORS + N_UNLABELLED
    assert meta["metrics"]["n_test"] == trained.n_test
    assert [i["name"] for i in meta["onnx"]["inputs"]] == ["indices", "values"]
    assert [o["name"] for o in meta["onnx"]["outputs"]] == ["probability", "label"]
    assert meta["training"]["library"] == "scikit-learn"
    assert meta["training"]["library_version"]
    assert 0.0 <= meta["max_abs_diff"] <= 1e-5
    assert meta == trained.metadata
    leftovers = [p.name for p in trained.path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def nb_tfidf(X_train: sp.csr_matrix, y_train: np.ndarray, X: sp.csr_matrix) -> sp.csr_matrix:
    """The documented weighting, written out again: log(1 + count) * idf * |NB ratio|, L2."""
    present = (X_train > 0).astype(np.float64)
    n = X_train.shape[0]
    idf = np.log((1 + n) / (1 + np.asarray(present.sum(axis=0)).ravel())) + 1
    p = 1 + np.asarray(present[y_train == 1].sum(axis=0)).ravel()
    q = 1 + np.asarray(present[y_train == 0].sum(axis=0)).ravel()
    r = np.abs(np.log((p / p.sum()) / (q / q.sum())))
    W = X.astype(np.float64)
    W.data = np.log1p(W.data)
    W = sp.csr_matrix(W.multiply((idf * r)[None, :]))
    norms = np.sqrt(np.asarray(W.multiply(W).sum(axis=1)).ravel())
    return sp.csr_matrix(W.multiply(1 / np.maximum(norms, 1e-12)[:, None]))


def test_onnx_matches_sklearn_recomputed(trained: TrainResult, features_dir: Path) -> None:
    """Fit the same way here: the held-out metrics are the recipe's fit without the held-out
    rows, the stored graph is the recipe refit on every row, compared on the held-out rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    frame = pd.read_parquet(features_dir)
    frame = frame[frame["error"].isna() & frame["label"].notna()]
    X = to_csr(frame["indices"], frame["values"])
    y = frame["label"].to_numpy(dtype=np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    C = trained.metadata["training"]["params"]["C"]
    held_out = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
    held_out.fit(nb_tfidf(X_train, y_train, X_train), y_train)
    accuracy = np.mean(held_out.predict(nb_tfidf(X_train, y_train, X_test)) == y_test)
    assert trained.metadata["metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert trained.metadata["training"]["refit"]["rows"] == X.shape[0]
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
    clf.fit(nb_tfidf(X, y, X), y)
    session = ort.InferenceSession(
        str(trained.path / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    indices, values = pad_sparse(X_test.indptr, X_test.indices, X_test.data)
    probability, label = session.run(None, {INPUT_INDICES: indices, INPUT_VALUES: values})
    assert probability.dtype == np.float32 and label.dtype == np.int64
    assert probability.shape == (X_test.shape[0],)
    X_weighed = nb_tfidf(X, y, X_test)
    np.testing.assert_allclose(probability, clf.predict_proba(X_weighed)[:, 1], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(label, clf.predict(X_weighed))
    assert len(set(label.tolist())) == 2


def test_C_is_chosen_on_a_seeded_validation_split_and_recorded(trained: TrainResult) -> None:
    meta = trained.metadata
    selection = meta["training"]["selection"]
    tried = selection["grid"]
    assert [t["C"] for t in tried] == sorted(training._train.C_GRID)
    best = max(t["accuracy"] for t in tried)
    assert selection["C"] == meta["training"]["params"]["C"]
    assert selection["C"] == min(t["C"] for t in tried if t["accuracy"] == best)
    assert selection["seed"] == 0 and selection["n_fit"] + selection["n_validation"] == (
        trained.n_train
    )
    assert meta["training"]["weighting"]["in_graph"] is True
    metrics = meta["metrics"]
    assert 0.5 < metrics["roc_auc"] <= 1.0 and metrics["log_loss"] > 0
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    assert tn + fp + fn + tp == trained.n_test
    assert (tn + tp) / trained.n_test == pytest.approx(trained.accuracy)


def test_a_given_C_skips_validation(features_dir: Path, tmp_path: Path) -> None:
    result = train(features_dir, tmp_path, name="m", C=2.0)
    assert result.metadata["training"]["params"]["C"] == 2.0
    assert result.metadata["training"]["selection"]["chosen_by"] == "caller"


def test_weighing_in_the_graph_equals_weighing_in_numpy() -> None:
    from training._onnx import run_onnx, weigh_rows

    rng = np.random.default_rng(0)
    X = sp.random(50, 64, density=0.1, random_state=1, format="lil")
    X[3, :] = 0  # a row without features: logit = b
    X = X.tocsr()
    X.data = np.round(X.data * 4) + 1
    weights, scale = rng.normal(size=64), rng.uniform(0, 3, size=64)
    probability, _ = run_onnx(build_graph(weights, 0.5, scale=scale).SerializeToString(), X)
    logit = weigh_rows(X, scale) @ weights + 0.5
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-logit)), rtol=0, atol=1e-6)


def test_second_train_increments_version(features_dir: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    first = train(features_dir, tmp_path, name="m", progress=messages.append)
    second = train(features_dir, tmp_path, name="m")
    assert (first.version, second.version) == (1, 2)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]
    assert json.loads((tmp_path / "m" / "2" / "metadata.json").read_text())["version"] == 2
    assert messages and any("fitting" in m for m in messages)


def test_mismatch_raises_and_writes_nothing(features_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportMismatch) as info:
        train(features_dir, tmp_path, name="m", tolerance=0.0)
    assert info.value.max_abs_diff > 0.0
    assert not (tmp_path / "m").exists() or list((tmp_path / "m").iterdir()) == []


def test_missing_spec_is_a_features_error(tmp_path: Path) -> None:
    with pytest.raises(FeaturesError, match=r"_feature_spec\.json"):
        train(tmp_path, tmp_path / "models")


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"analyzer": "x", "analyzer_version": "0", "num_features": 8}, "lacks dictionary"),
        ({**TABLE.to_json(), "spec_hash": "0" * 16}, "spec_hash does not match"),
        ({**TABLE.to_json(), "spec": {"num_features": 3}}, "power of two"),
    ],
)
def test_malformed_table_metadata_is_a_features_error(
    features_dir: Path, tmp_path: Path, metadata: dict, match: str
) -> None:
    directory = tmp_path / "features.parquet"
    directory.mkdir()
    for part in features_dir.glob("*.parquet"):
        (directory / part.name).write_bytes(part.read_bytes())
    (directory / TABLE_METADATA_FILENAME).write_text(json.dumps(metadata))
    with pytest.raises(FeaturesError, match=match):
        train(directory, tmp_path / "models")


def test_versions_are_listed_by_the_repository(features_dir: Path, tmp_path: Path) -> None:
    first = train(features_dir, tmp_path, name="m")
    repository = ModelRepository(tmp_path)
    assert repository.names() == ["m"] and repository.versions("m") == [first.version]
    assert repository.model_path("m", first.version) == first.path / "model.onnx"
    assert repository.read_metadata("m", first.version) == first.metadata


def test_an_invalid_model_name_is_a_training_error(features_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(training.TrainingError, match="invalid model name"):
        train(features_dir, tmp_path, name="../escape")


def test_all_rows_skipped_is_a_features_error(tmp_path: Path) -> None:
    directory = tmp_path / "features.parquet"
    frame = write_features(directory, n_rows=N_ERRORS + N_UNLABELLED)
    assert frame["error"].notna().sum() == N_ERRORS
    with pytest.raises(FeaturesError, match="12 rows skipped"):
        train(directory, tmp_path / "models")


def test_graph_pads_and_handles_empty_rows() -> None:
    weights = np.zeros(8, dtype=np.float32)
    weights[[1, 3]] = [2.0, -1.0]
    model = build_graph(weights, 0.5)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X = sp.csr_matrix(np.array([[0, 1, 0, 2, 0, 0, 0, 0], [0] * 8], dtype=np.float64))
    indices, values = pad_sparse(X.indptr, X.indices, X.data)
    assert indices.tolist() == [[1, 3], [0, 0]] and values.tolist() == [[1, 2], [0, 0]]
    probability, label = session.run(None, {INPUT_INDICES: indices, INPUT_VALUES: values})
    logits = np.array([2.0 - 2.0 + 0.5, 0.5])
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-logits)), atol=1e-7)
    assert label.tolist() == [1, 1]
    empty_i, empty_v = np.zeros((2, 0), np.int64), np.zeros((2, 0), np.float32)
    probability, _ = session.run(None, {INPUT_INDICES: empty_i, INPUT_VALUES: empty_v})
    np.testing.assert_allclose(probability, [1 / (1 + np.exp(-0.5))] * 2, atol=1e-7)


def to_csr(indices: pd.Series, values: pd.Series) -> sp.csr_matrix:
    lengths = np.array([len(i) for i in indices])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    flat_i = np.concatenate([np.asarray(i, dtype=np.int64) for i in indices])
    flat_v = np.concatenate([np.asarray(v, dtype=np.float64) for v in values])
    return sp.csr_matrix((flat_v, flat_i, indptr), shape=(len(lengths), NUM_FEATURES))


def test_one_row_weighing_equals_the_matrix_one() -> None:
    """`weigh_row` (Spark's training, row by row) is `weigh_rows` on that row."""
    from training._onnx import weigh_row, weigh_rows

    rng = np.random.default_rng(3)
    scale = rng.random(64)
    indices = [5, 9, 5, 63, 0, 9, 9]
    values = [1.0, 2.0, 3.0, 1.0, 4.0, 1.0, 1.0]
    ix, x = weigh_row(indices, values, scale)
    row = sp.csr_matrix((values, indices, [0, len(indices)]), shape=(1, 64))
    row.sum_duplicates()
    expected = weigh_rows(row, scale)
    np.testing.assert_array_equal(ix, expected.indices)
    np.testing.assert_allclose(x, expected.data, rtol=1e-15)
    assert weigh_row([], [], scale)[0].size == 0

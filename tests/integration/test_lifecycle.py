"""The lifecycle on real features of the bundled sample (featurized through the real proxy and
API): retrain once per table, the first model straight to production, the gate passing a seed
retrain and failing a model trained on shuffled labels, its numbers recomputed here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from scipy.stats import kendalltau

import training
from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    ModelRegistry,
    pad_sparse,
    read_table_info,
    write_table_info,
)
from training._data import read_features

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]
N_TRAIN, N_EVAL = 1000, 300


def nlpfeat(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nlpfeat", *map(str, args)], capture_output=True, text=True
    )


def derive(source: Path, target: Path, rows: slice, *, tag: str, shuffle: bool = False) -> Path:
    """Rows of a real feature table as a table of their own (its metadata says which)."""
    table = (
        ds.dataset(source, format="parquet")
        .to_table()
        .sort_by("id")
        .slice(rows.start, rows.stop - rows.start)
    )
    if shuffle:
        labels = table.column("label").to_numpy(zero_copy_only=False)
        shuffled = np.random.default_rng(0).permutation(labels)
        table = table.set_column(table.schema.get_field_index("label"), "label", [shuffled])
    target.mkdir(parents=True)
    pq.write_table(table, target / "part-00000.parquet")
    info = read_table_info(source)
    job = {**info.job, "input": {**info.job["input"], "derived": tag}}
    job["config"] = {**job.get("config", {}), "output": {"path": str(target)}}
    write_table_info(target, info.with_job(**job))
    return target


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory, reviews, proxy_url: str) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lifecycle")
    tsv = root / "reviews.tsv"
    reviews.head(N_TRAIN + N_EVAL).to_csv(tsv, sep="\t", index=False, quoting=3)
    features = root / "features"
    done = nlpfeat(
        "featurize", "--input", tsv, "--output", features, "--proxy", proxy_url, "--no-progress"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "train": derive(features, root / "train", slice(0, N_TRAIN), tag="train"),
        "eval": derive(features, root / "eval", slice(N_TRAIN, N_TRAIN + N_EVAL), tag="eval"),
        "shuffled": derive(
            features, root / "shuffled", slice(0, N_TRAIN), tag="shuffled", shuffle=True
        ),
    }


def scores(model: Path, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    indices, values = pad_sparse(X.indptr, X.indices, X.data)
    p, label = session.run(
        [OUTPUT_PROBABILITY, OUTPUT_LABEL], {INPUT_INDICES: indices, INPUT_VALUES: values}
    )
    return p.astype(np.float64), label


def test_lifecycle_on_real_features(tables: dict[str, Path], tmp_path: Path) -> None:
    models = tmp_path / "models"
    base = ["--models", models, "--name", "sentiment", "--eval", tables["eval"]]
    first = nlpfeat("retrain", "--features", tables["train"], *base, "--by", "cron")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "v1 is production" in " ".join(first.stderr.split())
    again = nlpfeat("retrain", "--features", tables["train"], *base)
    assert again.returncode == 0 and "nothing trained" in " ".join(again.stderr.split())
    registry = ModelRegistry(models)
    assert registry.repository.versions("sentiment") == [1]
    assert registry.history("sentiment")[0]["by"] == "cron"

    # a retrain of the same recipe with another seed passes
    training.train(tables["train"], models, name="sentiment", seed=7)
    report = tmp_path / "pass.json"
    gate = ["gate", *base, "--json", report]
    passed = nlpfeat(*gate, "--candidate", 2)
    assert passed.returncode == 0, passed.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["verdict"] == "pass"
    assert len(result["calibration"]["pairs"]) == 6  # production and three retrains

    data = read_features(tables["eval"])
    p1, l1 = scores(models / "sentiment" / "1" / "model.onnx", data.X)
    p2, l2 = scores(models / "sentiment" / "2" / "model.onnx", data.X)
    metrics = result["metrics"]
    assert metrics["kendall_tau"] == pytest.approx(kendalltau(p1, p2).statistic, abs=1e-9)
    assert metrics["flips_0_1"] == int(np.sum((l1 == 0) & (l2 == 1)))
    assert metrics["flips_1_0"] == int(np.sum((l1 == 1) & (l2 == 0)))
    assert metrics["hamming"] == int(np.sum(l1 != l2))
    assert metrics["p99_abs_dp"] == pytest.approx(np.percentile(np.abs(p2 - p1), 99), abs=1e-7)
    expected = np.mean(l2 == data.y) - np.mean(l1 == data.y)
    assert metrics["accuracy_diff"] == pytest.approx(expected)

    # trained on shuffled labels: fails, with reasons; the calibration is reused
    training.train(tables["shuffled"], models, name="sentiment")
    report = tmp_path / "fail.json"
    failed = nlpfeat("gate", *base, "--json", report, "--candidate", 3)
    assert failed.returncode == 1, failed.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["verdict"] == "fail" and result["calibration"]["reused"]
    assert any("accuracy falls" in r for r in result["reasons"])
    assert any("Kendall tau" in r for r in result["reasons"])
    assert registry.resolve("sentiment", "production") == 1

"""`training.train_spark` on Spark MLlib (local[2]) on real features of 1,000 sample reviews:
the same ONNX graph, checked against MLlib, the same metadata as `training.train` writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import training
from training._data import read_features
from training._onnx import run_onnx
from training._train import C_GRID, column_scale

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory, reviews, proxy_url: str) -> Path:
    root = tmp_path_factory.mktemp("spark-train")
    tsv = root / "reviews.tsv"
    reviews.head(1000).to_csv(tsv, sep="\t", index=False, quoting=3)
    out = root / "features"
    args = ["featurize", "--input", tsv, "--output", out, "--proxy", proxy_url, "--no-progress"]
    args += ["--num-features", str(2**18)]  # MLlib's dense 2^22 coefficients want a bigger heap
    done = subprocess.run(
        [sys.executable, "-m", "nlpfeat", *map(str, args)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_spark_model_is_the_same_graph_and_metadata(features: Path, tmp_path: Path, spark):
    models = tmp_path / "models"
    result = training.train_spark(
        features, models, name="sentiment", spark=spark, seed=1, max_iter=50
    )
    reference = training.train(features, models, name="sentiment", seed=1)
    assert (result.version, reference.version) == (1, 2)
    assert result.max_abs_diff <= 1e-5
    assert result.n_train + result.n_test + result.n_skipped == 1000
    assert result.accuracy > 0.65 and abs(result.accuracy - reference.accuracy) < 0.1

    meta = json.loads((result.path / "metadata.json").read_text())
    ref = json.loads((reference.path / "metadata.json").read_text())
    assert set(meta) == set(ref)
    assert set(ref["metrics"]) <= set(meta["metrics"]) and "roc_auc" in meta["metrics"]
    assert meta["training"]["library"] == "pyspark" and meta["training"]["params"]["reg_param"]
    assert {k: meta[k] for k in ("spec_hash", "onnx", "feature_spec")} == {
        k: ref[k] for k in ("spec_hash", "onnx", "feature_spec")
    }

    graph = onnx.load(str(result.path / "model.onnx")).graph
    ref_graph = onnx.load(str(reference.path / "model.onnx")).graph
    # the same graph: the same nodes and weights (NB-TF-IDF scale included), only the numbers
    # differ; C chosen on a validation split in both
    assert [n.op_type for n in graph.node] == [n.op_type for n in ref_graph.node]
    assert sorted(i.name for i in graph.initializer) == sorted(
        i.name for i in ref_graph.initializer
    )
    assert meta["training"]["weighting"] == ref["training"]["weighting"]
    assert meta["training"]["selection"]["chosen_by"] == "validation accuracy"
    assert meta["training"]["params"]["C"] in C_GRID
    # both fit the same objective (regParam = 1 / (C n)), so they mostly agree on the labels
    data = read_features(features)
    _, spark_label = run_onnx((result.path / "model.onnx").read_bytes(), data.X)
    _, sk_label = run_onnx((reference.path / "model.onnx").read_bytes(), data.X)
    assert np.mean(spark_label == sk_label) > 0.9


def test_spark_column_weights_equal_the_in_memory_ones(features: Path, spark) -> None:
    """The per-partition counts merged in Spark give `column_scale` of the same rows."""
    from training._spark import _column_scale, _rows

    data = read_features(features)
    rows, _ = _rows(spark, str(features))
    in_spark = _column_scale(rows.repartition(3), data.X.shape[1])
    np.testing.assert_allclose(in_spark, column_scale(data.X, data.y), rtol=1e-12)

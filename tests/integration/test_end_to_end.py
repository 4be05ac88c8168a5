"""The demo path on 200 real reviews: featurize (Spark) -> train -> serve -> predict, all real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from nlpfeat._services import free_port, service

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]


def nlpfeat(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nlpfeat", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_batch_and_online_paths_agree_on_every_row(tmp_path: Path, reviews, proxy_url, logs):
    sample = reviews.head(200)
    tsv = tmp_path / "reviews.tsv"
    sample.to_csv(tsv, sep="\t", index=False, quoting=3)
    features, models = tmp_path / "features.parquet", tmp_path / "models"

    nlpfeat("featurize", "--input", str(tsv), "--output", str(features), "--proxy", proxy_url)
    trained = nlpfeat("train", "--features", str(features), "--models", str(models))
    assert "accuracy" in trained.stderr

    spec = json.loads((features / "_feature_spec.json").read_text())
    assert spec["job"]["rows"]["featurized"] == 200 and spec["analyzer"] == "mecab"
    batch = pd.read_parquet(features).set_index("id").loc[sample["id"]]
    meta = json.loads((models / "sentiment" / "1" / "metadata.json").read_text())
    assert meta["feature_spec"]["num_features"] == spec["num_features"]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--models", str(models), "--proxy", proxy_url, "--port", str(port)]
    with service("serve", args, f"{url}/v2/health/ready", log_dir=logs):
        texts = sample["document"].fillna("").tolist()
        resp = httpx.post(f"{url}/v1/predict", json={"texts": texts}, timeout=120)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model_version"] == "1" and len(body["predictions"]) == 200
    online = np.array([p["probability"] for p in body["predictions"]])

    # the same rows scored from the Spark job's features: batch and online must agree
    width = max(len(i) for i in batch["indices"])
    idx = np.zeros((200, width), np.int64)
    val = np.zeros((200, width), np.float32)
    for row, (i, v) in enumerate(zip(batch["indices"], batch["values"], strict=True)):
        idx[row, : len(i)], val[row, : len(v)] = i, v
    session = ort.InferenceSession(str(models / "sentiment" / "1" / "model.onnx"))
    offline = session.run(["probability"], {"indices": idx, "values": val})[0]
    np.testing.assert_allclose(online, offline, atol=1e-6)
    assert ((online >= 0.5) == sample["label"].to_numpy().astype(bool)).mean() > 0.8

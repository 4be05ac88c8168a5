"""Accuracy of the default path on our own split, measured as a user gets it: `nlpfeat
featurize` and `nlpfeat train` with their default options on the training part, then every
held-out review asked of the NLP API with the model's own spec (what `nlpfeat serve` does for
`/v1/predict`) and scored by the stored ONNX graph.

    python benchmarks/bench_accuracy.py [--data ../shared/data/reviews_train.tsv]
        [--test-size 0.2] [--seed 123] [--rows N] [--keep DIR]

The split is stratified and seeded; the held-out reviews are never featurized into a table,
so no filter or dedup of the job can touch them. Prints the held-out accuracy, ROC AUC and
what `nlpfeat train` recorded (its own inner split, the C it chose).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from rich.console import Console
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from contracts import ModelRepository

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _servers import Servers, workdir  # noqa: E402

from training._onnx import run_onnx  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data" / "reviews_train.tsv"
NAME = "sentiment"
BATCH = 500


def split(data: Path, test_size: float, seed: int, rows: int | None) -> tuple[Any, Any]:
    df = pd.read_csv(data, sep="\t", quoting=3, dtype={"document": str}, keep_default_na=False)
    if rows:
        df = df.sample(n=rows, random_state=seed)
    return train_test_split(df, test_size=test_size, random_state=seed, stratify=df["label"])


def nlpfeat(*argv: str) -> None:
    exe = Path(sys.executable).with_name("nlpfeat")
    subprocess.run(
        [str(exe), *argv], check=True, env=os.environ | {"PYSPARK_PYTHON": sys.executable}
    )


def held_out_scores(api: str, meta: dict, model: bytes, docs: list[str]) -> np.ndarray:
    """P(positive) of every doc: features from the API with the model's spec, then ONNX."""
    rows, cols, vals = [], [], []
    with httpx.Client(base_url=api, timeout=120) as client:
        for start in range(0, len(docs), BATCH):
            body = {"analyzer": meta["analyzer"], "docs": docs[start : start + BATCH]}
            body["spec"] = meta["spec"]
            answer = client.post("/v1/features", json=body)
            answer.raise_for_status()
            for i, result in enumerate(answer.json()["results"]):
                if "error" in result:
                    continue  # an empty row: the model's bias alone decides it, as in serving
                rows += [start + i] * len(result["indices"])
                cols += result["indices"]
                vals += result["values"]
    n = len(docs)
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, meta["num_features"]), dtype=np.float32)
    X.sum_duplicates()
    probability, _ = run_onnx(model, X)
    return probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--rows", type=int, default=None, help="a sample of N reviews")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = parser.parse_args()
    console = Console()
    train_df, test_df = split(args.data, args.test_size, args.seed, args.rows)
    console.print(f"{len(train_df):,} reviews to train on, {len(test_df):,} held out")
    with workdir(args.keep, "nlpfeat-accuracy-") as work, Servers(work / "logs") as servers:
        table = work / "train.tsv"
        train_df.to_csv(table, sep="\t", index=False, quoting=3)
        api = servers.api("mecab", workers=2, isolate="")
        started = time.perf_counter()
        nlpfeat(
            "featurize",
            "--input",
            str(table),
            "--output",
            str(work / "features"),
            "--proxy",
            api.url,
            "--no-progress",
        )
        featurized = time.perf_counter() - started
        nlpfeat("train", "--features", str(work / "features"), "--models", str(work / "models"))
        trained = time.perf_counter() - started - featurized
        repository = ModelRepository(work / "models")
        version = max(repository.versions(NAME))
        meta = repository.read_metadata(NAME, version)
        model = repository.model_path(NAME, version).read_bytes()
        p = held_out_scores(api.url, meta, model, test_df["document"].tolist())
    y = test_df["label"].to_numpy()
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    console.print(f"featurize {featurized:.0f} s, train {trained:.0f} s")
    console.print(
        json.dumps(
            {
                "held_out_accuracy": round(accuracy, 4),
                "held_out_roc_auc": round(float(roc_auc_score(y, p)), 4),
                "held_out_rows": len(y),
                "train_rows": len(train_df),
                "spec": meta["spec"],
                "recorded_metrics": {
                    k: meta["metrics"][k] for k in ("accuracy", "roc_auc", "log_loss", "n_train")
                },
                "C": meta["training"]["params"]["C"],
                "selection": meta["training"].get("selection"),
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

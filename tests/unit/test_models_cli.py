"""`nlpfeat models ...`, `gate` and `retrain` through the CLI on small synthetic feature tables
(real training, real ONNX models, a real registry on disk)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import training
from contracts import (
    CANDIDATE,
    PRODUCTION,
    FeatureSpec,
    FeatureTableInfo,
    ModelRegistry,
    spec_hash,
    write_table_info,
)
from nlpfeat._cli import app

NUM_FEATURES = 1 << 10
CALIBRATION_FILE = training.CALIBRATION_FILENAME
SPEC = FeatureSpec(num_features=NUM_FEATURES)
ANSWER = {
    "analyzer": "synthetic",
    "analyzer_version": "0",
    "dictionary": "none",
    "spec": SPEC.to_json(),
    "spec_hash": spec_hash(SPEC, "synthetic"),
}


def write_table(directory: Path, *, seed: int, n: int = 800, shuffle: bool = False) -> Path:
    """Rows of 5-30 hashed features whose label follows hidden weights (plus noise)."""
    rng = np.random.default_rng(seed)
    weights = np.random.default_rng(0).normal(0, 1, NUM_FEATURES)
    rows = []
    for _ in range(n):
        ix = np.sort(rng.choice(NUM_FEATURES, rng.integers(5, 30), replace=False))
        score = weights[ix].sum() + rng.normal(0, 1.0)
        rows.append((ix.tolist(), [1.0] * len(ix), int(score > 0)))
    labels = [r[2] for r in rows]
    if shuffle:
        labels = rng.permutation(labels).tolist()
    table = pa.table(
        {
            "id": [str(i) for i in range(n)],
            "indices": [r[0] for r in rows],
            "values": [r[1] for r in rows],
            "label": labels,
            "error": pa.nulls(n, pa.string()),
        }
    )
    directory.mkdir(parents=True)
    pq.write_table(table, directory / "part-00000.parquet")
    write_table_info(
        directory,
        FeatureTableInfo.from_api(
            ANSWER,
            input={"path": str(directory), "seed": seed, "n": n, "shuffle": shuffle},
            config={"output": {"path": str(directory)}},
        ),
    )
    return directory


def nlpfeat(*args: object, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], terminal_width=200)
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())  # rich wraps lines


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tables")
    return {
        "train": write_table(root / "train", seed=1),
        "eval": write_table(root / "eval", seed=2, n=600),
        "shuffled": write_table(root / "shuffled", seed=1, shuffle=True),
    }


@pytest.fixture
def models(tmp_path: Path, tables: dict[str, Path]) -> Path:
    """Three versions: v1 (seed 0), v2 (the same recipe, seed 5), v3 (shuffled labels)."""
    root = tmp_path / "models"
    training.train(tables["train"], root, name="m", seed=0)
    training.train(tables["train"], root, name="m", seed=5)
    training.train(tables["shuffled"], root, name="m", seed=0)
    return root


def test_first_promotion_needs_no_gate_and_list_shows_stages(models: Path) -> None:
    said = nlpfeat("models", "promote", "m", "--version", 1, "--models", models, "--by", "ann")
    assert "v1 is production" in said
    registry = ModelRegistry(models)
    assert registry.resolve("m", PRODUCTION) == 1
    (entry,) = registry.history("m")
    assert entry["by"] == "ann" and "first model" in entry["reason"] and not entry["forced"]
    listed = nlpfeat("models", "list", "--models", models)
    assert "production" in listed and "accuracy" in listed
    shown = nlpfeat("models", "show", "m", "--models", models)
    assert "m v1" in shown and '"spec_hash"' in shown and "ann" in shown


def test_gate_passes_a_seed_retrain_and_fails_shuffled_labels(models: Path, tables, tmp_path):
    nlpfeat("models", "promote", "m", "--version", 1, "--models", models)
    report = tmp_path / "gate.json"
    args = ["gate", "--models", models, "--name", "m", "--eval", tables["eval"]]
    said = nlpfeat(*args, "--candidate", 2, "--features", tables["train"], "--json", report)
    assert "verdict: pass" in said and "calibration measured" in said
    passed = json.loads(report.read_text())
    assert passed["verdict"] == "pass" and len(passed["calibration"]["pairs"]) == 6
    assert (models / "m" / CALIBRATION_FILE).is_file()
    said = nlpfeat(*args, "--candidate", 3, "--features", tables["train"], "--json", report, code=1)
    assert "verdict: fail" in said and "calibration reused" in said
    failed = json.loads(report.read_text())
    assert failed["metrics"]["accuracy_diff"] < -0.05 and failed["reasons"]
    nlpfeat(*args, "--candidate", 9, code=2)


def test_promote_through_the_gate_force_and_rollback(models: Path, tables) -> None:
    nlpfeat("models", "promote", "m", "--version", 1, "--models", models)
    common = ["--models", models, "--eval", tables["eval"], "--features", tables["train"]]
    said = nlpfeat("models", "promote", "m", "--version", 3, *common, "--by", "bob", code=1)
    assert "stays out of production" in said
    registry = ModelRegistry(models)
    assert registry.resolve("m", PRODUCTION) == 1
    nlpfeat("models", "promote", "m", "--version", 2, *common, "--by", "bob")
    assert registry.resolve("m", PRODUCTION) == 2
    gated = registry.history("m")[-1]
    assert gated["gate"]["verdict"] == "pass" and gated["by"] == "bob"

    nlpfeat("models", "promote", "m", "--version", 3, "--models", models, "--force", code=2)
    nlpfeat(
        "models", "promote", "m", "--version", 3, "--models", models, "--force",
        "--reason", "hotfix: label flip wanted", "--by", "cy",
    )  # fmt: skip
    forced = registry.history("m")[-1]
    assert (forced["version"], forced["forced"], forced["by"]) == (3, True, "cy")
    assert forced["reason"] == "hotfix: label flip wanted" and forced["previous"] == 2

    nlpfeat("models", "rollback", "m", "--models", models, "--by", "dee", "--reason", "bad")
    assert registry.resolve("m", PRODUCTION) == 2
    back = registry.history("m")[-1]
    assert back["by"] == "dee" and "bad" in back["reason"] and back["previous"] == 3
    nlpfeat("models", "rollback", "m", "--models", models, "--reason", "again")
    assert registry.resolve("m", PRODUCTION) == 1
    assert registry.stage("m", 3) == "archived"
    nlpfeat("models", "rollback", "m", "--models", models, "--reason", "once more", code=2)


def test_retrain_first_goes_to_production_and_reruns_train_nothing(tmp_path, tables) -> None:
    models = tmp_path / "models"
    args = ["retrain", "--features", tables["train"], "--models", models, "--name", "m"]
    said = nlpfeat(*args, "--eval", tables["eval"])
    assert "first" in said and "v1 is production" in said
    registry = ModelRegistry(models)
    assert registry.resolve("m", PRODUCTION) == 1
    said = nlpfeat(*args, "--eval", tables["eval"])
    assert "unchanged" in said and "nothing trained" in said
    assert registry.repository.versions("m") == [1]

    other = write_table(tmp_path / "new", seed=1, n=900)  # the same rows and 100 new ones
    said = nlpfeat("retrain", "--features", other, "--models", models, "--name", "m",
                   "--eval", tables["eval"])  # fmt: skip
    assert "verdict: pass" in said and "v2 is production" in said
    assert registry.aliases("m") == {PRODUCTION: 2}
    said = nlpfeat("retrain", "--features", other, "--models", models, "--name", "m")
    assert "unchanged" in said and registry.repository.versions("m") == [1, 2]


def test_retrain_keeps_a_worse_model_as_candidate(tmp_path, tables) -> None:
    models = tmp_path / "models"
    nlpfeat("retrain", "--features", tables["train"], "--models", models, "--name", "m")
    shuffled = write_table(tmp_path / "shuffled", seed=4, shuffle=True)
    args = ["retrain", "--features", shuffled, "--models", models, "--name", "m"]
    said = nlpfeat(*args, "--eval", tables["eval"], code=1)
    assert "kept as candidate" in said
    registry = ModelRegistry(models)
    assert registry.aliases("m") == {PRODUCTION: 1, CANDIDATE: 2}
    said = nlpfeat(*args, "--eval", tables["eval"], code=1)
    assert "nothing trained" in said and registry.repository.versions("m") == [1, 2]


def test_help() -> None:
    for command in (["models", "list"], ["models", "promote"], ["gate"], ["retrain"]):
        assert "Usage" in nlpfeat(*command, "--help")

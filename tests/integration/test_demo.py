"""`nlpfeat demo`, the README's main command, on 300 real reviews: it must finish, print the
held-out accuracy, the gate's verdict on the retrained model, a prediction for every demo
sentence from the first model and again from whatever is production after the gate (served
without a restart), and leave nothing running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from contracts import ModelRegistry
from nlpfeat._demo import DEMO_SENTENCES

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_demo_runs_the_whole_path_and_stops_everything(tmp_path: Path, reviews) -> None:
    sample = tmp_path / "sample.tsv"
    reviews.head(300).to_csv(sample, sep="\t", index=False, quoting=3)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlpfeat",
            "demo",
            "--sample",
            str(sample),
            "--workdir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy" in done.stderr and "held-out rows" in done.stderr
    for sentence in DEMO_SENTENCES:
        assert sentence[:8] in done.stderr
    assert done.stderr.count("positive") + done.stderr.count("negative") >= 2 * len(DEMO_SENTENCES)
    assert "verdict:" in done.stderr and "gate v2 vs production v1" in done.stderr
    registry = ModelRegistry(tmp_path / "demo" / "models")
    assert registry.resolve("sentiment", "production") == 2
    gate = json.loads((tmp_path / "demo" / "gate.json").read_text())
    moved = next(
        e
        for e in reversed(registry.history("sentiment"))
        if e["alias"] == "production" and e["version"] == 2
    )
    # through the gate, or forced with the reason on record
    assert gate["verdict"] == "pass" or (moved["forced"] and "live swap" in moved["reason"])
    # the last answer came from v2, served without a restart
    assert done.stderr.rfind("model sentiment v2") > done.stderr.rfind("verdict:")
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert (tmp_path / "demo" / "models" / "sentiment" / "1" / "model.onnx").exists()

"""Smoke test of `benchmarks/bench_serving.py`: it starts the API, the proxy and serving,
and prints every row of its table with measured figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_bench_serving_prints_every_row_with_measured_figures() -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "bench_serving.py")]
    argv += ["--seconds", "1", "--rounds", "1", "--swap-seconds", "3"]
    env = os.environ | {"COLUMNS": "220"}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=400, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    for row in (
        "/v1/predict p99",
        "/v1/predict back to back",
        "in-process p50",
        "v2 infer rows/s",
        "promotion at 200 req/s",
        "p99 in the 2 s after the move",
    ):
        assert row in out, out[-3000:]
    infer = next(line for line in out.splitlines() if "v2 infer rows/s" in line)
    ratio = float(re.findall(r"([0-9.]+)x (?:PASS|FAIL|UNSURE)", infer)[0])
    assert 0.01 < ratio < 10, infer
    assert "serving version 2 after" in out, out[-3000:]

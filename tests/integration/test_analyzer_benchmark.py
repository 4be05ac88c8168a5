"""Smoke test of `benchmarks/bench_analyzers.py`: it runs from a fresh clone and prints every
table, with an interleaved ratio measured for the analyzer it was given."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_bench_analyzers_prints_every_table_with_measured_ratios() -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "bench_analyzers.py")]
    argv += ["--data", str(ROOT / "data" / "reviews_sample.tsv"), "--n", "256"]
    argv += ["--analyzers", "mecab", "--seconds", "0.5", "--warmup", "0.2"]
    argv += ["--rounds", "2", "--round-seconds", "0.2", "--scaling", "mecab"]
    env = os.environ | {"COLUMNS": "220"}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    for title in ("API vs library loop, interleaved", "workers scaling", "resident memory"):
        assert title in out, out[-3000:]
    interleaved = out[out.index("API vs library loop, interleaved") :]
    row = next(line for line in interleaved.splitlines() if "mecab" in line)
    ratio = float(re.findall(r"([0-9.]+)x (?:PASS|FAIL|UNSURE)", row)[0])
    assert 0.2 < ratio < 5, row  # a measured ratio, not a placeholder

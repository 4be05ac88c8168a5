"""Smoke tests of `benchmarks/bench_analyzers.py` (it runs from a fresh clone and prints every
table, with an interleaved ratio measured for the analyzer it was given) and of
`benchmarks/bench_instructions.py` (callgrind counts on every side)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
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


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_bench_instructions_counts_each_side_over_the_same_docs(tmp_path: Path) -> None:
    out = tmp_path / "instructions.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "bench_instructions.py")]
    argv += ["--data", str(ROOT / "data" / "reviews_sample.tsv"), "--n", "64"]
    argv += ["--analyzers", "mecab", "--json", str(out)]
    env = os.environ | {"COLUMNS": "200"}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    per_doc = orjson.loads(out.read_bytes())["mecab"]
    # the API does the backend's work and more (HTTP, JSON); a count of zero, or the same
    # count on every side, would mean the counting window missed the work
    assert 50_000 < per_doc["backend"] < per_doc["api"], per_doc
    assert per_doc["library"] > 50_000, per_doc
    assert "API throughput / library" in done.stdout

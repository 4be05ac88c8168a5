"""Smoke tests of `benchmarks/bench_analyzers.py` (it runs from a fresh clone and prints every
table, with an interleaved ratio measured for the analyzer it was given), of
`benchmarks/bench_analyze.py` (in-process, direct and via the proxy), of
`benchmarks/bench_priority.py` (interactive latency beside batches, the switch interval's cost)
and of `benchmarks/bench_instructions.py` (callgrind counts on every side)."""

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
SAMPLE = ROOT / "data" / "reviews_sample.tsv"

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


def _run(script: str, *args: str, timeout: int = 300) -> str:
    argv = [sys.executable, str(ROOT / "benchmarks" / script), *args]
    env = os.environ | {"COLUMNS": "200"}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_bench_analyze_measures_every_path_against_in_process() -> None:
    out = _run("bench_analyze.py", "--data", str(SAMPLE), "--n", "256", "--seconds", "0.5")
    for path in ("in-process (one core)", "/v1/analyze direct", "/v1/analyze via proxy"):
        row = next(line for line in out.splitlines() if path in line)
        docs_per_s, ratio = (cell.strip() for cell in row.split("│")[2:4])
        assert float(docs_per_s.replace(",", "")) > 0, row
        assert 0 < float(ratio.removesuffix("x")) < 10, row


def test_bench_priority_prints_each_phase_and_the_switch_interval_cost() -> None:
    args = ("--data", str(SAMPLE), "--analyzer", "mecab", "--seconds", "1", "--rounds", "1")
    out = _run("bench_priority.py", *args)
    for phase in ("alone", "with batch load, unmarked", "with batch load, marked"):
        assert phase in out, out[-3000:]
    assert re.search(r"1 ms GIL switch interval / with 5 ms: median [0-9.]+x over 1 rounds", out)


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

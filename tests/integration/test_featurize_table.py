"""`nlpfeat featurize` through the real proxy and API: the feature table's metadata is what the
API answers for the job's spec, and training reads it into the model repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from contracts import FeatureSpec, ModelRepository, read_table_info, spec_hash
from training import train

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]

ROWS = 120


def test_the_table_records_what_the_api_answered(
    tmp_path: Path, reviews: pd.DataFrame, api_url: str, proxy_url: str
) -> None:
    tsv, features = tmp_path / "reviews.tsv", tmp_path / "features.parquet"
    reviews.head(ROWS).to_csv(tsv, sep="\t", index=False, quoting=3)
    args = ["featurize", "--input", str(tsv), "--output", str(features), "--proxy", proxy_url]
    args += [
        "--ngram-range",
        "1,3",
        "--pos-filter",
        "content",
        "--stopwords",
        "영화,은",
        "--binary",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "nlpfeat", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "featurized" in done.stderr and "spec_hash" in done.stderr

    spec = FeatureSpec(
        ngram_range=(1, 3), pos_filter="content", stopwords=("영화", "은"), binary=True
    )
    body = {"analyzer": "mecab", "docs": [], "spec": spec.to_json()}
    answer = httpx.post(f"{api_url}/v1/features", json=body, timeout=60).json()
    info = read_table_info(features)
    assert info.spec.to_json() == answer["spec"]
    assert info.spec_hash == answer["spec_hash"]
    assert info.spec_hash == spec_hash(FeatureSpec.from_json(answer["spec"]), answer["analyzer"])
    assert info.analyzer == answer["analyzer"] == "mecab"
    assert info.analyzer_version == answer["analyzer_version"]
    assert info.dictionary == answer["dictionary"]
    assert info.user_dictionary == (answer.get("user_dictionary") or {}).get("name")
    table = pd.read_parquet(features)
    assert info.job["rows"]["featurized"] == len(table) == ROWS
    assert info.job["rows"]["errored"] == {} and info.job["input"]["path"] == str(tsv)
    assert info.job["created_at"] and info.job["timings"]["total_s"] > 0
    assert set(table["values"].explode().dropna()) == {1.0}  # binary, as asked

    models = tmp_path / "models"
    result = train(features, models, name="sentiment")
    repository = ModelRepository(models)
    assert repository.versions("sentiment") == [result.version] == [1]
    meta = repository.read_metadata("sentiment", 1)
    assert (meta["spec"], meta["spec_hash"]) == (answer["spec"], answer["spec_hash"])
    assert (meta["analyzer"], meta["dictionary"]) == (answer["analyzer"], answer["dictionary"])
    assert meta["feature_spec"] == info.to_json()

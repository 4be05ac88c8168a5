"""Spark UDFs through the real proxy and API; indices must equal Spark ML's HashingTF."""

from __future__ import annotations

import httpx
import pytest
from pyspark.ml.feature import HashingTF

from spark_udfs import FeaturizeOptions, transform

pytestmark = [pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]

N = 2**20


def api_terms(api_url: str, docs: list[str]) -> list[list[str]]:
    terms: list[list[str]] = []
    for start in range(0, len(docs), 200):
        body = {
            "analyzer": "mecab",
            "docs": docs[start : start + 200],
            "num_features": N,
            "return_terms": True,
        }
        resp = httpx.post(f"{api_url}/v1/features", json=body, timeout=60)
        resp.raise_for_status()
        terms.extend(r["terms"] for r in resp.json()["results"])
    return terms


def test_udf_features_equal_hashingtf_on_1000_reviews(spark, api_url, proxy_url, reviews):
    sample = reviews.head(1000).fillna({"document": ""})
    docs = sample["document"].tolist()
    df = spark.createDataFrame(sample[["id", "document", "label"]])

    opts = FeaturizeOptions(proxy_url=proxy_url, batch_size=64, num_features=N)
    feats = transform(df, opts, text_col="document")
    got = {r["id"]: r for r in feats.collect()}

    terms = spark.createDataFrame(
        [(i, t) for i, t in zip(sample["id"], api_terms(api_url, docs), strict=True)],
        "id string, terms array<string>",
    )
    expected = HashingTF(inputCol="terms", outputCol="tf", numFeatures=N).transform(terms)
    rows = expected.collect()
    assert len(rows) == len(got) == 1000
    nonempty = 0
    for row in rows:
        mine = got[row["id"]]
        assert mine["error"] is None
        assert mine["indices"] == row["tf"].indices.tolist(), row["id"]
        assert mine["values"] == row["tf"].values.tolist(), row["id"]
        nonempty += bool(mine["indices"])
    assert nonempty > 990


def test_bad_rows_get_an_error_column_and_the_job_finishes(spark, proxy_url):
    # the test API refuses docs over 500 chars (413): only that row may fail
    rows = [("1", "정말 재밌어요"), ("2", None), ("3", "가" * 600), ("4", ""), ("5", "최악")]
    df = spark.createDataFrame(rows, "id string, document string")
    out = {r["id"]: r for r in transform(df, FeaturizeOptions(proxy_url=proxy_url)).collect()}
    assert out["1"]["error"] is None and out["1"]["indices"]
    assert out["5"]["error"] is None and out["5"]["tokens"] == ["최악/NNG"]
    assert out["4"]["error"] is None and out["4"]["indices"] == []
    assert out["2"]["error"].startswith("NullDocument")
    assert "413" in out["3"]["error"] and "500" in out["3"]["error"]

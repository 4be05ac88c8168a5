"""Morpheme statistics on a sample, through the NLP API (`/v1/analyze`, op `pos`, via the
proxy) in an Iterator pandas UDF: one httpx client per task, batches of `DOCS_PER_REQUEST` docs.

Terms are `form/TAG`. Unknown words are the tags `UNKNOWN` (mecab-ko-dic's tag for an
unknown Hangul word) and `NA` (komoran/kiwi); foreign tokens are `SL` (Latin) and `SH`
(Hanja), counted apart. Top terms per label use the log-odds ratio with an informative
Dirichlet prior (Monroe, Colaresi & Quinn 2008), the prior being the whole sample's counts:
z = delta / sqrt(1/(y_i + a_w) + 1/(y_j + a_w)) with a_w = y_w and a_0 = n.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from contracts import headers
from spark_udfs._errors import ApiUnreachable
from spark_udfs._input import LABEL, TEXT

__all__ = ["UNKNOWN_TAGS", "analyze_sample", "draw_sample", "term_stats"]

UNKNOWN_TAGS = ("UNKNOWN", "NA")
FOREIGN_TAGS = ("SL", "SH")
DOCS_PER_REQUEST = 200
TOP = 20
MORPH_EDGES = [0, 1, 5, 10, 15, 20, 30, 40, 60, 80, 120, 200, 500]


def draw_sample(rows: DataFrame, size: int, usable: int, seed: int = 7) -> DataFrame:
    """`size` of `rows` with visible text (`usable` of them: a count the caller has),
    uniformly at random, numbered `_doc` 0..size-1."""
    visible = rows.where(F.col(TEXT).rlike(r"\S")).select(TEXT, LABEL)
    fraction = min(1.0, 1.5 * size / max(usable, 1) + 0.001)
    drawn = visible.sample(fraction=fraction, seed=seed).orderBy(F.rand(seed)).limit(size)
    order = Window.orderBy(F.rand(seed + 1))
    return drawn.withColumn("_doc", F.row_number().over(order) - 1)


def make_pos_udf(base_url: str, analyzer: str, api_key: str | None, timeout: float = 60.0) -> Any:
    url = base_url.rstrip("/") + "/v1/analyze"
    hdrs = {"content-type": "application/json"}
    if api_key:
        hdrs[headers.API_KEY] = api_key

    @F.pandas_udf("terms array<string>, version string")  # type: ignore[call-overload]
    def pos(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        with httpx.Client(timeout=timeout) as http:
            for texts in batches:
                terms: list[list[str] | None] = []
                version = ""
                docs = texts.fillna("").tolist()
                for start in range(0, len(docs), DOCS_PER_REQUEST):
                    chunk = docs[start : start + DOCS_PER_REQUEST]
                    body = orjson.dumps({"analyzer": analyzer, "docs": chunk, "op": "pos"})
                    try:
                        resp = http.post(url, content=body, headers=hdrs)
                    except httpx.TransportError as exc:
                        raise ApiUnreachable(f"{url}: {exc!r}") from exc
                    if resp.status_code >= 400:
                        terms += [None] * len(chunk)
                        continue
                    answer = orjson.loads(resp.content)
                    version = str(answer.get("analyzer_version", ""))
                    for res in answer.get("results", []):
                        toks = res.get("tokens") if isinstance(res, dict) else None
                        terms.append(
                            None if toks is None else [f"{t['form']}/{t['tag']}" for t in toks]
                        )
                yield pd.DataFrame({"terms": terms, "version": [version] * len(docs)})

    return pos


def analyze_sample(sample: DataFrame, base_url: str, analyzer: str, api_key: str | None) -> Any:
    udf = make_pos_udf(base_url, analyzer, api_key)
    return (
        sample.repartition(2)
        .withColumn("_pos", udf(F.col(TEXT)))
        .select("_doc", LABEL, F.col("_pos.terms").alias("terms"), "_pos.version")
    )


def term_stats(tagged: DataFrame, labels: list[int], checkpoints: list[int]) -> dict[str, Any]:
    """Everything the report shows about the sample's morphemes, from a few small jobs on the
    (cached) tagged sample; only aggregates and the top terms reach the driver."""
    tagged = tagged.cache()
    try:
        size = F.size("terms")
        ok = F.col("terms").isNotNull()
        m = F.when(ok, size)
        b = F.lit(0)
        for edge in MORPH_EDGES[1:-1]:
            b = b + (m >= edge).cast("int")
        docs = tagged.agg(
            F.count(F.lit(1)).alias("docs"),
            F.sum(F.when(~ok, 1).otherwise(0)).alias("errors"),
            F.avg(m).alias("mean"),
            F.percentile_approx(m, 0.5, 10000).alias("median"),
            F.max(F.col("version")).alias("version"),
            *[
                F.sum(F.when(ok & (b == i), 1).otherwise(0)).alias(f"h{i}")
                for i in range(len(MORPH_EDGES) - 1)
            ],
        ).first()
        assert docs is not None
        exploded = tagged.where(ok).select("_doc", LABEL, F.explode("terms").alias("term"))
        per_label = [
            F.sum(F.when(F.col(LABEL) == lab, 1).otherwise(0)).alias(f"y{lab}") for lab in labels
        ]
        terms = (
            exploded.groupBy("term")
            .agg(
                F.count(F.lit(1)).alias("n"),
                F.countDistinct("_doc").alias("df"),
                F.min("_doc").alias("first"),
                *per_label,
            )
            .cache()
        )
        tag = F.element_at(F.split("term", "/"), -1)
        tot = terms.agg(
            F.count(F.lit(1)).alias("vocab"),
            F.sum("n").alias("tokens"),
            F.sum(F.when(tag.isin(*UNKNOWN_TAGS), F.col("n")).otherwise(0)).alias("unknown"),
            F.sum(F.when(tag.isin(*FOREIGN_TAGS), F.col("n")).otherwise(0)).alias("foreign"),
            *[F.sum(f"y{lab}").alias(f"n{lab}") for lab in labels],
            *[
                F.sum(F.when(F.col("first") < k, 1).otherwise(0)).alias(f"g{k}")
                for k in checkpoints
            ],
        ).first()
        assert tot is not None
        top = terms.orderBy(F.desc("n"), F.asc("term")).limit(TOP).collect()
        by_label = {lab: _log_odds(terms, lab, labels, tot) for lab in labels}
        shares = {r["term"]: int(r["n"]) for r in terms.orderBy(F.desc("n")).limit(200).collect()}
        terms.unpersist()
    finally:
        tagged.unpersist()
    d = docs.asDict()
    t = tot.asDict()
    return {
        "docs": int(d["docs"]),
        "errors": int(d["errors"]),
        "mean": d["mean"],
        "median": d["median"],
        "version": d["version"] or "",
        "hist": [int(d[f"h{i}"] or 0) for i in range(len(MORPH_EDGES) - 1)],
        "vocab": int(t["vocab"]),
        "tokens": int(t["tokens"] or 0),
        "unknown": int(t["unknown"] or 0),
        "foreign": int(t["foreign"] or 0),
        "growth": [[k, int(t[f"g{k}"] or 0)] for k in checkpoints],
        "top": [[r["term"], int(r["n"]), int(r["df"])] for r in top],
        "by_label": by_label,
        "top_counts": shares,
    }


def _log_odds(terms: DataFrame, lab: int, labels: list[int], tot: Any) -> list[list[Any]]:
    n_all = float(tot["tokens"] or 0)
    n_i = float(tot[f"n{lab}"] or 0)
    n_j = sum(float(tot[f"n{other}"] or 0) for other in labels if other != lab)
    if n_i == 0 or n_j == 0:
        return []
    y_i = F.col(f"y{lab}")
    y_j = sum((F.col(f"y{o}") for o in labels if o != lab), F.lit(0))
    a_w, a_0 = F.col("n"), F.lit(n_all)
    delta = F.log((y_i + a_w) / (n_i + a_0 - y_i - a_w)) - F.log(
        (y_j + a_w) / (n_j + a_0 - y_j - a_w)
    )
    z = delta / F.sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))
    rows = (
        terms.select("term", z.alias("z"), y_i.alias("y"))
        .orderBy(F.desc("z"), F.asc("term"))
        .limit(15)
        .collect()
    )
    return [[r["term"], round(float(r["z"]), 3), int(r["y"])] for r in rows]

"""The featurize job: reviews TSV -> features through the proxy -> parquet, as pure transforms."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_udfs._client import FeaturesClient, RetryPolicy
from spark_udfs._errors import ApiBusy, ApiUnreachable, JavaMissing
from spark_udfs._udf import make_features_udf

__all__ = ["FeaturizeOptions", "featurize", "read_reviews", "spark_session", "transform"]

SPEC_FILE = "_feature_spec.json"


@dataclass(frozen=True)
class FeaturizeOptions:
    """The job's knobs. `api_key` is sent as `X-API-Key` and kept out of `repr` and the spec;
    `concurrency` is the most requests one Spark task has in flight."""

    proxy_url: str
    analyzer: str = "mecab"
    num_features: int = 2**20
    batch_size: int = 64
    timeout: float = 60.0
    master: str = "local[2]"
    partitions: int | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 2


def require_java() -> None:
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise JavaMissing()


def spark_session(master: str, app_name: str = "nlpfeat") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (the venv's)."""
    require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def read_reviews(spark: SparkSession, path: str | Path) -> DataFrame:
    """The reviews TSV (header, tab-separated, no quoting), every column as read."""
    return (
        spark.read.option("header", "true")
        .option("sep", "\t")
        .option("quote", "")
        .option("escape", "")
        .csv(str(path))
    )


def transform(df: DataFrame, opts: FeaturizeOptions, *, text_col: str = "document") -> DataFrame:
    """Add tokens, indices, values and error for `text_col`; keep id and label when present."""
    udf = make_features_udf(
        opts.proxy_url,
        analyzer=opts.analyzer,
        num_features=opts.num_features,
        batch_size=opts.batch_size,
        timeout=opts.timeout,
        api_key=opts.api_key,
        concurrency=opts.concurrency,
    )
    if opts.partitions:
        df = df.repartition(opts.partitions)
    keep = [F.col("id").cast("string").alias("id")] if "id" in df.columns else []
    if "label" in df.columns:
        keep.append(F.col("label").cast("int").alias("label"))
    out = df.select(*keep, udf(F.col(text_col)).alias("f"))
    return out.select(*[c for c in out.columns if c != "f"], "f.*")


def featurize(input_path: str | Path, output: str | Path, opts: FeaturizeOptions) -> dict:
    """Run the job and write `output` (parquet) plus its feature spec; returns the spec."""
    require_java()
    spec = _feature_spec(opts)
    spark = spark_session(opts.master, "nlpfeat-featurize")
    try:
        df = transform(read_reviews(spark, input_path), opts)
        df.write.mode("overwrite").parquet(str(output))
        written = spark.read.parquet(str(output))
        counts = written.agg(
            F.count(F.lit(1)).alias("rows"), F.count("error").alias("errors")
        ).first()
    finally:
        spark.stop()
    spec["rows"], spec["errors"] = int(counts["rows"]), int(counts["errors"])
    Path(output, SPEC_FILE).write_text(json.dumps(spec, ensure_ascii=False, indent=2))
    return spec


def _feature_spec(
    opts: FeaturizeOptions, *, transport: httpx.AsyncBaseTransport | None = None
) -> dict:
    """Ask the API (through the proxy) what it will produce; fails fast if nobody answers.

    The spec holds what the API said and the hashing scheme: never the API key."""
    info = asyncio.run(_describe(opts, transport))
    return {
        "analyzer": info["analyzer"],
        "analyzer_version": info["analyzer_version"],
        "num_features": info["num_features"],
        "ngram_range": [1, 2],
        "term_format": info.get("term_format"),
        "hashing": "murmur3_x86_32 seed 42 of UTF-8, non-negative mod num_features "
        "(= Spark HashingTF)",
    }


async def _describe(opts: FeaturizeOptions, transport: httpx.AsyncBaseTransport | None) -> dict:
    async with httpx.AsyncClient(timeout=opts.timeout, transport=transport) as http:
        client = FeaturesClient(
            http,
            opts.proxy_url,
            analyzer=opts.analyzer,
            num_features=opts.num_features,
            api_key=opts.api_key,
            retry=RetryPolicy(attempts=4, cap=2.0),
        )
        try:
            return await client.describe()
        except (ApiUnreachable, ApiBusy) as exc:
            raise ApiUnreachable(
                f"cannot get features from {opts.proxy_url} ({exc}): start the API and the proxy "
                "(`nlpfeat api`, `nlpfeat proxy`) or point --proxy at them"
            ) from exc

"""The featurize job: reviews TSV -> features through the proxy -> parquet, as pure transforms.

The table's metadata (`contracts.write_table_info`) is what the API answered for the job's
own request (spec, spec_hash, analyzer, dictionary) plus the job's record, written once the
Parquet output is complete.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts import (
    DEFAULT_NUM_FEATURES,
    ContractError,
    FeatureSpec,
    FeatureTableInfo,
    write_table_info,
)
from spark_udfs._client import FeaturesClient, RetryPolicy, resolve_spec
from spark_udfs._errors import (
    ApiBusy,
    ApiIncompatible,
    ApiUnreachable,
    InvalidOptions,
    JavaMissing,
)
from spark_udfs._udf import make_features_udf

__all__ = ["FeaturizeOptions", "featurize", "read_reviews", "spark_session", "transform"]


@dataclass(frozen=True)
class FeaturizeOptions:
    """The job's knobs. `spec` is the feature spec sent with every request (default: the
    default spec with `num_features`; given both, they must agree). `dictionary` names a user
    dictionary of the API. `api_key` is sent in the `contracts.headers.API_KEY` header and
    kept out of `repr` and the table metadata; `concurrency` is the most requests one Spark
    task has in flight."""

    proxy_url: str
    analyzer: str = "mecab"
    num_features: int = DEFAULT_NUM_FEATURES
    batch_size: int = 64
    timeout: float = 60.0
    master: str = "local[2]"
    partitions: int | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 2
    spec: FeatureSpec | None = None
    dictionary: str | None = None

    @property
    def feature_spec(self) -> FeatureSpec:
        """`spec`, or the default spec with `num_features`; `InvalidOptions` if they disagree
        or `num_features` breaks a rule of the spec."""
        explicit = self.spec is None or self.num_features != DEFAULT_NUM_FEATURES
        try:
            return resolve_spec(self.spec, self.num_features if explicit else None)
        except ValueError as exc:
            raise InvalidOptions(str(exc)) from exc


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
        spec=opts.feature_spec,
        dictionary=opts.dictionary,
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


def featurize(input_path: str | Path, output: str | Path, opts: FeaturizeOptions) -> dict[str, Any]:
    """Run the job: Parquet at `output`, then its metadata file (`contracts.write_table_info`).

    The API is asked first (the same request as the job's, for no docs), so a job whose API
    cannot be reached or speaks another feature contract fails before Spark starts. Returns
    the metadata as written, plus `rows` and `errors` at the top for a summary line.
    """
    require_java()
    info = table_info(_feature_spec(opts), opts)  # fails fast, before Spark starts
    started = datetime.now(UTC)
    clock = time.monotonic()
    spark = spark_session(opts.master, "nlpfeat-featurize")
    try:
        df = transform(read_reviews(spark, input_path), opts)
        df.write.mode("overwrite").parquet(str(output))
        written = spark.read.parquet(str(output))
        [counts] = written.agg(
            F.count(F.lit(1)).alias("rows"), F.count("error").alias("errors")
        ).collect()
    finally:
        spark.stop()
    rows, errors = int(counts["rows"]), int(counts["errors"])
    info = info.with_job(
        input=str(input_path),
        rows=rows,
        errors=errors,
        started_at=_timestamp(started),
        created_at=_timestamp(datetime.now(UTC)),
        seconds=round(time.monotonic() - clock, 3),
        master=opts.master,
        partitions=opts.partitions,
        batch_size=opts.batch_size,
        concurrency=opts.concurrency,
    )
    write_table_info(output, info)
    return {**info.to_json(), "rows": rows, "errors": errors}


def table_info(answer: dict[str, Any], opts: FeaturizeOptions) -> FeatureTableInfo:
    """The table's metadata from the API's answer; the API must have computed the spec the
    job sends and the `spec_hash` contracts computes for it."""
    try:
        info = FeatureTableInfo.from_api(answer)
    except ContractError as exc:
        raise ApiIncompatible(f"{opts.proxy_url}: {exc}") from exc
    if info.spec != opts.feature_spec:
        raise ApiIncompatible(
            f"{opts.proxy_url} answered spec {info.spec.to_json()} to a request for "
            f"{opts.feature_spec.to_json()}: is the API older than this client?"
        )
    return info


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _feature_spec(
    opts: FeaturizeOptions, *, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any]:
    """Ask the API (through the proxy, with the job's client and spec) what it will produce,
    sending no docs; fails fast if nobody answers. Its answer never holds the API key."""
    return asyncio.run(_describe(opts, transport))


async def _describe(
    opts: FeaturizeOptions, transport: httpx.AsyncBaseTransport | None
) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=opts.timeout, transport=transport) as http:
        client = FeaturesClient(
            http,
            opts.proxy_url,
            analyzer=opts.analyzer,
            spec=opts.feature_spec,
            dictionary=opts.dictionary,
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

"""The featurize job: a declared table in, a partitioned, resumable feature table out.

`transform(df, opts)` is the pure transform (a text column in, features out, through the
proxy); `featurize(job)` is the job around it (`spark_udfs._batch`): DUMP (read any table),
BATCH (declared filters, parts written once each), and the table's metadata, which holds what
the API answered for the job's own request (spec, spec_hash, analyzer, dictionary) plus the
job's record (input, filters, row counts, retries, timings).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts import (
    DEFAULT_NUM_FEATURES,
    ContractError,
    FeatureSpec,
    FeatureTableInfo,
)
from spark_udfs._batch import JobResult, run_job
from spark_udfs._client import FeaturesClient, RetryPolicy, resolve_spec
from spark_udfs._errors import (
    ApiBusy,
    ApiIncompatible,
    ApiUnreachable,
    InvalidOptions,
    JavaMissing,
)
from spark_udfs._input import TEXT
from spark_udfs._job import JobConfig
from spark_udfs._ship import ship_project
from spark_udfs._udf import counter_accumulator, make_features_udf

__all__ = ["FeaturizeOptions", "featurize", "spark_session", "transform"]


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
    deadline: float = 120.0
    retry_budget: float = 0.5
    min_retries: int = 200
    return_tokens: bool = True

    @classmethod
    def from_job(cls, job: JobConfig) -> FeaturizeOptions:
        service = job.service
        return cls(
            proxy_url=service.proxy,
            analyzer=job.spec.analyzer,
            batch_size=service.batch_size,
            timeout=service.timeout,
            master=job.master,
            api_key=service.api_key,
            concurrency=service.concurrency,
            spec=job.spec.feature_spec(),
            dictionary=job.spec.dictionary,
            deadline=service.deadline,
            retry_budget=service.retry_budget,
            min_retries=service.min_retries,
            return_tokens=job.output.tokens,
        )

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
    """A Spark session whose Python workers run this interpreter (the venv's) unless
    `PYSPARK_PYTHON` says otherwise; quiet (our progress bar, not Spark's); on a cluster the
    executors get this project's code from the job (`spark_udfs._ship`)."""
    require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    ship_project(spark)
    return spark


def transform(
    df: DataFrame,
    opts: FeaturizeOptions,
    *,
    text_col: str = "document",
    counts: Any = None,
) -> DataFrame:
    """Add tokens, indices, values and error for `text_col`; keep id and label when present.
    `counts` (a `counter_accumulator`) collects requests and retries by cause."""
    udf = make_features_udf(
        opts.proxy_url,
        analyzer=opts.analyzer,
        spec=opts.feature_spec,
        dictionary=opts.dictionary,
        batch_size=opts.batch_size,
        timeout=opts.timeout,
        api_key=opts.api_key,
        concurrency=opts.concurrency,
        deadline=opts.deadline,
        retry_budget=opts.retry_budget,
        min_retries=opts.min_retries,
        return_tokens=opts.return_tokens,
        counts=counts,
    )
    if opts.partitions:
        df = df.repartition(opts.partitions)
    keep = [F.col("id").cast("string").alias("id")] if "id" in df.columns else []
    if "label" in df.columns:
        keep.append(F.col("label").cast("int").alias("label"))
    out = df.select(*keep, udf(F.col(text_col)).alias("f"))
    return out.select(*[c for c in out.columns if c != "f"], "f.*")


def featurize(
    job: JobConfig,
    *,
    spark: SparkSession | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> JobResult:
    """Run `job` (see `spark_udfs._batch` for the output and how a rerun resumes).

    The API is asked first (the job's own request, for no docs), so a job whose API cannot be
    reached or speaks another feature contract fails before Spark starts. `spark` is a session
    to use (else one is made for `job.master` and stopped at the end).
    """
    require_java()
    opts = FeaturizeOptions.from_job(job)
    answer = _feature_spec(opts)
    table_info(answer, opts)  # fails fast, before Spark starts
    session = spark or spark_session(job.master, "nlpfeat-featurize")
    counts = counter_accumulator(session)
    try:
        return run_job(
            session,
            job,
            answer,
            lambda df: transform(df, opts, text_col=TEXT, counts=counts),
            overwrite=overwrite,
            progress=progress,
            record=lambda: {"retries": _retries(counts.value)},
        )
    finally:
        if spark is None:
            session.stop()


def _retries(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(counts.items()) if k != "requests"} | {
        "requests": counts.get("requests", 0)
    }


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

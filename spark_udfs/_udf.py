"""Iterator pandas UDFs that get features from the NLP API, made by factories.

The factory runs on the driver and captures only plain arguments; each Spark task runs one
event loop (`asyncio.Runner`) and one pooled async HTTP client for its whole partition,
re-batches its rows into requests of `batch_size` docs, sends up to `concurrency` of them at
once through the task's pacer (see `spark_udfs._pacer`) and closes the client when the
partition is done. Results keep row order. Nothing is read from the environment on executors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql import SparkSession
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from contracts import FeatureSpec
from spark_udfs._client import FeaturesClient, RetryBudget, RetryPolicy, resolve_spec

__all__ = [
    "FEATURES_SCHEMA",
    "CounterParam",
    "counter_accumulator",
    "features_frame",
    "make_features_udf",
]


class CounterParam(AccumulatorParam[dict[str, int]]):
    """Spark accumulator of counts by name, summed over tasks."""

    def zero(self, value: dict[str, int]) -> dict[str, int]:
        return {}

    def addInPlace(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        for key, n in b.items():
            a[key] = a.get(key, 0) + n
        return a


def counter_accumulator(spark: SparkSession) -> Accumulator[dict[str, int]]:
    return spark.sparkContext.accumulator({}, CounterParam())


FEATURES_SCHEMA = StructType(
    [
        StructField("tokens", ArrayType(StringType())),
        StructField("indices", ArrayType(IntegerType())),
        StructField("values", ArrayType(DoubleType())),
        StructField("error", StringType()),
    ]
)


def make_features_udf(
    base_url: str,
    *,
    analyzer: str = "mecab",
    num_features: int | None = None,
    spec: FeatureSpec | None = None,
    dictionary: str | None = None,
    batch_size: int = 64,
    timeout: float = 60.0,
    retry_attempts: int | None = None,
    retry_cap: float = 5.0,
    deadline: float = 120.0,
    retry_budget: float = 0.5,
    min_retries: int = 200,
    api_key: str | None = None,
    concurrency: int = 2,
    return_tokens: bool = True,
    counts: Accumulator[dict[str, int]] | None = None,
) -> Any:
    """A UDF mapping a string column to a struct (tokens, indices, values, error).

    Features follow `spec` (default: the default spec with `num_features`, 2^20 unless
    given); `dictionary` names a user dictionary of the API. `api_key` goes out in the
    `contracts.headers.API_KEY` header on every request; `concurrency` is how many requests
    one task has in flight at most. Transient faults are retried for up to `deadline` seconds
    per batch within a task's budget (`RetryBudget(retry_budget, min_retries)`); `counts`
    (a `counter_accumulator`) receives each task's requests and retries by cause.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    feature_spec = resolve_spec(spec, num_features)

    @pandas_udf(FEATURES_SCHEMA)  # type: ignore[call-overload, untyped-decorator]
    def features(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        with asyncio.Runner() as runner:
            http = httpx.AsyncClient(timeout=timeout, limits=limits)
            try:
                client = FeaturesClient(
                    http,
                    base_url,
                    analyzer=analyzer,
                    spec=feature_spec,
                    dictionary=dictionary,
                    api_key=api_key,
                    return_tokens=return_tokens,
                    retry=RetryPolicy(attempts=retry_attempts, cap=retry_cap, deadline=deadline),
                    budget=RetryBudget(retry_budget, min_retries),
                )
                for docs in batches:
                    yield runner.run(features_frame(client, docs, batch_size, concurrency))
                if counts is not None:
                    counts.add({"requests": client.budget.requests, **client.retries})
            finally:
                runner.run(http.aclose())

    return features


async def features_frame(
    client: FeaturesClient, docs: pd.Series, batch_size: int, concurrency: int = 2
) -> pd.DataFrame:
    """Features for each doc of `docs`, in order, with at most `concurrency` requests in
    flight; null or failed docs get an error, not an exception."""
    values = docs.tolist()
    slots = asyncio.Semaphore(concurrency)

    async def send(sendable: list[str]) -> list[dict[str, Any]]:
        async with slots:
            return await client.features(sendable)

    async def chunk_rows(chunk: list[Any]) -> list[dict[str, Any]]:
        sendable = [d for d in chunk if isinstance(d, str)]
        results = iter(await send(sendable) if sendable else [])
        return [next(results) if isinstance(d, str) else _NULL_DOC for d in chunk]

    chunks = [values[start : start + batch_size] for start in range(0, len(values), batch_size)]
    done = await asyncio.gather(*(chunk_rows(chunk) for chunk in chunks))
    columns: dict[str, list[Any]] = {f.name: [] for f in FEATURES_SCHEMA.fields}
    tokens, indices, vals, errors = columns.values()
    for chunk in done:
        for result in chunk:
            error = result.get("error")
            if error:
                tokens.append(None)
                indices.append(None)
                vals.append(None)
                errors.append(
                    error
                    if isinstance(error, str)
                    else f"{error.get('type')}: {error.get('detail')}"
                )
            else:
                tokens.append(result.get("tokens"))
                indices.append(result["indices"])
                vals.append(result["values"])
                errors.append(None)
    return pd.DataFrame(columns)


_NULL_DOC: dict[str, Any] = {"error": "NullDocument: no text"}

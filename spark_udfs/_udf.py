"""Iterator pandas UDFs that get features from the NLP API, made by factories.

The factory runs on the driver and captures only plain arguments; each Spark task opens one
pooled HTTP client, re-batches its rows into requests of `batch_size` docs and closes the
client when the partition is done. Nothing is read from the environment on executors.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pandas as pd
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from spark_udfs._client import FeaturesClient, RetryPolicy

__all__ = ["FEATURES_SCHEMA", "features_frame", "make_features_udf"]

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
    num_features: int = 2**20,
    batch_size: int = 64,
    timeout: float = 60.0,
    retry_attempts: int = 8,
    retry_cap: float = 10.0,
):
    """A UDF mapping a string column to a struct (tokens, indices, values, error)."""

    @pandas_udf(FEATURES_SCHEMA)  # type: ignore[call-overload]
    def features(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(timeout=timeout, limits=limits) as http:
            client = FeaturesClient(
                http,
                base_url,
                analyzer=analyzer,
                num_features=num_features,
                retry=RetryPolicy(attempts=retry_attempts, cap=retry_cap),
            )
            for docs in batches:
                yield features_frame(client, docs, batch_size)

    return features


def features_frame(client: FeaturesClient, docs: pd.Series, batch_size: int) -> pd.DataFrame:
    """Features for each doc of `docs`; null or failed docs get an error, not an exception."""
    rows: list[dict] = []
    values = docs.tolist()
    for start in range(0, len(values), batch_size):
        chunk = values[start : start + batch_size]
        sendable = [d for d in chunk if isinstance(d, str)]
        results = iter(client.features(sendable) if sendable else [])
        for doc in chunk:
            rows.append(_row(next(results)) if isinstance(doc, str) else _NULL_DOC)
    return pd.DataFrame(rows, columns=[f.name for f in FEATURES_SCHEMA.fields])


_NULL_DOC = {"tokens": None, "indices": None, "values": None, "error": "NullDocument: no text"}


def _row(result: dict) -> dict:
    error = result.get("error")
    if error:
        return {
            "tokens": None,
            "indices": None,
            "values": None,
            "error": f"{error.get('type')}: {error.get('detail')}",
        }
    return {
        "tokens": result.get("tokens"),
        "indices": result["indices"],
        "values": result["values"],
        "error": None,
    }

"""Batch client of the NLP API for Spark: factory-made Iterator pandas UDFs and the featurize job.

Speaks HTTP only (through the proxy): a Spark cluster needs neither konlpy nor a JVM analyzer.
"""

from spark_udfs._client import FeaturesClient, RetryPolicy
from spark_udfs._errors import (
    ApiBusy,
    ApiIncompatible,
    ApiRejected,
    ApiUnreachable,
    InvalidOptions,
    JavaMissing,
    SparkUdfError,
)
from spark_udfs._featurize import (
    FeaturizeOptions,
    featurize,
    read_reviews,
    spark_session,
    transform,
)
from spark_udfs._udf import FEATURES_SCHEMA, features_frame, make_features_udf

__all__ = [
    "FEATURES_SCHEMA",
    "ApiBusy",
    "ApiIncompatible",
    "ApiRejected",
    "ApiUnreachable",
    "FeaturesClient",
    "FeaturizeOptions",
    "InvalidOptions",
    "JavaMissing",
    "RetryPolicy",
    "SparkUdfError",
    "features_frame",
    "featurize",
    "make_features_udf",
    "read_reviews",
    "spark_session",
    "transform",
]

"""Batch client of the NLP API for Spark: factory-made Iterator pandas UDFs and the featurize job.

Speaks HTTP only (through the proxy): a Spark cluster needs neither konlpy nor a JVM analyzer.
"""

from spark_udfs._batch import JobResult
from spark_udfs._client import FeaturesClient, RetryBudget, RetryPolicy
from spark_udfs._errors import (
    ApiBusy,
    ApiIncompatible,
    ApiRejected,
    ApiUnreachable,
    BadResponse,
    DeadlineExceeded,
    InputError,
    InvalidOptions,
    JavaMissing,
    JobConfigError,
    RetryBudgetExhausted,
    SparkUdfError,
)
from spark_udfs._featurize import FeaturizeOptions, featurize, spark_session, transform
from spark_udfs._job import JobConfig, load_job
from spark_udfs._udf import FEATURES_SCHEMA, counter_accumulator, features_frame, make_features_udf

__all__ = [
    "FEATURES_SCHEMA",
    "ApiBusy",
    "ApiIncompatible",
    "ApiRejected",
    "ApiUnreachable",
    "BadResponse",
    "DeadlineExceeded",
    "FeaturesClient",
    "FeaturizeOptions",
    "InputError",
    "InvalidOptions",
    "JavaMissing",
    "JobConfig",
    "JobConfigError",
    "JobResult",
    "RetryBudget",
    "RetryBudgetExhausted",
    "RetryPolicy",
    "SparkUdfError",
    "counter_accumulator",
    "features_frame",
    "featurize",
    "load_job",
    "make_features_udf",
    "spark_session",
    "transform",
]

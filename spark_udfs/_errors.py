"""Errors of the batch client.

SparkUdfError
├── ApiUnreachable        the proxy/API could not be reached (a connection error or timeout)
├── ApiRejected           the API answered a 4xx/500 that retrying cannot fix (the row's fault)
├── ApiBusy               429/502/503/504: transient, retried
├── DeadlineExceeded      a batch met only transient faults until its deadline (rows error)
├── RetryBudgetExhausted  a task spent its retry budget (the task fails; rerun resumes)
├── BadResponse           an answer that is not one result per doc (the batch's rows error)
├── ApiIncompatible       the API's answer breaks the feature contract (no spec_hash, another one)
├── InvalidOptions        the job's options break a rule (a feature spec's); also a ValueError
├── JobConfigError        the job's declaration is wrong (a config field, an output in use)
├── InputError            the input cannot be read or lacks a named column
└── JavaMissing           Spark needs Java 17 or 21 and none was found
"""

from __future__ import annotations

__all__ = [
    "ApiBusy",
    "ApiIncompatible",
    "ApiRejected",
    "ApiUnreachable",
    "BadResponse",
    "DeadlineExceeded",
    "InputError",
    "InvalidOptions",
    "JavaMissing",
    "JobConfigError",
    "RetryBudgetExhausted",
    "SparkUdfError",
]


class SparkUdfError(Exception):
    pass


class ApiUnreachable(SparkUdfError):
    pass


class ApiRejected(SparkUdfError):
    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {detail}")


class ApiBusy(SparkUdfError):
    def __init__(self, status: int, retry_after: float | None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} (busy), Retry-After {retry_after}")


class DeadlineExceeded(SparkUdfError):
    pass


class RetryBudgetExhausted(SparkUdfError):
    pass


class BadResponse(SparkUdfError):
    pass


class ApiIncompatible(SparkUdfError):
    pass


class JobConfigError(SparkUdfError, ValueError):
    pass


class InputError(SparkUdfError):
    pass


class InvalidOptions(SparkUdfError, ValueError):
    pass


class JavaMissing(SparkUdfError):
    def __init__(self) -> None:
        super().__init__(
            "Java was not found: Spark needs Java 17 or 21; install it "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
        )

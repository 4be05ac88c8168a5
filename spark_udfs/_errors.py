"""Errors of the batch client.

SparkUdfError
├── ApiUnreachable   the proxy/API could not be reached (after retries)
├── ApiRejected      the API answered a 4xx that retrying cannot fix
├── ApiBusy          429/503 still after every retry
├── ApiIncompatible  the API's answer breaks the feature contract (no spec_hash, another one)
├── InvalidOptions   the job's options break a rule (a feature spec's); also a ValueError
└── JavaMissing      Spark needs Java 17 or 21 and none was found
"""

from __future__ import annotations

__all__ = [
    "ApiBusy",
    "ApiIncompatible",
    "ApiRejected",
    "ApiUnreachable",
    "InvalidOptions",
    "JavaMissing",
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


class ApiIncompatible(SparkUdfError):
    pass


class InvalidOptions(SparkUdfError, ValueError):
    pass


class JavaMissing(SparkUdfError):
    def __init__(self) -> None:
        super().__init__(
            "Java was not found: Spark needs Java 17 or 21; install it "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
        )

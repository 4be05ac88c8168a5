"""HTTP header names and values shared by the proxy, the API, the Spark client and serving."""

from __future__ import annotations

from typing import Final

__all__ = [
    "API_KEY",
    "BATCH",
    "INTERACTIVE",
    "MAX_WAIT",
    "MODEL_VERSION",
    "RATELIMIT",
    "RATELIMIT_POLICY",
    "REQUEST_CLASS",
    "RETRY_AFTER",
    "UPSTREAM_TOKEN",
]

API_KEY: Final = "X-API-Key"
"""A client's key to the proxy (or `Authorization: Bearer <key>`)."""
UPSTREAM_TOKEN: Final = "X-Upstream-Token"
"""Added by the proxy to what it forwards; an API started with a token refuses anything else."""
REQUEST_CLASS: Final = "X-Request-Class"
"""`interactive` or `batch`, set by the proxy from the client's class (never by the client)."""
MAX_WAIT: Final = "X-Max-Wait"
"""Seconds a request may queue in the proxy, shortening the client's `max_wait`."""
RATELIMIT: Final = "RateLimit"
RATELIMIT_POLICY: Final = "RateLimit-Policy"
RETRY_AFTER: Final = "Retry-After"
MODEL_VERSION: Final = "X-Model-Version"
"""The model version that answered a prediction."""

INTERACTIVE: Final = "interactive"
BATCH: Final = "batch"

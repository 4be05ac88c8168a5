"""The proxy's exception tree.

Foreign errors (redis, aiohttp) are re-raised as one of these where they happen, and the
HTTP-facing ones are mapped to RFC 9457 problem responses in one middleware::

    ProxyError
    ├── SettingsError          (also a ValueError: bad ProxySettings)
    ├── LimiterStoreError      (the shared store could not decide; callers fall back)
    ├── LimiterUnavailable     (store down and on_failure = "closed") -> 503
    └── UpstreamError          (forwarding failed before a response was started)
        ├── UpstreamUnavailable   -> 502
        ├── UpstreamTimeout       -> 504
        └── NoHealthyUpstream     -> 503 with Retry-After (every upstream ejected or not ready)
"""

from __future__ import annotations

__all__ = [
    "LimiterStoreError",
    "LimiterUnavailable",
    "NoHealthyUpstream",
    "ProxyError",
    "SettingsError",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class ProxyError(Exception):
    """Base class of every error the proxy raises on purpose."""


class SettingsError(ProxyError, ValueError):
    """A ProxySettings field is invalid."""


class LimiterStoreError(ProxyError):
    """The limiter's backing store (Redis) failed or timed out."""


class UpstreamError(ProxyError):
    """The upstream API could not be used; carries the HTTP status to answer with."""

    status = 502
    title = "Bad Gateway"
    problem = "upstream-unavailable"
    retry_after: int | None = None
    """Whole seconds for a ``Retry-After`` header, where waiting is known to help."""

    def __init__(self, upstream: str, detail: str) -> None:
        super().__init__(detail)
        self.upstream = upstream
        self.detail = detail


class UpstreamUnavailable(UpstreamError):
    """Connecting to or talking with the upstream failed."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the configured timeout."""

    status = 504
    title = "Gateway Timeout"
    problem = "upstream-timeout"


class LimiterUnavailable(ProxyError):
    """The shared store is down and the failure policy says refuse (-> 503)."""


class NoHealthyUpstream(UpstreamError):
    """Every upstream is ejected or failing its readiness check; nothing was sent.

    ``retry_after`` (whole seconds, at least 1) is when the first of them may take traffic
    again: the end of its ejection, or the next readiness check.
    """

    status = 503
    title = "Service Unavailable"
    problem = "no-upstream"

    def __init__(self, upstream: str, detail: str, retry_after: int) -> None:
        super().__init__(upstream, detail)
        self.retry_after = retry_after

"""Exceptions raised by :mod:`serving`; each carries the HTTP status it maps to.

The tree::

    ServingError                       500
    ├── ConfigurationError             invalid ServingSettings (also a ValueError)
    ├── ModelLoadError                 500 a model directory exists but cannot be loaded
    ├── ModelNotReady                  503 no version of the model is loaded (yet)
    ├── ModelNotFound                  404 the request names a model or version not served
    ├── Overloaded                     503 too many requests in flight (Retry-After)
    ├── InvalidInput                   400 a well-formed request with unusable tensors
    └── UpstreamError                  502 the features API answered badly
        ├── UpstreamThrottled          429 the proxy throttled us (Retry-After kept)
        └── UpstreamUnavailable        503 unreachable, timed out, or 503 upstream
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "InvalidInput",
    "ModelLoadError",
    "ModelNotFound",
    "ModelNotReady",
    "Overloaded",
    "ServingError",
    "UpstreamError",
    "UpstreamThrottled",
    "UpstreamUnavailable",
]


class ServingError(Exception):
    """Base class of the serving package's errors."""

    status: int = 500
    title: str = "Internal serving error"
    slug: str = "serving-error"

    def __init__(self, detail: str, *, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class ConfigurationError(ServingError, ValueError):
    """The serving settings are invalid."""

    title = "Invalid serving configuration"
    slug = "configuration-error"


class ModelLoadError(ServingError):
    """A model version exists on disk but cannot be loaded."""

    title = "Model cannot be loaded"
    slug = "model-load-error"


class ModelNotReady(ServingError):
    """No version of the model is loaded (none trained yet, or the one wanted failed)."""

    status = 503
    title = "No model loaded"
    slug = "model-not-ready"


class ModelNotFound(ServingError):
    """The requested model, or version of it, is not served here."""

    status = 404
    title = "Model not found"
    slug = "model-not-found"


class Overloaded(ServingError):
    """As many requests as the limit allows are in flight already; come back later."""

    status = 503
    title = "Server overloaded"
    slug = "overloaded"


class InvalidInput(ServingError):
    """The request is well-formed JSON but its tensors cannot be used."""

    status = 400
    title = "Invalid inference input"
    slug = "invalid-input"


class UpstreamError(ServingError):
    """The features API returned an error or an unusable answer."""

    status = 502
    title = "Features API error"
    slug = "upstream-error"


class UpstreamThrottled(UpstreamError):
    """The throttling proxy answered 429."""

    status = 429
    title = "Features API throttled the request"
    slug = "upstream-throttled"


class UpstreamUnavailable(UpstreamError):
    """The features API is unreachable, timed out, or answered 503."""

    status = 503
    title = "Features API unavailable"
    slug = "upstream-unavailable"

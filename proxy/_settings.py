"""ProxySettings: the one value object the proxy is configured with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._errors import SettingsError
from ._gcra import GCRAPolicy

if TYPE_CHECKING:
    from ._config import ProxyConfig

__all__ = ["ProxySettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySettings:
    """Settings for one proxy process; validated at construction.

    ``rate`` is the sustained limit in requests per second and ``burst`` the number of
    requests a fresh (idle) client may send at once. ``redis_url`` switches the limiter from
    in-process to a Redis-backed one shared by all replicas; ``redis_timeout`` bounds every
    Redis call (seconds) before the proxy falls back to its in-process limiter.
    """

    upstream: str
    rate: float
    burst: int
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    redis_timeout: float = 0.05
    key_prefix: str = "nlpfeat"
    upstream_timeout: float = 30.0
    pool_size: int = 100

    def __post_init__(self) -> None:
        _check_url("upstream", self.upstream, ("http", "https"))
        if self.redis_url is not None:
            _check_url("redis_url", self.redis_url, ("redis", "rediss", "unix"))
        _check_positive("rate", self.rate)
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise SettingsError(f"burst must be an integer >= 1, got {self.burst!r}")
        _check_positive("redis_timeout", self.redis_timeout)
        _check_positive("upstream_timeout", self.upstream_timeout)
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be an integer in 0..65535, got {self.port!r}")
        if not isinstance(self.pool_size, int) or self.pool_size < 1:
            raise SettingsError(f"pool_size must be an integer >= 1, got {self.pool_size!r}")
        if not self.key_prefix or any(c in self.key_prefix for c in "{} "):
            raise SettingsError(
                f"key_prefix must be non-empty without braces or spaces, got {self.key_prefix!r}"
            )
        GCRAPolicy(self.rate, self.burst)

    @property
    def policy(self) -> GCRAPolicy:
        """The GCRA policy (rate, burst) these settings describe."""
        return GCRAPolicy(self.rate, self.burst)

    def to_config(self) -> ProxyConfig:
        """The same proxy as a ``ProxyConfig``: one keyless client, 429 at once over the rate,
        ``pool_size`` requests in flight."""
        from ._config import (
            ANONYMOUS,
            CapacityConfig,
            ClientConfig,
            ProxyConfig,
            RedisConfig,
            ServerConfig,
            UpstreamConfig,
        )

        return ProxyConfig(
            server=ServerConfig(host=self.host, port=self.port),
            redis=RedisConfig(
                url=self.redis_url, timeout_ms=self.redis_timeout * 1000, key_prefix=self.key_prefix
            ),
            capacity=CapacityConfig(max_in_flight=self.pool_size, interactive_reserved=0),
            upstream=UpstreamConfig(
                urls=[self.upstream], timeout=self.upstream_timeout, pool_size=self.pool_size
            ),
            clients=[
                ClientConfig(
                    name=ANONYMOUS,
                    rate=self.rate,
                    burst=self.burst,
                    max_in_flight=self.pool_size,
                    queue_cap=self.pool_size,
                    max_wait=0.0,
                )
            ],
            auth=False,
        )


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(f"{name} must be a finite number > 0, got {value!r}")


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in schemes or not (parts.netloc or parts.path):
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise SettingsError(
            f"{name} must be a URL starting with {allowed} "
            f"(e.g. http://127.0.0.1:8001), got {value!r}"
        )
    if schemes[0] == "http" and (not parts.hostname or parts.query or parts.fragment):
        raise SettingsError(
            f"{name} must be a base URL with a host and no query or fragment, got {value!r}"
        )

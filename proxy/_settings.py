"""ProxySettings: the one-client shorthand of the command line's flags, as a value object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._config import (
    ANONYMOUS,
    ProxyConfig,
    RedisConfig,
    ServerConfig,
    UpstreamConfig,
    validate_config,
)
from ._gcra import GCRAPolicy

__all__ = ["ProxySettings"]

_UPSTREAM = UpstreamConfig.model_fields
_SERVER = ServerConfig.model_fields
_NAMES: tuple[tuple[tuple[str | int, ...], str], ...] = (
    (("server", "host"), "host"),
    (("server", "port"), "port"),
    (("server", "dry_run"), "dry_run"),
    (("redis", "url"), "redis_url"),
    (("redis", "timeout_ms"), "redis_timeout"),
    (("redis", "key_prefix"), "key_prefix"),
    (("capacity",), "pool_size"),
    (("upstream", "urls"), "upstream"),
    (("upstream", "timeout"), "upstream_timeout"),
    (("upstream", "pool_size"), "pool_size"),
    (("clients", 0, "rate"), "rate"),
    (("clients", 0, "burst"), "burst"),
    (("clients", 0, "max_in_flight"), "pool_size"),
    (("clients", 0, "queue_cap"), "pool_size"),
    (("clients", 0), "rate, burst"),
)
"""Where each setting lands in the ``ProxyConfig``, to report errors by the setting's name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySettings:
    """One keyless client in front of one upstream: the flags of ``nlpfeat proxy``.

    ``rate`` is the sustained limit in requests per second and ``burst`` the number of
    requests a fresh (idle) client may send at once. ``redis_url`` switches the limiter from
    in-process to a Redis-backed one shared by all replicas; ``redis_timeout`` bounds every
    Redis call (seconds) before the proxy falls back to its in-process limiter.

    Construction validates through ``ProxyConfig`` (``to_config`` is what it built), so a bad
    value is a ``SettingsError`` worded as for a ``proxy.toml``, naming the setting.
    """

    upstream: str = "http://127.0.0.1:8001"
    rate: float = 100.0
    burst: int = 20
    redis_url: str | None = None
    host: str = _SERVER["host"].default
    port: int = _SERVER["port"].default
    dry_run: bool = False
    redis_timeout: float = 0.05
    key_prefix: str = RedisConfig.model_fields["key_prefix"].default
    upstream_timeout: float = _UPSTREAM["timeout"].default
    pool_size: int = _UPSTREAM["pool_size"].default
    _config: ProxyConfig = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_config", validate_config(self._raw(), "proxy settings", names=_NAMES)
        )

    @property
    def policy(self) -> GCRAPolicy:
        """The GCRA policy (rate, burst) these settings describe."""
        return self._config.clients[0].policy

    def to_config(self) -> ProxyConfig:
        """The same proxy as a ``ProxyConfig``: one keyless client, 429 at once over the rate,
        ``pool_size`` requests in flight."""
        return self._config

    def _raw(self) -> dict[str, Any]:
        return {
            "server": {"host": self.host, "port": self.port, "dry_run": self.dry_run},
            "redis": {
                "url": self.redis_url,
                "timeout_ms": _millis(self.redis_timeout),
                "key_prefix": self.key_prefix,
            },
            "capacity": {"max_in_flight": self.pool_size, "interactive_reserved": 0},
            "upstream": {
                "urls": [self.upstream],
                "timeout": self.upstream_timeout,
                "pool_size": self.pool_size,
            },
            "clients": [
                {
                    "name": ANONYMOUS,
                    "rate": self.rate,
                    "burst": self.burst,
                    "max_in_flight": self.pool_size,
                    "queue_cap": self.pool_size,
                    "max_wait": 0.0,
                }
            ],
            "auth": False,
        }


def _millis(seconds: Any) -> Any:
    """Seconds to milliseconds; anything else is left for validation to refuse."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return seconds * 1000
    return seconds

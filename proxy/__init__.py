"""Throttling reverse proxy in front of the NLP REST API.

``run(load_config(path))`` serves a ``proxy.toml``: clients by API key with per-client GCRA
limits (in Redis when configured, shared by replicas), interactive priority and fair batch
shares over the upstreams' capacity, several upstreams. ``ProxySettings`` is the one-client
shorthand of the CLI flags; ``create_app`` builds the aiohttp application for embedding.
"""

from ._app import create_app, run
from ._config import ProxyConfig, load_config
from ._errors import LimiterStoreError, ProxyError, SettingsError
from ._gcra import Decision, GCRAPolicy
from ._limiter import Limiter
from ._memory import MemoryStore
from ._metrics import ProxyMetrics
from ._redis import RedisStore
from ._settings import ProxySettings

__all__ = [
    "Decision",
    "GCRAPolicy",
    "Limiter",
    "LimiterStoreError",
    "MemoryStore",
    "ProxyConfig",
    "ProxyError",
    "ProxyMetrics",
    "ProxySettings",
    "RedisStore",
    "SettingsError",
    "create_app",
    "load_config",
    "run",
]

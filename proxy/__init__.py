"""Throttling reverse proxy in front of the NLP REST API.

``run(ProxySettings(upstream=..., rate=..., burst=...))`` serves it; ``create_app`` builds the
aiohttp application for embedding and tests. One global GCRA limit, decided in Redis when
``redis_url`` is set (shared by replicas) and in-process otherwise.
"""

from ._app import create_app, run
from ._errors import LimiterStoreError, ProxyError
from ._gcra import Decision, GCRAPolicy
from ._limiter import Limiter
from ._memory import MemoryStore
from ._redis import RedisStore
from ._settings import ProxySettings

__all__ = [
    "Decision",
    "GCRAPolicy",
    "Limiter",
    "LimiterStoreError",
    "MemoryStore",
    "ProxyError",
    "ProxySettings",
    "RedisStore",
    "create_app",
    "run",
]

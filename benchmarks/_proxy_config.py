"""What a generated proxy.toml says: the proxy's clients (keys, classes, limits), its
upstreams, its limiter's Redis and its capacity."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from contracts import headers

__all__ = ["ClientSpec", "ProxySpec"]


@dataclass(frozen=True)
class ClientSpec:
    """One ``[[clients]]`` entry of a generated proxy.toml."""

    name: str
    klass: str = headers.BATCH
    rate: float = 1e5
    burst: int = 1000
    max_in_flight: int = 1000
    queue_cap: int = 0
    max_wait: float = 0.0

    @property
    def key(self) -> str:
        return f"bench-key-{self.name}-0123456789"


@dataclass(frozen=True)
class ProxySpec:
    """What a generated proxy.toml says; ``redis_url`` None means the in-process limiter."""

    upstreams: Sequence[str]
    clients: Sequence[ClientSpec]
    redis_url: str | None = None
    replicas: int = 1
    key_prefix: str = "bench"
    max_in_flight: int = 1000
    interactive_reserved: float = 0.0
    pool_size: int = 1000

    def toml(self, port: int) -> str:
        def value(v: object) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            return json.dumps(v) if isinstance(v, str | list) else repr(v)

        def table(name: str, items: dict[str, object]) -> list[str]:
            return [name, *(f"{k} = {value(v)}" for k, v in items.items()), ""]

        redis: dict[str, object] = {"key_prefix": self.key_prefix, "replicas": self.replicas}
        if self.redis_url:
            redis["url"] = self.redis_url
        lines = [
            *table("[server]", {"host": "127.0.0.1", "port": port}),
            *table("[redis]", redis),
            *table(
                "[capacity]",
                {
                    "max_in_flight": self.max_in_flight,
                    "interactive_reserved": self.interactive_reserved,
                },
            ),
            *table("[upstream]", {"urls": list(self.upstreams), "pool_size": self.pool_size}),
        ]
        for c in self.clients:
            lines += table(
                "[[clients]]",
                {
                    "name": c.name,
                    "key": c.key,
                    "class": c.klass,
                    "rate": float(c.rate),
                    "burst": c.burst,
                    "max_in_flight": c.max_in_flight,
                    "queue_cap": c.queue_cap,
                    "max_wait": float(c.max_wait),
                },
            )
        return "\n".join(lines)

"""ProxyConfig: the `proxy.toml` file (clients, upstreams, capacity, Redis), validated.

`nlpfeat proxy --config proxy.toml` reads it with `load_config`; the skeleton's flags
(`--upstream --rate --burst --redis-url`) become `ProxySettings(...).to_config()`: one
anonymous batch client that needs no API key. README "Proxy configuration" has an example.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._errors import SettingsError
from ._gcra import GCRAPolicy

__all__ = [
    "ANONYMOUS",
    "CapacityConfig",
    "ClientConfig",
    "ProxyConfig",
    "RedisConfig",
    "ServerConfig",
    "UpstreamConfig",
    "load_config",
]

ANONYMOUS = "anonymous"
ClientClass = Literal["interactive", "batch"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret(value: str | None, env: str | None, what: str) -> str | None:
    if env is None:
        return value
    found = os.environ.get(env)
    if not found:
        raise ValueError(f"{what}: environment variable {env} is not set (or empty)")
    return found


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    dry_run: bool = False
    """Count what would be queued or refused, but forward everything at once."""
    max_body_bytes: int = Field(10 * 2**20, ge=1024)


class RedisConfig(_Strict):
    url: str | None = None
    """Omit for the in-process limiter (one replica only)."""
    timeout_ms: float = Field(5.0, gt=0)
    """Per Redis call; past it the request is decided locally and the breaker opens."""
    key_prefix: str = "nlpfeat"
    replicas: int = Field(1, ge=1)
    """Replicas expected; the live count from Redis heartbeats is used when higher."""
    on_failure: Literal["local-share", "open", "closed"] = "local-share"
    """While Redis is down: enforce limit / replicas locally, admit everything, or 503."""
    probe_interval: float = Field(0.25, gt=0)
    """Seconds between Redis probes while the breaker is open (recovery within ~this)."""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"must start with redis://, rediss:// or unix://, got {v!r}")
        return v

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or any(c in v for c in "{} "):
            raise ValueError(f"must be non-empty without braces or spaces, got {v!r}")
        return v


class CapacityConfig(_Strict):
    max_in_flight: int = Field(16, ge=1)
    """Requests the upstreams take at once, all clients together."""
    interactive_reserved: float = Field(0.25, ge=0, lt=1)
    """Share of max_in_flight that batch clients never take."""

    @property
    def reserved_slots(self) -> int:
        return min(
            self.max_in_flight - 1, math.ceil(self.max_in_flight * self.interactive_reserved)
        )


class UpstreamConfig(_Strict):
    urls: list[str] = Field(min_length=1)
    token: str | None = None
    """Sent as X-Upstream-Token; start the API with the same --upstream-token."""
    token_env: str | None = None
    timeout: float = Field(30.0, gt=0)
    pool_size: int = Field(100, ge=1)
    eject_after: int = Field(3, ge=1)
    """Consecutive failures (connect error, timeout, 502/503/504) before an upstream rests."""
    eject_seconds: float = Field(5.0, gt=0)
    check_interval: float = Field(1.0, gt=0)
    check_path: str = "/readyz"

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for u in urls:
            if not u.startswith(("http://", "https://")) or "?" in u or "#" in u:
                raise ValueError(f"upstream must be a base URL like http://127.0.0.1:8001: {u!r}")
        if len(set(urls)) != len(urls):
            raise ValueError("an upstream URL is listed twice")
        return [u.rstrip("/") for u in urls]

    @property
    def resolved_token(self) -> str | None:
        return _secret(self.token, self.token_env, "upstream.token_env")


class ClientConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    key: str | None = Field(None, min_length=16)
    key_env: str | None = None
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    klass: ClientClass = Field("batch", alias="class")
    rate: float = Field(gt=0, le=1e6)
    burst: int = Field(ge=1)
    max_in_flight: int = Field(16, ge=1)
    queue_cap: int = Field(64, ge=0)
    max_wait: float = Field(10.0, ge=0)
    """Seconds a request may wait in the queue; `X-Max-Wait` may shorten it per request."""
    enabled: bool = True

    @model_validator(mode="after")
    def _one_key(self) -> ClientConfig:
        given = [k for k in ("key", "key_env", "key_sha256") if getattr(self, k) is not None]
        if self.name != ANONYMOUS and len(given) != 1:
            raise ValueError(f"client {self.name!r}: give exactly one of key, key_env, key_sha256")
        GCRAPolicy(self.rate, self.burst)
        return self

    @property
    def policy(self) -> GCRAPolicy:
        return GCRAPolicy(self.rate, self.burst)

    def key_digest(self) -> str | None:
        """sha256 hex of the API key; keys are compared by digest only."""
        if self.key_sha256:
            return self.key_sha256
        key = _secret(self.key, self.key_env, f"client {self.name!r} key_env")
        return hashlib.sha256(key.encode()).hexdigest() if key else None


class ProxyConfig(_Strict):
    """A whole proxy.toml: server, redis, capacity, upstream and the clients (by API key)."""

    server: ServerConfig = ServerConfig()
    redis: RedisConfig = RedisConfig()
    capacity: CapacityConfig = CapacityConfig()
    upstream: UpstreamConfig
    clients: list[ClientConfig] = Field(min_length=1)
    auth: bool = True
    """False only for the flag shorthand: every request is the one anonymous client."""

    @model_validator(mode="after")
    def _unique(self) -> ProxyConfig:
        names = [c.name for c in self.clients]
        if len(set(names)) != len(names):
            raise ValueError("two clients share a name")
        if self.auth:
            digests = [c.key_digest() for c in self.clients]
            if len(set(digests)) != len(digests):
                raise ValueError("two clients share an API key")
        return self


def load_config(path: Path) -> ProxyConfig:
    """Read and validate a proxy.toml; errors name the field and the fix."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file; see README 'Proxy configuration'") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    raw.pop("auth", None)  # keyless mode is only for the flag shorthand
    try:
        return ProxyConfig.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, str(path))) from None


def _explain(exc: ValidationError, where: str) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return f"{where}: invalid proxy configuration\n" + "\n".join(lines)

"""ProxyConfig: the `proxy.toml` file (clients, upstreams, capacity, Redis), validated.

`nlpfeat proxy --config proxy.toml` reads it with `load_config`; the skeleton's flags
(`--upstream --rate --burst --redis-url`) become `ProxySettings(...).to_config()`: one
anonymous batch client that needs no API key. README "Proxy configuration" has an example.

Every check lives here, and every error reads ``<where>: invalid proxy configuration`` then
one ``<field>: <problem>`` line per mistake. Secrets named by ``*_env`` fields are read from
the environment once, while the configuration is validated (``load_config(..., environ=)``),
never later.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts import headers

from ._errors import SettingsError
from ._gcra import GCRAPolicy

__all__ = [
    "ANONYMOUS",
    "REQUEST_CLASSES",
    "CapacityConfig",
    "ClientConfig",
    "ProxyConfig",
    "RedisConfig",
    "ServerConfig",
    "UpstreamConfig",
    "explain",
    "load_config",
    "validate_config",
]

ANONYMOUS = "anonymous"


REQUEST_CLASSES = (headers.INTERACTIVE, headers.BATCH)
"""A client's class, sent upstream as the request class header (`contracts.headers`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret(value: str | None, env: str | None, info: ValidationInfo) -> str | None:
    """``value``, or the environment variable named ``env`` (from the validation context's
    ``environ``, else the process environment) when one is named."""
    if env is None:
        return value
    context = info.context if isinstance(info.context, Mapping) else {}
    environ: Mapping[str, str] = context.get("environ", os.environ)
    found = environ.get(env)
    if not found:
        raise ValueError(f"environment variable {env} is not set (or empty)")
    return found


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    dry_run: bool = False
    """Count what would be queued or refused, but forward everything at once."""
    max_body_bytes: int = Field(default=10 * 2**20, ge=1024)


class RedisConfig(_Strict):
    url: str | None = None
    """Omit for the in-process limiter (one replica only)."""
    timeout_ms: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    """Per Redis call; past it the request is decided locally and the breaker opens."""
    key_prefix: str = "nlpfeat"
    replicas: int = Field(default=1, ge=1)
    """Replicas expected; the live count from Redis heartbeats is used when higher."""
    on_failure: Literal["local-share", "open", "closed"] = "local-share"
    """While Redis is down: enforce limit / replicas locally, admit everything, or 503."""
    probe_interval: float = Field(default=0.25, gt=0)
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
    max_in_flight: int = Field(default=16, ge=1)
    """Requests the upstreams take at once, all clients together."""
    interactive_reserved: float = Field(default=0.25, ge=0, lt=1)
    """Share of max_in_flight that batch clients never take."""

    @property
    def reserved_slots(self) -> int:
        return min(
            self.max_in_flight - 1, math.ceil(self.max_in_flight * self.interactive_reserved)
        )


class UpstreamConfig(_Strict):
    urls: list[str] = Field(min_length=1)
    token: str | None = Field(default=None, repr=False)
    """Sent upstream in the upstream token header; start the API with the same
    --upstream-token."""
    token_env: str | None = None
    """The environment variable holding the token (read once, at load)."""
    timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    pool_size: int = Field(default=100, ge=1)
    eject_after: int = Field(default=3, ge=1)
    """Consecutive failures (connect error, timeout, 502/503/504) before an upstream rests."""
    eject_seconds: float = Field(default=5.0, gt=0)
    check_interval: float = Field(default=1.0, gt=0)
    check_path: str = "/readyz"
    _token: str | None = PrivateAttr(default=None)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for u in urls:
            parts = urlsplit(u)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"must be a base URL like http://127.0.0.1:8001, got {u!r}")
            if parts.query or parts.fragment or u.endswith(("?", "#")):
                raise ValueError(f"must be a base URL with no query or fragment, got {u!r}")
        if len(set(urls)) != len(urls):
            raise ValueError("an upstream URL is listed twice")
        return [u.rstrip("/") for u in urls]

    @model_validator(mode="after")
    def _read_token(self, info: ValidationInfo) -> UpstreamConfig:
        try:
            self._token = _secret(self.token, self.token_env, info)
        except ValueError as exc:
            raise ValueError(f"token_env: {exc}") from None
        return self

    @property
    def resolved_token(self) -> str | None:
        """``token``, or the value of ``token_env`` as it was when the config was loaded."""
        return self._token


class ClientConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    key: str | None = Field(default=None, min_length=16, repr=False)
    key_env: str | None = None
    """The environment variable holding the key (read once, at load)."""
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    klass: str = Field(default=headers.BATCH, alias="class")
    rate: float = Field(gt=0, le=1e6, allow_inf_nan=False)
    burst: int = Field(ge=1, strict=True)
    max_in_flight: int = Field(default=16, ge=1)
    queue_cap: int = Field(default=64, ge=0)
    max_wait: float = Field(default=10.0, ge=0)
    """Seconds a request may wait in the queue; the max-wait header may shorten it."""
    enabled: bool = True
    _digest: str | None = PrivateAttr(default=None)

    @field_validator("klass")
    @classmethod
    def _klass(cls, v: str) -> str:
        if v not in REQUEST_CLASSES:
            raise ValueError(f"must be {' or '.join(map(repr, REQUEST_CLASSES))}, got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_key(self, info: ValidationInfo) -> ClientConfig:
        given = [k for k in ("key", "key_env", "key_sha256") if getattr(self, k) is not None]
        if self.name != ANONYMOUS and len(given) != 1:
            raise ValueError(f"client {self.name!r}: give exactly one of key, key_env, key_sha256")
        GCRAPolicy(self.rate, self.burst)
        try:
            key = _secret(self.key, self.key_env, info)
        except ValueError as exc:
            raise ValueError(f"client {self.name!r} key_env: {exc}") from None
        self._digest = self.key_sha256 or (
            hashlib.sha256(key.encode()).hexdigest() if key else None
        )
        return self

    @property
    def policy(self) -> GCRAPolicy:
        return GCRAPolicy(self.rate, self.burst)

    def key_digest(self) -> str | None:
        """sha256 hex of the API key (computed once, at load); keys are compared by digest."""
        return self._digest


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


def load_config(
    path: Path,
    *,
    server: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProxyConfig:
    """Read and validate a proxy.toml; errors name the field and the fix.

    ``server`` overrides fields of its ``[server]`` table (the command line's ``--host``,
    ``--port``, ``--dry-run``) and is validated with it. ``environ`` is where ``token_env``
    and ``key_env`` are looked up (default: the process environment), here and only here.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file; see README 'Proxy configuration'") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    raw.pop("auth", None)  # keyless mode is only for the flag shorthand
    if server:
        table = raw.get("server", {})
        raw["server"] = {**table, **server} if isinstance(table, dict) else table
    return validate_config(raw, str(path), environ=environ)


def validate_config(
    raw: Mapping[str, Any],
    where: str,
    *,
    environ: Mapping[str, str] | None = None,
    names: Iterable[tuple[tuple[str | int, ...], str]] = (),
) -> ProxyConfig:
    """``ProxyConfig`` from plain data, or ``SettingsError`` as ``explain`` words it."""
    context = {"environ": os.environ if environ is None else environ}
    try:
        return ProxyConfig.model_validate(raw, context=context)
    except ValidationError as exc:
        raise SettingsError(explain(exc, where, names)) from None


def explain(
    exc: ValidationError,
    where: str,
    names: Iterable[tuple[tuple[str | int, ...], str]] = (),
) -> str:
    """``<where>: invalid proxy configuration`` and one ``<field>: <problem>`` line each.

    ``names`` renames fields for the caller: ``(("clients", 0, "rate"), "rate")`` reports a
    bad ``clients.0.rate`` (or anything below it) as ``rate``; identical lines are shown once.
    """
    renames = sorted(names, key=lambda pair: -len(pair[0]))
    lines: dict[str, None] = {}
    for e in exc.errors():
        loc = tuple(e["loc"])
        field = next(
            (name for prefix, name in renames if loc[: len(prefix)] == prefix),
            ".".join(str(p) for p in loc) or "(top level)",
        )
        message = str(e["msg"]).removeprefix("Value error, ")
        lines[f"  {field}: {message}"] = None
    return f"{where}: invalid proxy configuration\n" + "\n".join(lines)

"""API settings: read once at the entry point, CLI flags over `NLPFEAT_API_*` env vars.

`ApiSettings()` reads the environment (and, with `_secrets_dir`, files named after the fields)
once, when it is built; nothing in `nlp_api` reads `NLPFEAT_API_*` again afterwards, so the
upstream token, like every other setting, is what the object holds. Lists of analyzers are
comma-separated in the environment (`NLPFEAT_API_ANALYZERS=mecab,okt`, an empty
`NLPFEAT_API_ISOLATE=` for none), as on the command line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contracts import headers

__all__ = ["ALL_ANALYZERS", "ENV_PREFIX", "ApiSettings"]

ALL_ANALYZERS = ("hannanum", "kiwi", "kkma", "komoran", "mecab", "okt")
ENV_PREFIX = "NLPFEAT_API_"
Names = Annotated[tuple[str, ...], NoDecode]
"""A tuple of analyzer names; from the environment, comma-separated (not JSON)."""


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8001, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="worker processes, each with its own JVM")
    analyzers: Names = ALL_ANALYZERS
    isolate: Names = Field(
        ("kkma", "hannanum"),
        description="analyzers run in a child process that is killed and replaced when a doc "
        "exceeds doc_timeout",
    )
    doc_timeout: float = Field(10.0, gt=0, description="seconds per doc for isolated analyzers")
    max_docs: int = Field(1000, ge=1, description="most docs in one request (else 413)")
    max_doc_chars: int = Field(10_000, ge=1, description="most characters in one doc (else 413)")
    max_body_bytes: int = Field(8 * 2**20, ge=1024, description="largest request body (else 413)")
    jvm_heap: str = Field("1g", pattern=r"^\d+[kmgKMG]$")
    dict_dir: Path = Field(
        Path(".nlpfeat/dictionaries"),
        description="user dictionaries; share this directory between API instances",
    )
    switch_interval: float = Field(
        0.001,
        gt=0,
        le=0.1,
        description="seconds a thread may hold the GIL while others wait (Python's default "
        "is 0.005): shorter lets an interactive request through a worker busy with batches",
    )
    upstream_token: str | None = Field(
        None,
        repr=False,
        description="when set, every request but GET /healthz, /readyz and /metrics must send "
        f"it as {headers.UPSTREAM_TOKEN} (the proxy does), else 401",
    )

    @field_validator("analyzers", "isolate", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("analyzers", "isolate")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [a for a in value if a not in ALL_ANALYZERS]
        if unknown:
            raise ValueError(f"unknown analyzers {unknown}; available: {', '.join(ALL_ANALYZERS)}")
        return value

    @field_validator("upstream_token")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\x21-\x7e]+", value):
            raise ValueError("the upstream token must be printable ASCII without spaces")
        return value

    @field_validator("analyzers")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"name at least one analyzer of: {', '.join(ALL_ANALYZERS)}")
        return value

"""API settings: read once at the entry point (CLI flags over NLPFEAT_API_* env vars)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_ANALYZERS", "ApiSettings"]

DEFAULT_ANALYZERS = ("mecab", "okt")


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLPFEAT_API_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8001, ge=0, le=65535)
    analyzers: tuple[str, ...] = DEFAULT_ANALYZERS
    max_docs: int = Field(1000, ge=1, description="most docs in one request (else 413)")
    max_doc_chars: int = Field(10_000, ge=1, description="most characters in one doc (else 413)")
    jvm_heap: str = Field("1g", pattern=r"^\d+[kmgKMG]$")

    @field_validator("analyzers")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from nlp_api.analyzers import BACKENDS

        unknown = [a for a in value if a not in BACKENDS]
        if unknown or not value:
            raise ValueError(
                f"unknown analyzers {unknown}; available: {', '.join(sorted(BACKENDS))}"
            )
        return value

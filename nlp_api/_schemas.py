"""Request and response bodies of the NLP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResponse",
    "DocError",
    "FeaturesRequest",
    "FeaturesResponse",
]

DEFAULT_NUM_FEATURES = 2**20


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    analyzer: str = Field(examples=["mecab"])
    docs: list[str] = Field(examples=[["아버지가 방에 들어가신다"]])


class AnalyzeRequest(_Request):
    pass


class FeaturesRequest(_Request):
    num_features: int = Field(DEFAULT_NUM_FEATURES, ge=1, le=2**31 - 1)
    return_terms: bool = False
    return_tokens: bool = Field(False, description="also return the unigram terms 'form/TAG'")


class DocError(BaseModel):
    type: str
    detail: str


class TokenOut(BaseModel):
    form: str
    tag: str
    start: int | None = None
    end: int | None = None


class AnalyzeResult(BaseModel):
    tokens: list[TokenOut] | None = None
    error: DocError | None = None


class AnalyzeResponse(BaseModel):
    analyzer: str
    analyzer_version: str
    results: list[AnalyzeResult]


class FeaturesResult(BaseModel):
    indices: list[int] | None = None
    values: list[float] | None = None
    terms: list[str] | None = None
    tokens: list[str] | None = None
    error: DocError | None = None


class FeaturesResponse(BaseModel):
    analyzer: str
    analyzer_version: str
    num_features: int
    term_format: str
    results: list[FeaturesResult]

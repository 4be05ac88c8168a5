"""Request and response bodies of the NLP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nlp_api._spec import FeatureSpec

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResponse",
    "AnalyzerInfo",
    "DocError",
    "FeaturesRequest",
    "FeaturesResponse",
]

OptionValue = bool | int | float | str


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyzer: str = Field(examples=["mecab"])
    docs: list[str] = Field(examples=[["아버지가 방에 들어가신다"]])
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="backend options, e.g. okt: {'norm': true}"
    )
    dictionary: str | None = Field(None, description="a user dictionary (kiwi, komoran, mecab)")


class AnalyzeRequest(_Request):
    op: Literal["pos", "morphs", "nouns"] = "pos"


class FeaturesRequest(_Request):
    num_features: int | None = Field(
        None, description="shorthand for spec.num_features (power of two; default 2**20)"
    )
    spec: FeatureSpec | None = None
    return_terms: bool = False
    return_tokens: bool = Field(False, description="also return the unigrams 'form/TAG'")

    @model_validator(mode="after")
    def _one_spec(self) -> FeaturesRequest:
        """Fold the top-level `num_features` shorthand into `spec` (422 if they disagree)."""
        spec = self.spec or FeatureSpec()
        if self.num_features is not None and self.num_features != spec.num_features:
            if self.spec is not None and "num_features" in self.spec.model_fields_set:
                raise ValueError("num_features given twice (top level and in spec), differently")
            spec = FeatureSpec.model_validate(
                {**spec.model_dump(), "num_features": self.num_features}
            )
        self.spec = spec
        return self

    def feature_spec(self) -> FeatureSpec:
        assert self.spec is not None  # set by the validator
        return self.spec


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
    morphs: list[str] | None = None
    nouns: list[str] | None = None
    error: DocError | None = None


class _Response(BaseModel):
    analyzer: str
    analyzer_version: str
    dictionary: str


class AnalyzeResponse(_Response):
    op: str
    results: list[AnalyzeResult]


class FeaturesResult(BaseModel):
    indices: list[int] | None = None
    values: list[float] | None = None
    terms: list[str] | None = None
    tokens: list[str] | None = None
    error: DocError | None = None


class FeaturesResponse(_Response):
    num_features: int
    term_format: str
    spec: FeatureSpec
    spec_hash: str
    results: list[FeaturesResult]


class AnalyzerInfo(BaseModel):
    name: str
    version: str | None
    tagset: str | None
    dictionary: str | None
    options: dict[str, dict]
    takes_user_dictionary: bool
    state: str

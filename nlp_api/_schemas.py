"""Request and response bodies of the NLP API.

The feature spec's rules are `contracts.FeatureSpec`'s: `FeatureSpecIn` is only its HTTP form
(for the OpenAPI schema and pydantic's type checks) and is validated by building the contract's
spec from it. Response models forbid extra fields, so a test validating what a route sent
against its model also catches a field the model does not declare.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from contracts import POS_GROUPS, FeatureSpec
from nlp_api.analyzers import DICTIONARY_BACKENDS

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResponse",
    "AnalyzerInfo",
    "DocError",
    "FeatureSpecIn",
    "FeaturesRequest",
    "FeaturesResponse",
    "Health",
    "Readiness",
    "UserDictionaryOut",
]

OptionValue = bool | int | float | str
_DEFAULT_SPEC = FeatureSpec()


class FeatureSpecIn(BaseModel):
    """Terms are morpheme n-grams (`form/TAG`, joined by spaces) over the tokens that pass the
    POS filter and are not stopwords, and character n-grams of each eojeol, hashed as Spark's
    HashingTF does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ngram_range: tuple[int, int] = Field(
        _DEFAULT_SPEC.ngram_range, description="inclusive (min n, max n)"
    )
    pos_filter: str | list[str] = Field(
        "all",
        description=f"a tag group of the tagset ({', '.join(POS_GROUPS)}) or a list of tag "
        "prefixes",
    )
    stopwords: list[str] = Field(default_factory=list, description="forms to drop")
    binary: bool = Field(_DEFAULT_SPEC.binary, description="1.0 for present terms, not counts")
    num_features: int = Field(_DEFAULT_SPEC.num_features, description="a power of two")
    char_ngram_range: tuple[int, int] | None = Field(
        _DEFAULT_SPEC.char_ngram_range,
        description="inclusive (min n, max n) of the character n-grams of each eojeol "
        "('#' + n characters of ' eojeol '); null for none",
    )
    text_char_ngram_range: tuple[int, int] | None = Field(
        _DEFAULT_SPEC.text_char_ngram_range,
        description="inclusive (min n, max n) of the character n-grams of the text with its "
        "whitespace removed ('~' + n characters); null for none",
    )
    _spec: FeatureSpec = PrivateAttr(default=_DEFAULT_SPEC)

    @model_validator(mode="after")
    def _contract(self) -> FeatureSpecIn:
        """The contract's rules; its `InvalidSpec` is a ValueError, so a 422 naming the rule."""
        self._spec = FeatureSpec.from_json(self.model_dump())
        return self

    def to_spec(self) -> FeatureSpec:
        return self._spec


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyzer: str = Field(examples=["mecab"])
    docs: list[str] = Field(examples=[["아버지가 방에 들어가신다"]])
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="backend options, e.g. okt: {'norm': true}"
    )
    dictionary: str | None = Field(
        None, description=f"a user dictionary ({', '.join(sorted(DICTIONARY_BACKENDS))} take one)"
    )


class AnalyzeRequest(_Request):
    op: Literal["pos", "morphs", "nouns"] = "pos"


class FeaturesRequest(_Request):
    num_features: int | None = Field(
        None, description="shorthand for spec.num_features (power of two; default 2**22)"
    )
    spec: FeatureSpecIn | None = None
    return_terms: bool = False
    return_tokens: bool = Field(False, description="also return the unigrams 'form/TAG'")
    _spec: FeatureSpec = PrivateAttr(default=_DEFAULT_SPEC)

    @model_validator(mode="after")
    def _one_spec(self) -> FeaturesRequest:
        """Fold the top-level `num_features` shorthand into the spec (422 if they disagree)."""
        spec = self.spec.to_spec() if self.spec is not None else _DEFAULT_SPEC
        if self.num_features is not None and self.num_features != spec.num_features:
            if self.spec is not None and "num_features" in self.spec.model_fields_set:
                raise ValueError("num_features given twice (top level and in spec), differently")
            spec = spec.replace(num_features=self.num_features)
        self._spec = spec
        return self

    def feature_spec(self) -> FeatureSpec:
        """The request's `contracts.FeatureSpec`, shorthand folded in."""
        return self._spec


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocError(_Out):
    type: str
    detail: str


class TokenOut(_Out):
    form: str
    tag: str
    start: int | None = None
    end: int | None = None


class AnalyzeResult(_Out):
    tokens: list[TokenOut] | None = None
    morphs: list[str] | None = None
    nouns: list[str] | None = None
    error: DocError | None = None


class UserDictionaryOut(_Out):
    name: str
    version: str = Field(description="the dictionary's content version")


class _Response(_Out):
    analyzer: str
    analyzer_version: str
    dictionary: str = Field(description="the backend's dictionary, '+ user:name@version' added")
    user_dictionary: UserDictionaryOut | None = Field(
        description="the user dictionary in use, or null"
    )


class AnalyzeResponse(_Response):
    op: str
    results: list[AnalyzeResult]


class FeaturesResult(_Out):
    indices: list[int] | None = None
    values: list[float] | None = None
    terms: list[str] | None = None
    tokens: list[str] | None = None
    error: DocError | None = None


class FeaturesResponse(_Response):
    num_features: int
    term_format: str
    spec: FeatureSpecIn
    spec_hash: str = Field(description="contracts.spec_hash of spec and analyzer")
    results: list[FeaturesResult]


class AnalyzerInfo(_Out):
    name: str
    version: str | None
    tagset: str | None
    dictionary: str | None
    options: dict[str, dict[str, Any]]
    takes_user_dictionary: bool
    state: str


class Health(_Out):
    status: str


class Readiness(_Out):
    ready: bool
    analyzers: dict[str, str] = Field(description="analyzer -> loading, ready or failed: ...")

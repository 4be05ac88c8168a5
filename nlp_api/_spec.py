"""The feature spec: how tokens become hashed terms. Its hash names a feature table's recipe."""

from __future__ import annotations

import hashlib
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nlp_api.analyzers import Token, tag_group

__all__ = ["FeatureSpec", "select_tokens"]

DEFAULT_NUM_FEATURES = 2**20
HASHING = "spark-hashingtf-murmur3_x86_32-seed42-utf8"


class FeatureSpec(BaseModel):
    """Terms are morpheme n-grams (`form/TAG`, joined by spaces) over the tokens that pass the
    POS filter and are not stopwords, hashed as Spark's HashingTF does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ngram_range: tuple[int, int] = Field((1, 2), description="inclusive (min n, max n)")
    pos_filter: Literal["all", "content", "nouns"] | list[str] = Field(
        "all", description="'all', a tag group of the tagset, or a list of tag prefixes"
    )
    stopwords: list[str] = Field(default_factory=list, description="forms to drop")
    binary: bool = Field(False, description="1.0 for present terms instead of counts")
    num_features: int = Field(DEFAULT_NUM_FEATURES, ge=2, le=2**30)

    @field_validator("ngram_range")
    @classmethod
    def _ngrams(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 5:
            raise ValueError("ngram_range must satisfy 1 <= min <= max <= 5")
        return v

    @field_validator("num_features")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"num_features must be a power of two, e.g. {1 << v.bit_length()}")
        return v

    def digest(self, analyzer: str) -> str:
        """A stable hash of what decides the features: this spec, the analyzer, the hashing."""
        canonical = {**self.model_dump(mode="json"), "analyzer": analyzer, "hashing": HASHING}
        return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def select_tokens(tokens: list[Token], spec: FeatureSpec, tagset: str) -> list[Token]:
    """The tokens that take part in terms under `spec`'s POS filter and stopwords."""
    if spec.pos_filter == "all":
        prefixes: tuple[str, ...] | None = None
    elif isinstance(spec.pos_filter, str):
        prefixes = tag_group(tagset, spec.pos_filter)
    else:
        prefixes = tuple(spec.pos_filter)
    stop = frozenset(spec.stopwords)
    return [
        t for t in tokens if (prefixes is None or t.tag.startswith(prefixes)) and t.form not in stop
    ]

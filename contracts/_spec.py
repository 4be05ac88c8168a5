"""The feature spec: which tokens become terms and how terms become columns.

Its JSON form is what the API answers with every `/v1/features` call and what a feature table
records; `spec_hash` names the recipe (spec, analyzer, hashing scheme), so two tables with the
same hash were featurized identically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any, Final

from contracts._errors import InvalidSpec
from contracts._hashing import HASHING

__all__ = ["DEFAULT_NUM_FEATURES", "POS_GROUPS", "FeatureSpec", "spec_hash"]

DEFAULT_NUM_FEATURES: Final = 2**22
MAX_NUM_FEATURES: Final = 2**30
MAX_NGRAM: Final = 5
MAX_CHAR_NGRAM: Final = 6
ADDED_FIELDS: Final[Mapping[str, Any]] = {"char_ngram_range": None, "text_char_ngram_range": None}
"""Fields added after specs were first recorded, with the value that means "as before".

A spec read from JSON that lacks one (a feature table or a model written before it existed)
takes that value, and `spec_hash` leaves such a field out while it holds it, so older tables
and models keep both their meaning and their hash."""
POS_GROUPS: Final = ("all", "content", "nouns")
"""Named POS filters; each tagset says which tags a group holds (`all` keeps every token)."""


@dataclass(frozen=True)
class FeatureSpec:
    """Terms are morpheme n-grams (`form/TAG`, joined by spaces) over the tokens that pass
    `pos_filter` and are not `stopwords`, plus, unless `char_ngram_range` is None, the
    character n-grams of each eojeol of the text (`#` and n characters of ` eojeol `, spaces
    marking its edges), plus, unless `text_char_ngram_range` is None, the character n-grams of
    the whole text with its whitespace removed (`~` and n characters), which reach across
    eojeol as Korean reviews' loose spacing does; all hashed as Spark's HashingTF does.

    `pos_filter` is a group of `POS_GROUPS` or a tuple of tag prefixes; `binary` gives 1.0 for
    a present term instead of its count. Construction validates; `InvalidSpec` names the rule.
    The defaults are the recipe of the default model: morpheme 1-3-grams, character 1-4-grams
    of each eojeol and 3-5-grams of the unspaced text in 2^22 columns (at 2^20 hash collisions
    cost it 0.5 points of accuracy; the unspaced 3-5-grams add 0.15).
    """

    ngram_range: tuple[int, int] = (1, 3)
    pos_filter: str | tuple[str, ...] = "all"
    stopwords: tuple[str, ...] = field(default=())
    binary: bool = False
    num_features: int = DEFAULT_NUM_FEATURES
    char_ngram_range: tuple[int, int] | None = (1, 4)
    text_char_ngram_range: tuple[int, int] | None = (3, 5)

    def __post_init__(self) -> None:
        low, high = _pair(self.ngram_range, "ngram_range")
        if not 1 <= low <= high <= MAX_NGRAM:
            raise InvalidSpec(f"ngram_range must satisfy 1 <= min <= max <= {MAX_NGRAM}")
        object.__setattr__(self, "ngram_range", (low, high))
        for name in ("char_ngram_range", "text_char_ngram_range"):
            value = getattr(self, name)
            if value is None:
                continue
            low, high = _pair(value, name)
            if not 1 <= low <= high <= MAX_CHAR_NGRAM:
                raise InvalidSpec(
                    f"{name} must satisfy 1 <= min <= max <= {MAX_CHAR_NGRAM}, "
                    "or be null (no such character n-grams)"
                )
            object.__setattr__(self, name, (low, high))
        pos = self.pos_filter
        if isinstance(pos, str):
            if pos not in POS_GROUPS:
                raise InvalidSpec(
                    f"pos_filter {pos!r} is not a group ({', '.join(POS_GROUPS)}) "
                    "nor a list of tag prefixes"
                )
        else:
            prefixes = tuple(pos)
            if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
                raise InvalidSpec("pos_filter as a list must hold non-empty tag prefixes")
            object.__setattr__(self, "pos_filter", prefixes)
        stop = tuple(self.stopwords)
        if not all(isinstance(s, str) for s in stop):
            raise InvalidSpec("stopwords must be strings (forms)")
        object.__setattr__(self, "stopwords", stop)
        if not isinstance(self.binary, bool):
            raise InvalidSpec("binary must be true or false")
        n = self.num_features
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_NUM_FEATURES:
            raise InvalidSpec(f"num_features must be an integer in [2, {MAX_NUM_FEATURES}]")
        if n & (n - 1):
            raise InvalidSpec(f"num_features must be a power of two, e.g. {1 << n.bit_length()}")

    def to_json(self) -> dict[str, Any]:
        """The JSON form (lists for tuples), as the API answers it: a new dict each call (the
        spec is frozen, so its form is made once; every request of the API and serving asks
        for it, and `asdict` deep-copies)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in _json_form(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Read the JSON form; unknown fields are refused by name, and a field of
        `ADDED_FIELDS` that is missing takes its "as before" value."""
        if not isinstance(data, Mapping):
            raise InvalidSpec("a feature spec must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSpec(
                f"unknown feature spec field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        kwargs = {**{k: v for k, v in ADDED_FIELDS.items() if k not in data}, **data}
        if isinstance(kwargs.get("pos_filter"), list):
            kwargs["pos_filter"] = tuple(kwargs["pos_filter"])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidSpec(f"malformed feature spec: {exc}") from exc

    def replace(self, **changes: Any) -> FeatureSpec:
        return FeatureSpec.from_json({**self.to_json(), **changes})


@lru_cache(maxsize=1024)
def _json_form(spec: FeatureSpec) -> dict[str, Any]:
    out = asdict(spec)
    out["ngram_range"] = list(spec.ngram_range)
    out["stopwords"] = list(spec.stopwords)
    for name in ("char_ngram_range", "text_char_ngram_range"):
        if out[name] is not None:
            out[name] = list(out[name])
    if not isinstance(spec.pos_filter, str):
        out["pos_filter"] = list(spec.pos_filter)
    return out


@lru_cache(maxsize=1024)
def spec_hash(spec: FeatureSpec, analyzer: str) -> str:
    """16 hex digits of the sha256 of what decides the features: spec, analyzer, hashing.

    The canonical form is the spec's JSON plus `analyzer` and `hashing`, keys sorted, compact
    separators, UTF-8; a field of `ADDED_FIELDS` holding its "as before" value is left out, so
    a spec that could be written before the field existed keeps the hash it had then.
    """
    canonical = {
        k: v for k, v in spec.to_json().items() if k not in ADDED_FIELDS or v != ADDED_FIELDS[k]
    }
    canonical.update(analyzer=analyzer, hashing=HASHING)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _pair(value: Any, name: str) -> tuple[int, int]:
    try:
        low, high = value
    except (TypeError, ValueError) as exc:
        raise InvalidSpec(f"{name} must be two integers [min, max]") from exc
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        raise InvalidSpec(f"{name} must be two integers [min, max]")
    return int(low), int(high)

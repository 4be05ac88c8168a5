"""A doc's terms under a feature spec, hashed by the contract's scheme.

The spec, the n-gram rule and the hashing (Spark ML's `HashingTF` index) are `contracts`'; what
is the API's own is choosing the tokens (the POS filter needs the analyzer's tagset) and
spelling a token as a unigram, `form/TAG`.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import FeatureSpec, hash_terms, ngram_terms
from nlp_api.analyzers import Token, tag_group

__all__ = ["doc_features", "select_tokens", "token_terms", "unigrams"]


def unigrams(tokens: Sequence[Token]) -> list[str]:
    """Each token as the unigram term `form/TAG`."""
    return [f"{t.form}/{t.tag}" for t in tokens]


def token_terms(tokens: Sequence[Token], ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Terms for every n-gram of consecutive tokens with n in `ngram_range` (inclusive)."""
    return ngram_terms(unigrams(tokens), ngram_range)


def select_tokens(tokens: Sequence[Token], spec: FeatureSpec, tagset: str) -> Sequence[Token]:
    """The tokens that take part in terms under `spec`'s POS filter and stopwords."""
    pos = spec.pos_filter
    if pos == "all":
        if not spec.stopwords:  # the default spec: every token, no copy
            return tokens
        prefixes: tuple[str, ...] | None = None
    elif isinstance(pos, str):
        prefixes = tag_group(tagset, pos)
    else:
        prefixes = pos
    stop = frozenset(spec.stopwords)
    return [
        t for t in tokens if (prefixes is None or t.tag.startswith(prefixes)) and t.form not in stop
    ]


def doc_features(
    tokens: Sequence[Token], spec: FeatureSpec, tagset: str
) -> tuple[list[str], list[int], list[float]]:
    """The doc's terms, and the sorted columns they hash to with each column's value."""
    terms = ngram_terms(unigrams(select_tokens(tokens, spec, tagset)), spec.ngram_range)
    indices, values = hash_terms(terms, spec.num_features)
    if spec.binary:
        values = [1.0] * len(values)
    return terms, indices, values

"""Morpheme n-gram terms and their hashed indices.

The index of a term is Spark ML's `HashingTF` index: murmur3_x86_32 with seed 42 over the
term's UTF-8 bytes, taken non-negative modulo `num_features`. A feature made here, by a Spark
job or by the serving stage therefore lands on the same column, whoever computes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import mmh3

from nlp_api.analyzers import Token

__all__ = ["HASH_SEED", "TERM_FORMAT", "hash_terms", "ngram_terms", "term_index"]

HASH_SEED = 42
TERM_FORMAT = "unigram 'form/TAG'; bigram 'form/TAG form/TAG'"


def ngram_terms(tokens: Sequence[Token], ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Terms for every n-gram of consecutive morphemes with n in `ngram_range` (inclusive)."""
    unigrams = [f"{t.form}/{t.tag}" for t in tokens]
    low, high = ngram_range
    terms: list[str] = []
    for n in range(low, high + 1):
        terms.extend(" ".join(unigrams[i : i + n]) for i in range(len(unigrams) - n + 1))
    return terms


def term_index(term: str, num_features: int) -> int:
    """Spark HashingTF's column for `term` (Python's % is already non-negative)."""
    return mmh3.hash(term.encode("utf-8"), HASH_SEED, signed=True) % num_features


def hash_terms(terms: Sequence[str], num_features: int) -> tuple[list[int], list[float]]:
    """Sorted column indices and the count of terms landing on each."""
    counts = Counter(term_index(t, num_features) for t in terms)
    indices = sorted(counts)
    return indices, [float(counts[i]) for i in indices]

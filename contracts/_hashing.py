"""The hashing scheme: how a term string becomes a feature column.

The index of a term is Spark ML's `HashingTF` index: murmur3_x86_32 with seed 42 over the
term's UTF-8 bytes, taken non-negative modulo `num_features`. A feature made by the API, a
Spark job or serving therefore lands on the same column, whoever computes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

import mmh3

__all__ = ["HASHING", "HASH_SEED", "TERM_FORMAT", "hash_terms", "ngram_terms", "term_index"]

HASH_SEED: Final = 42
HASHING: Final = "spark-hashingtf-murmur3_x86_32-seed42-utf8"
"""The scheme's name, part of every `spec_hash`."""
TERM_FORMAT: Final = (
    "unigram 'form/TAG'; n-gram 'form/TAG form/TAG ...' (space-joined); "
    "character n-gram '#' + n characters of ' eojeol ' (space-framed); "
    "unspaced character n-gram '~' + n characters of the text without whitespace"
)


def ngram_terms(unigrams: Sequence[str], ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Terms for every n-gram of consecutive unigrams with n in `ngram_range` (inclusive)."""
    low, high = ngram_range
    terms: list[str] = []
    for n in range(low, high + 1):
        terms.extend(" ".join(unigrams[i : i + n]) for i in range(len(unigrams) - n + 1))
    return terms


def term_index(term: str, num_features: int) -> int:
    """Spark HashingTF's column for `term` (Python's % is already non-negative)."""
    index: int = mmh3.hash(term.encode("utf-8"), HASH_SEED, signed=True) % num_features
    return index


def hash_terms(terms: Sequence[str], num_features: int) -> tuple[list[int], list[float]]:
    """Sorted column indices and the count of terms landing on each."""
    counts = Counter(term_index(t, num_features) for t in terms)
    indices = sorted(counts)
    return indices, [float(counts[i]) for i in indices]

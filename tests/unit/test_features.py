"""Term construction and hashing: the definition every stage shares."""

from __future__ import annotations

import pytest

from nlp_api import Token, hash_terms, ngram_terms, term_index


def toks(*pairs: str) -> list[Token]:
    return [Token(*p.split("/")) for p in pairs]


def test_unigrams_then_bigrams_in_order() -> None:
    terms = ngram_terms(toks("영화/NNG", "가/JKS", "좋/VA"))
    assert terms == ["영화/NNG", "가/JKS", "좋/VA", "영화/NNG 가/JKS", "가/JKS 좋/VA"]
    assert ngram_terms(toks("영화/NNG"), (2, 2)) == []
    assert ngram_terms([]) == []


@pytest.mark.parametrize("n", [1, 7, 2**20, 2**31 - 1])
def test_index_is_in_range_and_stable(n: int) -> None:
    for term in ["영화/NNG", "a", "", "😀/SW", "영화/NNG 가/JKS"]:
        assert 0 <= term_index(term, n) < n


def test_index_matches_values_read_off_spark_hashingtf() -> None:
    # HashingTF(numFeatures=2**31 - 1) in PySpark 4.3 put these terms at these indices
    assert term_index("a", 2**31 - 1) == 853910114
    assert term_index("영화/NNG", 2**31 - 1) == 1632609862


def test_hash_terms_counts_collisions_and_sorts() -> None:
    indices, values = hash_terms(["가", "나", "가", "다"], 2)
    assert indices == sorted(indices) == sorted(set(indices))
    assert sum(values) == 4.0
    assert hash_terms([], 16) == ([], [])

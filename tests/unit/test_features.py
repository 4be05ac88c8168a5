"""Term construction and hashing: the contract's definition, as the API applies it to tokens."""

from __future__ import annotations

import pytest

import contracts
from contracts import FeatureSpec, hash_terms, spec_hash, term_index
from nlp_api import Token, token_terms
from nlp_api import _features as features


def toks(*pairs: str) -> list[Token]:
    return [Token(*p.split("/")) for p in pairs]


def test_unigrams_then_bigrams_in_order() -> None:
    terms = token_terms(toks("영화/NNG", "가/JKS", "좋/VA"))
    assert terms == ["영화/NNG", "가/JKS", "좋/VA", "영화/NNG 가/JKS", "가/JKS 좋/VA"]
    assert token_terms(toks("영화/NNG"), (2, 2)) == []
    assert token_terms([]) == []


def test_the_api_hashes_with_the_contracts_code() -> None:
    assert features.hash_terms is contracts.hash_terms
    assert features.ngram_terms is contracts.ngram_terms
    spec = FeatureSpec(
        ngram_range=(1, 2),
        num_features=2**10,
        binary=True,
        char_ngram_range=None,
        text_char_ngram_range=None,
    )
    terms, indices, values = features.doc_features(
        toks("영화/NNG", "영화/NNG"), spec, "mecab-ko-dic"
    )
    assert terms == ["영화/NNG", "영화/NNG", "영화/NNG 영화/NNG"]
    assert (indices, values) == (hash_terms(terms, 2**10)[0], [1.0, 1.0])


def test_character_ngrams_are_of_each_eojeol_framed_by_spaces() -> None:
    assert features.char_terms("좋다", (1, 2)) == [
        "# ",
        "#좋",
        "#다",
        "# ",
        "# 좋",
        "#좋다",
        "#다 ",
    ]
    assert features.char_terms("  a\u200bb  c ", (3, 3)) == ["# a ", "# b ", "# c "]
    assert features.char_terms("영화", (4, 6)) == ["# 영화 "]
    assert features.char_terms("", (1, 4)) == features.char_terms(" \t", (1, 4)) == []


def test_unspaced_character_ngrams_reach_across_eojeol() -> None:
    # whitespace and control characters go; "영화 좋다" and "영화좋다" give the same n-grams
    assert features.text_char_terms("영 화\u200b좋다", (2, 3)) == features.text_char_terms(
        "영화좋다", (2, 3)
    )
    assert features.text_char_terms("영화좋다", (2, 3)) == [
        "~영화",
        "~화좋",
        "~좋다",
        "~영화좋",
        "~화좋다",
    ]
    assert features.text_char_terms("  ", (1, 3)) == []
    assert features.text_char_terms("좋", (3, 5)) == []


def test_the_default_spec_adds_character_ngrams_of_the_text() -> None:
    spec = FeatureSpec()
    tokens = toks("영화/NNG", "좋/VA", "다/EF")
    terms, indices, values = features.doc_features(tokens, spec, "mecab-ko-dic", "영화 좋다")
    morphemes = token_terms(tokens, (1, 3))
    assert terms == morphemes + features.char_terms("영화 좋다", (1, 4)) + [
        "~영화좋",
        "~화좋다",
        "~영화좋다",
    ]
    assert (indices, values) == hash_terms(terms, spec.num_features)
    with pytest.raises(ValueError, match="text"):
        features.doc_features(tokens, spec, "mecab-ko-dic")


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


@pytest.mark.parametrize(
    ("spec", "analyzer", "expected"),
    [
        ({"ngram_range": [1, 2], "num_features": 2**20}, "mecab", "e925a75464a72460"),
        (
            {"pos_filter": "nouns", "ngram_range": [1, 1], "binary": True, "num_features": 2**20},
            "kiwi",
            "6a79eed5578901c9",
        ),
        (
            {
                "pos_filter": ["NN", "VV"],
                "stopwords": ["영화", "정말"],
                "num_features": 1024,
                "ngram_range": [1, 2],
            },
            "okt",
            "f6bef9a510242900",
        ),
    ],
)
def test_spec_hash_is_what_the_api_answered_before_contracts(
    spec: dict, analyzer: str, expected: str
) -> None:
    """Values computed by the API's own `FeatureSpec.digest` before it moved to `contracts`
    (their JSON as written then, without the later `char_ngram_range`): feature tables
    written then keep their recipe's name."""
    assert spec_hash(FeatureSpec.from_json(spec), analyzer) == expected

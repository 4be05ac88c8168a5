"""A doc's terms under a feature spec, hashed by the contract's scheme.

The spec, the n-gram rule and the hashing (Spark ML's `HashingTF` index) are `contracts`'; what
is the API's own is choosing the tokens (the POS filter needs the analyzer's tagset), spelling a
token as a unigram, `form/TAG`, and spelling the character n-grams of the text.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import FeatureSpec, hash_terms, ngram_terms
from nlp_api.analyzers import Token, clean_text, tag_group

__all__ = [
    "char_terms",
    "doc_features",
    "select_tokens",
    "text_char_terms",
    "token_terms",
    "unigrams",
]

CHAR_MARK = "#"
"""Starts every character n-gram of an eojeol, so none spells like a morpheme term."""
TEXT_CHAR_MARK = "~"
"""Starts every character n-gram of the unspaced text."""


def unigrams(tokens: Sequence[Token]) -> list[str]:
    """Each token as the unigram term `form/TAG`."""
    return [f"{t.form}/{t.tag}" for t in tokens]


def token_terms(tokens: Sequence[Token], ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Terms for every n-gram of consecutive tokens with n in `ngram_range` (inclusive)."""
    return ngram_terms(unigrams(tokens), ngram_range)


def char_terms(text: str, char_range: tuple[int, int] = (1, 4)) -> list[str]:
    """`#` + every character n-gram (n in `char_range`) of each eojeol framed by spaces.

    Eojeols are the whitespace-separated words of the text as the analyzer saw it (control
    and format characters are spaces, see `clean_text`); ``"좋다"`` at (1, 2) gives
    ``"# ", "#좋", "#다", "# ", "# 좋", "#좋다", "#다 "``. The frame marks a word's start and
    end, so spacing, which Korean reviews often get wrong, still says something.
    """
    return _word_ngrams(clean_text(text).split(), char_range)


def text_char_terms(text: str, char_range: tuple[int, int] = (3, 5)) -> list[str]:
    """`~` + every character n-gram (n in `char_range`) of the text with its whitespace (and
    control and format characters, see `clean_text`) removed: ``"좋 다"`` at (2, 2) gives
    ``"~좋다"``, the same as ``"좋다"``, so n-grams reach across loose or missing spacing."""
    return _ngrams("".join(clean_text(text).split()), TEXT_CHAR_MARK, char_range, [])


def _word_ngrams(words: Sequence[str], char_range: tuple[int, int]) -> list[str]:
    terms: list[str] = []
    for word in words:
        _ngrams(f" {word} ", CHAR_MARK, char_range, terms)
    return terms


def _ngrams(s: str, mark: str, char_range: tuple[int, int], terms: list[str]) -> list[str]:
    """Append `mark` + every n-gram of `s` (n in `char_range`) to `terms`; return it."""
    low, high = char_range
    size = len(s)
    for n in range(low, min(high, size) + 1):
        terms.extend([mark + s[i : i + n] for i in range(size - n + 1)])
    return terms


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
    tokens: Sequence[Token], spec: FeatureSpec, tagset: str, text: str | None = None
) -> tuple[list[str], list[int], list[float]]:
    """The doc's terms, and the sorted columns they hash to with each column's value.

    `text` is the doc the tokens came from; a spec with character n-grams needs it (a
    `ValueError` otherwise, rather than features that are not the spec's).
    """
    terms = ngram_terms(unigrams(select_tokens(tokens, spec, tagset)), spec.ngram_range)
    if spec.char_ngram_range is not None or spec.text_char_ngram_range is not None:
        if text is None:
            raise ValueError(
                "character n-grams (char_ngram_range, text_char_ngram_range) need the doc's text"
            )
        words = clean_text(text).split()  # once for both kinds
        if spec.char_ngram_range is not None:
            terms.extend(_word_ngrams(words, spec.char_ngram_range))
        if spec.text_char_ngram_range is not None:
            _ngrams("".join(words), TEXT_CHAR_MARK, spec.text_char_ngram_range, terms)
    indices, values = hash_terms(terms, spec.num_features)
    if spec.binary:
        values = [1.0] * len(values)
    return terms, indices, values

"""Kiwi through kiwipiepy (C++), with its bundled model; user words via `add_user_word`.

`Kiwi.tokenize` re-derives its options on every call before it reaches the C++ analyzer:
enum flags combined in Python, dialect and typo arguments converted, a `partial` built, about
4% of a short review's time. We work those arguments out once and call the analyzer the same
way `tokenize` does; the result is the same list of tokens. At start-up the direct call is
checked against `tokenize` on a few sentences and left unused (with a warning) if a kiwipiepy
release has changed its internals; the golden tests check it on real reviews.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib.metadata import version
from typing import Any

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Analyzer, Option, Token

__all__ = ["KiwiAnalyzer"]

log = logging.getLogger(__name__)
_new = tuple.__new__

_CHECK_TEXTS = (
    "아 더빙.. 진짜 짜증나네요 목소리",
    "사랑을 해본사람이라면 처음부터 끝까지 웃을수 있는영화 ㅋㅋ",
    "Hello 世界 123 !!",
)


def _direct(kiwi: Any) -> Callable[[str], list[Any]] | None:
    """`kiwi.tokenize(text)` with its default options, minus the per-call option handling;
    None where it does not give exactly what `tokenize` gives."""
    try:
        from kiwipiepy import Match
        from kiwipiepy._wrap import Dialect, _Kiwi

        analyze = _Kiwi.analyze
        match = int(Match.ALL | Match.Z_CODA | Match.OOV_CHR_MODEL)
        # top_n, match_options, echo, blocklist, open_ending, allowed_dialects, dialect_cost,
        # typos, typo_cost_threshold, pretokenized: tokenize's defaults, as it passes them
        args = (1, match, False, None, False, Dialect.STANDARD, 3.0, None, 2.5, None)

        def tokenize(text: str) -> list[Any]:
            tokens: list[Any] = analyze(kiwi, text, *args, kiwi.global_config)[0][0]
            return tokens

        for text in _CHECK_TEXTS:
            expected = [(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(text)]
            if [(t.form, t.tag, t.start, t.len) for t in tokenize(text)] != expected:
                raise ValueError(f"different tokens for {text!r}")
    except Exception as exc:  # any change in kiwipiepy's internals: use the public call
        log.warning("kiwi: using Kiwi.tokenize, the direct call is unusable (%s)", exc)
        return None
    return tokenize


class KiwiAnalyzer(Analyzer):
    name = "kiwi"
    tagset = "kiwi"
    options: dict[str, Option] = {}

    def __init__(
        self, *, user_words: Iterable[tuple[str, str, float]] = (), label: str | None = None
    ) -> None:
        try:
            from kiwipiepy import Kiwi
        except ImportError as exc:
            raise AnalyzerUnavailable("kiwi", "install kiwipiepy: pip install kiwipiepy") from exc
        kiwi = Kiwi()
        for form, tag, score in user_words:
            kiwi.add_user_word(form, tag, score)
        self._tokenize = _direct(kiwi) or kiwi.tokenize
        self.version = f"kiwipiepy {version('kiwipiepy')}"
        self.dictionary = f"kiwipiepy_model {version('kiwipiepy_model')}" + (
            f" + {label}" if label else ""
        )

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        # tuple.__new__ skips the NamedTuple's Python-level __new__: a quarter of this line's
        # time, which is the API's largest cost after kiwi's own (each getter builds an object)
        return [_new(Token, (t.form, t.tag, t.start, t.end)) for t in self._tokenize(text)]

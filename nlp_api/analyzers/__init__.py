"""Analyzer backends behind the `Analyzer` contract; the tag groups of each tagset are data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nlp_api.analyzers._base import Analyzer, Option, Token
from nlp_api.analyzers._tagsets import tag_group, tagset_groups

__all__ = [
    "BACKENDS",
    "DICTIONARY_BACKENDS",
    "JVM_BACKENDS",
    "WARM_UP_TEXT",
    "Analyzer",
    "Option",
    "Token",
    "load_analyzer",
    "tag_group",
    "tagset_groups",
]


def _mecab(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._mecab import MecabAnalyzer

    return MecabAnalyzer(**kw)


def _kiwi(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._kiwi import KiwiAnalyzer

    return KiwiAnalyzer(**kw)


def _okt(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._konlpy import OktAnalyzer

    return OktAnalyzer(**kw)


def _komoran(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._konlpy import KomoranAnalyzer

    return KomoranAnalyzer(**kw)


def _hannanum(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._konlpy import HannanumAnalyzer

    return HannanumAnalyzer(**kw)


def _kkma(**kw: Any) -> Analyzer:
    from nlp_api.analyzers._konlpy import KkmaAnalyzer

    return KkmaAnalyzer(**kw)


BACKENDS: dict[str, Callable[..., Analyzer]] = {
    "hannanum": _hannanum,
    "kiwi": _kiwi,
    "kkma": _kkma,
    "komoran": _komoran,
    "mecab": _mecab,
    "okt": _okt,
}
WARM_UP_TEXT = "아버지가 방에 들어가신다. 영화 정말 재밌어요 ㅋㅋ"
"""Analysed once before an analyzer counts as ready: first calls load dictionaries lazily."""
JVM_BACKENDS = frozenset({"hannanum", "kkma", "komoran", "okt"})
DICTIONARY_BACKENDS = frozenset({"kiwi", "komoran", "mecab"})


def load_analyzer(name: str, **kwargs: Any) -> Analyzer:
    """Build the named backend; JVM backends need `start_jvm` to have run first."""
    return BACKENDS[name](**kwargs)

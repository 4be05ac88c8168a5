"""Analyzer backends behind the `Analyzer` contract; the tag groups of each tagset are data."""

from __future__ import annotations

import importlib
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


BACKENDS: dict[str, tuple[str, str]] = {
    "hannanum": ("nlp_api.analyzers._konlpy", "HannanumAnalyzer"),
    "kiwi": ("nlp_api.analyzers._kiwi", "KiwiAnalyzer"),
    "kkma": ("nlp_api.analyzers._konlpy", "KkmaAnalyzer"),
    "komoran": ("nlp_api.analyzers._konlpy", "KomoranAnalyzer"),
    "mecab": ("nlp_api.analyzers._mecab", "MecabAnalyzer"),
    "okt": ("nlp_api.analyzers._konlpy", "OktAnalyzer"),
}
"""Backend name -> (module, class); modules are imported only when a backend is loaded, so an
API without the JVM analyzers never imports konlpy."""
WARM_UP_TEXT = "아버지가 방에 들어가신다. 영화 정말 재밌어요 ㅋㅋ"
"""Analysed once before an analyzer counts as ready: first calls load dictionaries lazily."""
JVM_BACKENDS = frozenset({"hannanum", "kkma", "komoran", "okt"})
DICTIONARY_BACKENDS = frozenset({"kiwi", "komoran", "mecab"})


def load_analyzer(name: str, **kwargs: Any) -> Analyzer:
    """Build the named backend; JVM backends need `start_jvm` to have run first."""
    module, cls = BACKENDS[name]
    return getattr(importlib.import_module(module), cls)(**kwargs)

"""Which backends exist, which run on the JVM, and how one is built (imported lazily)."""

from __future__ import annotations

import importlib
from typing import Any, Final

from nlp_api.analyzers._base import Analyzer

__all__ = ["BACKENDS", "JVM_BACKENDS", "WARM_UP_TEXT", "load_analyzer"]

BACKENDS: Final[dict[str, tuple[str, str]]] = {
    "hannanum": ("nlp_api.analyzers._konlpy", "HannanumAnalyzer"),
    "kiwi": ("nlp_api.analyzers._kiwi", "KiwiAnalyzer"),
    "kkma": ("nlp_api.analyzers._konlpy", "KkmaAnalyzer"),
    "komoran": ("nlp_api.analyzers._konlpy", "KomoranAnalyzer"),
    "mecab": ("nlp_api.analyzers._mecab", "MecabAnalyzer"),
    "okt": ("nlp_api.analyzers._konlpy", "OktAnalyzer"),
}
"""Backend name -> (module, class); modules are imported only when a backend is loaded, so an
API without the JVM analyzers never imports konlpy."""
WARM_UP_TEXT: Final = "아버지가 방에 들어가신다. 영화 정말 재밌어요 ㅋㅋ"
"""Analysed once before an analyzer counts as ready: first calls load dictionaries lazily."""
JVM_BACKENDS: Final = frozenset({"hannanum", "kkma", "komoran", "okt"})


def load_analyzer(name: str, **kwargs: Any) -> Analyzer:
    """Build the named backend; JVM backends need `start_jvm` to have run first."""
    module, cls = BACKENDS[name]
    analyzer: Analyzer = getattr(importlib.import_module(module), cls)(**kwargs)
    return analyzer

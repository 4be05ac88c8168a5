"""Analyzer backends, one module each, behind the `Analyzer` contract."""

from __future__ import annotations

from collections.abc import Callable

from nlp_api.analyzers._base import Analyzer, Token

__all__ = ["BACKENDS", "JVM_BACKENDS", "Analyzer", "Token", "load_analyzer"]


def _mecab() -> Analyzer:
    from nlp_api.analyzers._mecab import MecabAnalyzer

    return MecabAnalyzer()


def _okt() -> Analyzer:
    from nlp_api.analyzers._okt import OktAnalyzer

    return OktAnalyzer()


BACKENDS: dict[str, Callable[[], Analyzer]] = {"mecab": _mecab, "okt": _okt}
JVM_BACKENDS = frozenset({"okt"})


def load_analyzer(name: str) -> Analyzer:
    """Build the named backend; JVM backends need `start_jvm` to have run first."""
    return BACKENDS[name]()

"""Open Korean Text (Twitter) through konlpy, on the JVM started by `nlp_api.start_jvm`."""

from __future__ import annotations

from importlib.metadata import version

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Token

__all__ = ["OktAnalyzer"]


class OktAnalyzer:
    name = "okt"
    tagset = "okt"

    def __init__(self, *, norm: bool = False, stem: bool = False) -> None:
        try:
            from konlpy.tag import Okt
        except ImportError as exc:
            raise AnalyzerUnavailable("okt", "install konlpy: pip install konlpy") from exc
        self._okt = Okt()
        self._norm = norm
        self._stem = stem
        self.version = f"konlpy {version('konlpy')} (open-korean-text 2.1.0)"

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return [
            Token(form, tag) for form, tag in self._okt.pos(text, norm=self._norm, stem=self._stem)
        ]

"""mecab-ko through python-mecab-ko: a C++ analyzer with the mecab-ko-dic dictionary."""

from __future__ import annotations

from importlib.metadata import version

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Token

__all__ = ["MecabAnalyzer"]


class MecabAnalyzer:
    name = "mecab"
    tagset = "mecab-ko-dic (Sejong-based)"

    def __init__(self) -> None:
        try:
            import mecab
        except ImportError as exc:
            raise AnalyzerUnavailable(
                "mecab", "install python-mecab-ko: pip install python-mecab-ko"
            ) from exc
        self._tagger = mecab.MeCab()
        self.version = f"python-mecab-ko {version('python-mecab-ko')}"

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return [
            Token(m.surface, m.feature.pos, m.span.start, m.span.end)
            for m in self._tagger.parse(text)
        ]

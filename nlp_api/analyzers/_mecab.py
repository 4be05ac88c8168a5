"""mecab-ko through python-mecab-ko: a C++ analyzer with the mecab-ko-dic dictionary."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Option, Token

__all__ = ["MecabAnalyzer"]


class MecabAnalyzer:
    name = "mecab"
    tagset = "mecab-ko-dic"
    options: dict[str, Option] = {}

    def __init__(self, *, user_dictionary: Path | None = None, label: str | None = None) -> None:
        try:
            import mecab
        except ImportError as exc:
            raise AnalyzerUnavailable(
                "mecab", "install python-mecab-ko: pip install python-mecab-ko"
            ) from exc
        self._tagger = mecab.MeCab(user_dictionary_path=user_dictionary)
        self.version = f"python-mecab-ko {version('python-mecab-ko')}"
        self.dictionary = f"mecab-ko-dic {version('python-mecab-ko-dic')}" + (
            f" + {label}" if label else ""
        )

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return [
            Token(m.surface, m.feature.pos, m.span.start, m.span.end)
            for m in self._tagger.parse(text)
        ]

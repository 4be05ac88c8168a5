"""mecab-ko through python-mecab-ko: a C++ analyzer with the mecab-ko-dic dictionary.

`MeCab.parse` builds a Morpheme, a Feature (eight fields) and a Span per token and then we
throw them away: about half the time of a call. We read the lattice it fills instead and keep
only the surface, the tag (the feature's first field) and the span; the golden tests prove
the output equals `MeCab().pos`.
"""

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
        from mecab.utils import create_lattice

        self._tagger = mecab.MeCab(user_dictionary_path=user_dictionary)._tagger
        self._lattice = create_lattice
        self._error = mecab.MeCabError
        self.version = f"python-mecab-ko {version('python-mecab-ko')}"
        self.dictionary = f"mecab-ko-dic {version('python-mecab-ko-dic')}" + (
            f" + {label}" if label else ""
        )

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        lattice = self._lattice(text)
        if not self._tagger.parse(lattice):
            raise self._error(self._tagger.what())
        return [
            Token(node.surface, node.feature.partition(",")[0], start, end)
            for (start, end), node in lattice
        ]

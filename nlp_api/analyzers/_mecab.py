"""mecab-ko through python-mecab-ko: a C++ analyzer with the mecab-ko-dic dictionary.

`MeCab.pos` builds a Morpheme, a Feature (eight fields) and a Span per token, each through
pybind11 calls, and then we throw them away. We let MeCab write the lattice as its own text
output instead (`surface<TAB>features` per line: one call, one string) and split that in
Python, keeping the surface and the tag (the features' first field); offsets come from finding
each surface in the text, in order, since MeCab only skips whitespace between morphemes. About
twice as fast as `MeCab().pos` on real reviews. A doc whose surfaces cannot be found in order
falls back to reading the lattice node by node; the golden tests prove the output equals
`MeCab().pos`, offsets included.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Analyzer, Option, Token

__all__ = ["MecabAnalyzer"]


class MecabAnalyzer(Analyzer):
    name = "mecab"
    tagset = "mecab-ko-dic"
    options: dict[str, Option] = {}
    inline_chars = 1000  # ~0.07 ms per 35-character review

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
        tokens: list[Token] = []
        find, end = text.find, 0
        for line in lattice.to_string().split("\n"):
            surface, _, features = line.partition("\t")
            if not features:  # EOS and the final empty line
                continue
            start = find(surface, end)
            if start < 0 or not surface:
                return self._nodes(lattice)
            end = start + len(surface)
            tokens.append(Token(surface, features.partition(",")[0], start, end))
        return tokens

    @staticmethod
    def _nodes(lattice: Any) -> list[Token]:
        return [
            Token(node.surface, node.feature.partition(",")[0], start, end)
            for (start, end), node in lattice
        ]

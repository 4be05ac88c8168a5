"""Kiwi through kiwipiepy (C++), with its bundled model; user words via `add_user_word`."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import version

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Option, Token

__all__ = ["KiwiAnalyzer"]


class KiwiAnalyzer:
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
        self._kiwi = Kiwi()
        for form, tag, score in user_words:
            self._kiwi.add_user_word(form, tag, score)
        self.version = f"kiwipiepy {version('kiwipiepy')}"
        self.dictionary = f"kiwipiepy_model {version('kiwipiepy_model')}" + (
            f" + {label}" if label else ""
        )

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return [Token(t.form, t.tag, t.start, t.start + t.len) for t in self._kiwi.tokenize(text)]

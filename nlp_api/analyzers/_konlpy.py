"""konlpy's JVM analyzers, called so that each document crosses Python<->Java once or twice.

konlpy's own wrappers convert every token with one or two JNI calls (okt: one `toArray`
element each; komoran: `getMorph()` and `getPos()` each; kkma: two per morpheme). Here the
token list is turned into one Java string on the Java side and split in Python, with output
identical to konlpy's (the golden tests compare both).
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

from nlp_api._errors import AnalyzerUnavailable
from nlp_api.analyzers._base import Analyzer, Option, Token

__all__ = ["HannanumAnalyzer", "KkmaAnalyzer", "KomoranAnalyzer", "OktAnalyzer"]

KONLPY = f"konlpy {version('konlpy')}"
_SEP = "\x1f"  # ASCII unit separator; texts containing it take the slow path


def _jvm_classes() -> tuple[Any, Any]:
    try:
        import jpype
    except ImportError as exc:
        raise AnalyzerUnavailable("konlpy", "install konlpy: pip install konlpy") from exc
    if not jpype.isJVMStarted():
        raise AnalyzerUnavailable("konlpy", "start the JVM first (nlp_api.start_jvm)")
    return jpype, jpype.JClass("java.lang.String")


class OktAnalyzer(Analyzer):
    name = "okt"
    tagset = "okt"
    dictionary = "open-korean-text 2.1.0 bundled"
    options = {
        "norm": Option(bool, False, "normalize spellings (ㅋㅋㅋㅋ -> ㅋㅋㅋ, 안뇽 -> 안녕)"),
        "stem": Option(bool, False, "reduce verbs and adjectives to their stem (했다 -> 하다)"),
    }

    def __init__(self) -> None:
        from konlpy.tag import Okt

        jpype, jstring = _jvm_classes()
        self.version = f"{KONLPY} (open-korean-text 2.1.0)"
        self._tokenize = Okt().jki.tokenize
        self._join, self._sep = jstring.join, jstring(_SEP)
        self._bool = {v: jpype.java.lang.Boolean(v) for v in (False, True)}

    def pos(self, text: str, norm: bool = False, stem: bool = False) -> list[Token]:
        if not text.strip():
            return []
        tokens = self._tokenize(text, self._bool[norm], self._bool[stem])
        if _SEP in text:
            parts: list[str] = [str(t) for t in tokens.toArray()]
        else:
            joined = str(self._join(self._sep, tokens))
            parts = joined.split(_SEP) if joined else []
        return [Token(form, tag) for form, _, tag in (t.rpartition("/") for t in parts)]


_KOMORAN_TOKEN = re.compile(
    r"Token \[morph=(.*?), pos=([A-Z]+), beginIndex=(\d+), endIndex=(\d+)\]"
)


class KomoranAnalyzer(Analyzer):
    name = "komoran"
    tagset = "komoran"
    options: dict[str, Option] = {}

    def __init__(self, *, user_dictionary: Path | None = None, label: str | None = None) -> None:
        from konlpy.tag import Komoran

        _jvm_classes()
        self.version = f"{KONLPY} (KOMORAN 3.0)"
        self.dictionary = "KOMORAN 3.0 default model" + (f" + {label}" if label else "")
        self._komoran = Komoran(userdic=str(user_dictionary) if user_dictionary else None).jki

    def pos(self, text: str) -> list[Token]:
        """One JNI call per line: the token list's own `toString()`, parsed with a regex."""
        tokens: list[Token] = []
        offset = 0
        for line in text.split("\n"):
            if line.strip():
                listing = str(self._komoran.analyze(line).getTokenList())
                tokens.extend(
                    Token(form, tag, offset + int(start), offset + int(end))
                    for form, tag, start, end in _KOMORAN_TOKEN.findall(listing)
                )
            offset += len(line) + 1
        return tokens


class HannanumAnalyzer(Analyzer):
    name = "hannanum"
    tagset = "hannanum-09"
    dictionary = "JHannanum 0.8.4 bundled"
    options: dict[str, Option] = {}

    def __init__(self) -> None:
        from konlpy.tag import Hannanum

        _jvm_classes()
        self.version = f"{KONLPY} (JHannanum 0.8.4)"
        self._hannanum = Hannanum()

    def pos(self, text: str) -> list[Token]:
        """konlpy's own call already crosses once per document (one string back)."""
        if not text.strip():
            return []
        return [Token(form, tag) for form, tag in self._hannanum.pos(text)]


class KkmaAnalyzer(Analyzer):
    name = "kkma"
    tagset = "kkma"
    dictionary = "Kkma 2.0 bundled"
    options: dict[str, Option] = {}

    def __init__(self) -> None:
        from konlpy.tag import Kkma

        _jvm_classes()
        self.version = f"{KONLPY} (Kkma 2.0)"
        self._kkma = Kkma()

    def pos(self, text: str) -> list[Token]:
        if not text.strip():
            return []
        return [Token(form, tag) for form, tag in self._kkma.pos(text)]

"""Analyzers built with a user dictionary: which backends take one, the tags each accepts and
one conversion per backend. The words themselves come from the dictionary store
(`nlp_api._dictionaries`), which hands them down as `DictionaryInfo`.

- kiwi: `add_user_word(form, tag, score)` for each word; no score -> 0.0 (kiwi's default).
- komoran: a text file `form<TAB>TAG` per line, written once per dictionary version.
- mecab: a user dictionary compiled once per version with python-mecab-ko's own
  `python -m mecab dict-index` (which passes the bundled mecab-ko-dic's --dicdir and --model,
  so left/right context ids are assigned from the model's rewrite rules).

mecab cost mapping: `cost = clamp(round(-1000 * score), -32768, 32767)`; no score -> 0. mecab
prefers lower costs; mecab-ko-dic's own words cost roughly 1,000-8,000, so a word without a
score (cost 0) wins over splitting it, and a score moves it by 1,000 per unit the way a higher
kiwi score does. Every row gets an explicit cost: dict-index cannot mix rows with and without
one (it then fails with "dictionary.cpp(38) [fi]").

Compiled files and komoran's text files live in `cache_dir` named by backend, dictionary and
version; each is written under a temporary name and renamed, so processes racing to build the
same version are safe (the last rename wins, with identical content).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nlp_api._errors import DictionaryBuildFailed, DictionaryUnsupported, DictionaryUnusable
from nlp_api.analyzers._backends import load_analyzer
from nlp_api.analyzers._base import Analyzer

__all__ = [
    "DICTIONARY_BACKENDS",
    "DictionaryInfo",
    "DictionarySupport",
    "UserWord",
    "analyzer_kwargs",
    "build_with_dictionary",
    "check_tags",
    "check_takes_dictionary",
    "compile_mecab",
    "jongseong",
    "komoran_file",
    "mecab_cost",
    "mecab_csv_row",
]


@dataclass(frozen=True, slots=True)
class UserWord:
    """One entry: surface form, tag in the backend's tagset, optional score (higher: preferred)."""

    form: str
    tag: str
    score: float | None = None


@dataclass(frozen=True, slots=True)
class DictionaryInfo:
    """A stored dictionary; `version` names its content."""

    name: str
    version: str
    updated_at: str
    words: tuple[UserWord, ...]

    @property
    def word_count(self) -> int:
        return len(self.words)


_SEJONG = (
    "NNG NNP NNB NR NP VV VA VX VCP VCN MM MAG MAJ IC JKS JKC JKG JKO JKB JKV JKQ JX JC "
    "EP EF EC ETN ETM XPN XSN XSV XSA XR SF SE SL SH SN"
)

_MECAB_BY_FORM = "JC JKB JKC JKG JKO JKQ JKS JKV JX NNB NNBC VCP ETM XSN"
"""mecab-ko-dic keys these closed classes' left context ids by form: dict-index finds no id
for a new form ("cannot find LEFT-ID"), so a user dictionary cannot add to them."""


def _tags(*groups: str) -> frozenset[str]:
    return frozenset(" ".join(groups).split())


_KIWI_TAGS = _tags(
    _SEJONG,
    "XSM SP SS SSO SSC SO SW SB UN W_URL W_EMAIL W_HASHTAG W_MENTION W_SERIAL W_EMOJI",
    "Z_CODA Z_SIOT VV-R VV-I VA-R VA-I VX-R VX-I XSA-R XSA-I",
)
"""Checked against kiwipiepy 0.24's `add_user_word`."""
_KOMORAN_TAGS = _tags(_SEJONG, "SP SS SO SW NF NV NA")
_MECAB_TAGS = _tags(_SEJONG, "SSO SSC SC SY") - _tags(_MECAB_BY_FORM)

COMPILE_TIMEOUT = 300.0
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3


def check_tags(backend: str, words: Iterable[UserWord]) -> None:
    """Raise `DictionaryUnusable` naming the tags (and forms) `backend` cannot take."""
    allowed = DICTIONARY_BACKENDS[backend].tags
    bad = sorted({w.tag for w in words if w.tag not in allowed})
    if bad:
        raise DictionaryUnusable(
            f"{backend} takes no user words tagged {', '.join(bad)}; "
            f"use one of: {', '.join(sorted(allowed))}"
        )
    if backend == "komoran":
        hashed = sorted(w.form for w in words if w.form.startswith("#"))
        if hashed:
            raise DictionaryUnusable(f"komoran reads lines starting with '#' as comments: {hashed}")


def mecab_cost(score: float | None) -> int:
    """mecab word cost for a score: lower is preferred; see the module docstring."""
    if score is None:
        return 0
    return max(-32768, min(32767, round(-1000 * score)))


def jongseong(form: str, tag: str) -> str:
    """mecab-ko-dic's final-consonant field: T/F after a Hangul syllable with/without one;
    `*` for symbol tags (S*); F after anything else (`*` has no right context id for e.g.
    NNP, and dict-index then fails)."""
    if tag.startswith("S"):
        return "*"
    last = ord(form[-1])
    if _HANGUL_FIRST <= last <= _HANGUL_LAST and (last - _HANGUL_FIRST) % 28:
        return "T"
    return "F"


def _csv_field(value: str) -> str:
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def mecab_csv_row(word: UserWord) -> str:
    """`form,,,COST,TAG,*,JONGSEONG,form,*,*,*,*`: context ids left empty for dict-index."""
    form = _csv_field(word.form)
    cost = mecab_cost(word.score)
    return f"{form},,,{cost},{word.tag},*,{jongseong(word.form, word.tag)},{form},*,*,*,*\n"


def _tool_output(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = (proc.stdout + b"\n" + proc.stderr).decode("utf-8", "replace").replace("\r", "\n")
    lines = [ln for ln in text.splitlines() if ln.strip() and "% |" not in ln]
    return "\n".join(lines)[-2000:]


def compile_mecab(info: DictionaryInfo, cache_dir: Path) -> Path:
    """`<cache_dir>/mecab-<name>-<version>.dic`, compiled unless it exists."""
    out = cache_dir / f"mecab-{info.name}-{info.version}.dic"
    if out.is_file():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".mecab-") as tmp:
        csv, dic = Path(tmp) / "user.csv", Path(tmp) / "user.dic"
        csv.write_text("".join(mecab_csv_row(w) for w in info.words), encoding="utf-8")
        cmd = [sys.executable, "-m", "mecab", "dict-index", "-u", str(dic)]
        cmd += ["-f", "utf-8", "-t", "utf-8", str(csv)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=COMPILE_TIMEOUT, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise DictionaryBuildFailed(
                f"mecab dict-index on {info.name!r} ran over {COMPILE_TIMEOUT:.0f}s"
            ) from exc
        if proc.returncode != 0 or not dic.is_file():
            raise DictionaryBuildFailed(
                f"mecab dict-index on {info.name!r}@{info.version} exited with "
                f"{proc.returncode}: {_tool_output(proc)}"
            )
        os.replace(dic, out)
    return out


def komoran_file(info: DictionaryInfo, cache_dir: Path) -> Path:
    """`<cache_dir>/komoran-<name>-<version>.txt` (`form<TAB>TAG` lines), written unless it
    exists."""
    out = cache_dir / f"komoran-{info.name}-{info.version}.txt"
    if out.is_file():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".komoran-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(f"{w.form}\t{w.tag}\n" for w in info.words)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _kiwi_kwargs(info: DictionaryInfo, cache_dir: Path) -> dict[str, Any]:
    return {"user_words": [(w.form, w.tag, w.score or 0.0) for w in info.words]}


def _komoran_kwargs(info: DictionaryInfo, cache_dir: Path) -> dict[str, Any]:
    return {"user_dictionary": komoran_file(info, cache_dir)}


def _mecab_kwargs(info: DictionaryInfo, cache_dir: Path) -> dict[str, Any]:
    return {"user_dictionary": compile_mecab(info, cache_dir)}


@dataclass(frozen=True, slots=True)
class DictionarySupport:
    """How a backend takes a user dictionary: the tags it accepts (its own tagset) and the
    constructor arguments that give it the words (files built in `cache_dir` as needed)."""

    tags: frozenset[str]
    kwargs: Callable[[DictionaryInfo, Path], dict[str, Any]]


DICTIONARY_BACKENDS: Final[dict[str, DictionarySupport]] = {
    "kiwi": DictionarySupport(_KIWI_TAGS, _kiwi_kwargs),
    "komoran": DictionarySupport(_KOMORAN_TAGS, _komoran_kwargs),
    "mecab": DictionarySupport(_MECAB_TAGS, _mecab_kwargs),
}
"""The backends that take a user dictionary; the one list of them."""


def check_takes_dictionary(backend: str) -> None:
    """Raise `DictionaryUnsupported` (naming those that do) unless `backend` takes one."""
    if backend not in DICTIONARY_BACKENDS:
        raise DictionaryUnsupported(backend, sorted(DICTIONARY_BACKENDS))


def analyzer_kwargs(backend: str, info: DictionaryInfo, cache_dir: Path) -> dict[str, Any]:
    """Constructor arguments that give `backend` (one of `DICTIONARY_BACKENDS`) this
    dictionary (builds files as needed)."""
    label = f"user:{info.name}@{info.version}"
    return {**DICTIONARY_BACKENDS[backend].kwargs(info, cache_dir), "label": label}


def build_with_dictionary(backend: str, info: DictionaryInfo, cache_dir: Path) -> Analyzer:
    """`backend` loaded with the words of `info`; `DictionaryBuildFailed` if it refuses them."""
    kwargs = analyzer_kwargs(backend, info, cache_dir)
    try:
        return load_analyzer(backend, **kwargs)
    except ValueError as exc:  # kiwipiepy's add_user_word, python-mecab-ko's Tagger
        raise DictionaryBuildFailed(
            f"{backend} rejected user dictionary {info.name!r}@{info.version}: {exc}"
        ) from exc

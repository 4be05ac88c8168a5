"""User dictionaries: a directory of JSON files that every API instance shares.

Storage. One file per dictionary, `<root>/<name>.json`::

    {"name": "movies", "version": "3f2a9c0d1b7e", "updated_at": "2026-01-01T00:00:00+00:00",
     "words": [{"form": "꿀잼", "tag": "NNP", "score": null}, ...]}

All API instances point `--dict-dir` at the same directory (a local disk, or a shared mount
when instances run on several machines). It survives restarts; Redis on these machines is run
without persistence (`--save ''`) and would lose every dictionary with the server, which is why
the store is a directory and not Redis.

- `version` is the first 12 hex digits of the SHA-256 of the canonical words JSON (words sorted
  by form, compact separators, UTF-8): it changes exactly when the content does, so analyzers
  built with a dictionary are cached under `(backend, name, version)` and a PUT on one instance
  is picked up by every other instance on its next request, without a restart.
- Writes are atomic: a temporary file in the same directory, fsynced, then `os.replace`; a
  reader sees the old file or the new one, never a partial one. Concurrent PUTs: last one wins.
- Reads stat the file and parse it only when its inode, size or mtime changed.
- Validation happens here, for every caller: names match `NAME_PATTERN`; a form is 1-100
  characters without whitespace or control characters; a tag matches `TAG_PATTERN`; a score is
  an optional finite float; at most `MAX_WORDS` words; a form given twice is an error (422, the
  duplicates named) rather than "last one wins", so a dictionary never silently drops a word.
  Which tags a backend accepts is checked when the dictionary is used with it
  (`nlp_api.analyzers._userdict`); `nlp_api._variants` builds analyzers from the store.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from nlp_api._errors import DictionaryCorrupt, DictionaryNotFound, InvalidDictionary
from nlp_api.analyzers._userdict import DictionaryInfo, UserWord

__all__ = [
    "MAX_FORM_CHARS",
    "MAX_WORDS",
    "NAME_PATTERN",
    "TAG_PATTERN",
    "DictionaryCorrupt",
    "DictionaryInfo",
    "DictionaryStore",
    "InvalidDictionary",
    "UserWord",
    "check_name",
    "content_version",
    "validate_words",
]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TAG_PATTERN = re.compile(r"^[A-Za-z+_-]{1,16}$")
MAX_FORM_CHARS = 100
MAX_WORDS = 100_000


def check_name(name: str) -> str:
    """`name`, or `InvalidDictionary` naming `NAME_PATTERN` (names are file names)."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidDictionary(
            f"dictionary name {name!r} must match {NAME_PATTERN.pattern} "
            "(1-64 ASCII letters, digits, '_' or '-')"
        )
    return name


def _bad_form(form: str) -> str | None:
    if not form:
        return "is empty"
    if len(form) > MAX_FORM_CHARS:
        return f"is longer than {MAX_FORM_CHARS} characters"
    if " " in form or not form.isprintable():  # not printable: Cc, Cf, Z* but " "
        return "contains whitespace or control characters"
    return None


def _check_word(i: int, word: UserWord) -> UserWord:
    problem = _bad_form(word.form)
    if problem:
        raise InvalidDictionary(f"words[{i}].form {word.form!r} {problem}")
    if not TAG_PATTERN.fullmatch(word.tag):
        raise InvalidDictionary(f"words[{i}].tag {word.tag!r} must match {TAG_PATTERN.pattern}")
    if word.score is None:
        return word
    if isinstance(word.score, bool) or not math.isfinite(word.score):
        raise InvalidDictionary(f"words[{i}].score {word.score!r} must be a finite number")
    return UserWord(word.form, word.tag, float(word.score))


def validate_words(words: Iterable[UserWord]) -> tuple[UserWord, ...]:
    """The words, checked, sorted by form (order is not content)."""
    checked = [_check_word(i, w) for i, w in enumerate(words)]
    if len(checked) > MAX_WORDS:
        raise InvalidDictionary(f"{len(checked)} words; a dictionary holds at most {MAX_WORDS}")
    twice = sorted(form for form, n in Counter(w.form for w in checked).items() if n > 1)
    if twice:
        shown = ", ".join(repr(f) for f in twice[:10])
        raise InvalidDictionary(f"forms given more than once (give each form once): {shown}")
    return tuple(sorted(checked, key=lambda w: w.form))


def _words_json(words: Iterable[UserWord]) -> list[dict[str, object]]:
    return [{"form": w.form, "tag": w.tag, "score": w.score} for w in words]


def content_version(words: tuple[UserWord, ...]) -> str:
    """First 12 hex digits of SHA-256 over the canonical JSON of (sorted) words."""
    canonical = json.dumps(_words_json(words), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


class DictionaryStore:
    """User dictionaries as `<root>/<name>.json`; safe across threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int, int], DictionaryInfo]] = {}

    def _path(self, name: str) -> Path:
        return self.root / f"{check_name(name)}.json"

    def names(self) -> list[str]:
        """Names of the stored dictionaries, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if NAME_PATTERN.fullmatch(p.stem))

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def get(self, name: str) -> DictionaryInfo:
        """The dictionary; raises `DictionaryNotFound`. Parses only when the file changed."""
        path = self._path(name)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DictionaryNotFound(name) from None
        key = _stat_key(st)
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            info = self._read(name, path)
        except FileNotFoundError:
            raise DictionaryNotFound(name) from None
        with self._lock:
            self._cache[name] = (key, info)
        return info

    def _read(self, name: str, path: Path) -> DictionaryInfo:
        try:
            raw = json.loads(path.read_text("utf-8"))
            words = tuple(UserWord(w["form"], w["tag"], w.get("score")) for w in raw["words"])
            return DictionaryInfo(name, str(raw["version"]), str(raw["updated_at"]), words)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DictionaryCorrupt(
                f"user dictionary {name!r} at {path} is unreadable: {exc}"
            ) from exc

    def put(self, name: str, words: Iterable[UserWord]) -> DictionaryInfo:
        """Create or replace; an unchanged PUT keeps the stored file (and its `updated_at`)."""
        path = self._path(name)
        checked = validate_words(words)
        version = content_version(checked)
        try:
            current = self.get(name)
        except (DictionaryNotFound, DictionaryCorrupt):
            current = None
        if current is not None and current.version == version:
            return current
        info = DictionaryInfo(name, version, datetime.now(UTC).isoformat(), checked)
        body = {
            "name": name,
            "version": version,
            "updated_at": info.updated_at,
            "words": _words_json(checked),
        }
        key = _write_atomic(path, json.dumps(body, ensure_ascii=False).encode("utf-8"))
        with self._lock:
            self._cache[name] = (key, info)
        return info

    def delete(self, name: str) -> None:
        """Remove the dictionary; raises `DictionaryNotFound` when there is none."""
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            raise DictionaryNotFound(name) from None
        with self._lock:
            self._cache.pop(name, None)


def _write_atomic(path: Path, data: bytes) -> tuple[int, int, int]:
    """Write to a temporary file beside `path`, fsync, rename over it; the file's stat key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o644)
            st = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return _stat_key(st)


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """Changes with every atomic write: a new inode each time."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)

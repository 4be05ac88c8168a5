"""The analyzers one worker process has loaded, each behind its own lock."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from nlp_api._errors import UnknownAnalyzer
from nlp_api.analyzers import JVM_BACKENDS, Analyzer, load_analyzer

__all__ = ["Registry"]


class Registry:
    def __init__(self, analyzers: Iterable[Analyzer]) -> None:
        self._analyzers = {a.name: a for a in analyzers}
        self._locks = {name: threading.Lock() for name in self._analyzers}

    @classmethod
    def load(cls, names: Iterable[str], *, jvm_heap: str = "1g") -> Registry:
        names = list(names)
        if JVM_BACKENDS.intersection(names):
            from nlp_api._jvm import start_jvm

            start_jvm(jvm_heap)
        return cls(load_analyzer(name) for name in names)

    def names(self) -> list[str]:
        return sorted(self._analyzers)

    def get(self, name: str) -> tuple[Analyzer, threading.Lock]:
        """The analyzer and the lock to hold while calling it (backends are not all thread-safe)."""
        try:
            return self._analyzers[name], self._locks[name]
        except KeyError:
            raise UnknownAnalyzer(name, self.names()) from None

"""The analyzers one worker process serves: loaded once (in the background), each behind a lock,
plus analyzers built with a user dictionary on first use."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from nlp_api._errors import AnalyzerNotReady, DictionaryNotFound, UnknownAnalyzer
from nlp_api._turns import Turns
from nlp_api.analyzers import WARM_UP_TEXT, Analyzer

__all__ = ["Lease", "Loader", "Registry", "UserDictionaryRef", "Variant", "VariantBuilder"]

log = logging.getLogger(__name__)

Loader = Callable[[str], Analyzer]


@dataclass(frozen=True, slots=True)
class UserDictionaryRef:
    """The user dictionary an analyzer was built with: its name and content version."""

    name: str
    version: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}


class Variant(NamedTuple):
    """An analyzer with a user dictionary: its cache key (naming the dictionary's version),
    the dictionary, and how to build it on first use."""

    key: str
    dictionary: UserDictionaryRef
    build: Callable[[], Analyzer]


VariantBuilder = Callable[[str, str], Variant]
"""(backend, dictionary name) -> `Variant`; raises when the backend cannot take it."""


@dataclass(frozen=True, slots=True)
class Lease:
    """An analyzer, the turns to take while calling it, and the user dictionary it holds."""

    analyzer: Analyzer
    turns: Turns
    user_dictionary: UserDictionaryRef | None = None


class Registry:
    def __init__(
        self,
        analyzers: Iterable[Analyzer] = (),
        *,
        variants: VariantBuilder | None = None,
        max_variants: int = 8,
    ) -> None:
        self._leases = {a.name: Lease(a, Turns()) for a in analyzers}
        self._state: dict[str, str] = dict.fromkeys(self._leases, "ready")
        self._variants = variants
        self._variant_cache: OrderedDict[str, Lease] = OrderedDict()
        self._variant_lock = threading.Lock()
        self._max_variants = max_variants

    def load(
        self, names: Iterable[str], loader: Loader, then: Callable[[], None] | None = None
    ) -> None:
        """Load and warm up each analyzer in turn (blocking); failures are kept as state.
        `then` runs once all are done, before the worker reports ready."""
        names = list(names)
        for name in names:
            self._state.setdefault(name, "loading")
        loaded: list[str] = []
        for name in names:
            try:
                analyzer = loader(name)
                analyzer.pos(WARM_UP_TEXT)
            except Exception as exc:
                log.exception("analyzer %s failed to load", name)
                self._state[name] = f"failed: {exc}"
                continue
            self._leases[name] = Lease(analyzer, Turns())
            loaded.append(name)
        if then is not None:
            then()
        for name in loaded:
            self._state[name] = "ready"

    def load_in_background(
        self, names: Iterable[str], loader: Loader, then: Callable[[], None] | None = None
    ) -> threading.Thread:
        names = list(names)
        for name in names:
            self._state.setdefault(name, "loading")
        thread = threading.Thread(target=self.load, args=(names, loader, then), daemon=True)
        thread.start()
        return thread

    @property
    def ready(self) -> bool:
        return all(state == "ready" for state in self._state.values())

    def states(self) -> dict[str, str]:
        return dict(self._state)

    def names(self) -> list[str]:
        return sorted(self._state)

    def analyzers(self) -> list[Analyzer]:
        return [self._leases[n].analyzer for n in sorted(self._leases)]

    def get(self, name: str, dictionary: str | None = None) -> Lease:
        """The analyzer (with `dictionary` when given) and the turns to take while calling it."""
        state = self._state.get(name)
        if state is None:
            raise UnknownAnalyzer(name, self.names())
        if state != "ready":
            raise AnalyzerNotReady(name, state)
        if dictionary is None:
            return self._leases[name]
        if self._variants is None:  # no dictionary store: no dictionary of any name
            raise DictionaryNotFound(dictionary)
        return self._variant(self._variants(name, dictionary))

    def _variant(self, variant: Variant) -> Lease:
        key = variant.key
        with self._variant_lock:
            lease = self._variant_cache.get(key)
            if lease is None:
                lease = Lease(variant.build(), Turns(), variant.dictionary)
                self._variant_cache[key] = lease
                while len(self._variant_cache) > self._max_variants:
                    self._variant_cache.popitem(last=False)
            self._variant_cache.move_to_end(key)
            return lease

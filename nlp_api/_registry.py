"""The analyzers one worker process serves: loaded once (in the background), each behind a lock,
plus analyzers built with a user dictionary on first use."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nlp_api._errors import AnalyzerNotReady, DictionaryUnsupported, UnknownAnalyzer
from nlp_api._turns import Turns
from nlp_api.analyzers import DICTIONARY_BACKENDS, WARM_UP_TEXT, Analyzer

__all__ = ["Lease", "Registry"]

log = logging.getLogger(__name__)

Loader = Callable[[str], Analyzer]
VariantBuilder = Callable[[str, str], tuple[str, Callable[[], Analyzer]]]
"""(backend, dictionary name) -> (cache key naming the dictionary's version, builder)."""


@dataclass(frozen=True, slots=True)
class Lease:
    analyzer: Analyzer
    turns: Turns


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
        if name not in DICTIONARY_BACKENDS or self._variants is None:
            raise DictionaryUnsupported(name, sorted(DICTIONARY_BACKENDS))
        return self._variant(name, dictionary)

    def _variant(self, name: str, dictionary: str) -> Lease:
        key, build = self._variants(name, dictionary)  # type: ignore[misc]
        with self._variant_lock:
            lease = self._variant_cache.get(key)
            if lease is None:
                lease = Lease(build(), Turns())
                self._variant_cache[key] = lease
                while len(self._variant_cache) > self._max_variants:
                    self._variant_cache.popitem(last=False)
            self._variant_cache.move_to_end(key)
            return lease

"""Analyzers with a user dictionary, wired from the dictionary store to the registry.

The registry asks for `(backend, dictionary name)`; `make_variant_builder` answers with the
cache key `backend:name:version`, the dictionary's name and version, and how to build the
analyzer. It reads the store on every call (a stat; a parse only when the file changed), so a
PUT on any API instance changes the key on all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from nlp_api._registry import UserDictionaryRef, Variant, VariantBuilder
from nlp_api.analyzers._userdict import (
    DictionaryInfo,
    build_with_dictionary,
    check_tags,
    check_takes_dictionary,
)

__all__ = ["make_variant_builder"]


class _Store(Protocol):
    def get(self, name: str) -> DictionaryInfo: ...


def make_variant_builder(store: _Store, cache_dir: Path) -> VariantBuilder:
    """The registry's `VariantBuilder` over `store`, building files in `cache_dir`.

    Raises `DictionaryUnsupported` for a backend that takes no user dictionary (before the
    store is read), `DictionaryNotFound` for an unknown name and `DictionaryUnusable` when the
    backend cannot take the dictionary's tags."""

    def variant(backend: str, name: str) -> Variant:
        check_takes_dictionary(backend)
        info = store.get(name)
        check_tags(backend, info.words)
        return Variant(
            f"{backend}:{info.name}:{info.version}",
            UserDictionaryRef(info.name, info.version),
            lambda: build_with_dictionary(backend, info, cache_dir),
        )

    return variant

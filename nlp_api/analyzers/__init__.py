"""Analyzer backends behind the `Analyzer` contract; the tag groups of each tagset are data."""

from __future__ import annotations

from nlp_api.analyzers._backends import BACKENDS, JVM_BACKENDS, WARM_UP_TEXT, load_analyzer
from nlp_api.analyzers._base import (
    DETAIL_CHARS,
    Analyzer,
    GiveWay,
    Option,
    Outcome,
    Token,
    doc_error,
)
from nlp_api.analyzers._tagsets import tag_group, tagset_groups
from nlp_api.analyzers._text import clean_text
from nlp_api.analyzers._userdict import DICTIONARY_BACKENDS, check_takes_dictionary

__all__ = [
    "BACKENDS",
    "DETAIL_CHARS",
    "DICTIONARY_BACKENDS",
    "JVM_BACKENDS",
    "WARM_UP_TEXT",
    "Analyzer",
    "GiveWay",
    "Option",
    "Outcome",
    "Token",
    "check_takes_dictionary",
    "clean_text",
    "doc_error",
    "load_analyzer",
    "tag_group",
    "tagset_groups",
]

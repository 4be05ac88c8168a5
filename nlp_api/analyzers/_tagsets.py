"""Tag groups (nouns, content morphemes) per tagset, read from `tagsets.json`."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

__all__ = ["tag_group", "tagset_groups"]


@cache
def _tagsets() -> dict[str, dict[str, tuple[str, ...]]]:
    raw = json.loads(files("nlp_api.analyzers").joinpath("tagsets.json").read_text("utf-8"))
    return {
        name: {group: tuple(prefixes) for group, prefixes in groups.items()}
        for name, groups in raw.items()
        if not name.startswith("_")
    }


def tagset_groups(tagset: str) -> dict[str, tuple[str, ...]]:
    return _tagsets()[tagset]


def tag_group(tagset: str, group: str) -> tuple[str, ...]:
    """The tag prefixes of `group` ("nouns", "content") in `tagset`."""
    return _tagsets()[tagset][group]

"""RFC 9457 problem details: one `type` URI scheme for every stage's errors.

``type`` is ``urn:nlpfeat:problem:<slug>``, the slug a short kebab-case name of the problem
(``rate-limited``, ``unknown-analyzer``...), so a client can branch on it across stages.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Final

__all__ = ["PROBLEM_CONTENT_TYPE", "PROBLEM_TYPE_BASE", "problem_body", "problem_type"]

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "urn:nlpfeat:problem:"
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def problem_type(slug: str) -> str:
    """The `type` URI for a problem slug."""
    if not _SLUG.match(slug):
        raise ValueError(f"problem slug {slug!r} must be kebab-case, e.g. 'rate-limited'")
    return PROBLEM_TYPE_BASE + slug


def slug_for_status(status: int) -> str:
    """A slug from the status phrase, for errors without a name of their own (404 not-found)."""
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def problem_body(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """The problem+json object; `slug` defaults from the status, `title` from its phrase."""
    return {
        "type": problem_type(slug or slug_for_status(status)),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }

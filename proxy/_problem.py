"""RFC 9457 problem+json responses and the IETF RateLimit headers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._errors import UpstreamError
from ._gcra import Decision, GCRAPolicy

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "problem_response",
    "rate_limit_headers",
    "too_many_requests",
    "upstream_problem",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_BASE = "urn:nlpfeat:problem:"


def problem_response(
    status: int,
    title: str,
    problem: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    """A problem+json response: ``type`` is ``urn:nlpfeat:problem:<problem>``."""
    body = {
        "type": _TYPE_BASE + problem,
        "title": title,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def rate_limit_headers(policy: GCRAPolicy, decision: Decision, name: str) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` in the draft-ietf-httpapi-ratelimit-headers-11
    form (best effort: the draft is not final).

    GCRA has no fixed windows, so the policy is described as its equivalent quota: ``q`` is
    the burst and ``w`` the seconds an idle limiter takes to refill it (burst / rate).
    ``r`` is the number of requests that would pass right now and ``t`` the seconds until
    the quota is full again. Seconds are rounded up to integers.
    """
    return {
        "RateLimit-Policy": f'"{name}";q={policy.burst};w={math.ceil(policy.window)}',
        "RateLimit": f'"{name}";r={decision.remaining};t={math.ceil(decision.reset)}',
    }


def too_many_requests(decision: Decision, headers: Mapping[str, str]) -> web.Response:
    """429 with ``Retry-After`` in whole seconds (rounded up, at least 1)."""
    retry_after = max(1, math.ceil(decision.retry_after))
    return problem_response(
        429,
        "Too Many Requests",
        "rate-limited",
        f"Rate limit exceeded; retry after {retry_after} s.",
        headers={**headers, "Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def upstream_problem(exc: UpstreamError) -> web.Response:
    """502 or 504 for a failed forward, naming the upstream."""
    return problem_response(exc.status, exc.title, exc.problem, exc.detail, upstream=exc.upstream)

"""RFC 9457 problem+json responses (bodies from `contracts.problem_body`) and the IETF
RateLimit headers."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from contracts import PROBLEM_CONTENT_TYPE, problem_body
from contracts.headers import RATELIMIT, RATELIMIT_POLICY, RETRY_AFTER

from ._errors import UpstreamError
from ._gcra import Decision, GCRAPolicy

__all__ = [
    "problem_response",
    "quota",
    "rate_limit_headers",
    "refused",
    "retry_after_seconds",
    "too_many_requests",
    "upstream_problem",
]


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    """A problem+json response; ``slug`` and ``title`` default from the status (404
    ``not-found``, "Not Found"), as `contracts.problem_body` does."""
    body = problem_body(status, detail, slug=slug, title=title, **extensions)
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def quota(policy: GCRAPolicy) -> tuple[int, int]:
    """The policy as the draft's quota ``(q, w)``: ``q`` requests per ``w`` seconds, ``w`` the
    smallest whole number of seconds holding at least one request (1 s from 1 request/s up)."""
    w = max(1, math.ceil(1 / policy.rate - 1e-9))
    return max(1, round(policy.rate * w)), w


def rate_limit_headers(policy: GCRAPolicy, decision: Decision, name: str) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` in the draft-ietf-httpapi-ratelimit-headers-11
    form (best effort: the draft is not final), named after the client.

    The policy is the sustained rate as a quota (see ``quota``; the burst is the
    ``burst`` parameter, which clients may ignore). ``r`` is the number of requests that would
    pass right now; ``t`` is the seconds until one more would pass when ``r`` is 0, else until
    the full burst is back. Seconds are rounded up to integers.
    """
    q, w = quota(policy)
    if decision.remaining > 0:
        t = decision.reset
    else:
        t = max(decision.retry_after, decision.reset - policy.window + 1 / policy.rate)
    return {
        RATELIMIT_POLICY: f'"{name}";q={q};w={w};burst={policy.burst}',
        RATELIMIT: f'"{name}";r={decision.remaining};t={math.ceil(max(0.0, t) - 1e-9)}',
    }


def retry_after_seconds(wait: float) -> int:
    """``Retry-After`` for a predicted ``wait``: rounded up, plus a random 0 to 25% of it
    (whole seconds) so that refused clients do not all come back at the same instant; >= 1."""
    jitter = random.randint(0, round(0.25 * wait))
    return max(1, math.ceil(wait - 1e-9) + jitter)


def refused(
    status: int,
    slug: str,
    detail: str,
    wait: float,
    headers: Mapping[str, str],
) -> web.Response:
    """429 (or 503) answered by the proxy itself, with ``Retry-After`` and the exact wait."""
    retry_after = retry_after_seconds(wait)
    return problem_response(
        status,
        detail,
        slug=slug,
        headers={**headers, RETRY_AFTER: str(retry_after)},
        retry_after=retry_after,
        predicted_wait_ms=round(wait * 1000),
    )


def too_many_requests(decision: Decision, headers: Mapping[str, str]) -> web.Response:
    """429 for a request over its client's rate."""
    return refused(
        429,
        "rate-limited",
        f"Rate limit exceeded; the next request would pass in {decision.retry_after:.3f} s.",
        decision.retry_after,
        headers,
    )


def upstream_problem(exc: UpstreamError) -> web.Response:
    """502, 503 or 504 for a failed forward, naming the upstream."""
    retry_after = exc.retry_after
    headers = {RETRY_AFTER: str(max(1, math.ceil(retry_after)))} if retry_after else None
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.problem,
        title=exc.title,
        headers=headers,
        upstream=exc.upstream,
    )

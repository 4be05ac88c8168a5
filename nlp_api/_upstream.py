"""Refuse requests that did not come through the proxy: a shared upstream token.

With `ApiSettings.upstream_token` set, the proxy adds it as `contracts.headers.UPSTREAM_TOKEN`
(X-Upstream-Token) to what it forwards
and every other caller gets a 401 problem+json, so nobody can step around the proxy's limits.
Liveness, readiness and Prometheus scrapes (`GET /healthz`, `/readyz`, `/metrics`) stay open.
The token is compared with `hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any

from contracts import headers
from nlp_api._problems import problem

__all__ = ["OPEN_PATHS", "UpstreamToken"]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_HEADER_KEY = headers.UPSTREAM_TOKEN.lower().encode("ascii")
Scope = dict[str, Any]


class UpstreamToken:
    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._token = token.encode("ascii")

    def _allowed(self, scope: Scope) -> bool:
        if scope["method"] in ("GET", "HEAD") and scope["path"] in OPEN_PATHS:
            return True
        sent = [value for key, value in scope["headers"] if key == _HEADER_KEY]
        return len(sent) == 1 and hmac.compare_digest(sent[0], self._token)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        response = problem(
            401,
            "this API only answers its proxy: call the API through the proxy, or send "
            f"{headers.UPSTREAM_TOKEN}",
            slug="upstream-token-required",
            title="Missing or wrong upstream token",
        )
        await response(scope, receive, send)

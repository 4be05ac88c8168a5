"""Refuse requests that did not come through the proxy: a shared `X-Upstream-Token`.

With `ApiSettings.upstream_token` set, the proxy adds `X-Upstream-Token` to what it forwards
and every other caller gets a 401 problem+json, so nobody can step around the proxy's limits.
Liveness, readiness and Prometheus scrapes (`GET /healthz`, `/readyz`, `/metrics`) stay open.
The token is compared with `hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any

from nlp_api._problem import problem

__all__ = ["HEADER", "UpstreamToken"]

HEADER = "X-Upstream-Token"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_HEADER_KEY = HEADER.lower().encode("ascii")


class UpstreamToken:
    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._token = token.encode("ascii")

    def _allowed(self, scope: dict) -> bool:
        if scope["method"] in ("GET", "HEAD") and scope["path"] in OPEN_PATHS:
            return True
        sent = [value for key, value in scope["headers"] if key == _HEADER_KEY]
        return len(sent) == 1 and hmac.compare_digest(sent[0], self._token)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        response = problem(
            401,
            f"this API only answers its proxy: call the API through the proxy, or send {HEADER}",
            title="Missing or wrong upstream token",
        )
        await response(scope, receive, send)

"""Refuse request bodies over a byte limit before they are read, as problem+json 413.

FastAPI's own `max_body_size` answers a declared oversize body with a plain-text 413; ours
keeps every error in RFC 9457 form.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from nlp_api._problem import problem

__all__ = ["BodySizeLimit"]


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return f"the request body is over {self.max_bytes} bytes: send smaller batches"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(413, self._detail(), title="Payload too large")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # a chunked body without Content-Length
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

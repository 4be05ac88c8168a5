"""Refuse request bodies over a byte limit before they are read, as problem+json 413.

FastAPI's own `max_body_size` answers a declared oversize body with a plain-text 413; ours
keeps every error in RFC 9457 form.
"""

from __future__ import annotations

from typing import Any

from nlp_api._errors import PayloadTooLarge
from nlp_api._problems import error_problem

__all__ = ["BodySizeLimit"]

Message = dict[str, Any]


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return f"the request body is over {self.max_bytes} bytes: send smaller batches"

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_problem(PayloadTooLarge(self._detail()))
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message: Message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # a chunked body without Content-Length
                raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, limited_receive, send)

"""A JSON response encoded by orjson (NumPy arrays included), for the answers on the hot path."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["FastJSONResponse"]


class FastJSONResponse(Response):
    """``application/json`` from orjson: several times faster than the standard library on
    answers of numbers, and NumPy arrays go in without ``tolist()``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)

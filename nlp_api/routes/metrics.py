from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from nlp_api._deps import MetricsDep
from nlp_api._metrics import CONTENT_TYPE_LATEST

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics(m: MetricsDep) -> Response:
    """Prometheus exposition: docs, tokens, errors and latency per analyzer and op."""
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from contracts import headers
from nlp_api._deps import RegistryDep
from nlp_api._problems import RETRY_AFTER_S
from nlp_api._schemas import Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: this worker answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "still loading, or a load failed"}},
)
def readyz(registry: RegistryDep) -> Response:
    """Readiness: 200 once every configured analyzer is loaded and warmed up, else 503."""
    ready = registry.ready
    body = Readiness(ready=ready, analyzers=registry.states())
    return Response(
        body.model_dump_json(),
        status_code=200 if ready else 503,
        media_type="application/json",
        headers={} if ready else {headers.RETRY_AFTER: str(RETRY_AFTER_S)},
    )

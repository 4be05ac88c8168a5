from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from nlp_api._deps import RegistryDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: this worker answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(registry: RegistryDep) -> JSONResponse:
    """Readiness: 200 once every configured analyzer is loaded and warmed up, else 503."""
    ready = registry.ready
    return JSONResponse(
        {"ready": ready, "analyzers": registry.states()},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "1"},
    )

from __future__ import annotations

from fastapi import APIRouter

from nlp_api._deps import RegistryDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(registry: RegistryDep) -> dict:
    """Liveness: the worker answers and its analyzers are loaded."""
    return {"status": "ok", "analyzers": registry.names()}

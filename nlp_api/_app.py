"""`create_app(settings)`: the FastAPI application, analyzers loaded once in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from nlp_api._config import ApiSettings
from nlp_api._problem import install_problem_handlers
from nlp_api._registry import Registry
from nlp_api.routes import analyze, health

__all__ = ["create_app", "run"]


def create_app(settings: ApiSettings, *, registry: Registry | None = None) -> FastAPI:
    """The API. Pass `registry` to reuse already-loaded analyzers (tests, benchmarks)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.registry = registry or Registry.load(
            settings.analyzers, jvm_heap=settings.jvm_heap
        )
        yield

    app = FastAPI(
        title="nlpfeat NLP API",
        summary="Korean morpheme analysis and hashed n-gram features",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(analyze.router)
    app.include_router(health.router)
    return app


def run(settings: ApiSettings) -> None:
    """Serve the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")

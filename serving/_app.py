"""``create_app(settings)``: the serving app; model and features client built in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from . import _predict, _v2
from ._client import FeaturesClient, FeaturesSource
from ._model import ModelSlot
from ._problems import install_problem_handlers
from ._settings import ServingSettings

__all__ = ["create_app", "run"]


def create_app(
    settings: ServingSettings, *, features_client: FeaturesSource | None = None
) -> FastAPI:
    """The serving app.

    The lifespan loads the latest version of the model into one onnxruntime session (a
    broken model directory fails startup; a missing one leaves the app running but not
    ready) and opens a pooled :class:`FeaturesClient` to ``settings.proxy_url`` unless
    ``features_client`` is given (tests, embedding), which is then neither opened nor closed.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        slot = ModelSlot(settings.models_dir, settings.model_name)
        await run_in_threadpool(slot.get)
        app.state.model_slot = slot
        async with AsyncExitStack() as stack:
            client = features_client
            if client is None:
                client = await stack.enter_async_context(
                    FeaturesClient(
                        settings.proxy_url, timeout=settings.timeout, api_key=settings.api_key
                    )
                )
            app.state.features_client = client
            yield

    app = FastAPI(
        title="nlpfeat serving",
        summary="Sentiment predictions from hashed morpheme features with an ONNX model",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(_predict.router)
    app.include_router(_v2.router)
    return app


def run(settings: ServingSettings) -> None:
    """Serve the app with uvicorn on ``settings.host:settings.port`` until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")

"""``create_app(settings)``: the serving app; models, watcher and features client built in its
lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request, Response

from contracts import ModelRepository, settle_heap

from . import _predict, _v2
from ._client import FeaturesClient, FeaturesSource
from ._lifecycle import ModelSet, watch
from ._limits import InFlightLimit
from ._metrics import CONTENT_TYPE_LATEST, ServingMetrics
from ._problems import install_problem_handlers
from ._settings import ServingSettings

__all__ = ["create_app", "run"]


def create_app(
    settings: ServingSettings, *, features_client: FeaturesSource | None = None
) -> FastAPI:
    """The serving app.

    The lifespan loads each model's production (or latest, or pinned) version into an
    onnxruntime session (a pinned version that cannot be loaded fails startup; any other
    failure leaves that model not ready, saying why), starts the registry watcher when
    ``settings.poll_interval`` > 0, and opens a pooled :class:`FeaturesClient` to
    ``settings.proxy_url`` unless ``features_client`` is given (tests, embedding), which is
    then neither opened nor closed. ``app.state.models.refresh()`` looks at the registry once
    by hand (what the watcher does in the background).
    """
    metrics = ServingMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        models = ModelSet(
            ModelRepository(settings.models_dir),
            settings.model_names,
            version=settings.version,
            metrics=metrics,
        )
        await asyncio.to_thread(models.refresh, startup=True)
        app.state.models = models
        async with AsyncExitStack() as stack:
            client = features_client
            if client is None:
                client = await stack.enter_async_context(
                    FeaturesClient(
                        settings.proxy_url, timeout=settings.timeout, api_key=settings.api_key
                    )
                )
            app.state.features_client = client
            if settings.poll_interval > 0:
                task = asyncio.create_task(watch(models, settings.poll_interval))
                stack.callback(task.cancel)
            settle_heap()
            yield

    app = FastAPI(
        title="nlpfeat serving",
        summary="Sentiment predictions from hashed morpheme features with an ONNX model",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    retry = settings.retry_after
    app.state.predict_limit = InFlightLimit(
        "predict", settings.max_predict_in_flight, retry_after=retry, metrics=metrics
    )
    app.state.infer_limit = InFlightLimit(
        "infer", settings.max_infer_in_flight, retry_after=retry, metrics=metrics
    )
    install_problem_handlers(app)
    app.include_router(_predict.router)
    app.include_router(_v2.router)
    app.add_api_route("/metrics", _metrics, methods=["GET"], include_in_schema=False)
    return app


async def _metrics(request: Request) -> Response:
    metrics: ServingMetrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def run(settings: ServingSettings) -> None:
    """Serve the app with uvicorn on ``settings.host:settings.port`` until interrupted.

    Lifecycle events (versions served, failed loads) are logged at INFO with a timestamp;
    uvicorn's access log is off (a line per request costs more than a small inference;
    ``/metrics`` counts requests)."""
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
    )

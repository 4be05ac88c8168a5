"""`create_app(settings)`: the FastAPI application; analyzers load in its lifespan."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from contracts import settle_heap
from nlp_api._config import ApiSettings
from nlp_api._dictionaries import DictionaryStore
from nlp_api._limits import BodySizeLimit
from nlp_api._metrics import Metrics
from nlp_api._problems import install_problem_handlers
from nlp_api._registry import Loader, Registry
from nlp_api._upstream import UpstreamToken
from nlp_api._variants import make_variant_builder
from nlp_api.analyzers import JVM_BACKENDS, Analyzer, load_analyzer
from nlp_api.routes import analyze, analyzers, dictionaries, health, metrics

__all__ = ["create_app", "run"]

SETTINGS_ENV = "NLPFEAT_API_SETTINGS_JSON"
"""How `run` hands its settings to `--workers N` workers (uvicorn imports the app anew)."""
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own variable: with several workers, where each writes its samples."""


def _loader(settings: ApiSettings) -> Loader:
    def load(name: str) -> Analyzer:
        if name in settings.isolate:
            from nlp_api._isolated import IsolatedAnalyzer

            return IsolatedAnalyzer(
                name, jvm_heap=settings.jvm_heap, doc_timeout=settings.doc_timeout
            )
        return load_analyzer(name)

    return load


def create_app(
    settings: ApiSettings,
    *,
    registry: Registry | None = None,
    metrics_dir: str | None = None,
) -> FastAPI:
    """The API. Pass `registry` to serve analyzers already loaded (tests, benchmarks), and
    `metrics_dir` when several workers write their Prometheus samples there."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sys.setswitchinterval(settings.switch_interval)
        store = DictionaryStore(settings.dict_dir)
        app.state.dictionaries = store
        if registry is not None:
            app.state.registry = registry
        else:
            in_process = [a for a in settings.analyzers if a not in settings.isolate]
            if JVM_BACKENDS.intersection(in_process):
                from nlp_api._jvm import start_jvm

                start_jvm(settings.jvm_heap)
            app.state.registry = Registry(
                variants=make_variant_builder(store, settings.dict_dir / ".compiled")
            )
            if settings.workers == 1:  # serve /healthz and a 503 /readyz while loading
                app.state.registry.load_in_background(
                    settings.analyzers, _loader(settings), then=settle_heap
                )
            else:  # a worker takes connections only once loaded: requests reach ready ones
                await anyio.to_thread.run_sync(
                    app.state.registry.load, settings.analyzers, _loader(settings), settle_heap
                )
        try:
            yield
        finally:
            for a in app.state.registry.analyzers():
                a.close()

    app = FastAPI(
        title="nlpfeat NLP API",
        summary="Korean morpheme analysis and hashed n-gram features, six analyzers",
        version="0.2.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.upstream_token is not None:  # added last: checked first
        app.add_middleware(UpstreamToken, token=settings.upstream_token)
    app.state.settings = settings
    app.state.metrics = Metrics(multiprocess_dir=metrics_dir)
    install_problem_handlers(app)
    for module in (analyze, analyzers, dictionaries, health, metrics):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """Worker entry point for `--workers N`: settings come from the parent, as JSON (the
    parent's `ApiSettings` as loaded, secrets included), read once here."""
    settings = ApiSettings.model_validate(json.loads(os.environ[SETTINGS_ENV]))
    return create_app(settings, metrics_dir=os.environ.get(MULTIPROC_ENV))


def run(settings: ApiSettings) -> None:
    """Serve the API with uvicorn until interrupted; N workers each load their own analyzers.
    uvicorn's access log is off: a line per request costs about what a one-review analysis
    does (the proxy in front counts requests, and so does `/metrics`)."""
    import uvicorn

    host, port = settings.host, settings.port
    if settings.workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
        return
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    with tempfile.TemporaryDirectory(prefix="nlpfeat-metrics-") as metrics_dir:
        os.environ[MULTIPROC_ENV] = metrics_dir
        uvicorn.run(
            "nlp_api._app:app_from_env",
            factory=True,
            workers=settings.workers,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
        )

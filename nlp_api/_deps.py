"""Typed dependencies shared by the routers.

Each is `async`: FastAPI runs a plain `def` dependency in its thread pool, a hop per request
(three per analysis request) for an attribute read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from nlp_api._config import ApiSettings
from nlp_api._metrics import Metrics
from nlp_api._registry import Registry

__all__ = ["MetricsDep", "RegistryDep", "SettingsDep"]


async def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


RegistryDep = Annotated[Registry, Depends(_registry)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]

"""Typed dependencies shared by the routers; resources live on ``app.state``.

Each is `async`: FastAPI runs a plain `def` dependency in its thread pool, a hop per request
for an attribute read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from ._client import FeaturesSource
from ._lifecycle import ModelSet
from ._limits import InFlightLimit
from ._metrics import ServingMetrics
from ._settings import ServingSettings

__all__ = [
    "FeaturesDep",
    "InferLimitDep",
    "MetricsDep",
    "ModelsDep",
    "PredictLimitDep",
    "SettingsDep",
]


def _state(attribute: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency answering ``request.app.state.<attribute>``."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, attribute)

    return dependency


FeaturesDep = Annotated[FeaturesSource, Depends(_state("features_client"))]
InferLimitDep = Annotated[InFlightLimit, Depends(_state("infer_limit"))]
MetricsDep = Annotated[ServingMetrics, Depends(_state("metrics"))]
ModelsDep = Annotated[ModelSet, Depends(_state("models"))]
PredictLimitDep = Annotated[InFlightLimit, Depends(_state("predict_limit"))]
SettingsDep = Annotated[ServingSettings, Depends(_state("settings"))]

"""Typed dependencies shared by the routers; resources live on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ._client import FeaturesSource
from ._model import LoadedModel, ModelSlot
from ._settings import ServingSettings

__all__ = ["FeaturesDep", "ModelDep", "SettingsDep", "SlotDep"]


def _slot(request: Request) -> ModelSlot:
    slot: ModelSlot = request.app.state.model_slot
    return slot


async def _model(request: Request) -> LoadedModel:
    """The served model, or ModelNotReady (503); a first load runs off the event loop."""
    slot: ModelSlot = request.app.state.model_slot
    return await run_in_threadpool(slot.require)


def _features(request: Request) -> FeaturesSource:
    client: FeaturesSource = request.app.state.features_client
    return client


def _settings(request: Request) -> ServingSettings:
    settings: ServingSettings = request.app.state.settings
    return settings


FeaturesDep = Annotated[FeaturesSource, Depends(_features)]
ModelDep = Annotated[LoadedModel, Depends(_model)]
SettingsDep = Annotated[ServingSettings, Depends(_settings)]
SlotDep = Annotated[ModelSlot, Depends(_slot)]

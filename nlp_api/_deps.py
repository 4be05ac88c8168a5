"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from nlp_api._config import ApiSettings
from nlp_api._metrics import Metrics
from nlp_api._registry import Registry

__all__ = ["MetricsDep", "RegistryDep", "SettingsDep"]


def _registry(request: Request) -> Registry:
    return request.app.state.registry


def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics


RegistryDep = Annotated[Registry, Depends(_registry)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]

"""KServe v2 / Open Inference Protocol endpoints (JSON over HTTP).

Server: ``GET /v2`` (metadata), ``/v2/health/live``, ``/v2/health/ready``. Per model, and per
loaded version under ``/versions/{version}``: metadata (``GET``), ``/ready`` and ``/infer``.
A model's loaded versions are the one it serves now and the one it replaced (see
`serving._lifecycle`); a version not loaded is a 404, one that is not a number a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from contracts import ONNX_INPUTS, ONNX_OUTPUTS, OUTPUT_LABEL, OUTPUT_PROBABILITY, headers

from ._deps import InferLimitDep, MetricsDep, ModelsDep
from ._errors import InvalidInput, ModelNotFound, ServingError
from ._limits import InFlightLimit
from ._metrics import ServingMetrics
from ._model import LoadedModel, run_model
from ._responses import FastJSONResponse
from ._tensors import (
    InferRequest,
    decode_inputs,
    encode_outputs,
    infer_body,
    tensor_metadata,
    wanted_outputs,
)

__all__ = ["SERVER_NAME", "router"]

router = APIRouter(prefix="/v2", tags=["kserve-v2"])

SERVER_NAME = "nlpfeat-serving"
PLATFORM = "onnxruntime_onnx"
_NOT_SERVED: dict[int | str, dict[str, Any]] = {
    404: {"description": "model or version not served here"}
}
InferBody = Annotated[InferRequest, Depends(infer_body)]
_BODY = {"requestBody": {"required": True, "description": "a KServe v2 inference request"}}


@router.get("")
async def server_metadata(request: Request) -> dict[str, Any]:
    """v2 server metadata: name, version and the protocol extensions supported (none)."""
    return {"name": SERVER_NAME, "version": request.app.version, "extensions": []}


@router.get("/health/live")
async def live() -> dict[str, bool]:
    """The process answers."""
    return {"live": True}


@router.get("/health/ready", responses={503: {"description": "a model has no version loaded"}})
async def ready(models: ModelsDep) -> JSONResponse:
    """200 ``{"ready": true}`` once every served model has a version loaded, else 503."""
    is_ready = models.ready()
    return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)


@router.get("/models/{name}", responses=_NOT_SERVED)
async def model_metadata(name: str, models: ModelsDep) -> dict[str, Any]:
    """v2 model metadata; ``parameters`` holds the training metadata and, under
    ``lifecycle``, what is served and why, and the last failed load."""
    served = models.served(name)
    model = models.require(name)
    return _metadata(model, sorted(served.loaded()), served.status())


@router.get("/models/{name}/versions/{version}", responses=_NOT_SERVED)
async def version_metadata(name: str, version: str, models: ModelsDep) -> dict[str, Any]:
    """v2 model metadata of one loaded version."""
    served = models.served(name)
    model = served.version(_number(version))
    return _metadata(model, [model.version], served.status())


@router.get("/models/{name}/ready", responses=_NOT_SERVED)
async def model_ready(name: str, models: ModelsDep) -> JSONResponse:
    """200 when the model has a version loaded, else 503 with the reason."""
    served = models.served(name)
    try:
        model = models.require(name)
    except ServingError as exc:
        return _ready(name, None, exc.detail)
    failure = served.failure
    reason = f"version {failure.version}: {failure.detail}" if failure else None
    return _ready(name, model, reason)


@router.get("/models/{name}/versions/{version}/ready", responses=_NOT_SERVED)
async def version_ready(name: str, version: str, models: ModelsDep) -> JSONResponse:
    """200 when that version is loaded, else 503."""
    served = models.served(name)
    try:
        model = served.version(_number(version))
    except ModelNotFound as exc:
        return _ready(name, None, exc.detail)
    return _ready(name, model, None)


@router.post(
    "/models/{name}/infer",
    response_class=FastJSONResponse,
    responses=_NOT_SERVED,
    openapi_extra=_BODY,
)
async def infer(
    name: str, body: InferBody, models: ModelsDep, limit: InferLimitDep, metrics: MetricsDep
) -> FastJSONResponse:
    """Run the version served now on padded indices [N, K] INT64 and values [N, K] FP32."""
    return await _infer(body, lambda: models.require(name), limit, metrics)


@router.post(
    "/models/{name}/versions/{version}/infer",
    response_class=FastJSONResponse,
    responses=_NOT_SERVED,
    openapi_extra=_BODY,
)
async def infer_version(
    name: str,
    version: str,
    body: InferBody,
    models: ModelsDep,
    limit: InferLimitDep,
    metrics: MetricsDep,
) -> FastJSONResponse:
    """Run one loaded version."""
    return await _infer(body, lambda: models.served(name).version(_number(version)), limit, metrics)


async def _infer(
    body: InferRequest,
    pick: Callable[[], LoadedModel],
    limit: InFlightLimit,
    metrics: ServingMetrics,
) -> FastJSONResponse:
    with limit.slot():
        model = pick()
        with metrics.track("infer", model):
            wanted = wanted_outputs(body)
            indices, values = decode_inputs(body)
            probability, label = await run_model(model, indices, values)
    version = str(model.version)
    answer: dict[str, Any] = {"model_name": model.name, "model_version": version}
    if body.id is not None:
        answer["id"] = body.id
    answer["outputs"] = encode_outputs(
        wanted, {OUTPUT_PROBABILITY: probability, OUTPUT_LABEL: label}
    )
    return FastJSONResponse(answer, headers={headers.MODEL_VERSION: version})


def _metadata(model: LoadedModel, versions: list[int], lifecycle: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": model.name,
        "versions": [str(v) for v in versions],
        "platform": PLATFORM,
        "inputs": [tensor_metadata(t) for t in ONNX_INPUTS],
        "outputs": [tensor_metadata(t) for t in ONNX_OUTPUTS],
        "parameters": {**model.metadata, "lifecycle": lifecycle},
    }


def _ready(name: str, model: LoadedModel | None, reason: str | None) -> JSONResponse:
    body: dict[str, Any] = {"name": name, "ready": model is not None}
    if model is not None:
        body["version"] = str(model.version)
    if reason:
        body["reason"] = reason
    return JSONResponse(body, status_code=200 if model is not None else 503)


def _number(version: str) -> int:
    if not version.isdigit() or int(version) < 1:
        raise InvalidInput(f"a model version is a positive integer, got {version!r}")
    return int(version)

"""KServe v2 / Open Inference Protocol endpoints (JSON over HTTP).

Tensor names, datatypes and shapes are the graph's, as `contracts.ONNX_INPUTS` and
`contracts.ONNX_OUTPUTS` declare them; inputs may also come one size wider or narrower
(INT32 indices, FP64 values) and are converted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    TensorSpec,
    headers,
)

from ._deps import ModelDep, SlotDep
from ._errors import InvalidInput, ModelNotFound, ServingError
from ._model import LoadedModel

__all__ = ["router"]

router = APIRouter(prefix="/v2", tags=["kserve-v2"])

_ACCEPTED = {
    "INT64": ({"INT64", "INT32"}, "iu", np.int64),
    "FP32": ({"FP32", "FP64"}, "iuf", np.float32),
}
"""Declared datatype -> (datatypes taken, NumPy kinds of the data, dtype fed to the graph)."""
_INPUTS = {t.name: t for t in ONNX_INPUTS}
_OUTPUTS = {t.name: t for t in ONNX_OUTPUTS}


class InferTensor(BaseModel):
    """One input tensor: ``data`` is row-major, flat or nested."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    """An output the client asks for, by name."""

    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    """The v2 inference request; ``outputs`` defaults to all outputs."""

    id: str | None = None
    inputs: list[InferTensor] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None
    parameters: dict[str, Any] | None = None


@router.get("/health/live")
async def live() -> dict[str, bool]:
    """The process answers."""
    return {"live": True}


@router.get("/health/ready", responses={503: {"description": "no model loaded yet"}})
async def ready(slot: SlotDep) -> JSONResponse:
    """200 ``{"ready": true}`` once a model is loaded, else 503 ``{"ready": false}``."""
    try:
        model = await run_in_threadpool(slot.get)
    except ServingError:
        model = None
    return JSONResponse({"ready": model is not None}, status_code=200 if model else 503)


@router.get("/models/{name}")
async def model_metadata(name: str, model: ModelDep) -> dict[str, Any]:
    """v2 model metadata, plus the training metadata under ``parameters``."""
    _check_name(name, model)
    return {
        "name": model.name,
        "versions": [str(model.version)],
        "platform": "onnxruntime_onnx",
        "inputs": [_tensor_metadata(t) for t in ONNX_INPUTS],
        "outputs": [_tensor_metadata(t) for t in ONNX_OUTPUTS],
        "parameters": model.metadata,
    }


@router.get("/models/{name}/ready")
async def model_ready(name: str, model: ModelDep) -> dict[str, Any]:
    """The named model is loaded."""
    _check_name(name, model)
    return {"name": model.name, "ready": True}


@router.post("/models/{name}/infer")
async def infer(
    name: str, body: InferRequest, model: ModelDep, response: Response
) -> dict[str, Any]:
    """Run the model on padded indices [N, K] INT64 and values [N, K] FP32."""
    _check_name(name, model)
    by_name = {tensor.name: tensor for tensor in body.inputs}
    unknown = sorted(set(by_name) - set(_INPUTS))
    if unknown or len(by_name) != len(body.inputs):
        raise InvalidInput(
            f"inputs must be {' and '.join(map(repr, _INPUTS))} once each, got {unknown}"
        )
    indices, values = (_decode(by_name, input_name) for input_name in (INPUT_INDICES, INPUT_VALUES))
    if indices.shape != values.shape:
        raise InvalidInput(f"indices {list(indices.shape)} and values {list(values.shape)} differ")
    probability, label = await run_in_threadpool(model.run, indices, values)
    arrays = {OUTPUT_PROBABILITY: probability, OUTPUT_LABEL: label}
    wanted = [o.name for o in body.outputs] if body.outputs else list(_OUTPUTS)
    if any(n not in _OUTPUTS for n in wanted):
        raise InvalidInput(f"outputs must be among {list(_OUTPUTS)}, got {wanted}")
    outputs = [
        {
            "name": n,
            "shape": [len(arrays[n])],
            "datatype": _OUTPUTS[n].datatype,
            "data": arrays[n].tolist(),
        }
        for n in wanted
    ]
    answer: dict[str, Any] = {"model_name": model.name, "model_version": str(model.version)}
    if body.id is not None:
        answer["id"] = body.id
    response.headers[headers.MODEL_VERSION] = str(model.version)
    return {**answer, "outputs": outputs}


def _tensor_metadata(tensor: TensorSpec) -> dict[str, Any]:
    """v2 tensor metadata: a symbolic dimension is variable (-1)."""
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": [-1] * len(tensor.shape)}


def _check_name(name: str, model: LoadedModel) -> None:
    if name != model.name:
        raise ModelNotFound(f"model {name!r} is not served here; this server serves {model.name!r}")


def _decode(by_name: dict[str, InferTensor], name: str) -> np.ndarray:
    """Check datatype and shape, then return the data as a [N, K] array of the input's dtype."""
    tensor = by_name.get(name)
    if tensor is None:
        raise InvalidInput(f"missing input {name!r}")
    datatypes, kinds, dtype = _ACCEPTED[_INPUTS[name].datatype]
    if tensor.datatype not in datatypes:
        raise InvalidInput(f"input {name!r} must be {' or '.join(sorted(datatypes))}")
    declared = _INPUTS[name].shape
    if len(tensor.shape) != len(declared) or min(tensor.shape) < 0:
        raise InvalidInput(
            f"input {name!r} must have shape [{', '.join(declared)}], got {tensor.shape}"
        )
    try:
        array = np.asarray(tensor.data)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput(f"input {name!r} data is not a regular array: {exc}") from exc
    expected = math.prod(tensor.shape)
    if array.size != expected:
        raise InvalidInput(f"input {name!r} has {array.size} elements, shape needs {expected}")
    if array.size and array.dtype.kind not in kinds:
        raise InvalidInput(f"input {name!r} data must be {tensor.datatype} numbers")
    return array.reshape(tensor.shape).astype(dtype)

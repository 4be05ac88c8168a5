"""KServe v2 tensors in JSON: the request's schema, decoding inputs, encoding outputs.

Tensor names, datatypes and shapes are the graph's, as `contracts.ONNX_INPUTS` and
`contracts.ONNX_OUTPUTS` declare them; inputs may also come one size wider or narrower
(INT32 indices, FP64 values) and are converted. ``data`` is row-major, flat or nested.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    TensorSpec,
)

from ._errors import InvalidInput

__all__ = [
    "InferRequest",
    "decode_inputs",
    "encode_outputs",
    "infer_body",
    "tensor_metadata",
    "wanted_outputs",
]

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


async def infer_body(request: Request) -> InferRequest:
    """The request body, parsed and validated by pydantic-core straight from the bytes: on a
    64-row request that is 0.6 ms against FastAPI's ``json.loads`` and validation, 1.6 ms."""
    try:
        return InferRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def tensor_metadata(tensor: TensorSpec) -> dict[str, Any]:
    """v2 tensor metadata: a symbolic dimension is variable (-1)."""
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": [-1] * len(tensor.shape)}


def decode_inputs(body: InferRequest) -> tuple[np.ndarray, np.ndarray]:
    """``(indices int64 [N, K], values float32 [N, K])`` from the request, checked."""
    by_name = {tensor.name: tensor for tensor in body.inputs}
    unknown = sorted(set(by_name) - set(_INPUTS))
    if unknown or len(by_name) != len(body.inputs):
        raise InvalidInput(
            f"inputs must be {' and '.join(map(repr, _INPUTS))} once each, got {unknown}"
        )
    indices, values = (_decode(by_name, name) for name in (INPUT_INDICES, INPUT_VALUES))
    if indices.shape != values.shape:
        raise InvalidInput(f"indices {list(indices.shape)} and values {list(values.shape)} differ")
    return indices, values


def wanted_outputs(body: InferRequest) -> list[str]:
    """The outputs asked for (all by default), checked before the model runs."""
    wanted = [o.name for o in body.outputs] if body.outputs else list(_OUTPUTS)
    if any(n not in _OUTPUTS for n in wanted):
        raise InvalidInput(f"outputs must be among {list(_OUTPUTS)}, got {wanted}")
    return wanted


def encode_outputs(wanted: list[str], arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """v2 output tensors; ``data`` stays a NumPy array for the orjson response to write."""
    return [
        {
            "name": n,
            "shape": list(arrays[n].shape),
            "datatype": _OUTPUTS[n].datatype,
            "data": arrays[n],
        }
        for n in wanted
    ]


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
    return array.reshape(tensor.shape).astype(dtype, copy=False)

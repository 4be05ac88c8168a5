"""The Gather-and-sum ONNX graph of a sparse linear model, and running it on CSR rows.

A dense ``[N, num_features]`` input would be 4 MiB per row at 2^20 features, so the graph
takes each row's non-zero features instead, as `contracts.ONNX_INPUTS` declares them (indices
int64 ``[N, K]`` and values float32 ``[N, K]``, rows padded by `contracts.pad_sparse`)::

    logit       = ReduceSum(Gather(W, indices) * values, axis=1) + b
    probability = Sigmoid(logit)                      float32 [N], P(label = 1)
    label       = Cast(logit >= 0, int64)             int64 [N]

Given a per-column ``scale`` (IDF times the NB log-count ratio, see `training._train`), the
graph first weighs the counts the API sent as the model was trained on them::

    x     = Log(1 + values) * Gather(scale, indices)        (sublinear tf, column weights)
    logit = ReduceSum(Gather(W, indices) * x, axis=1) / max(||x||_2, 1e-12) + b

Padding (index 0, value 0.0) still adds nothing: Log(1 + 0) = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper

from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    TensorSpec,
    pad_sparse,
)

__all__ = ["OPSET", "build_graph", "run_onnx", "weigh_row", "weigh_rows"]

OPSET = 17
_MIN_NORM = 1e-12
_IR_VERSION = 8
_ELEMENT_TYPES = {"INT64": TensorProto.INT64, "FP32": TensorProto.FLOAT}
"""KServe v2 datatype -> ONNX element type, for the tensors `contracts` declares."""


def build_graph(
    weights: np.ndarray, bias: float, *, name: str = "model", scale: np.ndarray | None = None
) -> onnx.ModelProto:
    """Return a checked ONNX model computing the logistic model ``sigmoid(x . W + b)``.

    ``weights`` is the dense coefficient vector (length ``num_features``); it is stored as a
    float32 initializer. Without ``scale``, ``x`` is the values as sent; with it (a vector
    as long as ``weights``), ``x`` is the sublinear, scaled and L2-normalized row of
    `weigh_rows`. N and K are dynamic.
    """
    w = numpy_helper.from_array(np.asarray(weights, dtype=np.float32).ravel(), "W")
    b = numpy_helper.from_array(np.asarray([bias], dtype=np.float32), "b")
    axes = numpy_helper.from_array(np.asarray([1], dtype=np.int64), "axes")
    zero = numpy_helper.from_array(np.asarray(0.0, dtype=np.float32), "zero")
    initializers = [w, b, axes, zero]
    nodes = [helper.make_node("Gather", ["W", INPUT_INDICES], ["w_rows"], axis=0)]
    if scale is None:
        nodes += [
            helper.make_node("Mul", ["w_rows", INPUT_VALUES], ["terms"]),
            helper.make_node("ReduceSum", ["terms", "axes"], ["dot"], keepdims=0),
            helper.make_node("Add", ["dot", "b"], ["logit"]),
        ]
    else:
        initializers += [
            numpy_helper.from_array(np.asarray(scale, dtype=np.float32).ravel(), "scale"),
            numpy_helper.from_array(np.asarray(1.0, dtype=np.float32), "one"),
            numpy_helper.from_array(np.asarray(_MIN_NORM, dtype=np.float32), "min_norm"),
        ]
        nodes += [
            helper.make_node("Add", [INPUT_VALUES, "one"], ["tf_1"]),
            helper.make_node("Log", ["tf_1"], ["tf"]),
            helper.make_node("Gather", ["scale", INPUT_INDICES], ["s_rows"], axis=0),
            helper.make_node("Mul", ["tf", "s_rows"], ["x"]),
            helper.make_node("Mul", ["x", "x"], ["x2"]),
            helper.make_node("ReduceSum", ["x2", "axes"], ["sq_norm"], keepdims=0),
            helper.make_node("Sqrt", ["sq_norm"], ["norm_raw"]),
            helper.make_node("Max", ["norm_raw", "min_norm"], ["norm"]),
            helper.make_node("Mul", ["w_rows", "x"], ["terms"]),
            helper.make_node("ReduceSum", ["terms", "axes"], ["dot_raw"], keepdims=0),
            helper.make_node("Div", ["dot_raw", "norm"], ["dot"]),
            helper.make_node("Add", ["dot", "b"], ["logit"]),
        ]
    nodes += [
        helper.make_node("Sigmoid", ["logit"], [OUTPUT_PROBABILITY]),
        helper.make_node("GreaterOrEqual", ["logit", "zero"], ["positive"]),
        helper.make_node("Cast", ["positive"], [OUTPUT_LABEL], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        inputs=[_value_info(t) for t in ONNX_INPUTS],
        outputs=[_value_info(t) for t in ONNX_OUTPUTS],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="nlpfeat.training",
        ir_version=_IR_VERSION,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def _value_info(tensor: TensorSpec) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(
        tensor.name, _ELEMENT_TYPES[tensor.datatype], list(tensor.shape)
    )


def run_onnx(model: bytes, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Run a serialized graph on CSR rows with onnxruntime (CPU); return (probability, label)."""
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    X = sp.csr_matrix(X)
    indices, values = pad_sparse(X.indptr, X.indices, X.data)
    probability, label = session.run(
        [OUTPUT_PROBABILITY, OUTPUT_LABEL], {INPUT_INDICES: indices, INPUT_VALUES: values}
    )
    return probability, label


def weigh_row(
    indices: Sequence[int], values: Sequence[float], scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`weigh_rows` for one row given as lists (repeated indices summed first), without
    building a matrix: the sorted columns and their weighed values. Spark's training weighs
    its rows one at a time with it."""
    ix, inverse = np.unique(np.asarray(indices, np.int64), return_inverse=True)
    sums = np.bincount(inverse, weights=np.asarray(values, np.float64), minlength=len(ix))
    x = np.log1p(sums) * np.asarray(scale, dtype=np.float64)[ix]
    x /= max(float(np.sqrt(np.dot(x, x))), _MIN_NORM)
    return ix, x


def weigh_rows(X: sp.csr_matrix, scale: np.ndarray) -> sp.csr_matrix:
    """What the graph with ``scale`` does to the values before its dot product, on CSR rows
    (float64): ``log(1 + x)`` times ``scale`` per column, each row divided by its L2 norm."""
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    X.data = np.log1p(X.data) * np.asarray(scale, dtype=np.float64)[X.indices]
    lengths = np.diff(X.indptr)
    rows = np.repeat(np.arange(X.shape[0]), lengths)
    norm = np.sqrt(np.bincount(rows, weights=X.data**2, minlength=X.shape[0]))
    X.data /= np.maximum(norm, _MIN_NORM)[rows]
    return X

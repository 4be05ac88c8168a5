"""The Gather-and-sum ONNX graph of a sparse linear model, and running it on CSR rows.

A dense ``[N, num_features]`` input would be 4 MiB per row at 2^20 features, so the graph
takes each row's non-zero features instead: ``indices`` int64 ``[N, K]`` and ``values``
float32 ``[N, K]``, rows padded with index 0 / value 0.0 (a zero value adds nothing)::

    logit       = ReduceSum(Gather(W, indices) * values, axis=1) + b
    probability = Sigmoid(logit)                      float32 [N], P(label = 1)
    label       = Cast(logit >= 0, int64)             int64 [N]
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import scipy.sparse as sp
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "INPUTS",
    "OPSET",
    "OUTPUTS",
    "build_graph",
    "pad_csr",
    "run_onnx",
]

OPSET = 17
_IR_VERSION = 8
INPUTS = (
    {"name": "indices", "datatype": "INT64", "shape": ["N", "K"]},
    {"name": "values", "datatype": "FP32", "shape": ["N", "K"]},
)
OUTPUTS = (
    {"name": "probability", "datatype": "FP32", "shape": ["N"]},
    {"name": "label", "datatype": "INT64", "shape": ["N"]},
)


def build_graph(weights: np.ndarray, bias: float, *, name: str = "model") -> onnx.ModelProto:
    """Return a checked ONNX model computing the logistic model ``sigmoid(x . W + b)``.

    ``weights`` is the dense coefficient vector (length ``num_features``); it is stored as a
    float32 initializer. N and K are dynamic.
    """
    w = numpy_helper.from_array(np.asarray(weights, dtype=np.float32).ravel(), "W")
    b = numpy_helper.from_array(np.asarray([bias], dtype=np.float32), "b")
    axes = numpy_helper.from_array(np.asarray([1], dtype=np.int64), "axes")
    zero = numpy_helper.from_array(np.asarray(0.0, dtype=np.float32), "zero")
    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["w_rows"], axis=0),
        helper.make_node("Mul", ["w_rows", "values"], ["terms"]),
        helper.make_node("ReduceSum", ["terms", "axes"], ["dot"], keepdims=0),
        helper.make_node("Add", ["dot", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
        helper.make_node("GreaterOrEqual", ["logit", "zero"], ["positive"]),
        helper.make_node("Cast", ["positive"], ["label"], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        inputs=[
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["N", "K"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", "K"]),
        ],
        outputs=[
            helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        ],
        initializer=[w, b, axes, zero],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="nlpfeat.training",
        ir_version=_IR_VERSION,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def pad_csr(X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indices int64 [N, K], values float32 [N, K])`` padded with 0 / 0.0."""
    X = sp.csr_matrix(X)
    lengths = np.diff(X.indptr)
    n, k = X.shape[0], int(lengths.max()) if X.shape[0] else 0
    indices = np.zeros((n, k), dtype=np.int64)
    values = np.zeros((n, k), dtype=np.float32)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(X.nnz) - np.repeat(X.indptr[:-1], lengths)
    indices[rows, cols] = X.indices
    values[rows, cols] = X.data
    return indices, values


def run_onnx(model: bytes, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Run a serialized graph on CSR rows with onnxruntime (CPU); return (probability, label)."""
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    indices, values = pad_csr(X)
    probability, label = session.run(
        ["probability", "label"], {"indices": indices, "values": values}
    )
    return probability, label

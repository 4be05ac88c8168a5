"""The ONNX graph's interface: input and output names, types and shapes, and row padding.

Rows are sparse: ``indices`` int64 ``[N, K]`` and ``values`` float32 ``[N, K]``, each row's
non-zero features padded with index 0 / value 0.0 (a zero value adds nothing). Outputs are
``probability`` float32 ``[N]`` (P(label = 1)) and ``label`` int64 ``[N]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "INPUT_INDICES",
    "INPUT_VALUES",
    "ONNX_INPUTS",
    "ONNX_OUTPUTS",
    "OUTPUT_LABEL",
    "OUTPUT_PROBABILITY",
    "TensorSpec",
    "pad_rows",
    "pad_sparse",
]


class TensorSpec(NamedTuple):
    """One graph input or output: its name, KServe v2 datatype and symbolic shape."""

    name: str
    datatype: str
    shape: tuple[str, ...]


INPUT_INDICES: Final = "indices"
INPUT_VALUES: Final = "values"
OUTPUT_PROBABILITY: Final = "probability"
OUTPUT_LABEL: Final = "label"
ONNX_INPUTS: Final = (
    TensorSpec(INPUT_INDICES, "INT64", ("N", "K")),
    TensorSpec(INPUT_VALUES, "FP32", ("N", "K")),
)
ONNX_OUTPUTS: Final = (
    TensorSpec(OUTPUT_PROBABILITY, "FP32", ("N",)),
    TensorSpec(OUTPUT_LABEL, "INT64", ("N",)),
)


def pad_sparse(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CSR arrays -> ``(indices int64 [N, K], values float32 [N, K])`` padded with 0 / 0.0."""
    import numpy as np

    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = np.diff(indptr)
    n = len(lengths)
    k = int(lengths.max()) if n else 0
    out_indices = np.zeros((n, k), dtype=np.int64)
    out_values = np.zeros((n, k), dtype=np.float32)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(int(indptr[-1]) if n else 0) - np.repeat(indptr[:-1], lengths)
    out_indices[rows, cols] = indices
    out_values[rows, cols] = data
    return out_indices, out_values


def pad_rows(
    rows: Sequence[tuple[Sequence[int], Sequence[float]]],
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``(indices, values)`` -> the padded ``[N, K]`` pair of `pad_sparse`."""
    import numpy as np

    lengths = [len(ix) for ix, _ in rows]
    if any(len(ix) != len(vs) for ix, vs in rows):
        raise ValueError("each row needs as many values as indices")
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    flat_ix = np.fromiter((i for ix, _ in rows for i in ix), dtype=np.int64, count=int(indptr[-1]))
    flat_vs = np.fromiter(
        (v for _, vs in rows for v in vs), dtype=np.float64, count=int(indptr[-1])
    )
    return pad_sparse(indptr, flat_ix, flat_vs)

"""Read a feature table (a Parquet directory written by the Spark job) into a CSR matrix.

What produced the rows (spec, spec_hash, analyzer, dictionary) comes from the table's metadata
file, read and checked by `contracts.read_table_info`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import scipy.sparse as sp

from contracts import FeatureTableInfo, TableMetadataError, read_table_info

from ._errors import FeaturesError

__all__ = ["LabelledFeatures", "read_features", "read_table"]


@dataclass(frozen=True)
class LabelledFeatures:
    """The usable rows of a feature table.

    ``X`` has ``table.num_features`` columns; ``y`` holds 0/1 labels.
    """

    X: sp.csr_matrix
    y: np.ndarray
    table: FeatureTableInfo
    n_skipped_error: int
    n_skipped_unlabelled: int
    skipped_errors: dict[str, int] = field(default_factory=dict)
    """Rows left out for an error, by the error's type (`DeadlineExceeded`, `ApiRejected`...)."""

    @property
    def n_skipped(self) -> int:
        """Rows left out because of an analyzer error or a missing label."""
        return self.n_skipped_error + self.n_skipped_unlabelled


def read_table(features: Path) -> FeatureTableInfo:
    """The feature table's metadata, as `contracts` reads and checks it."""
    try:
        return read_table_info(features)
    except TableMetadataError as exc:
        raise FeaturesError(str(exc)) from exc


def read_features(features: Path) -> LabelledFeatures:
    """Read rows, drop those with an error or without a label, and build the CSR matrix."""
    info = read_table(Path(features))
    table = _read_table(Path(features))
    n_rows = table.num_rows
    ok = _not_error(table)
    n_skipped_error = n_rows - int(pc.sum(ok).as_py() or 0)
    keep = pc.and_(ok, _labelled(table))
    n_skipped_unlabelled = n_rows - n_skipped_error - int(pc.sum(keep).as_py() or 0)
    kinds = Counter(str(e).partition(":")[0] for e in table.column("error").drop_null().to_pylist())
    table = table.filter(keep)
    X = _to_csr(table, info.num_features)
    y = table.column("label").to_numpy().astype(np.int64) if table.num_rows else np.empty(0, int)
    if not np.isin(y, (0, 1)).all():
        raise FeaturesError(f"labels must be 0 or 1, found {sorted(set(y.tolist()))[:5]}")
    return LabelledFeatures(
        X, y, info, n_skipped_error, n_skipped_unlabelled, dict(sorted(kinds.items()))
    )


def _read_table(path: Path) -> pa.Table:
    try:
        dataset = ds.dataset(path, format="parquet")
        names = set(dataset.schema.names)
        missing = {"indices", "values"} - names
        if missing:
            raise FeaturesError(f"{path} lacks column(s) {', '.join(sorted(missing))}")
        columns = [c for c in ("indices", "values", "error", "label") if c in names]
        table = dataset.to_table(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise FeaturesError(f"cannot read features from {path}: {exc}") from exc
    if "label" not in names:
        table = table.append_column("label", pa.nulls(table.num_rows, pa.int64()))
    if "error" not in names:
        table = table.append_column("error", pa.nulls(table.num_rows, pa.string()))
    return table


def _not_error(table: pa.Table) -> pa.ChunkedArray:
    return pc.is_null(table.column("error"))


def _labelled(table: pa.Table) -> pa.ChunkedArray:
    return pc.is_valid(table.column("label"))


def _to_csr(table: pa.Table, num_features: int) -> sp.csr_matrix:
    """Build CSR from the list columns; duplicate indices in a row are summed."""
    indices_col = table.column("indices")
    values_col = table.column("values")
    lengths = pc.fill_null(pc.list_value_length(indices_col), 0).to_numpy()
    value_lengths = pc.fill_null(pc.list_value_length(values_col), 0).to_numpy()
    if not np.array_equal(lengths, value_lengths):
        raise FeaturesError("indices and values differ in length on some rows")
    indices = _flatten(indices_col, np.int64)
    values = _flatten(values_col, np.float64)
    if indices.size and (indices.min() < 0 or indices.max() >= num_features):
        raise FeaturesError(f"feature indices outside [0, {num_features})")
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    X = sp.csr_matrix((values, indices, indptr), shape=(len(lengths), num_features))
    X.sum_duplicates()
    return X


def _flatten(column: pa.ChunkedArray, dtype: type) -> np.ndarray:
    chunks = [chunk.flatten().to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return np.concatenate(chunks).astype(dtype) if chunks else np.empty(0, dtype)

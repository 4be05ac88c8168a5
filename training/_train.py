"""Fit a logistic regression on hashed features, export it to ONNX, verify, and store it."""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from contracts import (
    MODEL_FILENAME,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    FeatureTableInfo,
    ModelRepository,
    RepositoryError,
    TensorSpec,
    check_name,
)

from ._data import LabelledFeatures, read_features
from ._errors import ExportMismatch, FeaturesError, TrainingError
from ._onnx import OPSET, build_graph, run_onnx

__all__ = ["DEFAULT_C", "DEFAULT_TOLERANCE", "ProgressCallback", "TrainResult", "train"]

DEFAULT_C = 1.0
DEFAULT_TOLERANCE = 1e-5
ProgressCallback = Callable[[str], None]
"""Called with a short description as each step starts ("reading features", ...)."""


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did: where the model went and how well it scored."""

    name: str
    version: int
    path: Path
    accuracy: float
    n_train: int
    n_test: int
    n_skipped: int
    n_skipped_error: int
    n_skipped_unlabelled: int
    skipped_errors: dict[str, int]
    max_abs_diff: float
    metadata: dict[str, Any]


def train(
    features: Path,
    models_dir: Path,
    *,
    name: str = "sentiment",
    test_size: float = 0.2,
    seed: int = 0,
    C: float = DEFAULT_C,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train a sentiment model from a features parquet directory and store it as ONNX.

    Rows with a non-null ``error`` or a null ``label`` are skipped and counted. A stratified
    ``test_size`` split is held out; the accuracy reported is on it. The ONNX graph is run
    on the held-out rows and must match scikit-learn's ``predict_proba[:, 1]`` within
    ``tolerance`` with identical labels, otherwise :class:`ExportMismatch` is raised and
    nothing is written. The model lands in ``models_dir/name/<next integer version>/``.
    Silent unless ``progress`` is given.
    """
    try:
        check_name(name)
    except RepositoryError as exc:
        raise TrainingError(str(exc)) from exc
    report = progress or _silent
    report("reading features")
    data = read_features(Path(features))
    X_train, X_test, y_train, y_test = _split(data, test_size, seed)
    report(f"fitting logistic regression on {X_train.shape[0]} rows")
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=seed)
    clf.fit(X_train, y_train)
    accuracy = float(clf.score(X_test, y_test))
    report("exporting to ONNX and checking it against scikit-learn")
    model = build_graph(clf.coef_.ravel(), float(clf.intercept_[0]), name=name)
    blob = model.SerializeToString()
    max_abs_diff = _verify(blob, clf, X_test, tolerance)
    n_train, n_test = int(X_train.shape[0]), int(X_test.shape[0])
    metrics: dict[str, Any] = {
        "accuracy": accuracy,
        "n_train": n_train,
        "n_test": n_test,
        "n_skipped": data.n_skipped,
        "n_skipped_error": data.n_skipped_error,
        "n_skipped_unlabelled": data.n_skipped_unlabelled,
        "skipped_errors": data.skipped_errors,
    }
    metadata = _metadata(name, data.table, metrics, clf, max_abs_diff)
    report("writing model")
    try:
        version, path = ModelRepository(models_dir).write_version(name, blob, metadata)
    except RepositoryError as exc:
        raise TrainingError(str(exc)) from exc
    return TrainResult(
        name=name,
        version=version,
        path=path,
        accuracy=accuracy,
        n_train=n_train,
        n_test=n_test,
        n_skipped=data.n_skipped,
        n_skipped_error=data.n_skipped_error,
        n_skipped_unlabelled=data.n_skipped_unlabelled,
        skipped_errors=data.skipped_errors,
        max_abs_diff=max_abs_diff,
        metadata={**metadata, "version": version},
    )


def _silent(_: str) -> None:
    pass


def _split(data: LabelledFeatures, test_size: float, seed: int) -> tuple[Any, Any, Any, Any]:
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    counts = np.bincount(data.y, minlength=2)
    if counts.min() < 2:
        raise FeaturesError(
            f"need at least 2 labelled rows of each class, got {counts[0]} x 0 and "
            f"{counts[1]} x 1 ({data.n_skipped} rows skipped)"
        )
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=test_size, random_state=seed, stratify=data.y
        )
    except ValueError as exc:
        raise FeaturesError(f"cannot split {len(data.y)} rows: {exc}") from exc
    return X_train, X_test, y_train, y_test


def _verify(blob: bytes, clf: LogisticRegression, X_test: Any, tolerance: float) -> float:
    """Return max |p_onnx - p_sklearn| on ``X_test``; raise ExportMismatch if out of bounds."""
    probability, label = run_onnx(blob, X_test)
    expected_p = clf.predict_proba(X_test)[:, 1]
    expected_label = clf.predict(X_test)
    max_abs_diff = float(np.max(np.abs(probability - expected_p), initial=0.0))
    mismatches = int(np.count_nonzero(label != expected_label))
    if max_abs_diff > tolerance or mismatches:
        raise ExportMismatch(max_abs_diff, mismatches, tolerance)
    return max_abs_diff


def _metadata(
    name: str,
    table: FeatureTableInfo,
    metrics: dict[str, Any],
    clf: LogisticRegression,
    max_abs_diff: float,
) -> dict[str, Any]:
    """What a version records; ``spec``, ``spec_hash``, the analyzer and the dictionaries are
    the feature table's, so serving asks the API for exactly the features the model expects."""
    return {
        "name": name,
        "version": None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "analyzer": table.analyzer,
        "analyzer_version": table.analyzer_version,
        "dictionary": table.dictionary,
        "user_dictionary": table.user_dictionary,
        "user_dictionary_version": table.user_dictionary_version,
        "num_features": table.num_features,
        "spec": table.spec.to_json(),
        "spec_hash": table.spec_hash,
        "hashing": table.hashing,
        "feature_spec": table.to_json(),
        "metrics": metrics,
        "onnx": {
            "file": MODEL_FILENAME,
            "opset": OPSET,
            "inputs": [_tensor(t) for t in ONNX_INPUTS],
            "outputs": [_tensor(t) for t in ONNX_OUTPUTS],
            "threshold": "label = 1 iff logit >= 0 (probability >= 0.5)",
        },
        "training": {
            "library": "scikit-learn",
            "library_version": sklearn.__version__,
            "python_version": platform.python_version(),
            "estimator": "LogisticRegression",
            "params": {k: clf.get_params()[k] for k in ("C", "solver", "max_iter")},
            "classes": [int(c) for c in clf.classes_],
        },
        "max_abs_diff": max_abs_diff,
    }


def _tensor(tensor: TensorSpec) -> dict[str, Any]:
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}

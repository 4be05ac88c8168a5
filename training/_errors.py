"""Exceptions raised by :mod:`training`.

The tree::

    TrainingError
    ├── FeaturesError      the features parquet or its spec is missing or malformed
    └── ExportMismatch     onnxruntime disagrees with scikit-learn; nothing was written
"""

from __future__ import annotations

__all__ = ["ExportMismatch", "FeaturesError", "TrainingError"]


class TrainingError(Exception):
    """Base class of every error raised by the training package."""


class FeaturesError(TrainingError):
    """The features directory, its sidecar spec or its rows cannot be used for training."""


class ExportMismatch(TrainingError):
    """The exported ONNX graph does not reproduce scikit-learn's predictions.

    Attributes:
        max_abs_diff: the largest ``|p_onnx - p_sklearn|`` over the checked rows.
        label_mismatches: how many rows got a different label.
        tolerance: the bound that was exceeded.
    """

    def __init__(self, max_abs_diff: float, label_mismatches: int, tolerance: float) -> None:
        self.max_abs_diff = max_abs_diff
        self.label_mismatches = label_mismatches
        self.tolerance = tolerance
        super().__init__(
            f"ONNX export disagrees with scikit-learn: max |dp| = {max_abs_diff:.3g} "
            f"(tolerance {tolerance:.3g}), {label_mismatches} label(s) differ; nothing written"
        )

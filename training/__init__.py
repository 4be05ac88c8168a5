"""Train a sentiment model on hashed morpheme features and export it to ONNX.

``train(features, models_dir)`` reads a feature table written by the Spark job (its metadata
through `contracts.read_table_info`), fits a logistic regression, exports a Gather-and-sum ONNX
graph, checks it against scikit-learn and writes a new version into the
`contracts.ModelRepository` at ``models_dir``. Pad CSR rows for the graph with
`contracts.pad_sparse`.
"""

from ._calibration import CALIBRATION_FILENAME, table_key
from ._errors import ExportMismatch, FeaturesError, TrainingError
from ._gate import Verdict, compare, decide, thresholds
from ._onnx import build_graph
from ._retrain import (
    GateError,
    GateReport,
    LifecycleResult,
    gate,
    production_lineage,
    promote,
    retrain,
    rollback,
)
from ._spark import train_spark
from ._train import TrainResult, train

__all__ = [
    "CALIBRATION_FILENAME",
    "ExportMismatch",
    "FeaturesError",
    "GateError",
    "GateReport",
    "LifecycleResult",
    "TrainResult",
    "TrainingError",
    "Verdict",
    "build_graph",
    "compare",
    "decide",
    "gate",
    "production_lineage",
    "promote",
    "retrain",
    "rollback",
    "table_key",
    "thresholds",
    "train",
    "train_spark",
]

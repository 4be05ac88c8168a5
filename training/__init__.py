"""Train a sentiment model on hashed morpheme features and export it to ONNX.

``train(features, models_dir)`` reads a ``features.parquet`` directory written by the Spark
job, fits a logistic regression, exports a Gather-and-sum ONNX graph, checks it against
scikit-learn and writes ``models_dir/<name>/<version>/{model.onnx,metadata.json}``.
"""

from ._errors import ExportMismatch, FeaturesError, TrainingError
from ._onnx import build_graph, pad_csr
from ._train import TrainResult, train

__all__ = [
    "ExportMismatch",
    "FeaturesError",
    "TrainResult",
    "TrainingError",
    "build_graph",
    "pad_csr",
    "train",
]

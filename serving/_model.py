"""Find, load and run the latest version of a model written by ``nlpfeat train``.

Layout (the documented training format): ``<models_dir>/<name>/<version>/model.onnx`` and
``metadata.json``; versions are integer directory names, the highest is served. Dot-named
directories are in-progress writes and are ignored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ._errors import InvalidInput, ModelLoadError, ModelNotReady

__all__ = ["LoadedModel", "ModelSlot", "find_latest", "load_model", "pad_rows"]

_INPUTS = ("indices", "values")
_OUTPUTS = ("probability", "label")


@dataclass(frozen=True)
class LoadedModel:
    """One model version and the single onnxruntime session shared by all requests."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any]
    session: ort.InferenceSession
    num_features: int
    analyzer: str

    def run(self, indices: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probability float32 [N], label int64 [N])``; indices are checked first."""
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_features):
            raise InvalidInput(f"indices must be in [0, {self.num_features})")
        if indices.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        feeds = {"indices": indices.astype(np.int64), "values": values.astype(np.float32)}
        probability, label = self.session.run(list(_OUTPUTS), feeds)
        return probability, label


def find_latest(models_dir: Path, model_name: str | None) -> Path | None:
    """Return the highest-version directory of the named (or first sorted) model, if any."""
    if not models_dir.is_dir():
        return None
    if model_name is not None:
        candidates = [models_dir / model_name]
    else:
        candidates = sorted(p for p in models_dir.iterdir() if not p.name.startswith("."))
    for model_dir in candidates:
        versions = _versions(model_dir)
        if versions:
            return model_dir / str(versions[-1])
    return None


def _versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in model_dir.iterdir()
        if p.name.isdigit() and (p / "model.onnx").is_file() and (p / "metadata.json").is_file()
    )


def load_model(version_dir: Path) -> LoadedModel:
    """Load ``metadata.json`` and ``model.onnx`` from a version directory (CPU provider)."""
    try:
        metadata = json.loads((version_dir / "metadata.json").read_text(encoding="utf-8"))
        num_features = int(metadata["num_features"])
        analyzer = str(metadata["analyzer"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"cannot read {version_dir / 'metadata.json'}: {exc!r}") from exc
    try:
        session = ort.InferenceSession(
            str(version_dir / "model.onnx"), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's pybind errors share no base class but Exception
        raise ModelLoadError(f"cannot load {version_dir / 'model.onnx'}: {exc}") from exc
    inputs = tuple(i.name for i in session.get_inputs())
    outputs = tuple(o.name for o in session.get_outputs())
    if sorted(inputs) != sorted(_INPUTS) or sorted(outputs) != sorted(_OUTPUTS):
        raise ModelLoadError(f"{version_dir}: expected inputs {_INPUTS}, outputs {_OUTPUTS}")
    return LoadedModel(
        name=version_dir.parent.name,
        version=int(version_dir.name),
        path=version_dir,
        metadata=metadata,
        session=session,
        num_features=num_features,
        analyzer=analyzer,
    )


class ModelSlot:
    """Holds the served model. Loaded in the app lifespan; while empty, :meth:`get` looks
    again, so a model trained after startup is picked up without a restart."""

    def __init__(self, models_dir: Path, model_name: str | None) -> None:
        self._models_dir = models_dir
        self._model_name = model_name
        self._model: LoadedModel | None = None
        self._lock = threading.Lock()

    def get(self) -> LoadedModel | None:
        """Return the loaded model, trying to load the latest one if none is loaded yet."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    version_dir = find_latest(self._models_dir, self._model_name)
                    if version_dir is not None:
                        self._model = load_model(version_dir)
        return self._model

    def require(self) -> LoadedModel:
        """Return the loaded model or raise :class:`ModelNotReady` naming the fix."""
        model = self.get()
        if model is None:
            wanted = f"model {self._model_name!r}" if self._model_name else "model"
            raise ModelNotReady(
                f"no {wanted} found in {self._models_dir}: train one with `nlpfeat train` "
                f"(nlpfeat train --features features.parquet --models {self._models_dir})"
            )
        return model


def pad_rows(
    rows: Sequence[tuple[Sequence[int], Sequence[float]]],
) -> tuple[np.ndarray, np.ndarray]:
    """Pad per-row (indices, values) to ``int64 [N, K]`` / ``float32 [N, K]`` with 0 / 0.0."""
    k = max((len(indices) for indices, _ in rows), default=0)
    indices = np.zeros((len(rows), k), dtype=np.int64)
    values = np.zeros((len(rows), k), dtype=np.float32)
    for row, (row_indices, row_values) in enumerate(rows):
        indices[row, : len(row_indices)] = row_indices
        values[row, : len(row_values)] = row_values
    return indices, values

"""Find, load and run the latest version of a model in the `contracts.ModelRepository`.

The repository decides what a version is (complete versions only, highest served, writes in
progress ignored); a version's metadata says which features the model expects: the feature
spec, its hash, the analyzer and any user dictionary, as the feature table recorded them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    ContractError,
    FeatureSpec,
    ModelRepository,
    spec_hash,
)

from ._errors import InvalidInput, ModelLoadError, ModelNotReady

__all__ = ["LoadedModel", "ModelSlot", "find_latest", "load_model"]

_INPUT_NAMES = tuple(t.name for t in ONNX_INPUTS)
_OUTPUT_NAMES = tuple(t.name for t in ONNX_OUTPUTS)


@dataclass(frozen=True)
class LoadedModel:
    """One model version and the single onnxruntime session shared by all requests.

    `spec` and `dictionary` are what to ask the features API for; `spec_hash` is what its
    answer must name (None for a model trained before tables recorded it)."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any]
    session: ort.InferenceSession
    analyzer: str
    spec: FeatureSpec
    spec_hash: str | None = None
    dictionary: str | None = None

    @property
    def num_features(self) -> int:
        return self.spec.num_features

    def run(self, indices: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(probability float32 [N], label int64 [N])``; indices are checked first."""
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_features):
            raise InvalidInput(f"indices must be in [0, {self.num_features})")
        if indices.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        feeds = {INPUT_INDICES: indices.astype(np.int64), INPUT_VALUES: values.astype(np.float32)}
        probability, label = self.session.run([OUTPUT_PROBABILITY, OUTPUT_LABEL], feeds)
        return probability, label


def find_latest(repository: ModelRepository, model_name: str | None) -> tuple[str, int] | None:
    """``(name, version)`` of the highest version of the named (or first sorted) model."""
    try:
        names = [model_name] if model_name is not None else repository.names()
        for name in names:
            version = repository.latest(name)
            if version is not None:
                return name, version
    except ContractError as exc:
        raise ModelLoadError(f"cannot list models in {repository.root}: {exc}") from exc
    return None


def load_model(repository: ModelRepository, name: str, version: int) -> LoadedModel:
    """Load a version's metadata and ONNX graph (CPU provider)."""
    version_dir = repository.version_dir(name, version)
    try:
        metadata = repository.read_metadata(name, version)
        analyzer = str(metadata["analyzer"])
        spec = _spec(metadata)
        recorded = metadata.get("spec_hash")
        if recorded is not None and recorded != spec_hash(spec, analyzer):
            raise ValueError(f"spec_hash {recorded} does not match its spec and analyzer")
    except (ContractError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"cannot read the metadata of {version_dir}: {exc!r}") from exc
    model_path = repository.model_path(name, version)
    try:
        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's pybind errors share no base class but Exception
        raise ModelLoadError(f"cannot load {model_path}: {exc}") from exc
    inputs = tuple(i.name for i in session.get_inputs())
    outputs = tuple(o.name for o in session.get_outputs())
    if sorted(inputs) != sorted(_INPUT_NAMES) or sorted(outputs) != sorted(_OUTPUT_NAMES):
        raise ModelLoadError(
            f"{version_dir}: expected inputs {_INPUT_NAMES}, outputs {_OUTPUT_NAMES}"
        )
    return LoadedModel(
        name=name,
        version=version,
        path=version_dir,
        metadata=metadata,
        session=session,
        analyzer=analyzer,
        spec=spec,
        spec_hash=recorded,
        dictionary=metadata.get("user_dictionary"),
    )


def _spec(metadata: dict[str, Any]) -> FeatureSpec:
    """The version's feature spec; a model from before specs were recorded has only
    ``num_features``, and was featurized with the default spec."""
    num_features = int(metadata["num_features"])
    if "spec" not in metadata:
        return FeatureSpec(num_features=num_features)
    spec = FeatureSpec.from_json(metadata["spec"])
    if spec.num_features != num_features:
        raise ValueError(f"spec has {spec.num_features} features, metadata {num_features}")
    return spec


class ModelSlot:
    """Holds the served model. Loaded in the app lifespan; while empty, :meth:`get` looks
    again, so a model trained after startup is picked up without a restart."""

    def __init__(self, models_dir: Path, model_name: str | None) -> None:
        self._repository = ModelRepository(models_dir)
        self._model_name = model_name
        self._model: LoadedModel | None = None
        self._lock = threading.Lock()

    def get(self) -> LoadedModel | None:
        """Return the loaded model, trying to load the latest one if none is loaded yet."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    found = find_latest(self._repository, self._model_name)
                    if found is not None:
                        self._model = load_model(self._repository, *found)
        return self._model

    def require(self) -> LoadedModel:
        """Return the loaded model or raise :class:`ModelNotReady` naming the fix."""
        model = self.get()
        if model is None:
            wanted = f"model {self._model_name!r}" if self._model_name else "model"
            models_dir = self._repository.root
            raise ModelNotReady(
                f"no {wanted} found in {models_dir}: train one with `nlpfeat train` "
                f"(nlpfeat train --features features.parquet --models {models_dir})"
            )
        return model

"""Load and run one version of a model in the `contracts.ModelRepository`.

The repository decides what a version is (complete versions only, writes in progress
ignored); a version's metadata says which features the model expects: the feature spec, its
hash, the analyzer and any user dictionary, as the feature table recorded them. Which version
to load is `serving._lifecycle`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from starlette.concurrency import run_in_threadpool

from contracts import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    FeatureSpec,
    ModelRepository,
    RepositoryError,
    spec_hash,
)

from ._errors import InvalidInput, ModelLoadError

__all__ = ["INLINE_ELEMENTS", "LoadedModel", "load_model", "run_model"]

INLINE_ELEMENTS = 16_384
"""Inputs up to this many elements run on the event loop: a few tens of microseconds, less
than the hop to a worker thread and back."""
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


async def run_model(
    model: LoadedModel, indices: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`LoadedModel.run`, in a worker thread when the input is large."""
    if indices.size <= INLINE_ELEMENTS:
        return model.run(indices, values)
    return await run_in_threadpool(model.run, indices, values)


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
    except (RepositoryError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"cannot read the metadata of {version_dir}: {exc!r}") from exc
    model_path = repository.model_path(name, version)
    try:
        session = ort.InferenceSession(
            str(model_path), _session_options(), providers=["CPUExecutionProvider"]
        )
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


def _session_options() -> ort.SessionOptions:
    """One thread per run: a request is a few gathers and sums, which a thread pool only
    slows down (and requests run side by side already)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def _spec(metadata: dict[str, Any]) -> FeatureSpec:
    """The version's feature spec; a model from before specs were recorded has only
    ``num_features``, and was featurized with the spec of that time (morpheme 1-2-grams, no
    character n-grams), not today's default."""
    num_features = int(metadata["num_features"])
    if "spec" not in metadata:
        return FeatureSpec.from_json({"ngram_range": [1, 2], "num_features": num_features})
    spec = FeatureSpec.from_json(metadata["spec"])
    if spec.num_features != num_features:
        raise ValueError(f"spec has {spec.num_features} features, metadata {num_features}")
    return spec

"""``POST /v1/predict``: texts -> features through the proxy -> the ONNX model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from contracts import headers, pad_rows

from ._deps import FeaturesDep, MetricsDep, ModelsDep, PredictLimitDep, SettingsDep
from ._errors import InvalidInput
from ._model import LoadedModel, run_model
from ._responses import FastJSONResponse

__all__ = ["router"]

router = APIRouter(tags=["predict"])


class PredictRequest(BaseModel):
    """Texts to classify, answered in order, by `model` (default: the only one served)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(examples=[["정말 재미있어요", "시간 낭비"]])
    model: str | None = None


class _RowError(Exception):
    def __init__(self, type_: str, detail: str) -> None:
        super().__init__(detail)
        self.entry = {"error": {"type": type_, "detail": detail}}


@router.post(
    "/v1/predict",
    response_class=FastJSONResponse,
    responses={503: {"description": "no model loaded, or too many requests in flight"}},
)
async def predict(
    body: PredictRequest,
    models: ModelsDep,
    client: FeaturesDep,
    settings: SettingsDep,
    limit: PredictLimitDep,
    metrics: MetricsDep,
) -> FastJSONResponse:
    """Classify each text; a text whose features failed gets an ``error`` entry instead.
    Features are asked for with the model's own spec and dictionary. The version that
    answers is taken once, so a promotion meanwhile does not mix two versions in one answer."""
    with limit.slot():
        model = models.require(body.model)
        with metrics.track("predict", model):
            if len(body.texts) > settings.max_texts:
                raise InvalidInput(
                    f"at most {settings.max_texts} texts per request, got {len(body.texts)}"
                )
            predictions: list[dict[str, Any]] = []
            if body.texts:
                results = await client.features(
                    body.texts, model.analyzer, model.spec, dictionary=model.dictionary
                )
                predictions = await _predict_rows(model, results)
    version = str(model.version)
    return FastJSONResponse(
        {"model": model.name, "model_version": version, "predictions": predictions},
        headers={headers.MODEL_VERSION: version},
    )


async def _predict_rows(model: LoadedModel, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    predictions: list[dict[str, Any]] = [{} for _ in results]
    rows: list[tuple[list[int], list[float]]] = []
    positions: list[int] = []
    for position, result in enumerate(results):
        try:
            rows.append(_row(result, model.num_features))
            positions.append(position)
        except _RowError as exc:
            predictions[position] = exc.entry
    if rows:
        indices, values = pad_rows(rows)
        probability, label = await run_model(model, indices, values)
        for position, p, y in zip(positions, probability.tolist(), label.tolist(), strict=True):
            predictions[position] = {"label": int(y), "probability": float(p)}
    return predictions


def _row(result: dict[str, Any], num_features: int) -> tuple[list[int], list[float]]:
    """Validate one upstream result; raise _RowError for an error entry."""
    error = result.get("error")
    if error:
        if isinstance(error, dict):
            raise _RowError(str(error.get("type", "Error")), str(error.get("detail", "")))
        raise _RowError("Error", str(error))
    indices, values = result.get("indices"), result.get("values")
    if not isinstance(indices, list) or not isinstance(values, list) or len(indices) != len(values):
        raise _RowError("InvalidFeatures", "features API result lacks matching indices/values")
    if not all(isinstance(i, int) and 0 <= i < num_features for i in indices):
        raise _RowError("InvalidFeatures", f"feature indices outside [0, {num_features})")
    if not all(isinstance(v, int | float) for v in values):
        raise _RowError("InvalidFeatures", "feature values must be numbers")
    return indices, values

"""Serve a trained sentiment model: texts -> features API (through the proxy) -> ONNX.

``create_app(settings)`` builds the FastAPI app (``/v1/predict`` and the KServe v2
endpoints); ``run(settings)`` serves it with uvicorn. Models are read from the
`contracts.ModelRepository` ``nlpfeat train`` writes; features come over HTTP from
``POST /v1/features``, asked for with the model's own feature spec.
"""

from ._app import create_app, run
from ._client import FeaturesClient
from ._errors import ServingError
from ._settings import ServingSettings

__all__ = ["FeaturesClient", "ServingError", "ServingSettings", "create_app", "run"]

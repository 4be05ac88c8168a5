from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from nlp_api._deps import RegistryDep, SettingsDep
from nlp_api._features import TERM_FORMAT
from nlp_api._schemas import AnalyzeRequest, AnalyzeResponse, FeaturesRequest, FeaturesResponse
from nlp_api._service import analyze, check_limits, featurize

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["analysis"])


def _json(body: dict) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/analyze", response_model=AnalyzeResponse)
def analyze_docs(req: AnalyzeRequest, registry: RegistryDep, settings: SettingsDep) -> Response:
    """Morphemes with POS tags for each doc, in order; a failed doc gets an `error` entry."""
    check_limits(req.docs, max_docs=settings.max_docs, max_doc_chars=settings.max_doc_chars)
    analyzer, _ = registry.get(req.analyzer)
    return _json(
        {
            "analyzer": analyzer.name,
            "analyzer_version": analyzer.version,
            "results": analyze(registry, req.analyzer, req.docs),
        }
    )


@router.post("/features", response_model=FeaturesResponse)
def features(req: FeaturesRequest, registry: RegistryDep, settings: SettingsDep) -> Response:
    """Hashed morpheme uni+bi-gram counts per doc (Spark HashingTF-compatible indices)."""
    check_limits(req.docs, max_docs=settings.max_docs, max_doc_chars=settings.max_doc_chars)
    analyzer, _ = registry.get(req.analyzer)
    results = featurize(
        registry,
        req.analyzer,
        req.docs,
        num_features=req.num_features,
        return_terms=req.return_terms,
        return_tokens=req.return_tokens,
    )
    return _json(
        {
            "analyzer": analyzer.name,
            "analyzer_version": analyzer.version,
            "num_features": req.num_features,
            "term_format": TERM_FORMAT,
            "results": results,
        }
    )

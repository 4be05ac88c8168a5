from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import Response

from nlp_api._deps import MetricsDep, RegistryDep, SettingsDep
from nlp_api._features import TERM_FORMAT
from nlp_api._schemas import AnalyzeRequest, AnalyzeResponse, FeaturesRequest, FeaturesResponse
from nlp_api._service import analyze, check_limits, featurize
from nlp_api._turns import REQUEST_CLASS_HEADER

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["analysis"])

RequestClass = Annotated[
    str | None,
    Header(
        alias=REQUEST_CLASS_HEADER,
        description="interactive: served between the docs of batches in progress (the proxy "
        "sets it from the client's class)",
    ),
]


def _json(body: dict) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/analyze", response_model=AnalyzeResponse)
def analyze_docs(
    req: AnalyzeRequest,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_class: RequestClass = None,
) -> Response:
    """Per doc, in order: POS-tagged morphemes (`op=pos`), their forms (`morphs`) or the nouns
    (`nouns`, by the analyzer's tagset). A doc that fails gets an `error` entry instead."""
    check_limits(req.docs, max_docs=settings.max_docs, max_doc_chars=settings.max_doc_chars)
    lease = registry.get(req.analyzer, req.dictionary)
    with metrics.track(req.analyzer, req.op) as track:
        results = analyze(
            lease,
            req.docs,
            op=req.op,
            options=dict(req.options),
            urgent=request_class == "interactive",
        )
        track(results)
    a = lease.analyzer
    return _json(
        {
            "analyzer": a.name,
            "analyzer_version": a.version,
            "dictionary": a.dictionary,
            "op": req.op,
            "results": results,
        }
    )


@router.post("/features", response_model=FeaturesResponse)
def features(
    req: FeaturesRequest,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_class: RequestClass = None,
) -> Response:
    """Hashed morpheme n-gram features per doc under a feature spec; indices equal Spark ML
    HashingTF's for the same term strings. The spec and its hash come back with them."""
    check_limits(req.docs, max_docs=settings.max_docs, max_doc_chars=settings.max_doc_chars)
    spec = req.feature_spec()
    lease = registry.get(req.analyzer, req.dictionary)
    with metrics.track(req.analyzer, "features") as track:
        results = featurize(
            lease,
            req.docs,
            spec,
            options=dict(req.options),
            return_terms=req.return_terms,
            return_tokens=req.return_tokens,
            urgent=request_class == "interactive",
        )
        track(results)
    a = lease.analyzer
    return _json(
        {
            "analyzer": a.name,
            "analyzer_version": a.version,
            "dictionary": a.dictionary,
            "num_features": spec.num_features,
            "term_format": TERM_FORMAT,
            "spec": spec.model_dump(mode="json"),
            "spec_hash": spec.digest(a.name),
            "results": results,
        }
    )

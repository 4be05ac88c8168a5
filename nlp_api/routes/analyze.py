"""`/v1/analyze` and `/v1/features`: one handler body, answers encoded straight to bytes.

The handlers return `Response` objects (orjson, no pydantic on the way out: a batch answer has
tens of thousands of tokens); the declared `response_model`s document the answers in OpenAPI
and the route tests validate what is sent against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from contracts import TERM_FORMAT, headers, spec_hash
from nlp_api._deps import MetricsDep, RegistryDep, SettingsDep
from nlp_api._registry import Lease
from nlp_api._schemas import AnalyzeRequest, AnalyzeResponse, FeaturesRequest, FeaturesResponse
from nlp_api._service import Result, analyze, check_limits, featurize
from nlp_api._turns import HELD

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["analysis"])

RequestClass = Annotated[
    str | None,
    Header(
        alias=headers.REQUEST_CLASS,
        description=f"{headers.INTERACTIVE}: served between the docs of batches in progress "
        "(the proxy sets it from the client's class)",
    ),
]
Work = Callable[[Lease, bool], list[Result]]
"""(lease, urgent) -> one result per doc."""


async def _answer(
    req: AnalyzeRequest | FeaturesRequest,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_class: str | None,
    op: str,
    work: Work,
    head: dict[str, Any],
) -> Response:
    """Check the limits, run `work` on the leased analyzer, and answer what produced the
    results (analyzer, version, dictionaries), `head`, then the results.

    A short request to a free in-process analyzer (`Analyzer.inline_chars`) runs right here on
    the event loop: a thread-pool hop costs more than mecab's work on a sentence. Anything
    else, or when the analyzer is busy, runs in the thread pool and takes its turn there."""
    check_limits(req.docs, max_docs=settings.max_docs, max_doc_chars=settings.max_doc_chars)
    lease = registry.get(req.analyzer, req.dictionary)
    urgent = request_class == headers.INTERACTIVE
    a, user = lease.analyzer, lease.user_dictionary
    top = {
        "analyzer": a.name,
        "analyzer_version": a.version,
        "dictionary": a.dictionary,
        "user_dictionary": None if user is None else user.to_json(),
        **head,
    }

    def answer(used: Lease) -> tuple[list[Result], bytes]:
        results = work(used, urgent)
        return results, orjson.dumps({**top, "results": results})

    with metrics.track(req.analyzer, op) as track:
        done = None
        if sum(map(len, req.docs)) <= a.inline_chars:
            with lease.turns.turn_if_free() as held:
                if held:
                    done = answer(Lease(a, HELD, user))
        if done is None:  # the body of a big batch is encoded off the event loop too
            done = await run_in_threadpool(answer, lease)
        track(done[0])
    return Response(done[1], media_type="application/json")


@router.post("/analyze", response_model=AnalyzeResponse)
async def analyze_docs(
    req: AnalyzeRequest,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_class: RequestClass = None,
) -> Response:
    """Per doc, in order: POS-tagged morphemes (`op=pos`), their forms (`morphs`) or the nouns
    (`nouns`, by the analyzer's tagset). A doc that fails gets an `error` entry instead."""

    def work(lease: Lease, urgent: bool) -> list[Result]:
        return analyze(lease, req.docs, op=req.op, options=dict(req.options), urgent=urgent)

    head = {"op": req.op}
    return await _answer(req, registry, settings, metrics, request_class, req.op, work, head)


@router.post("/features", response_model=FeaturesResponse)
async def features(
    req: FeaturesRequest,
    registry: RegistryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_class: RequestClass = None,
) -> Response:
    """Hashed morpheme n-gram features per doc under a feature spec; indices equal Spark ML
    HashingTF's for the same term strings. The spec and its `spec_hash` come back with them,
    and the user dictionary (name and version) when one is used."""
    spec = req.feature_spec()

    def work(lease: Lease, urgent: bool) -> list[Result]:
        return featurize(
            lease,
            req.docs,
            spec,
            options=dict(req.options),
            return_terms=req.return_terms,
            return_tokens=req.return_tokens,
            urgent=urgent,
        )

    head = {
        "num_features": spec.num_features,
        "term_format": TERM_FORMAT,
        "spec": spec.to_json(),
        "spec_hash": spec_hash(spec, req.analyzer),
    }
    return await _answer(req, registry, settings, metrics, request_class, "features", work, head)

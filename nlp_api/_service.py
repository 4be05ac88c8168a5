"""Per-document work: analyse each doc, turning one doc's failure into its own error entry."""

from __future__ import annotations

from typing import Any

from nlp_api._errors import PayloadTooLarge
from nlp_api._features import hash_terms, ngram_terms
from nlp_api._registry import Registry
from nlp_api.analyzers import Token

__all__ = ["analyze", "check_limits", "featurize"]

Result = dict[str, Any]


def check_limits(docs: list[str], *, max_docs: int, max_doc_chars: int) -> None:
    if len(docs) > max_docs:
        raise PayloadTooLarge(
            f"{len(docs)} docs in one request; the limit is {max_docs}: split the batch"
        )
    for i, doc in enumerate(docs):
        if len(doc) > max_doc_chars:
            raise PayloadTooLarge(
                f"doc {i} has {len(doc)} characters; the limit is {max_doc_chars}: split it"
            )


def _tokens(registry: Registry, name: str, docs: list[str]) -> list[list[Token] | Result]:
    analyzer, lock = registry.get(name)
    out: list[list[Token] | Result] = []
    with lock:
        for doc in docs:
            try:
                out.append(analyzer.pos(doc))
            except Exception as exc:  # one doc's failure must not fail the batch
                out.append({"error": {"type": "AnalyzerFailed", "detail": f"{name}: {exc!r}"}})
    return out


def _token_dict(t: Token) -> Result:
    d: Result = {"form": t.form, "tag": t.tag}
    if t.start is not None:
        d["start"], d["end"] = t.start, t.end
    return d


def analyze(registry: Registry, name: str, docs: list[str]) -> list[Result]:
    return [
        r if isinstance(r, dict) else {"tokens": [_token_dict(t) for t in r]}
        for r in _tokens(registry, name, docs)
    ]


def featurize(
    registry: Registry,
    name: str,
    docs: list[str],
    *,
    num_features: int,
    return_terms: bool = False,
    return_tokens: bool = False,
) -> list[Result]:
    results: list[Result] = []
    for r in _tokens(registry, name, docs):
        if isinstance(r, dict):
            results.append(r)
            continue
        terms = ngram_terms(r)
        indices, values = hash_terms(terms, num_features)
        result: Result = {"indices": indices, "values": values}
        if return_terms:
            result["terms"] = terms
        if return_tokens:
            result["tokens"] = [f"{t.form}/{t.tag}" for t in r]
        results.append(result)
    return results

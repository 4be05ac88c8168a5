"""Per-request work: check the limits and options, run the docs through the analyzer in turn,
and shape each doc's outcome (its own error entry when it failed) as the answer's result."""

from __future__ import annotations

from typing import Any, Literal

from contracts import FeatureSpec
from nlp_api._errors import BadOption, PayloadTooLarge
from nlp_api._features import doc_features, unigrams
from nlp_api._registry import Lease
from nlp_api.analyzers import Analyzer, Outcome, Token, tag_group

__all__ = ["Op", "Result", "analyze", "check_limits", "check_options", "featurize", "run_pos"]

Result = dict[str, Any]
Op = Literal["pos", "morphs", "nouns"]


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


def check_options(analyzer: Analyzer, options: dict[str, Any]) -> dict[str, Any]:
    allowed = analyzer.options
    for key, value in options.items():
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise BadOption(f"{analyzer.name} takes no option {key!r}; its options: {known}")
        if not isinstance(value, allowed[key].type):
            raise BadOption(f"option {key!r} must be {allowed[key].type.__name__}")
    return options


def run_pos(
    lease: Lease, docs: list[str], options: dict[str, Any], *, urgent: bool = False
) -> list[Outcome]:
    """Tokens or an error entry per doc, in order. A batch (not ``urgent``) lets waiting
    interactive requests use the analyzer between its docs."""
    analyzer = lease.analyzer
    check_options(analyzer, options)
    turns = lease.turns
    with turns.turn(urgent=urgent):
        return analyzer.pos_many(docs, options, give_way=None if urgent else turns.give_way)


def _token_dicts(tokens: list[Token]) -> list[Result]:
    if tokens and tokens[0].start is not None:  # a backend gives offsets for all or none
        return [{"form": f, "tag": g, "start": s, "end": e} for f, g, s, e in tokens]
    return [{"form": f, "tag": g} for f, g, _, _ in tokens]


def analyze(
    lease: Lease,
    docs: list[str],
    *,
    op: Op = "pos",
    options: dict[str, Any] | None = None,
    urgent: bool = False,
) -> list[Result]:
    outcomes = run_pos(lease, docs, options or {}, urgent=urgent)
    nouns = tag_group(lease.analyzer.tagset, "nouns") if op == "nouns" else ()
    results: list[Result] = []
    for r in outcomes:
        if isinstance(r, dict):
            results.append(r)
        elif op == "pos":
            results.append({"tokens": _token_dicts(r)})
        elif op == "morphs":
            results.append({"morphs": [t.form for t in r]})
        else:
            results.append({"nouns": [t.form for t in r if t.tag.startswith(nouns)]})
    return results


def featurize(
    lease: Lease,
    docs: list[str],
    spec: FeatureSpec,
    *,
    options: dict[str, Any] | None = None,
    return_terms: bool = False,
    return_tokens: bool = False,
    urgent: bool = False,
) -> list[Result]:
    tagset = lease.analyzer.tagset
    results: list[Result] = []
    outcomes = run_pos(lease, docs, options or {}, urgent=urgent)
    for doc, r in zip(docs, outcomes, strict=True):
        if isinstance(r, dict):
            results.append(r)
            continue
        terms, indices, values = doc_features(r, spec, tagset, doc)
        result: Result = {"indices": indices, "values": values}
        if return_terms:
            result["terms"] = terms
        if return_tokens:
            result["tokens"] = unigrams(r)
        results.append(result)
    return results

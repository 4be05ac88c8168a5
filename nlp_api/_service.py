"""Per-document work: clean each doc, analyse it, and turn one doc's failure into its own entry."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from nlp_api._errors import BadOption, PayloadTooLarge
from nlp_api._features import hash_terms, ngram_terms
from nlp_api._registry import Lease
from nlp_api._spec import FeatureSpec, select_tokens
from nlp_api.analyzers import Analyzer, Token, tag_group

__all__ = ["Op", "Outcome", "analyze", "check_limits", "clean_text", "featurize", "run_pos"]

Result = dict[str, Any]
Op = Literal["pos", "morphs", "nouns"]
Outcome = list[Token] | Result
_CONTROL = frozenset({"Cc", "Cf", "Zl", "Zp"})
_KEEP = frozenset("\t\n\r")


class InvalidText(ValueError):
    pass


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


def clean_text(text: str) -> str:
    """Control and format characters (NUL, zero-width, bidi marks...) become spaces, one for
    one, so offsets still index the caller's text; lone surrogates are refused."""
    if text.isprintable():  # no control, format, separator or surrogate code points
        return text
    out = []
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            raise InvalidText("the text contains a lone surrogate (not valid Unicode)")
        out.append(" " if ch not in _KEEP and unicodedata.category(ch) in _CONTROL else ch)
    return "".join(out)


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
    many = getattr(analyzer, "pos_many", None)
    if many is not None:  # an isolated analyzer enforces the per-doc time limit itself
        return many(docs, **options)
    out: list[Outcome] = []
    turns = lease.turns
    with turns.turn(urgent=urgent):
        for doc in docs:
            if not urgent:
                turns.give_way()
            try:
                out.append(analyzer.pos(clean_text(doc), **options))
            except InvalidText as exc:
                out.append({"error": {"type": "InvalidText", "detail": str(exc)}})
            except Exception as exc:  # one doc's failure must not fail the batch
                detail = f"{analyzer.name}: {type(exc).__name__}: {exc}"
                out.append({"error": {"type": "AnalyzerFailed", "detail": detail[:500]}})
    return out


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
    for r in run_pos(lease, docs, options or {}, urgent=urgent):
        if isinstance(r, dict):
            results.append(r)
            continue
        terms = ngram_terms(select_tokens(r, spec, tagset), spec.ngram_range)
        indices, values = hash_terms(terms, spec.num_features)
        if spec.binary:
            values = [1.0] * len(values)
        result: Result = {"indices": indices, "values": values}
        if return_terms:
            result["terms"] = terms
        if return_tokens:
            result["tokens"] = [f"{t.form}/{t.tag}" for t in r]
        results.append(result)
    return results

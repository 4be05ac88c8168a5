"""ANALYZE's `report.json`: the one contract between the computing half and the HTML renderer.

Every figure the page shows is here, machine-readable; keys are only ever added, never renamed::

    {"title": str, "created_at": iso str,
     "input": {"path", "format", "rows"}, "compare": {"path", "format", "rows"} | null,
     "sample": {"size": int, "analyzer": str, "analyzer_version": str} | null,
     "summary": {"rows", "null_texts", "empty_texts", "exact_duplicates",
                 "normalized_duplicates", "conflicting_label_texts", "jamo_only",
                 "flagged_rows"},                                   # all ints
     "sections": [{"id": "table"|"text"|"labels"|"groups"|"morphemes"|"drift", "title": str,
         "stats": [{"id", "label", "value": number|str, "exact": bool, "note": str|null,
                    "compare_value": number|str|null}],
         "figures": [{"id", "kind": "histogram", "title", "x_label",
                      "edges": [n+1 floats], "counts": [n ints], "compare_counts": [n]|null}
                   | {"id", "kind": "bar", "title", "categories": [str], "values": [numbers],
                      "compare_values": [...]|null, "x_label"}
                   | {"id", "kind": "table", "title", "columns": [str], "rows": [[cells]]}],
         "findings": [{"id", "severity": "info"|"warn"|"error", "title", "detail",
                       "count": int,
                       "examples": [{"id": str, "text": str (<= 200 chars), "label": int|null}]}]
     }],
     "drift": [{"statistic", "psi": float, "js": float, "threshold": float,
                "verdict": "stable"|"drift"}] | null,
     "flagged": {"path": str, "rows": int, "by_reason": {reason: int}}}

`exact` is false where a statistic comes from the API sample rather than from every row (the
sample's median morphemes per doc is a sketch, `percentile_approx`); every table statistic is
exact: length quantiles from the count of rows at each length, distinct groups from a groupBy.
Histograms of a drift comparison use the same `edges` for both tables;
`compare_counts`/`compare_values` are null without `--compare`.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "BarFigure",
    "DriftRow",
    "Example",
    "Figure",
    "Finding",
    "Flagged",
    "HistogramFigure",
    "Report",
    "SampleInfo",
    "Section",
    "SectionId",
    "Severity",
    "Stat",
    "Summary",
    "TableFigure",
    "TableRef",
]

SectionId = Literal["table", "text", "labels", "groups", "morphemes", "drift"]
Severity = Literal["info", "warn", "error"]
Number = int | float


class TableRef(TypedDict):
    path: str
    format: str
    rows: int


class SampleInfo(TypedDict):
    size: int
    analyzer: str
    analyzer_version: str


class Summary(TypedDict):
    rows: int
    null_texts: int
    empty_texts: int
    exact_duplicates: int
    normalized_duplicates: int
    conflicting_label_texts: int
    jamo_only: int
    flagged_rows: int


class Stat(TypedDict):
    id: str
    label: str
    value: Number | str
    exact: bool
    note: str | None
    compare_value: Number | str | None


class HistogramFigure(TypedDict):
    id: str
    kind: Literal["histogram"]
    title: str
    x_label: str
    edges: list[float]
    counts: list[int]
    compare_counts: list[int] | None


class BarFigure(TypedDict):
    id: str
    kind: Literal["bar"]
    title: str
    categories: list[str]
    values: list[Number]
    compare_values: list[Number] | None
    x_label: str


class TableFigure(TypedDict):
    id: str
    kind: Literal["table"]
    title: str
    columns: list[str]
    rows: list[list[Number | str | None]]


Figure = HistogramFigure | BarFigure | TableFigure


class Example(TypedDict):
    id: str
    text: str
    label: int | None


class Finding(TypedDict):
    id: str
    severity: Severity
    title: str
    detail: str
    count: int
    examples: list[Example]


class Section(TypedDict):
    id: SectionId
    title: str
    stats: list[Stat]
    figures: list[Figure]
    findings: list[Finding]


class DriftRow(TypedDict):
    statistic: str
    psi: float
    js: float
    threshold: float
    verdict: Literal["stable", "drift"]


class Flagged(TypedDict):
    path: str
    rows: int
    by_reason: dict[str, int]


class Report(TypedDict):
    title: str
    created_at: str
    input: TableRef
    compare: TableRef | None
    sample: SampleInfo | None
    summary: Summary
    sections: list[Section]
    drift: list[DriftRow] | None
    flagged: Flagged

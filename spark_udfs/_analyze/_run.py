"""`analyze(spark, input_cfg, ...)`: read, mark every row once (cached), aggregate in a few
Spark jobs, write `report.json` (+ `report.html` when the renderer is there) and the flagged
ids (`DIR/flagged/`, Parquet `id`, `reasons`), written by Spark and never collected."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from spark_udfs._analyze import _sections as S
from spark_udfs._analyze._drift import drift_row
from spark_udfs._analyze._labels import GROUP, group_stats, label_stats
from spark_udfs._analyze._morph import analyze_sample, draw_sample, term_stats
from spark_udfs._analyze._rows import (
    EXAMPLES,
    FLAG_REASONS,
    flag,
    flagged,
    mark_rows,
    reasons,
    table_aggregates,
)
from spark_udfs._errors import InputError
from spark_udfs._input import ID, LABEL, TEXT, read_input
from spark_udfs._job import InputConfig

__all__ = ["analyze"]

FINDING_FLAGS = {
    "null_texts": "null",
    "empty_texts": "empty",
    "exact_duplicates": "exact_duplicate",
    "conflicting_rows": "conflicting_label",
    "jamo_only": "jamo_only",
    "punct_only": "punct_only",
    "repeated_char": "repeated_char",
    "latin_only": "latin_only",
    "rows_control": "has_control",
}
"""Finding (a key of the report) -> the row flag (`_rows.FLAGS`) whose rows exemplify it."""


def _read(spark: SparkSession, cfg: InputConfig, group_col: str | None) -> DataFrame:
    extra = None if group_col is None else {GROUP: (group_col, "--group-col")}
    return read_input(spark, cfg, extra=extra)


def _examples(
    marked: DataFrame, raw: DataFrame, near_duplicates: list[Any]
) -> dict[str, list[dict[str, Any]]]:
    """Up to `EXAMPLES` rows (smallest ids) per finding, in one job over the marked rows; their
    texts (the marked rows have none) from one read of the input filtered on those ids.
    Normalized duplicates show near duplicates (equal to an earlier text only once normalized)
    where there are any, else exact ones."""
    # per finding its smallest ids, from one aggregation over two cached columns (min_by with
    # k keeps the k smallest in every partition: no sort of the table)
    firsts = marked.agg(
        *[
            F.min_by(ID, F.when(flag(name), F.col(ID)), EXAMPLES).alias(key)
            for key, name in FINDING_FLAGS.items()
        ]
    ).first()
    picked = [(key, i) for key in FINDING_FLAGS for i in (firsts[key] if firsts else None) or []]
    near = near_duplicates or [i for f, i in picked if f == "exact_duplicates"]
    picked += [("normalized_duplicates", i) for i in near]
    ids = sorted({i for _, i in picked})
    found = (
        {
            r[ID]: (r[TEXT], r[LABEL])
            for r in raw.where(F.col(ID).isin(ids))
            .select(ID, F.substring(F.coalesce(TEXT, F.lit("")), 1, 200).alias(TEXT), LABEL)
            .collect()
        }
        if ids
        else {}
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for f, i in sorted(picked, key=lambda p: (p[0], p[1])):
        text, label = found.get(i, ("", None))
        out.setdefault(f, []).append({"id": i, "text": text, "label": label})
    return out


@contextmanager
def _steps(enabled: bool, console: Console | None) -> Iterator[Any]:
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]analyze[/] {task.description}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not enabled,
    )
    with bar:
        task = bar.add_task("reading", total=None)
        yield lambda text: bar.update(task, description=text)


def _mark(
    spark: SparkSession, cfg: InputConfig, group_col: str | None
) -> tuple[DataFrame, dict[str, Any], DataFrame]:
    """The marked rows, cached, their table aggregates, and the rows as read (for the few
    jobs that need texts: examples, the morpheme sample): the aggregation is the job that
    reads the input and fills the cache, so the rows are marked once."""
    try:
        raw = _read(spark, cfg, group_col)
        marked = mark_rows(raw).persist(StorageLevel.MEMORY_AND_DISK)
        aggregates = table_aggregates(marked)
    except AnalysisException as exc:
        raise InputError(f"cannot read {cfg.path}: {str(exc).splitlines()[0][:300]}") from exc
    if aggregates["rows"] == 0:
        marked.unpersist()
        raise InputError(f"{cfg.path} has no rows: point --input at a table with data")
    return marked, aggregates, raw


def analyze(
    spark: SparkSession,
    input_cfg: InputConfig,
    *,
    compare_cfg: InputConfig | None = None,
    group_col: str | None = None,
    report_dir: str | Path,
    proxy_url: str | None = None,
    api_key: str | None = None,
    sample: int = 2000,
    analyzer: str = "mecab",
    progress: bool = True,
    min_group_rows: int = 20,
    console: Console | None = None,
) -> dict[str, Any]:
    """The report (also written to `report_dir`); raises `InputError` naming the fix."""
    out = Path(report_dir)
    with _steps(progress, console) as step:
        step("table and text statistics (one pass over the rows)")
        marked, a, raw = _mark(spark, input_cfg, group_col)
        cmarked, c, craw = _mark(spark, compare_cfg, None) if compare_cfg else (None, None, None)
        try:
            step("labels")
            lab = label_stats(marked)
            clab = label_stats(cmarked) if cmarked is not None else None
            labels = sorted(int(k) for k in lab["counts"] if k != "null")
            target = max(labels) if labels else 1
            step("examples")
            ex = _examples(marked, raw, a["near_duplicate_ids"])
            sections = [
                S.section_table(a, c, ex),
                S.section_text(a, c, ex),
                S.section_labels(lab, clab),
            ]
            if group_col:
                step(f"groups ({group_col})")
                g = group_stats(marked, target, min_group_rows)
                sections.append(S.section_groups(g, group_col, a["rows"], target, min_group_rows))
            m = cm = None
            if sample > 0 and proxy_url:
                step(f"morphemes: {sample} docs through {proxy_url}")
                m = _morphemes(raw, a, sample, proxy_url, analyzer, api_key, labels)
                if craw is not None and c is not None:
                    cm = _morphemes(craw, c, sample, proxy_url, analyzer, api_key, labels)
                sections.append(S.section_morphemes(m, cm, sample))
            step("flagged rows")
            flagged_path = out / "flagged"
            (
                marked.where(flagged())
                .select(ID, reasons().alias("reasons"))
                .write.mode("overwrite")
                .parquet(str(flagged_path))
            )
        finally:
            marked.unpersist()
            if cmarked is not None:
                cmarked.unpersist()
    drift = None
    if c is not None and compare_cfg is not None and clab is not None:
        drift = _drift(a, c, lab, clab, m, cm)
        shift = _term_shift(m, cm) if m and cm else []
        sections.append(S.section_drift(drift, compare_cfg.path, shift))
    report = {
        "title": f"ANALYZE {Path(input_cfg.path.rstrip('/')).name}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": _ref(input_cfg, a["rows"]),
        "compare": _ref(compare_cfg, c["rows"]) if compare_cfg and c else None,
        "sample": None
        if m is None
        else {"size": m["docs"], "analyzer": analyzer, "analyzer_version": m["version"]},
        "summary": {
            k: int(a[k])
            for k in (
                "rows",
                "null_texts",
                "empty_texts",
                "exact_duplicates",
                "normalized_duplicates",
                "conflicting_label_texts",
                "jamo_only",
                "flagged_rows",
            )
        },
        "sections": sections,
        "drift": drift,
        "flagged": {
            "path": str(flagged_path),
            "rows": int(a["flagged_rows"]),
            "by_reason": {r: int(a[f"reason_{r}"]) for r in FLAG_REASONS},
        },
    }
    _write(out, report)
    return report


def _ref(cfg: InputConfig, rows: int) -> dict[str, Any]:
    return {"path": cfg.path, "format": cfg.resolved_format(), "rows": int(rows)}


def _morphemes(
    raw: DataFrame,
    aggregates: dict[str, Any],
    size: int,
    url: str,
    analyzer: str,
    key: str | None,
    labels: list[int],
) -> dict[str, Any]:
    usable = aggregates["rows"] - aggregates["null_texts"] - aggregates["empty_texts"]
    drawn = draw_sample(raw, size, usable)
    tagged = analyze_sample(drawn, url, analyzer, key)
    checkpoints = sorted({max(1, size >> k) for k in range(8)})
    return term_stats(tagged, labels, checkpoints)


def _drift(a: dict, c: dict, lab: dict, clab: dict, m: dict | None, cm: dict | None) -> list:
    rows = [
        drift_row("chars", a["chars_counts"], c["chars_counts"]),
        drift_row("eojeol", a["eojeol_counts"], c["eojeol_counts"]),
        drift_row("hangul_share", a["hangul_counts"], c["hangul_counts"]),
        drift_row("text_kind", a["kind_counts"], c["kind_counts"]),
    ]
    cats = sorted(set(lab["counts"]) | set(clab["counts"]))
    rows.append(
        drift_row(
            "label",
            [lab["counts"].get(k, 0) for k in cats],
            [clab["counts"].get(k, 0) for k in cats],
        )
    )
    if m and cm:
        rows.append(drift_row("morphemes_per_doc", m["hist"], cm["hist"]))
        terms = sorted(set(list(m["top_counts"])[:50]) | set(list(cm["top_counts"])[:50]))
        p = [m["top_counts"].get(t, 0) for t in terms] + [
            m["tokens"] - sum(m["top_counts"].get(t, 0) for t in terms)
        ]
        q = [cm["top_counts"].get(t, 0) for t in terms] + [
            cm["tokens"] - sum(cm["top_counts"].get(t, 0) for t in terms)
        ]
        rows.append(drift_row("top_terms", p, q))
    return rows


def _term_shift(m: dict, cm: dict) -> list[list[Any]]:
    terms = set(list(m["top_counts"])[:20]) | set(list(cm["top_counts"])[:20])
    out = []
    for t in terms:
        p = m["top_counts"].get(t, 0) / max(m["tokens"], 1)
        q = cm["top_counts"].get(t, 0) / max(cm["tokens"], 1)
        ratio = math.log((q + 1e-6) / (p + 1e-6))
        out.append([t, round(p, 6), round(q, 6), round(ratio, 3)])
    return sorted(out, key=lambda r: -abs(r[3]))[:20]


def _write(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), "utf-8")
    try:
        from spark_udfs._analyze._render import render_html
    except ImportError:
        return
    (out / "report.html").write_text(render_html(report), "utf-8")

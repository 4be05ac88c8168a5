"""Per-row facts about the text, and the one aggregation pass over them.

`mark_rows` adds cheap per-row columns (lengths, script counts, kinds of junk, duplicate ranks,
label conflicts) without leaving Spark; `table_aggregates` turns every table and text statistic
into ONE `df.agg(...)` (histograms as `sum(when(bucket == i, 1))`), so the driver receives a
single row of numbers.

Definitions (the tests restate them in plain Python):

- *visible*: the text without whitespace; *core*: visible without punctuation and symbols
  (Unicode `P*`/`S*`).
- null: the text is null; empty: not null and nothing visible.
- jamo-only: core is not empty and only compatibility or conjoining jamo (ㅋㅋㅋ, ㅠㅠ).
- punctuation-only: visible is not empty and core is empty.
- repeated character: visible is one character three or more times.
- Latin-only: core is only ASCII letters and digits, with at least one letter.
- exact duplicate: a row whose text (with something visible) equals a row with a smaller id;
  normalized duplicate: the same for `_filters.normalized(text)` when that is not empty.
- conflicting label: texts (with something visible) seen with more than one label; every row
  of such a text counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark_udfs._filters import normalized
from spark_udfs._input import ID, LABEL, TEXT

__all__ = [
    "CHAR_EDGES",
    "EOJEOL_EDGES",
    "FLAG_REASONS",
    "HANGUL_EDGES",
    "KIND_NAMES",
    "SCRIPTS",
    "bucket",
    "mark_rows",
    "table_aggregates",
]

HANGUL_SYLLABLES = "\uac00-\ud7a3"
JAMO = "\u3131-\u318e\u1100-\u11ff"
EMOJI = "\\x{1F000}-\\x{1FAFF}\\x{2600}-\\x{27BF}\\x{FE0F}"
CONTROL = "[\\p{Cc}\\p{Cf}&&[^\\t\\n\\r]]"

CHAR_EDGES = [
    0,
    1,
    5,
    10,
    20,
    30,
    40,
    50,
    60,
    70,
    80,
    90,
    100,
    120,
    140,
    160,
    200,
    300,
    500,
    1000,
    2000,
    5000,
    10000,
]
EOJEOL_EDGES = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 200, 500, 1000]
HANGUL_EDGES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
SCRIPTS = ["hangul", "jamo", "latin", "digit", "emoji", "control"]
KIND_NAMES = ["text", "null", "empty", "jamo_only", "punct_only", "latin_only"]
FLAG_REASONS = [
    "null",
    "empty",
    "jamo_only",
    "punct_only",
    "repeated_char",
    "exact_duplicate",
    "conflicting_label",
]


def _count(text: Column, chars: str) -> Column:
    return F.length(F.regexp_replace(text, f"[^{chars}]", ""))


def bucket(x: Column, edges: Sequence[float]) -> Column:
    """Index of the bin `[edges[i], edges[i+1])` holding x; the last bin is closed and also
    takes everything above the last edge (its upper edge becomes the observed maximum)."""
    idx: Column = F.lit(0)
    for edge in edges[1:-1]:
        idx = idx + (x >= F.lit(edge)).cast("int")
    return idx


def mark_rows(df: DataFrame, group_col: str | None = None) -> DataFrame:
    """`(id, text, label[, group])` plus the per-row columns the statistics need."""
    text = F.col(TEXT)
    safe = F.coalesce(text, F.lit(""))
    visible = F.regexp_replace(safe, r"\s+", "")
    core = F.regexp_replace(visible, r"[\p{P}\p{S}]+", "")
    norm = normalized(text)
    base = df.select(
        "*",
        visible.alias("_visible"),
        core.alias("_core"),
        norm.alias("_norm"),
    )
    vis, cor = F.col("_visible"), F.col("_core")
    nvis = F.length(vis)
    has_text = text.isNotNull() & (nvis > 0)
    eojeol = F.when(has_text, F.size(F.split(F.trim(safe), r"\s+"))).otherwise(F.lit(0))
    by_text = Window.partitionBy(F.when(has_text, text)).orderBy(F.col(ID))
    by_norm = Window.partitionBy(F.when(has_text & (F.length("_norm") > 0), F.col("_norm")))
    by_text_all = by_text.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    hangul = _count(safe, HANGUL_SYLLABLES)
    cols = {
        "_null": text.isNull(),
        "_empty": text.isNotNull() & (nvis == 0),
        "_chars": F.length(text),
        "_nvis": nvis,
        "_eojeol": eojeol,
        "_hangul": hangul,
        "_hangul_share": F.when(nvis > 0, hangul / nvis),
        "_has_hangul": hangul > 0,
        "_has_jamo": safe.rlike(f"[{JAMO}]"),
        "_has_latin": safe.rlike("[A-Za-z]"),
        "_has_digit": safe.rlike("[0-9]"),
        "_has_emoji": safe.rlike(f"[{EMOJI}]"),
        "_has_control": safe.rlike(CONTROL),
        "_jamo_only": (F.length(cor) > 0) & cor.rlike(f"^[{JAMO}]+$"),
        "_punct_only": (nvis > 0) & (F.length(cor) == 0),
        "_repeated": (nvis >= 3) & vis.rlike(r"^(.)\1+$"),
        "_latin_only": cor.rlike("^[A-Za-z0-9]+$") & cor.rlike("[A-Za-z]"),
        "_exact_dup": has_text & (F.row_number().over(by_text) > 1),
        "_norm_dup": has_text
        & (F.length("_norm") > 0)
        & (F.row_number().over(by_norm.orderBy(F.col(ID))) > 1),
        "_conflict": has_text & (F.min(LABEL).over(by_text_all) != F.max(LABEL).over(by_text_all)),
    }
    marked = base.select("*", *[c.alias(name) for name, c in cols.items()])
    marked = marked.withColumn("_conflict", F.coalesce(F.col("_conflict"), F.lit(False)))
    marked = marked.select(
        "*",
        bucket(F.col("_chars"), CHAR_EDGES).alias("_chars_b"),
        bucket(F.col("_eojeol"), EOJEOL_EDGES).alias("_eojeol_b"),
        bucket(F.col("_hangul_share"), HANGUL_EDGES).alias("_hangul_b"),
        F.when(F.col("_null"), 1)
        .when(F.col("_empty"), 2)
        .when(F.col("_jamo_only"), 3)
        .when(F.col("_punct_only"), 4)
        .when(F.col("_latin_only"), 5)
        .otherwise(0)
        .alias("_kind"),
    )
    reasons = F.filter(
        F.array(*[F.when(F.col(f"_{_flag_col(r)}"), F.lit(r)) for r in FLAG_REASONS]),
        lambda r: r.isNotNull(),
    )
    return marked.withColumn("_reasons", reasons).drop("_visible", "_core", "_norm")


def _flag_col(reason: str) -> str:
    return {
        "exact_duplicate": "exact_dup",
        "conflicting_label": "conflict",
        "repeated_char": "repeated",
    }.get(reason, reason)


def _hist(name: str, x: Column, edges: Sequence[float]) -> list[Column]:
    b = F.col(f"_{name}_b")
    return [
        F.sum(F.when(x.isNotNull() & (b == i), 1).otherwise(0)).alias(f"{name}_h{i}")
        for i in range(len(edges) - 1)
    ]


def table_aggregates(marked: DataFrame) -> dict[str, Any]:
    """Every table and text statistic of `marked` from one `agg` (one Spark job)."""
    c = F.col
    has_text = ~c("_null") & ~c("_empty")
    chars = F.when(~c("_null"), c("_chars"))
    eoj = F.when(has_text, c("_eojeol"))
    n = lambda cond: F.sum(F.when(cond, 1).otherwise(0))  # noqa: E731
    exprs = [
        F.count(F.lit(1)).alias("rows"),
        n(c("_null")).alias("null_texts"),
        n(c("_empty")).alias("empty_texts"),
        n(c("_exact_dup")).alias("exact_duplicates"),
        n(c("_norm_dup")).alias("normalized_duplicates"),
        n(c("_conflict")).alias("conflicting_rows"),
        n(c("_conflict") & ~c("_exact_dup")).alias("conflicting_label_texts"),
        n(has_text & ~c("_exact_dup")).alias("distinct_texts"),
        n(c("_jamo_only")).alias("jamo_only"),
        n(c("_punct_only")).alias("punct_only"),
        n(c("_repeated")).alias("repeated_char"),
        n(c("_latin_only")).alias("latin_only"),
        n(c("_has_hangul") & c("_has_latin")).alias("mixed_script_rows"),
        n(F.size("_reasons") > 0).alias("flagged_rows"),
        F.sum(c("_hangul")).alias("hangul_chars"),
        F.sum(c("_nvis")).alias("visible_chars"),
        F.avg(chars).alias("chars_mean"),
        F.max(chars).alias("chars_max"),
        F.percentile_approx(chars, [0.5, 0.9, 0.99], 10000).alias("chars_q"),
        F.avg(eoj).alias("eojeol_mean"),
        F.max(eoj).alias("eojeol_max"),
        F.percentile_approx(eoj, [0.5, 0.9, 0.99], 10000).alias("eojeol_q"),
        n(c(LABEL).isNotNull()).alias("labelled_rows"),
    ]
    exprs += [n(c(f"_has_{s}")).alias(f"rows_{s}") for s in SCRIPTS]
    exprs += [n(c(f"_{_flag_col(r)}")).alias(f"reason_{r}") for r in FLAG_REASONS]
    exprs += _hist("chars", chars, CHAR_EDGES)
    exprs += _hist("eojeol", eoj, EOJEOL_EDGES)
    exprs += _hist("hangul", c("_hangul_share"), HANGUL_EDGES)
    kind = c("_kind")
    exprs += [n(kind == i).alias(f"kind_h{i}") for i in range(len(KIND_NAMES))]
    row = marked.agg(*exprs).first()
    out = row.asDict() if row is not None else {}
    edges_of: dict[str, Sequence[float]] = {
        "chars": CHAR_EDGES,
        "eojeol": EOJEOL_EDGES,
        "hangul": HANGUL_EDGES,
    }
    for key, edges in edges_of.items():
        out[f"{key}_counts"] = [int(out.pop(f"{key}_h{i}") or 0) for i in range(len(edges) - 1)]
    out["kind_counts"] = [int(out.pop(f"kind_h{i}") or 0) for i in range(len(KIND_NAMES))]
    return {k: (0 if v is None and k not in _NULLABLE else v) for k, v in out.items()}


_NULLABLE = {"chars_mean", "chars_max", "chars_q", "eojeol_mean", "eojeol_max", "eojeol_q"}

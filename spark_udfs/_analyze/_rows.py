"""Per-row facts about the text, and the one aggregation pass over them.

`mark_rows` adds narrow per-row columns (lengths, kinds of junk and scripts as bits, duplicate
ranks, label conflicts; the text's facts computed once per distinct text) without leaving
Spark; `table_aggregates` turns every table and text statistic into one `df.agg(...)` over the
rows, one small groupBy of value counts and one window over the distinct normalized texts, so
the driver receives a few rows of numbers.

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

import bisect
import math
from collections.abc import Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark_udfs._filters import normalized
from spark_udfs._input import ID, LABEL, TEXT

__all__ = [
    "BITS",
    "CHAR_EDGES",
    "EOJEOL_EDGES",
    "EXAMPLES",
    "FLAGS",
    "FLAG_REASONS",
    "HANGUL_EDGES",
    "KIND_NAMES",
    "SCRIPTS",
    "bucket",
    "flag",
    "flagged",
    "kind",
    "mark_rows",
    "reasons",
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


def bucket(x: Column, edges: Sequence[float]) -> Column:
    """Index of the bin `[edges[i], edges[i+1])` holding x; the last bin is closed and also
    takes everything above the last edge (its upper edge becomes the observed maximum)."""
    idx: Column = F.lit(0)
    for edge in edges[1:-1]:
        idx = idx + (x >= F.lit(edge)).cast("int")
    return idx


FLAGS = [
    "null",
    "empty",
    "jamo_only",
    "punct_only",
    "repeated_char",
    "latin_only",
    "exact_duplicate",
    "conflicting_label",
    *(f"has_{s}" for s in SCRIPTS),
]
"""Every per-row yes/no fact, one bit each of the row's `_bits` (bit i = FLAGS[i])."""
BITS = "_bits"
REASON_MASK = sum(1 << FLAGS.index(r) for r in FLAG_REASONS)
WEIGHT, NORM = "_n", "_norm"
EXAMPLES = 3
"""Example rows a finding shows."""
TEXT_COLUMNS = ("_nvis", "_eojeol", "_hangul", WEIGHT, NORM)
"""Facts of a text, set on the first row (smallest id) of each distinct text only, null on its
other rows: the row stands for `_n` rows, and sums over texts weigh it so."""


def flag(name: str) -> Column:
    """True where the row has the fact `name` (one of `FLAGS`)."""
    return F.col(BITS).bitwiseAND(F.lit(1 << FLAGS.index(name))) != 0


def flagged() -> Column:
    """True where the row has a reason to be flagged (any of `FLAG_REASONS`)."""
    return F.col(BITS).bitwiseAND(F.lit(REASON_MASK)) != 0


def reasons() -> Column:
    """The row's `FLAG_REASONS`, in that order, as an array of names."""
    # array_compact (drop the nulls) is compiled; a `filter` lambda runs row by row
    return F.array_compact(F.array(*[F.when(flag(r), F.lit(r)) for r in FLAG_REASONS]))


def _bit(name: str) -> Column:
    return F.lit(1 << FLAGS.index(name))


def mark_rows(df: DataFrame) -> DataFrame:
    """`df` (`id, text, label` and any other columns) without its text, plus the few columns
    every statistic is computed from: on every row `_chars` and `_bits` (the `FLAGS`); on the
    first row of each distinct text only, `TEXT_COLUMNS`. Narrow on purpose: the marked rows
    are cached, and every column costs.

    One shuffle (a window over the text, ordered by id) finds the duplicate ranks, the label
    conflicts and how many rows share each text; the regular expressions then run once per
    distinct text (on its first row) and a second window over the same partitions spreads the
    text's facts to its other rows. A table of exact copies costs its distinct texts'
    regular expressions, not its rows'."""
    text = F.col(TEXT)
    # partitioned by the text's hash too: the sort then compares longs, and texts only where
    # their hashes are equal (almost only equal texts)
    order = Window.partitionBy("_h", TEXT).orderBy(ID)
    whole = order.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    ranked = df.select("*", F.xxhash64(text).alias("_h")).select(
        "*",
        F.row_number().over(order).alias("_rank"),
        F.count(F.lit(1)).over(whole).alias("_count"),
        (F.min(LABEL).over(whole) != F.max(LABEL).over(whole)).alias("_labels_differ"),
    )
    first = F.col("_rank") == 1
    safe = F.coalesce(text, F.lit(""))
    # materialized apart (CollapseProject keeps costly expressions used twice in their own
    # projection), so each runs once per distinct text
    ranked = ranked.select(
        "*",
        F.when(first, F.regexp_replace(safe, r"\s+", "")).alias("_visible"),
        F.when(first, normalized(text)).alias(NORM),
    )
    # what is not a Hangul syllable: usually a few characters, where the other scripts are
    # looked for (one pass over the text instead of one per script)
    ranked = ranked.select(
        "*", F.regexp_replace("_visible", f"[{HANGUL_SYLLABLES}]+", "").alias("_rest")
    )
    vis, norm, rest = F.col("_visible"), F.col(NORM), F.col("_rest")
    nvis = F.length(vis)
    hangul = nvis - F.length(rest)
    has_text = text.isNotNull() & (nvis > 0)
    eojeol = F.when(has_text, F.size(F.split(F.trim(safe), r"\s+"))).otherwise(F.lit(0))
    # the normalized text is the visible text without punctuation and symbols, lower-cased:
    # empty exactly when that is, and case does not change what is jamo, Latin or a digit.
    # Whitespace (Java's \s) is not visible, but \x0b and \f are control characters.
    control = rest.rlike(CONTROL) | safe.contains("\x0b") | safe.contains("\x0c")
    facts = {
        "null": text.isNull(),
        "empty": text.isNotNull() & (nvis == 0),
        "jamo_only": (F.length(norm) > 0) & norm.rlike(f"^[{JAMO}]+$"),
        "punct_only": (nvis > 0) & (F.length(norm) == 0),
        "repeated_char": (nvis >= 3) & vis.rlike(r"^(.)\1+$"),
        "latin_only": norm.rlike("^[a-z0-9]+$") & norm.rlike("[a-z]"),
        "conflicting_label": has_text & F.coalesce(F.col("_labels_differ"), F.lit(False)),
        "has_hangul": hangul > 0,
        "has_jamo": rest.rlike(f"[{JAMO}]"),
        "has_latin": rest.rlike("[A-Za-z]"),
        "has_digit": rest.rlike("[0-9]"),
        "has_emoji": rest.rlike(f"[{EMOJI}]"),
        "has_control": control,
    }
    bits: Column = F.lit(0)
    for name, cond in facts.items():
        bits = bits + F.when(cond, _bit(name)).otherwise(F.lit(0))
    keep = [c for c in df.columns if c != TEXT]
    per_text = ranked.select(
        *keep,
        "_rank",
        F.length(text).alias("_chars"),
        F.when(first, bits).alias("_text_bits"),
        F.when(first, nvis).alias("_nvis"),
        F.when(first, eojeol).alias("_eojeol"),
        F.when(first, hangul).alias("_hangul"),
        F.when(first, F.col("_count")).alias(WEIGHT),
        F.when(first & (F.length(norm) > 0), norm).alias(NORM),
        "_h",
        F.col(TEXT),
    )
    spread = F.first("_text_bits").over(
        order.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    spread_rows = per_text.select("*", spread.alias("_tb"))
    tb = F.col("_tb")
    no_text = tb.bitwiseAND(_bit("null").bitwiseOR(_bit("empty"))) != 0
    duplicate = F.when((F.col("_rank") > 1) & ~no_text, _bit("exact_duplicate")).otherwise(0)
    return spread_rows.select(
        *keep,
        "_chars",
        (tb + duplicate).alias(BITS),
        *TEXT_COLUMNS,
    )


def normalized_duplicates(marked: DataFrame) -> tuple[int, list[Any]]:
    """Rows whose normalized text (when not empty) equals that of a row with a smaller id,
    and the ids of up to `EXAMPLES` texts that are such rows without being exact copies of an
    earlier text (the near duplicates), from a window over the distinct texts only."""
    texts = marked.where(F.col(NORM).isNotNull()).select(ID, NORM, WEIGHT)
    later = F.row_number().over(Window.partitionBy(NORM).orderBy(ID)) > 1
    ranked = texts.select(ID, WEIGHT, later.alias("_later"))
    row = ranked.agg(
        F.sum(WEIGHT).alias("rows"),
        F.sum(F.when(~F.col("_later"), 1)).alias("norms"),
        F.min_by(ID, F.when(F.col("_later"), F.col(ID)), EXAMPLES).alias("near"),
    ).first()
    count = 0 if row is None or row["rows"] is None else int(row["rows"]) - int(row["norms"])
    near = list(row["near"] or []) if row is not None else []
    return count, near


def kind() -> Column:
    """The row's `KIND_NAMES` index (the first that applies; 0 for ordinary text)."""
    return (
        F.when(flag("null"), 1)
        .when(flag("empty"), 2)
        .when(flag("jamo_only"), 3)
        .when(flag("punct_only"), 4)
        .when(flag("latin_only"), 5)
        .otherwise(0)
    )


def _bin(value: float, edges: Sequence[float]) -> int:
    """`bucket` for one value, on the driver."""
    return bisect.bisect_right(list(edges[1:-1]), value)


def _quantiles(freq: dict[int, int], qs: Sequence[float]) -> list[int] | None:
    """Exact quantiles from value counts: the smallest value whose cumulative count reaches
    ``ceil(q * n)`` (the rule `percentile_approx` approximates)."""
    n = sum(freq.values())
    if n == 0:
        return None
    out, seen, values = [], 0, sorted(freq)
    ranks = iter(max(1, math.ceil(q * n)) for q in qs)
    rank: int | None = next(ranks)
    for v in values:
        seen += freq[v]
        while rank is not None and seen >= rank:
            out.append(v)
            rank = next(ranks, None)
    return out


def _frequencies(
    marked: DataFrame, values: dict[str, tuple[Column, Column]]
) -> dict[str, dict[int, int]]:
    """How many rows hold each value of each of `values` (name -> (value, rows the marked row
    stands for); nulls left out), from one small groupBy: lengths take at most as many values
    as the longest text has characters, so the driver receives a few hundred rows however long
    the table is."""
    pairs = F.array(
        *[
            F.struct(F.lit(k).alias("k"), v.cast("long").alias("v"), w.cast("long").alias("w"))
            for k, (v, w) in values.items()
        ]
    )
    rows = (
        marked.select(F.explode(pairs).alias("p"))
        .where(F.col("p.v").isNotNull())
        .groupBy(F.col("p.k").alias("k"), F.col("p.v").alias("v"))
        .agg(F.sum("p.w").alias("count"))
        .collect()
    )
    out: dict[str, dict[int, int]] = {k: {} for k in values}
    for r in rows:
        out[r["k"]][int(r["v"])] = int(r["count"])
    return out


def table_aggregates(marked: DataFrame) -> dict[str, Any]:
    """Every table and text statistic of `marked`: the counts from one `agg` (the job that
    reads the input, and fills the cache when `marked` is cached), the distributions (lengths,
    Hangul share, kinds of text) from one small groupBy of value counts, so lengths' quantiles
    are exact; facts of the text are taken once per distinct text, weighed by its rows."""
    c = F.col
    has_text = ~flag("null") & ~flag("empty")
    n = lambda cond: F.sum(F.when(cond, 1).otherwise(0))  # noqa: E731
    exact = flag("exact_duplicate")
    weight = c(WEIGHT)
    exprs = [
        F.count(F.lit(1)).alias("rows"),
        n(flag("null")).alias("null_texts"),
        n(flag("empty")).alias("empty_texts"),
        n(exact).alias("exact_duplicates"),
        n(flag("conflicting_label")).alias("conflicting_rows"),
        n(flag("conflicting_label") & ~exact).alias("conflicting_label_texts"),
        n(has_text & ~exact).alias("distinct_texts"),
        n(flag("jamo_only")).alias("jamo_only"),
        n(flag("punct_only")).alias("punct_only"),
        n(flag("repeated_char")).alias("repeated_char"),
        n(flag("latin_only")).alias("latin_only"),
        n(flag("has_hangul") & flag("has_latin")).alias("mixed_script_rows"),
        n(flagged()).alias("flagged_rows"),
        F.sum(c("_hangul") * weight).alias("hangul_chars"),
        F.sum(c("_nvis") * weight).alias("visible_chars"),
        n(c(LABEL).isNotNull()).alias("labelled_rows"),
    ]
    exprs += [n(flag(f"has_{s}")).alias(f"rows_{s}") for s in SCRIPTS]
    exprs += [n(flag(r)).alias(f"reason_{r}") for r in FLAG_REASONS]
    row = marked.agg(*exprs).first()
    out = row.asDict() if row is not None else {}
    out["normalized_duplicates"], out["near_duplicate_ids"] = normalized_duplicates(marked)
    share = F.when(c("_nvis") > 0, c("_hangul") / c("_nvis"))
    one = F.lit(1)
    freq = _frequencies(
        marked,
        {
            "chars": (F.when(~flag("null"), c("_chars")), one),
            "eojeol": (F.when(has_text, c("_eojeol")), weight),
            "hangul": (F.when(share.isNotNull(), bucket(share, HANGUL_EDGES)), weight),
            "kind": (kind(), one),
        },
    )
    for key, edges in (("chars", CHAR_EDGES), ("eojeol", EOJEOL_EDGES)):
        f = freq[key]
        counts = [0] * (len(edges) - 1)
        for v, k in f.items():
            counts[_bin(v, edges)] += k
        total = sum(f.values())
        out[f"{key}_counts"] = counts
        out[f"{key}_mean"] = sum(v * k for v, k in f.items()) / total if total else None
        out[f"{key}_max"] = max(f) if f else None
        out[f"{key}_q"] = _quantiles(f, QUANTILES)
    out["hangul_counts"] = [freq["hangul"].get(i, 0) for i in range(len(HANGUL_EDGES) - 1)]
    out["kind_counts"] = [freq["kind"].get(i, 0) for i in range(len(KIND_NAMES))]
    return {k: (0 if v is None and k not in _NULLABLE else v) for k, v in out.items()}


QUANTILES = (0.5, 0.9, 0.99)
_NULLABLE = {"chars_mean", "chars_max", "chars_q", "eojeol_mean", "eojeol_max", "eojeol_q"}

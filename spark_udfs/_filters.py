"""BATCH filters: which rows are dropped before featurizing, and why.

Each row gets `_drop`, the first declared filter it fails (`FilterConfig.declared` order) or
null when kept. Duplicate filters apply among the rows still kept, keeping the smallest id, so
a row dropped for its length never makes a kept row look like a duplicate. The report counts
every filter and keeps a few example rows of each; all of it is computed in Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_udfs._errors import InputError
from spark_udfs._input import ID, LABEL, TEXT
from spark_udfs._job import FilterConfig

__all__ = ["DROP", "FilterReport", "mark_drops", "normalized", "report_drops"]

DROP = "_drop"
EXAMPLES = 3
HANGUL = "가-힣ㄱ-ㅎㅏ-ㅣ"  # syllables and compatibility jamo


def normalized(text: Any) -> Any:
    """The text compared by `drop_normalized_duplicates`: lower case, without whitespace,
    punctuation or symbols (so '최고!!' and '최고 !' are the same review)."""
    return F.regexp_replace(F.lower(F.coalesce(text, F.lit(""))), r"[\s\p{P}\p{S}]+", "")


def mark_drops(spark: SparkSession, df: DataFrame, cfg: FilterConfig) -> DataFrame:
    """`df` with `_drop`: the name of the filter that drops the row, or null."""
    text = F.col(TEXT)
    length = F.coalesce(F.length(text), F.lit(0))
    rules: list[tuple[str, Any]] = []
    if cfg.label_required:
        rules.append(("label_required", F.col(LABEL).isNull()))
    if cfg.min_chars is not None:
        rules.append(("min_chars", length < cfg.min_chars))
    if cfg.max_chars is not None:
        rules.append(("max_chars", length > cfg.max_chars))
    if cfg.min_hangul is not None:
        visible = F.length(F.regexp_replace(F.coalesce(text, F.lit("")), r"\s+", ""))
        hangul = F.length(F.regexp_replace(F.coalesce(text, F.lit("")), f"[^{HANGUL}]", ""))
        share = F.when(visible > 0, hangul / visible).otherwise(F.lit(0.0))
        rules.append(("min_hangul", share < cfg.min_hangul))
    if cfg.flagged is not None:
        df = _join_flagged(spark, df, cfg.flagged)
        rules.append(("flagged", F.col("_flagged")))
    marked = df.withColumn(DROP, _first(rules))
    if cfg.drop_duplicates:
        marked = _drop_repeats(marked, "drop_duplicates", F.col(TEXT))
    if cfg.drop_normalized_duplicates:
        marked = _drop_repeats(marked, "drop_normalized_duplicates", normalized(F.col(TEXT)))
    return marked.drop("_flagged") if cfg.flagged is not None else marked


def _first(rules: list[tuple[str, Any]]) -> Any:
    chosen = F.lit(None).cast("string")
    for name, condition in reversed(rules):
        chosen = F.when(F.coalesce(condition, F.lit(False)), F.lit(name)).otherwise(chosen)
    return chosen


def _drop_repeats(df: DataFrame, name: str, key: Any) -> DataFrame:
    """Among kept rows with equal `key`, keep the smallest id; null texts are never repeats."""
    kept = F.col(DROP).isNull() & F.col(TEXT).isNotNull()
    window = Window.partitionBy(kept, key).orderBy(F.col(ID))
    rank = F.row_number().over(window)
    return df.withColumn(DROP, F.when(kept & (rank > 1), F.lit(name)).otherwise(F.col(DROP)))


def _join_flagged(spark: SparkSession, df: DataFrame, path: str) -> DataFrame:
    try:
        flagged = spark.read.parquet(path)
    except Exception as exc:  # AnalysisException and friends: name the file
        raise InputError(
            f"cannot read the flagged rows at {path} (a Parquet table): {exc}"
        ) from exc
    if ID not in flagged.columns:
        raise InputError(f"the flagged rows at {path} have no `id` column: {flagged.columns}")
    ids = (
        flagged.select(F.col(ID).cast("string").alias(ID))
        .distinct()
        .withColumn("_flagged", F.lit(True))
    )
    joined = df.join(F.broadcast(ids), on=ID, how="left")
    return joined.withColumn("_flagged", F.coalesce(F.col("_flagged"), F.lit(False)))


@dataclass
class FilterReport:
    """Rows in, kept, and per declared filter the rows it dropped with a few examples."""

    rows_in: int
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "kept": self.kept,
            "dropped": self.dropped,
            "examples": self.examples,
        }


def report_drops(marked: DataFrame, cfg: FilterConfig) -> FilterReport:
    """Counts per filter (every declared one, zeros included) and up to 3 examples of each."""
    counts = {
        row[DROP]: int(row["n"])
        for row in marked.groupBy(DROP).agg(F.count("*").alias("n")).collect()
    }
    rank = F.row_number().over(Window.partitionBy(DROP).orderBy(ID))
    sample = (
        marked.where(F.col(DROP).isNotNull())
        .withColumn("_rank", rank)
        .where(F.col("_rank") <= EXAMPLES)
        .select(DROP, ID, F.substring(TEXT, 1, 200).alias(TEXT), LABEL)
        .collect()
    )
    examples: dict[str, list[dict[str, Any]]] = {name: [] for name in cfg.declared()}
    for row in sample:
        examples.setdefault(row[DROP], []).append({ID: row[ID], TEXT: row[TEXT], LABEL: row[LABEL]})
    dropped = {name: counts.get(name, 0) for name in cfg.declared()}
    kept = counts.get(None, 0)
    return FilterReport(
        rows_in=kept + sum(dropped.values()), kept=kept, dropped=dropped, examples=examples
    )

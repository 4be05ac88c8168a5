"""Label balance, label by length bucket, and label by group: small groupBy jobs whose results
(one row per label and bucket, the top groups) are the only rows the driver receives."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_udfs._analyze._rows import HANGUL_EDGES, bucket
from spark_udfs._input import LABEL

__all__ = ["GROUP", "LENGTH_BUCKETS", "group_stats", "label_stats"]

GROUP = "_group"
LENGTH_BUCKETS = [0, 10, 20, 40, 80, 140]
TOP_GROUPS = 10
EXTREME = 0.1


def label_stats(marked: DataFrame) -> dict[str, Any]:
    """`{"counts": {label: n}, "by_length": {bucket: {label: n}}}` (labels as strings, "null"
    for rows without one), from one groupBy over (label, length bucket)."""
    length = F.coalesce(F.col("_chars"), F.lit(0))
    rows = (
        marked.groupBy(F.col(LABEL).alias("l"), bucket(length, [*LENGTH_BUCKETS, 10**9]).alias("b"))
        .count()
        .collect()
    )
    counts: dict[str, int] = {}
    by_length: dict[int, dict[str, int]] = {}
    for r in rows:
        key = "null" if r["l"] is None else str(r["l"])
        counts[key] = counts.get(key, 0) + int(r["count"])
        by_length.setdefault(int(r["b"]), {})[key] = int(r["count"])
    return {"counts": dict(sorted(counts.items())), "by_length": dict(sorted(by_length.items()))}


def group_stats(marked: DataFrame, target: int, min_rows: int) -> dict[str, Any]:
    """Groups by size and by the share of label `target` among their labelled rows, in one
    job: a groupBy, then one aggregation over the groups that also keeps the top groups
    (`min_by` with k: no sort of the groups); only those and a histogram reach the driver."""
    groups = marked.groupBy(F.col(GROUP).alias("g")).agg(
        F.count(F.lit(1)).alias("n"),
        F.avg(F.when(F.col(LABEL).isNotNull(), (F.col(LABEL) == target).cast("int"))).alias(
            "share"
        ),
        F.count(LABEL).alias("labelled"),
    )
    big = F.col("labelled") >= min_rows
    extreme = big & ((F.col("share") <= EXTREME) | (F.col("share") >= 1 - EXTREME))
    b = bucket(F.col("share"), HANGUL_EDGES)
    group = F.struct("g", "n", "share", "labelled")
    agg = groups.agg(
        F.count(F.lit(1)).alias("groups"),
        F.sum(F.when(big, 1).otherwise(0)).alias("big_groups"),
        F.sum(F.when(extreme, 1).otherwise(0)).alias("extreme_groups"),
        *[
            F.sum(F.when(big & (b == i), 1).otherwise(0)).alias(f"h{i}")
            for i in range(len(HANGUL_EDGES) - 1)
        ],
        # largest first, ties by group: the smallest (-n, g)
        F.min_by(group, F.struct(-F.col("n"), F.col("g")), TOP_GROUPS).alias("top"),
        F.min_by(
            group, F.when(extreme, F.struct(-F.col("labelled"), F.col("g"))), TOP_GROUPS
        ).alias("worst"),
    ).first()
    out = agg.asDict() if agg is not None else {}
    top, worst = out.pop("top", None) or [], out.pop("worst", None) or []
    hist = [int(out.pop(f"h{i}") or 0) for i in range(len(HANGUL_EDGES) - 1)]
    as_rows = lambda rs: [  # noqa: E731
        {"group": r["g"], "rows": int(r["n"]), "share": r["share"], "labelled": int(r["labelled"])}
        for r in rs
    ]
    return {
        **{k: int(v or 0) for k, v in out.items()},
        "share_counts": hist,
        "top": as_rows(top),
        "extreme": as_rows(worst),
    }

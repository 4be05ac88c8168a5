"""DUMP: read any table Spark reads into the job's frame `(id, text, label)`.

CSV and TSV (quoted or not), JSON lines and Parquet, from any path Spark's file systems reach.
The user names the text, id and label columns; a table without an id gets a stable one (the
text's hash and its occurrence among equal texts, so a rerun over the same input makes the same
ids). A missing column or an unreadable path is one `InputError` before any work starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_udfs._errors import InputError
from spark_udfs._job import InputConfig

__all__ = ["ID", "LABEL", "TEXT", "input_fingerprint", "read_input"]

ID, TEXT, LABEL = "id", "text", "label"


def _raw(spark: SparkSession, cfg: InputConfig) -> DataFrame:
    fmt = cfg.resolved_format()
    if fmt == "parquet":
        return spark.read.parquet(cfg.path)
    if fmt == "jsonl":
        return spark.read.option("mode", "PERMISSIVE").json(cfg.path)
    quoted = cfg.quote if cfg.quote is not None else fmt == "csv"
    reader = (
        spark.read.option("header", str(cfg.header).lower())
        .option("sep", "\t" if fmt == "tsv" else ",")
        .option("mode", "PERMISSIVE")
    )
    if quoted:
        reader = reader.option("quote", '"').option("escape", '"').option("multiLine", "true")
    else:
        reader = reader.option("quote", "").option("escape", "")
    return reader.csv(cfg.path)


def read_input(
    spark: SparkSession, cfg: InputConfig, extra: Mapping[str, tuple[str, str]] | None = None
) -> DataFrame:
    """The input as `(id string, text string, label int)`, plus each column of `extra`
    (output name -> (input column, the option that named it); as strings); raises
    `InputError` naming the fix."""
    try:
        raw = _raw(spark, cfg)
        columns = raw.columns
    except AnalysisException as exc:
        raise InputError(
            f"cannot read {cfg.path} as {cfg.resolved_format()}: {_first_line(exc)}"
        ) from exc
    wanted = {"text": cfg.text, "id": cfg.id, "label": cfg.label}
    missing = [
        f"{role} column {name!r}" for role, name in wanted.items() if name and name not in columns
    ]
    # id and label are optional: a missing one is an error only when the user named it explicitly
    required = [m for m in missing if m.startswith("text")]
    if required or (missing and _explicit(cfg, missing)):
        raise InputError(
            f"{cfg.path} has no {', '.join(missing)}; its columns are {', '.join(columns)}: "
            "name the right ones with --text-col/--id-col/--label-col (or [input] text/id/label)"
        )
    for column, option in (extra or {}).values():
        if column not in columns:
            raise InputError(
                f"{cfg.path} has no column {column!r}; its columns are {', '.join(columns)}: "
                f"name the right one with {option}"
            )
    more = [F.col(_q(c)).cast("string").alias(name) for name, (c, _) in (extra or {}).items()]
    text = F.col(_q(cfg.text)).cast("string").alias(TEXT)
    label = (
        F.col(_q(cfg.label)).cast("int").alias(LABEL)
        if cfg.label and cfg.label in columns
        else F.lit(None).cast("int").alias(LABEL)
    )
    if cfg.id and cfg.id in columns:
        return raw.select(F.col(_q(cfg.id)).cast("string").alias(ID), text, label, *more)
    return _with_stable_id(raw.select(text, label, *more), list(extra or {}))


def _with_stable_id(df: DataFrame, more: list[str]) -> DataFrame:
    """id = 16 hex digits of the text's sha256, plus `-n` for the n-th repeat of that text.

    Repeats are numbered in input order (file, then position in file), which the same input
    read again reproduces."""
    order = F.monotonically_increasing_id()
    digest = F.substring(F.sha2(F.coalesce(F.col(TEXT), F.lit("\u0000null")), 256), 1, 16)
    framed = df.withColumn("_digest", digest).withColumn("_order", order)
    nth = F.row_number().over(Window.partitionBy("_digest").orderBy("_order")) - 1
    return framed.select(
        F.when(nth == 0, F.col("_digest"))
        .otherwise(F.concat_ws("-", F.col("_digest"), nth.cast("string")))
        .alias(ID),
        TEXT,
        LABEL,
        *more,
    )


def input_fingerprint(spark: SparkSession, cfg: InputConfig) -> dict[str, Any]:
    """The input's files with their sizes and modification times, through Hadoop's FileSystem
    (so hdfs:// and s3a:// count the same way as local files)."""
    raw = _raw(spark, cfg)
    files = sorted(raw.inputFiles())
    jvm: Any = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    listed = []
    for name in files:
        path = jvm.org.apache.hadoop.fs.Path(name)
        status = path.getFileSystem(conf).getFileStatus(path)
        listed.append([name, int(status.getLen()), int(status.getModificationTime())])
    return {"path": cfg.path, "format": cfg.resolved_format(), "files": listed}


def _explicit(cfg: InputConfig, missing: list[str]) -> bool:
    defaults = InputConfig(path=cfg.path)
    named = {
        "id": cfg.id not in (None, defaults.id),
        "label": cfg.label not in (None, defaults.label),
    }
    return any(named.get(m.split()[0], False) for m in missing)


def _q(name: str) -> str:
    return f"`{name.replace('`', '``')}`"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]

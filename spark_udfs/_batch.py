"""BATCH: a declared job from any input table to a partitioned, resumable feature table.

Layout of the output directory (any file system Spark writes)::

    _job.json            the job's identity: its settings' hash and the input's files
    _filters.json        rows in, dropped per filter (with examples), parts and their sizes
    _staging/p=K/        the kept rows, split into parts by a hash of the id (during the run)
    part=K/              features of part K, renamed into place when complete
    _feature_spec.json   written last (contracts' table metadata): the table is complete

A rerun with the same arguments reads `_job.json`, keeps the finished parts and redoes only the
others; a finished table is left as it is. Each kept row lies in exactly one part (the hash of
its id picks it), and a part appears only by an atomic rename, so the finished table holds every
kept row exactly once. Different settings or a changed input over the same output are refused.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts import TABLE_METADATA_FILENAME, FeatureTableInfo
from spark_udfs._errors import JobConfigError
from spark_udfs._filters import DROP, FilterReport, mark_drops, report_drops
from spark_udfs._fs import HadoopFS
from spark_udfs._input import ID, LABEL, TEXT, input_fingerprint, read_input
from spark_udfs._job import JobConfig
from spark_udfs._progress import RowProgress

__all__ = ["JobResult", "run_job"]

JOB_FILE = "_job.json"
FILTERS_FILE = "_filters.json"
STAGING = "_staging"
TMP = "_tmp"


@dataclass
class JobResult:
    """What `run_job` did: the table's metadata and the parts it computed or found done."""

    output: str
    info: FeatureTableInfo
    parts_done: list[int] = field(default_factory=list)
    parts_skipped: list[int] = field(default_factory=list)
    complete: bool = False
    """True when the table was already complete and nothing ran."""

    @property
    def job(self) -> dict[str, Any]:
        return self.info.job


def part_dir(output: str, k: int) -> str:
    return f"{output}/part={k:05d}"


def run_job(
    spark: SparkSession,
    job: JobConfig,
    answer: dict[str, Any],
    transform: Any,
    *,
    overwrite: bool = False,
    progress: bool = True,
    record: Any = None,
) -> JobResult:
    """Run `job`; `answer` is the API's answer for the job's spec (an empty batch), and
    `transform(df)` adds the feature columns to a frame of `(id, text, label)`; `record()`
    adds to the job's record once the parts are written (e.g. retries counted by the tasks)."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    fs = HadoopFS(spark)
    out = fs.qualified(job.output.path)
    info = FeatureTableInfo.from_api(answer)
    read_input(spark, job.input)  # an unreadable input or a missing column: before any write
    fingerprint = input_fingerprint(spark, job.input)
    identity = {"job_hash": job.job_hash(), "spec_hash": info.spec_hash, "input": fingerprint}
    if overwrite:
        fs.delete(out)
    previous = fs.read_text(f"{out}/{JOB_FILE}")
    if previous is not None:
        if json.loads(previous)["identity"] != identity:
            raise JobConfigError(
                f"{out} holds another job (other settings or a changed input): write to a new "
                "--output, or pass --overwrite to start this one over"
            )
        done = fs.read_text(f"{out}/{TABLE_METADATA_FILENAME}")
        if done is not None:
            return JobResult(out, FeatureTableInfo.from_json(json.loads(done)), complete=True)
    elif fs.list_names(out):
        raise JobConfigError(
            f"{out} exists and is not a feature table of this job: choose another --output, "
            "or pass --overwrite to replace it"
        )
    else:
        claim = {"identity": identity, "config": job.public(), "started_at": _now()}
        fs.write_text(f"{out}/{JOB_FILE}", json.dumps(claim, ensure_ascii=False, indent=2))
    timings["plan_s"] = time.monotonic() - started

    t = time.monotonic()
    plan = _stage(spark, fs, job, out)
    timings["filter_s"] = time.monotonic() - t

    t = time.monotonic()
    result = JobResult(out, info)
    sizes = {int(k): int(v) for k, v in plan["part_rows"].items()}
    with RowProgress(spark, sum(sizes.values()), enabled=progress) as bar:
        for k in range(plan["parts"]):
            rows = sizes.get(k, 0)
            final = part_dir(out, k)
            if rows == 0 or fs.exists(f"{final}/_SUCCESS"):
                bar.skip(rows)
                result.parts_skipped.append(k)
                continue
            tmp = f"{out}/{TMP}/part={k:05d}"
            fs.delete(tmp)
            with bar.part(rows):
                staged = spark.read.parquet(f"{out}/{STAGING}/p={k}")
                (
                    transform(staged)
                    .write.option("maxRecordsPerFile", job.output.max_rows_per_file)
                    .mode("overwrite")
                    .parquet(tmp)
                )
            fs.rename(tmp, final)
            result.parts_done.append(k)
    timings["featurize_s"] = time.monotonic() - t

    t = time.monotonic()
    counts = _count(spark.read.parquet(out))
    timings["count_s"] = time.monotonic() - t
    timings["total_s"] = time.monotonic() - started
    report = {k: plan[k] for k in ("rows_in", "kept", "dropped", "examples")}
    result.info = info.with_job(
        input=fingerprint,
        config=job.public(),
        filters={"declared": job.filters.declared(), **report},
        rows={
            "in": report["rows_in"],
            "dropped": sum(report["dropped"].values()),
            "kept": report["kept"],
            "featurized": counts["featurized"],
            "errored": counts["errored"],
            "output": counts["rows"],
        },
        parts=plan["parts"],
        timings={k: round(v, 3) for k, v in timings.items()},
        resumed=bool(result.parts_skipped),
        parts_done=len(result.parts_done),
        parts_skipped=len(result.parts_skipped),
        created_at=_now(),
        **(record() if record else {}),
    )
    if counts["rows"] != report["kept"]:
        raise RuntimeError(
            f"{out} holds {counts['rows']} rows for {report['kept']} kept input rows: "
            "rerun with --overwrite"
        )
    fs.write_text(
        f"{out}/{TABLE_METADATA_FILENAME}",
        json.dumps(result.info.to_json(), ensure_ascii=False, indent=2) + "\n",
    )
    fs.delete(f"{out}/{STAGING}")
    fs.delete(f"{out}/{TMP}")
    return result


def _stage(spark: SparkSession, fs: HadoopFS, job: JobConfig, out: str) -> dict[str, Any]:
    """Filter once and write the kept rows split into parts; skipped when a run did it."""
    known = fs.read_text(f"{out}/{FILTERS_FILE}")
    if known is not None:
        plan: dict[str, Any] = json.loads(known)
        return plan
    frame = read_input(spark, job.input)
    marked = mark_drops(spark, frame, job.filters).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        report: FilterReport = report_drops(marked, job.filters)
        parts = max(1, math.ceil(report.kept / job.output.rows_per_part))
        buckets = max(1, spark.sparkContext.defaultParallelism)
        kept = (
            marked.where(F.col(DROP).isNull())
            .select(ID, TEXT, LABEL)
            .withColumn("p", F.pmod(F.xxhash64(F.col(ID)), F.lit(parts)))
            .withColumn("_b", F.pmod(F.xxhash64(F.col(ID), F.lit("b")), F.lit(buckets)))
        )
        (
            kept.repartition(parts * buckets, "p", "_b")
            .drop("_b")
            .write.mode("overwrite")
            .partitionBy("p")
            .parquet(f"{out}/{STAGING}")
        )
        if job.output.dropped:
            dropped = marked.where(F.col(DROP).isNotNull()).select(
                ID, TEXT, LABEL, F.col(DROP).alias("dropped_by")
            )
            dropped.write.mode("overwrite").parquet(job.output.dropped)
    finally:
        marked.unpersist()
    sizes = spark.read.parquet(f"{out}/{STAGING}").groupBy("p").count().collect()
    plan = {
        **report.to_json(),
        "parts": parts,
        "part_rows": {str(row["p"]): int(row["count"]) for row in sizes},
    }
    fs.write_text(f"{out}/{FILTERS_FILE}", json.dumps(plan, ensure_ascii=False, indent=2))
    return plan


def _count(table: DataFrame) -> dict[str, Any]:
    kind = F.substring_index(F.col("error"), ":", 1)
    rows = table.groupBy(kind.alias("kind")).agg(F.count("*").alias("n")).collect()
    errored = {row["kind"]: int(row["n"]) for row in rows if row["kind"] is not None}
    featurized = sum(int(row["n"]) for row in rows if row["kind"] is None)
    return {
        "rows": featurized + sum(errored.values()),
        "featurized": featurized,
        "errored": errored,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

"""Ship the code executors need with the job itself, so a cluster needs no manual install.

On any master but `local[...]`, the session gets a zip of the packages the UDFs import on
executors (`spark_udfs`, `contracts`) through `SparkContext.addPyFile` (the same mechanism as
`spark-submit --py-files` / `spark.submit.pyFiles`). Third-party libraries (httpx, pandas,
pyarrow, tenacity, mmh3) come from the executors' Python: a packed environment shipped with
`spark.archives` (venv-pack / conda-pack) on YARN or Kubernetes, or the image's Python.
"""

from __future__ import annotations

import importlib
import tempfile
import zipfile
from pathlib import Path

from pyspark.sql import SparkSession

__all__ = ["EXECUTOR_PACKAGES", "build_zip", "ship_project"]

EXECUTOR_PACKAGES = ("contracts", "spark_udfs")


def build_zip(target_dir: str | Path, packages: tuple[str, ...] = EXECUTOR_PACKAGES) -> Path:
    """A zip holding `packages` as they are installed here (sources only)."""
    target = Path(target_dir) / "nlpfeat-executor.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in packages:
            root = Path(importlib.import_module(name).__file__ or "").parent
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, Path(name) / path.relative_to(root))
    return target


def ship_project(spark: SparkSession) -> Path | None:
    """Add the executors' zip to a cluster session; nothing to do in local mode."""
    master = spark.sparkContext.master or "local"
    if master.startswith("local"):
        return None
    zipped = build_zip(tempfile.mkdtemp(prefix="nlpfeat-ship-"))
    spark.sparkContext.addPyFile(str(zipped))
    return zipped

"""The same training on Spark MLlib, for feature tables that do not fit in one machine's memory.

Rows (``indices``/``values`` list columns) become `SparseVector`s in a UDF (duplicate indices
summed, as `read_features` does), weighed as `training.train` weighs them (``log(1 + count)``
x smooth IDF x |NB log-count ratio|, L2 per row; the per-column counts of positive and
negative rows are summed per partition into dense vectors and merged with ``treeReduce``, so
the table never reaches the driver), a random split holds out ``test_size``, ``C`` is chosen
on a seeded validation split of the training rows as `train` chooses it, and
`pyspark.ml.classification.LogisticRegression` fits the same model as scikit-learn's:
liblinear minimizes ``||w||^2 / 2 + C * sum(loss)``, MLlib ``mean(loss) + regParam *
||w||^2 / 2``, so ``regParam = 1 / (C * n_train)`` (without standardization). The
coefficients and the column weights go into the same ONNX graph (`build_graph(scale=...)`),
which must reproduce MLlib's
probabilities and labels on up to ``verify_rows`` held-out rows; accuracy, ROC AUC and log
loss are computed on all held-out rows in Spark.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from contracts import ModelRepository, RepositoryError, check_name

from ._data import read_table
from ._errors import ExportMismatch, FeaturesError, TrainingError
from ._onnx import build_graph, run_onnx, weigh_row
from ._train import (
    C_GRID,
    DEFAULT_TOLERANCE,
    VALIDATION_SIZE,
    ProgressCallback,
    TrainResult,
    _metadata,
    recipe_notes,
    scale_from_counts,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["train_spark"]

VERIFY_ROWS = 20_000


def train_spark(
    features: Path,
    models_dir: Path,
    *,
    name: str = "sentiment",
    master: str = "local[2]",
    spark: SparkSession | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    C: float | None = None,
    C_grid: tuple[float, ...] = C_GRID,
    reg_param: float | None = None,
    max_iter: int = 100,
    tolerance: float = DEFAULT_TOLERANCE,
    verify_rows: int = VERIFY_ROWS,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train on Spark (``spark``, else a session of ``master`` started and stopped here) and
    store the model like `train` does; ``C`` None chooses it among ``C_grid`` on a validation
    split; ``reg_param`` overrides the one derived from ``C``."""
    try:
        check_name(name)
    except RepositoryError as exc:
        raise TrainingError(str(exc)) from exc
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    report = progress or (lambda _: None)
    table = read_table(Path(features))
    own = spark is None
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.master(master).appName("nlpfeat-train").getOrCreate()
    try:
        report(f"reading {features} with Spark")
        rows, skipped = _rows(spark, str(features))
        train_df, test_df = rows.randomSplit([1 - test_size, test_size], seed=seed)
        train_df, test_df = train_df.cache(), test_df.cache()
        n_train, n_test = train_df.count(), test_df.count()
        counts = {r["label"]: r["count"] for r in train_df.groupBy("label").count().collect()}
        if min(counts.get(0, 0), counts.get(1, 0)) < 2 or n_test == 0:
            raise FeaturesError(f"need both labels to train and rows to test, got {counts}")
        selection: dict[str, Any] = {"C": C, "chosen_by": "caller"}
        if reg_param is not None:  # the C it amounts to, for the record
            C = 1.0 / (reg_param * n_train)
        elif C is None:
            report(f"choosing C among {', '.join(f'{c:g}' for c in C_grid)} on a validation split")
            selection = _select_C(spark, train_df, table.num_features, C_grid, max_iter, seed)
            C = float(selection["C"])
        report(f"weighing {n_train} rows (NB-TF-IDF) in Spark")
        scale = _column_scale(train_df, table.num_features)
        weigh = _weigher(spark, scale)
        fit_df = train_df.withColumn("features", weigh("indices", "values"))
        regularization = 1.0 / (C * n_train)
        report(f"fitting MLlib logistic regression on {n_train} rows (C={C:g})")
        model = _fit(fit_df, regularization, max_iter)
        coef = model.coefficients.toArray()
        intercept = float(model.intercept)
        predicted = model.transform(test_df.withColumn("features", weigh("indices", "values")))
        metrics = {**_scores(predicted), "n_train": n_train, "n_test": n_test, **skipped}
        report("exporting to ONNX and checking it against MLlib")
        blob = build_graph(coef, intercept, name=name, scale=scale).SerializeToString()
        max_abs_diff = _verify(blob, predicted, table.num_features, verify_rows, tolerance)
    finally:
        if own:
            spark.stop()
    params = {"reg_param": regularization, "max_iter": max_iter, "C": C}
    metadata = _metadata(name, table, metrics, _Params(params), max_abs_diff)
    metadata["training"].update(recipe_notes(selection, seed, n_train, n_train))
    metadata["training"].update(
        library="pyspark",
        library_version=_pyspark_version(),
        python_version=platform.python_version(),
        estimator="pyspark.ml.classification.LogisticRegression",
        master=master if own else spark.sparkContext.master,
        params={**params, "solver": "lbfgs (MLlib)"},
    )
    report("writing model")
    try:
        version, path = ModelRepository(models_dir).write_version(name, blob, metadata)
    except RepositoryError as exc:
        raise TrainingError(str(exc)) from exc
    return TrainResult(
        name=name,
        version=version,
        path=path,
        accuracy=metrics["accuracy"],
        n_train=n_train,
        n_test=n_test,
        n_skipped=skipped["n_skipped"],
        n_skipped_error=skipped["n_skipped_error"],
        n_skipped_unlabelled=skipped["n_skipped_unlabelled"],
        skipped_errors=skipped["skipped_errors"],
        max_abs_diff=max_abs_diff,
        metadata={**metadata, "version": version},
    )


class _Params:
    """What `_metadata` reads of an estimator, for MLlib's parameters."""

    classes_ = (0, 1)

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = params

    def get_params(self) -> dict[str, Any]:
        return {"solver": "lbfgs (MLlib)", **self._params}


def _rows(spark: SparkSession, path: str) -> tuple[DataFrame, dict[str, Any]]:
    """Labelled rows without an error as ``(label, indices, values)``; what was
    skipped, counted like `read_features` does."""
    from pyspark.sql import functions as F

    raw = spark.read.parquet(path)
    if "error" not in raw.columns:
        raw = raw.withColumn("error", F.lit(None).cast("string"))
    if "label" not in raw.columns:
        raw = raw.withColumn("label", F.lit(None).cast("int"))
    errors = {
        r["kind"]: r["count"]
        for r in raw.where(F.col("error").isNotNull())
        .groupBy(F.split("error", ":").getItem(0).alias("kind"))
        .count()
        .collect()
    }
    unlabelled = raw.where(F.col("error").isNull() & F.col("label").isNull()).count()
    bad = raw.where(F.col("label").isNotNull() & ~F.col("label").isin(0, 1)).limit(1).count()
    if bad:
        raise FeaturesError(f"labels of {path} must be 0 or 1")

    rows = raw.where(F.col("error").isNull() & F.col("label").isNotNull()).select(
        F.col("label").cast("double").alias("label"), "indices", "values"
    )
    n_error = sum(errors.values())
    skipped = {
        "n_skipped": n_error + unlabelled,
        "n_skipped_error": n_error,
        "n_skipped_unlabelled": unlabelled,
        "skipped_errors": dict(sorted(errors.items())),
    }
    return rows, skipped


def _column_scale(df: DataFrame, num_features: int) -> np.ndarray:
    """`column_scale` of the rows of ``df``: per partition, dense counts of the positive and
    negative rows holding each column; partitions merged by ``treeReduce``."""

    def counts(rows: Any) -> Any:
        positive = np.zeros(num_features, np.float64)
        negative = np.zeros(num_features, np.float64)
        n = 0
        for row in rows:
            held = np.unique(np.asarray(row["indices"] or [], np.int64))
            (positive if row["label"] == 1.0 else negative)[held] += 1.0
            n += 1
        yield positive, negative, n

    positive, negative, n = (
        df.select("label", "indices")
        .rdd.mapPartitions(counts)
        .treeReduce(lambda a, b: (a[0] + b[0], a[1] + b[1], a[2] + b[2]))
    )
    return scale_from_counts(positive, negative, n)


def _weigher(spark: SparkSession, scale: np.ndarray) -> Any:
    """A UDF giving a row's weighed `SparseVector` (`weigh_rows` on one row)."""
    from pyspark.ml.linalg import Vectors, VectorUDT
    from pyspark.sql import functions as F

    shared = spark.sparkContext.broadcast(np.asarray(scale, np.float64))
    size = int(scale.size)

    def weigh(indices: list[int] | None, values: list[float] | None) -> Any:
        ix, x = weigh_row(indices or [], values or [], shared.value)
        return Vectors.sparse(size, ix.tolist(), x.tolist())

    return F.udf(weigh, VectorUDT(), useArrow=False)


def _select_C(
    spark: SparkSession,
    train_df: DataFrame,
    num_features: int,
    grid: tuple[float, ...],
    max_iter: int,
    seed: int,
) -> dict[str, Any]:
    """Each C fit on a seeded part of the training rows (weighed by that part alone) and
    scored on the rest, as `training._train._select_C` does; the most accurate, the smallest
    on a tie."""
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator

    if not grid or any(c <= 0 for c in grid):
        raise ValueError(f"C_grid must hold positive numbers, got {list(grid)}")
    fit_df, val_df = train_df.randomSplit([1 - VALIDATION_SIZE, VALIDATION_SIZE], seed=seed)
    weigh = _weigher(spark, _column_scale(fit_df, num_features))
    fit_df = fit_df.withColumn("features", weigh("indices", "values")).cache()
    val_df = val_df.withColumn("features", weigh("indices", "values")).cache()
    n_fit = fit_df.count()
    evaluator = MulticlassClassificationEvaluator(metricName="accuracy")
    tried = []
    try:
        for c in sorted(float(c) for c in grid):
            model = _fit(fit_df, 1.0 / (c * n_fit), max_iter)
            tried.append({"C": c, "accuracy": float(evaluator.evaluate(model.transform(val_df)))})
        n_val = val_df.count()
    finally:
        fit_df.unpersist()
        val_df.unpersist()
    best = max(tried, key=lambda t: t["accuracy"])
    return {
        "C": best["C"],
        "chosen_by": "validation accuracy",
        "validation_size": VALIDATION_SIZE,
        "n_fit": n_fit,
        "n_validation": n_val,
        "grid": tried,
    }


def _fit(train_df: DataFrame, reg_param: float, max_iter: int) -> Any:
    from pyspark.ml.classification import LogisticRegression

    estimator = LogisticRegression(
        family="binomial",
        regParam=reg_param,
        elasticNetParam=0.0,
        standardization=False,
        maxIter=max_iter,
        tol=1e-9,
    )
    return estimator.fit(train_df)


def _scores(predicted: DataFrame) -> dict[str, Any]:
    """Accuracy, ROC AUC, log loss and the confusion matrix ``[[tn, fp], [fn, tp]]``, as
    `training.train` records them."""
    from pyspark.ml.evaluation import (
        BinaryClassificationEvaluator,
        MulticlassClassificationEvaluator,
    )

    multi = MulticlassClassificationEvaluator()
    cells = {
        (int(r["label"]), int(r["prediction"])): int(r["count"])
        for r in predicted.groupBy("label", "prediction").count().collect()
    }
    return {
        "accuracy": float(multi.evaluate(predicted, {multi.metricName: "accuracy"})),
        "roc_auc": float(BinaryClassificationEvaluator().evaluate(predicted)),
        "log_loss": float(multi.evaluate(predicted, {multi.metricName: "logLoss"})),
        "confusion_matrix": [[cells.get((t, p), 0) for p in (0, 1)] for t in (0, 1)],
    }


def _verify(
    blob: bytes, predicted: DataFrame, num_features: int, limit: int, tolerance: float
) -> float:
    """max |p_onnx - p_mllib| on up to ``limit`` held-out rows; ExportMismatch beyond it."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    rows: Any = (
        predicted.select(
            "indices",
            "values",
            vector_to_array(F.col("probability")).getItem(1).alias("p"),
            F.col("prediction"),
        )
        .limit(limit)
        .toPandas()
    )
    lengths = rows["indices"].map(len).to_numpy()
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    flat = [np.asarray(list(v), np.float64) for v in rows["values"]]
    X = sp.csr_matrix(
        (
            np.concatenate(flat) if flat else np.empty(0),
            np.concatenate([np.asarray(list(i), np.int64) for i in rows["indices"]])
            if flat
            else np.empty(0, np.int64),
            indptr,
        ),
        shape=(len(rows), num_features),
    )
    X.sum_duplicates()
    probability, label = run_onnx(blob, X)
    max_abs_diff = float(np.max(np.abs(probability - rows["p"].to_numpy()), initial=0.0))
    mismatches = int(np.count_nonzero(label != rows["prediction"].to_numpy().astype(np.int64)))
    if max_abs_diff > tolerance or mismatches:
        raise ExportMismatch(max_abs_diff, mismatches, tolerance)
    return max_abs_diff


def _pyspark_version() -> str:
    import pyspark

    return str(pyspark.__version__)

"""Retraining noise: how far apart two equally good models of one recipe fall on the same rows.

The production recipe (its estimator and parameters, from its metadata) is retrained on a
calibration table with each of ``seeds`` (another split, so other training rows), and the
retrains are compared pairwise on the evaluation rows (`_gate.compare`); production joins the
pairs when its record shows it was trained on that same table. Only models trained on the
same data count: a model trained on other rows differs by more than noise. The result
is kept in ``<root>/<name>/gate_calibration.json`` and reused while production, the
calibration table, the evaluation table and the seeds stay the same.

A table is known by `table_key`: the spec hash plus what the job recorded about its input
(files, sizes, modification times) and filters; a table without that record (written by
hand) is known by its files instead.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from contracts import MODEL_FILENAME, ContractError, FeatureTableInfo, ModelRepository, write_json

from ._gate import compare, noise
from ._onnx import run_onnx

__all__ = ["CALIBRATION_FILENAME", "calibrate", "table_key"]

CALIBRATION_FILENAME: Final = "gate_calibration.json"
Scores = tuple[np.ndarray, np.ndarray]


def table_key(path: Path, info: FeatureTableInfo) -> str:
    """What identifies a feature table's rows: a short hash (see the module doc)."""
    job = info.job
    if job.get("input"):
        ident: dict[str, Any] = {
            "spec_hash": info.spec_hash,
            "input": job["input"],
            "filters": (job.get("filters") or {}).get("declared"),
        }
    else:
        files = sorted(
            (str(p.relative_to(path)), p.stat().st_size)
            for p in Path(path).rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
        )
        ident = {"spec_hash": info.spec_hash, "files": files, "job": job}
    text = json.dumps(ident, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def calibrate(
    repository: ModelRepository,
    name: str,
    production: int,
    *,
    calibration_table: Path,
    eval_key: str,
    X: sp.csr_matrix,
    y: np.ndarray,
    production_scores: Scores,
    seeds: Sequence[int],
    recalibrate: bool = False,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """The noise of ``seeds`` retrains of production's recipe, reused from the file if it
    matches; returns the file's content plus ``reused``."""
    from ._data import read_table

    calibration_key = table_key(calibration_table, read_table(calibration_table))
    key = {
        "production": production,
        "calibration_table": calibration_key,
        "eval_table": eval_key,
        "seeds": list(seeds),
    }
    path = repository.root / name / CALIBRATION_FILENAME
    cached = _read(path)
    if cached is not None and cached.get("key") == key and not recalibrate:
        return {**cached, "reused": True, "path": str(path)}
    meta = repository.read_metadata(name, production)
    models: list[tuple[str, Scores]] = []
    if _trained_on(meta, calibration_key):
        models.append((f"production v{production}", production_scores))
    with tempfile.TemporaryDirectory(prefix="nlpfeat-calibration-") as work:
        for seed in seeds:
            report(f"calibrating: retraining production's recipe with seed {seed}")
            blob = _retrain(meta, calibration_table, Path(work), name, seed)
            models.append((f"retrain seed {seed}", run_onnx(blob, X)))
    lengths = np.diff(X.indptr)
    measured = []
    for (name_a, (p_a, l_a)), (name_b, (p_b, l_b)) in combinations(models, 2):
        comparison = compare(p_a, p_b, y, lengths, labels=(l_a, l_b))
        measured.append({"models": [name_a, name_b], "noise": noise(comparison)})
    content = {
        "key": key,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipe": meta.get("training", {}),
        "pairs": measured,
    }
    write_json(path, content)
    return {**content, "reused": False, "path": str(path)}


def _trained_on(meta: dict[str, Any], key: str) -> bool:
    """Whether production was trained on the table of ``key`` (known only from a job's
    record), so that it is one more model of the same recipe on the same data."""
    try:
        info = FeatureTableInfo.from_json(meta.get("feature_spec") or {})
    except ContractError:
        return False
    return bool(info.job.get("input")) and table_key(Path("."), info) == key


def _retrain(meta: dict[str, Any], table: Path, work: Path, name: str, seed: int) -> bytes:
    """Production's recipe on ``table`` with ``seed``; the ONNX bytes."""
    recipe = meta.get("training") or {}
    params = recipe.get("params") or {}
    if recipe.get("library") == "pyspark":
        from ._spark import train_spark

        spark_kwargs = {k: params[k] for k in ("reg_param", "max_iter") if k in params}
        result = train_spark(table, work, name=name, seed=seed, **spark_kwargs)
    else:
        from ._train import DEFAULT_C, train

        # refit=False: each seed's model sees its own sample of the rows, as retraining does
        result = train(
            table, work, name=name, seed=seed, C=float(params.get("C", DEFAULT_C)), refit=False
        )
    return (result.path / MODEL_FILENAME).read_bytes()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

"""The model lifecycle on a `contracts.ModelRegistry`: gate, promote, roll back, retrain.

- `gate`: production and a candidate score the same evaluation table; thresholds come from
  retraining noise (`_calibration`); the report says pass or fail and why.
- `promote`: a version (default: the candidate) becomes production through the gate, or
  without it when forced with a reason; the first model of a name needs no gate.
- `rollback`: production goes back to the version it replaced.
- `retrain`: a new table -> train -> gate -> promote or keep as candidate, once per table:
  the table's key is recorded in the registry, and a rerun finds it and trains nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from contracts import (
    CANDIDATE,
    PRODUCTION,
    FeatureTableInfo,
    ModelRegistry,
    ModelRepository,
    RepositoryError,
)

from ._calibration import calibrate, table_key
from ._data import read_features, read_table
from ._errors import TrainingError
from ._gate import DEFAULT_MARGIN, DEFAULT_SEEDS, compare, decide, thresholds
from ._onnx import run_onnx

__all__ = [
    "GateError",
    "GateReport",
    "LifecycleResult",
    "gate",
    "production_lineage",
    "promote",
    "retrain",
    "rollback",
]

Progress = Callable[[str], None]
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class GateError(TrainingError):
    """The gate cannot decide (no production, no candidate, a table of another spec...)."""


@dataclass(frozen=True)
class GateReport:
    passed: bool
    report: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.passed else EXIT_FAIL

    def summary(self) -> dict[str, Any]:
        """What the registry keeps of it (the whole report goes to --json)."""
        r = self.report
        keep = ("kendall_tau", "flip_0_1", "flip_1_0", "p99_abs_dp", "accuracy_diff")
        return {
            "verdict": r["verdict"],
            "reasons": r["reasons"],
            "production": r["production"],
            "candidate": r["candidate"],
            "eval_table": r["eval"]["table"],
            "eval_key": r["eval"]["key"],
            "metrics": {k: r["metrics"][k] for k in keep},
            "accuracy_diff_ci": r["metrics"]["accuracy_diff_ci"],
            "calibration": r["calibration"]["path"],
        }


@dataclass(frozen=True)
class LifecycleResult:
    """What `promote`, `rollback` or `retrain` did, and the exit code for a scheduler."""

    action: str
    version: int | None
    message: str
    exit_code: int = EXIT_PASS
    gate: GateReport | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)


def gate(
    models_dir: Path,
    name: str,
    *,
    eval_table: Path,
    candidate: int | None = None,
    calibration_table: Path | None = None,
    margin: float = DEFAULT_MARGIN,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    recalibrate: bool = False,
    progress: Progress | None = None,
) -> GateReport:
    """Compare ``candidate`` (default: the candidate alias) with production on ``eval_table``.

    Retraining noise is measured on ``calibration_table``, by default the table production
    was trained on (where its metadata names one that exists), else ``eval_table``: never
    the candidate's own table, whose flaws would pass for noise."""
    report = progress or _silent
    registry = ModelRegistry(models_dir)
    repo = registry.repository
    production = registry.resolve(name, PRODUCTION)
    if production is None:
        raise GateError(f"model {name!r} has nothing in production to compare with")
    candidate = _candidate(registry, name, candidate, production)
    report(f"reading {eval_table}")
    data = read_features(Path(eval_table))
    metas = {v: _metadata(repo, name, v) for v in (production, candidate)}
    for v, meta in metas.items():
        if meta.get("spec_hash") != data.table.spec_hash:
            raise GateError(
                f"version {v} expects spec_hash {meta.get('spec_hash')}, {eval_table} has "
                f"{data.table.spec_hash}: featurize the evaluation table with its spec"
            )
    report(f"scoring {data.X.shape[0]} rows with v{production} and v{candidate}")
    p_a, l_a = run_onnx(repo.model_path(name, production).read_bytes(), data.X)
    p_b, l_b = run_onnx(repo.model_path(name, candidate).read_bytes(), data.X)
    comparison = compare(p_a, p_b, data.y, np.diff(data.X.indptr), labels=(l_a, l_b))
    eval_key = table_key(Path(eval_table), data.table)
    calibration_table = (
        calibration_table or _training_table(repo, name, production) or Path(eval_table)
    )
    calibration = calibrate(
        repo,
        name,
        production,
        calibration_table=Path(calibration_table),
        eval_key=eval_key,
        X=data.X,
        y=data.y,
        production_scores=(p_a, l_a),
        seeds=seeds,
        recalibrate=recalibrate,
        report=report,
    )
    limits = thresholds([p["noise"] for p in calibration["pairs"]], margin)
    verdict = decide(comparison, limits)
    return GateReport(
        verdict.passed,
        {
            "verdict": "pass" if verdict.passed else "fail",
            "reasons": verdict.reasons,
            "notes": verdict.notes,
            "name": name,
            "production": production,
            "candidate": candidate,
            "eval": {"table": str(eval_table), "key": eval_key, "rows": int(data.X.shape[0])},
            "metrics": comparison,
            "thresholds": limits,
            "margin": margin,
            "ci_method": "paired bootstrap (multinomial over discordant rows), seed 0, "
            "4000 resamples, 95% percentile interval",
            "calibration": calibration,
        },
    )


def promote(
    models_dir: Path,
    name: str,
    *,
    by: str,
    version: int | None = None,
    reason: str | None = None,
    force: bool = False,
    eval_table: Path | None = None,
    **gate_options: Any,
) -> LifecycleResult:
    """Make ``version`` (default: the candidate) production; see the module doc."""
    registry = ModelRegistry(models_dir)
    production = registry.resolve(name, PRODUCTION)
    version = _candidate(registry, name, version, production)
    if production is None:
        why = reason or f"first model of {name!r}: nothing in production to gate against"
        return _promoted(registry, name, version, by=by, reason=why, action="first")
    if force:
        if not (reason and reason.strip()):
            raise GateError("a forced promotion needs --reason: say why the gate is skipped")
        return _promoted(registry, name, version, by=by, reason=reason, forced=True)
    table = eval_table or _training_table(registry.repository, name, version)
    if table is None:
        raise GateError("pass --eval TABLE: the gate needs an evaluation feature table")
    checked = gate(models_dir, name, eval_table=table, candidate=version, **gate_options)
    if not checked.passed:
        return LifecycleResult(
            "rejected",
            version,
            f"v{version} stays out of production: " + "; ".join(checked.report["reasons"]),
            EXIT_FAIL,
            checked,
        )
    return _promoted(registry, name, version, by=by, reason=reason or "gate passed", gate=checked)


def rollback(models_dir: Path, name: str, *, by: str, reason: str) -> LifecycleResult:
    """Production back to the version the current one replaced (see `production_lineage`)."""
    registry = ModelRegistry(models_dir)
    lineage = production_lineage(registry.history(name))
    if len(lineage) < 2:
        raise GateError(f"model {name!r} has no earlier production version to roll back to")
    current, previous = lineage[-1], lineage[-2]
    entry = registry.set_alias(
        name, PRODUCTION, previous, by=by, reason=f"rollback from v{current}: {reason}"
    )
    return LifecycleResult(
        "rollback", previous, f"production: v{current} -> v{previous}", 0, None, [entry]
    )


def production_lineage(history: Sequence[dict[str, Any]]) -> list[int]:
    """The production versions in force, oldest first: a change back to the version below
    the top is a rollback (pops), any other change pushes."""
    stack: list[int] = []
    for entry in history:
        if entry.get("alias") != PRODUCTION or entry.get("version") is None:
            continue
        version = int(entry["version"])
        if len(stack) >= 2 and stack[-2] == version:
            stack.pop()
        elif not stack or stack[-1] != version:
            stack.append(version)
    return stack


def retrain(
    features: Path,
    models_dir: Path,
    *,
    name: str,
    by: str,
    eval_table: Path | None = None,
    progress: Progress | None = None,
    **gate_options: Any,
) -> LifecycleResult:
    """New table -> train -> gate -> promote or keep as candidate; once per table."""
    from ._train import train

    report = progress or _silent
    registry = ModelRegistry(models_dir)
    info = read_table(Path(features))
    key = table_key(Path(features), info)
    done = _retrained(registry, name, key, info)
    version = done[0] if done else None
    if done and done[1] is not None:
        return LifecycleResult(
            "unchanged",
            version,
            f"{features} (table {key}) was already used for v{version}: {done[1]['reason']}; "
            "nothing trained",
            EXIT_PASS if done[1].get("verdict") != "fail" else EXIT_FAIL,
        )
    record = {"table_key": key, "table": str(features), "spec_hash": info.spec_hash}
    if version is None:
        report("training")
        version = train(Path(features), models_dir, name=name, progress=report).version
        if registry.resolve(name, PRODUCTION) is not None:
            registry.set_alias(
                name, CANDIDATE, version, by=by, reason=f"retrained on {features}", gate=record
            )
    production = registry.resolve(name, PRODUCTION)
    if production is None:
        why = f"first model of {name!r} (retrained on {features}): nothing to gate against"
        return _promoted(registry, name, version, by=by, reason=why, action="first", record=record)
    checked = gate(
        models_dir,
        name,
        eval_table=eval_table or Path(features),
        candidate=version,
        progress=report,
        **gate_options,
    )
    if checked.passed:
        return _promoted(
            registry, name, version, by=by, reason="gate passed", gate=checked, record=record
        )
    why = "gate failed: " + "; ".join(checked.report["reasons"])
    entry = registry.set_alias(
        name, CANDIDATE, version, by=by, reason=why, gate={**record, **checked.summary()}
    )
    return LifecycleResult(
        "rejected", version, f"v{version} kept as candidate: {why}", 1, checked, [entry]
    )


def _promoted(
    registry: ModelRegistry,
    name: str,
    version: int,
    *,
    by: str,
    reason: str,
    forced: bool = False,
    gate: GateReport | None = None,
    action: str = "promoted",
    record: dict[str, Any] | None = None,
) -> LifecycleResult:
    details = {**(record or {}), **(gate.summary() if gate else {})}
    if action == "first":
        details.setdefault("verdict", "first")
    entries = [
        registry.set_alias(
            name, PRODUCTION, version, by=by, reason=reason, forced=forced, gate=details or None
        )
    ]
    if registry.resolve(name, CANDIDATE) == version:
        registry.remove_alias(name, CANDIDATE, by=by, reason=f"v{version} is production")
    how = "forced, gate skipped" if forced else reason
    return LifecycleResult(action, version, f"v{version} is production ({how})", 0, gate, entries)


def _retrained(
    registry: ModelRegistry, name: str, key: str, info: FeatureTableInfo
) -> tuple[int, dict[str, Any] | None] | None:
    """The version trained on table ``key`` and the entry deciding its fate (None: not yet)."""
    history = registry.history(name)
    version = next(
        (e["version"] for e in history if (e.get("gate") or {}).get("table_key") == key), None
    )
    if version is None and info.job.get("input"):
        for v in registry.repository.versions(name):
            spec = _metadata(registry.repository, name, v).get("feature_spec") or {}
            if _same_table(spec, info):
                version = v
    if version is None:
        return None
    for entry in reversed(history):
        gate_record = entry.get("gate") or {}
        if entry.get("version") == version and "verdict" in gate_record:
            return version, {"reason": entry["reason"], "verdict": gate_record["verdict"]}
    return version, None


def _same_table(spec: dict[str, Any], info: FeatureTableInfo) -> bool:
    job = spec.get("job") or {}
    return bool(
        spec.get("spec_hash") == info.spec_hash
        and job.get("input") == info.job.get("input")
        and (job.get("filters") or {}).get("declared")
        == (info.job.get("filters") or {}).get("declared")
    )


def _candidate(
    registry: ModelRegistry, name: str, version: int | None, production: int | None
) -> int:
    versions = registry.repository.versions(name)
    if version is None:
        version = registry.resolve(name, CANDIDATE)
        if version is None and production is None and versions:
            version = versions[-1]
    if version is None:
        raise GateError(f"model {name!r} has no candidate: name a version")
    if version not in versions:
        raise GateError(f"model {name!r} has no version {version} (it has {versions or 'none'})")
    if version == production:
        raise GateError(f"v{version} of {name!r} is already production")
    return version


def _training_table(repo: ModelRepository, name: str, version: int) -> Path | None:
    """The table a version was trained on, where its metadata names one that exists."""
    job = (_metadata(repo, name, version).get("feature_spec") or {}).get("job") or {}
    path = ((job.get("config") or {}).get("output") or {}).get("path")
    return Path(path) if path and Path(path).is_dir() else None


def _metadata(repo: ModelRepository, name: str, version: int) -> dict[str, Any]:
    try:
        return repo.read_metadata(name, version)
    except RepositoryError as exc:
        raise GateError(str(exc)) from exc


def _silent(_: str) -> None:
    pass

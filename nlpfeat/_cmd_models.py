"""`nlpfeat models list|show|promote|rollback`, `nlpfeat gate` and `nlpfeat retrain`.

Registered on the CLI app by importing this module. Who acts (``--by``) defaults to the
user running the command, read here once. Exit codes of `gate`, `retrain` and
`models promote`: 0 passed (or nothing to do), 1 the gate failed, 2 an error.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from nlpfeat._cli import app, err

if TYPE_CHECKING:
    from training import GateReport, LifecycleResult

__all__ = ["models_app"]

models_app = typer.Typer(
    help="The model registry: versions, aliases (production, candidate), their history.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
out = Console()
EXIT_ERROR = 2

ModelsDir = Annotated[Path, typer.Option("--models", help="models directory")]
Name = Annotated[str, typer.Option(help="model name")]
By = Annotated[str | None, typer.Option(help="who acts, recorded in the history (default: $USER)")]
Margin = Annotated[float, typer.Option(help="thresholds = largest retraining noise x this")]
Recalibrate = Annotated[
    bool, typer.Option(help="measure retraining noise again instead of reusing it")
]
JsonOut = Annotated[Path | None, typer.Option("--json", help="write the gate's report here")]
METRICS = (("accuracy", "accuracy"), ("roc_auc", "ROC AUC"), ("log_loss", "log loss"))


def _error(exc: Exception) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(EXIT_ERROR)


def _lifecycle_errors() -> tuple[type[Exception], ...]:
    import contracts
    import training

    return (training.TrainingError, contracts.RepositoryError, ValueError)


def _gate_options(features: Path | None, margin: float, recalibrate: bool) -> dict[str, Any]:
    return {
        "calibration_table": features,
        "margin": margin,
        "recalibrate": recalibrate,
        "progress": err.print,
    }


def _who(by: str | None) -> str:
    return by or getpass.getuser()


@models_app.command("list")
def list_models(
    models: ModelsDir = Path("models"),
    name: Annotated[str | None, typer.Option(help="only this model")] = None,
) -> None:
    """Every version of every model: stage, aliases, metrics, created_at."""
    from contracts import ModelRegistry

    registry = ModelRegistry(models)
    try:
        names = [name] if name else registry.repository.names()
        for model in names:
            out.print(_versions_table(registry, model))
    except _lifecycle_errors() as exc:
        _error(exc)
    if not names:
        err.print(f"no models in {models}")


def _versions_table(registry: Any, name: str) -> Table:
    aliases = registry.aliases(name)
    table = Table(title=f"{name} ({registry.repository.root / name})")
    for column in ("version", "stage", "aliases", *(label for _, label in METRICS), "created_at"):
        table.add_column(column)
    for version in registry.repository.versions(name):
        meta = registry.repository.read_metadata(name, version)
        metrics = meta.get("metrics") or {}
        held = ", ".join(sorted(a for a, v in aliases.items() if v == version))
        table.add_row(
            str(version),
            registry.stage(name, version) or "",
            held,
            *(_number(metrics.get(key)) for key, _ in METRICS),
            str(meta.get("created_at", "")),
        )
    return table


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else ""


@models_app.command()
def show(
    name: Annotated[str, typer.Argument(help="model name")],
    version: Annotated[int | None, typer.Argument(help="version (default: production)")] = None,
    models: ModelsDir = Path("models"),
) -> None:
    """One version's metadata, and the model's alias history (who moved what, and why)."""
    from contracts import PRODUCTION, ModelRegistry

    registry = ModelRegistry(models)
    try:
        chosen = version or registry.resolve(name, PRODUCTION) or registry.repository.latest(name)
        if chosen is None:
            raise ValueError(f"model {name!r} has no versions in {models}")
        meta = registry.repository.read_metadata(name, chosen)
        stage = registry.stage(name, chosen)
        history = registry.history(name)
    except _lifecycle_errors() as exc:
        _error(exc)
    out.print(f"[bold]{name} v{chosen}[/] ({stage or 'no stage'})")
    out.print_json(json.dumps({k: v for k, v in meta.items() if k != "feature_spec"}))
    table = Table(title="alias history")
    columns = ("at", "alias", "version", "previous", "by", "forced", "reason")
    for column in columns:
        table.add_column(column)
    for e in history:
        table.add_row(*("-" if e.get(k) is None else str(e[k]) for k in columns))
    out.print(table)


@models_app.command()
def promote(
    name: Annotated[str, typer.Argument(help="model name")],
    version: Annotated[int | None, typer.Option(help="version (default: the candidate)")] = None,
    models: ModelsDir = Path("models"),
    eval: Annotated[Path | None, typer.Option(help="evaluation feature table for the gate")] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            help="table to retrain production's recipe on (default: its own, else --eval)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="skip the gate (needs --reason)")] = False,
    reason: Annotated[str | None, typer.Option(help="why, recorded in the history")] = None,
    by: By = None,
    margin: Margin = 1.5,
    recalibrate: Recalibrate = False,
    json_out: JsonOut = None,
) -> None:
    """Make a version production, through the gate unless --force --reason "..."."""
    import training

    try:
        result = training.promote(
            models,
            name,
            by=_who(by),
            version=version,
            reason=reason,
            force=force,
            eval_table=eval,
            **_gate_options(features, margin, recalibrate),
        )
    except _lifecycle_errors() as exc:
        _error(exc)
    _finish(result, json_out)


@models_app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="model name")],
    reason: Annotated[str, typer.Option(help="why, recorded in the history")],
    models: ModelsDir = Path("models"),
    by: By = None,
) -> None:
    """Production back to the version the current production replaced."""
    import training

    try:
        result = training.rollback(models, name, by=_who(by), reason=reason)
    except _lifecycle_errors() as exc:
        _error(exc)
    _finish(result, None)


@app.command("gate")
def gate_command(
    models: ModelsDir = Path("models"),
    name: Name = "sentiment",
    candidate: Annotated[int | None, typer.Option(help="version (default: the candidate)")] = None,
    eval: Annotated[Path | None, typer.Option(help="evaluation feature table")] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            help="table to retrain production's recipe on (default: its own, else --eval)"
        ),
    ] = None,
    margin: Margin = 1.5,
    recalibrate: Recalibrate = False,
    json_out: JsonOut = None,
) -> None:
    """Compare a candidate with production on an evaluation table; thresholds from retraining
    noise. Exit 0 pass, 1 fail, 2 error."""
    import training

    try:
        table = eval or features
        if table is None:
            raise ValueError("pass --eval TABLE: an evaluation feature table")
        report = training.gate(
            models,
            name,
            eval_table=table,
            candidate=candidate,
            **_gate_options(features, margin, recalibrate),
        )
    except _lifecycle_errors() as exc:
        _error(exc)
    _print_gate(report, json_out)
    raise typer.Exit(report.exit_code)


@app.command()
def retrain(
    features: Annotated[Path, typer.Option(exists=True, help="new feature table")],
    models: ModelsDir = Path("models"),
    name: Name = "sentiment",
    eval: Annotated[
        Path | None, typer.Option(help="evaluation table for the gate (default: --features)")
    ] = None,
    by: By = None,
    margin: Margin = 1.5,
    json_out: JsonOut = None,
) -> None:
    """New table -> train -> gate -> promote or keep as candidate; once per table (a rerun
    trains nothing). For a scheduler: exit 0 promoted or unchanged, 1 gate failed, 2 error."""
    import training

    try:
        result = training.retrain(
            features,
            models,
            name=name,
            by=_who(by),
            eval_table=eval,
            margin=margin,
            progress=err.print,
        )
    except _lifecycle_errors() as exc:
        _error(exc)
    _finish(result, json_out)


def _finish(result: LifecycleResult, json_out: Path | None) -> None:
    if result.gate is not None:
        _print_gate(result.gate, json_out)
    colour = "green" if result.exit_code == 0 else "yellow"
    err.print(f"[bold {colour}]{result.action}[/]: {result.message}")
    raise typer.Exit(result.exit_code)


def _print_gate(report: GateReport, json_out: Path | None) -> None:
    r = report.report
    m = r["metrics"]
    low, high = m["accuracy_diff_ci"]
    calibration = r["calibration"]
    err.print(
        f"gate v{r['candidate']} vs production v{r['production']} on {r['eval']['rows']} rows: "
        f"tau {m['kendall_tau']:.4f}, flips 0->1 {m['flips_0_1']} 1->0 {m['flips_1_0']}, "
        f"p99 |Δp| {m['p99_abs_dp']:.4f}, accuracy {m['accuracy_a']:.4f} -> "
        f"{m['accuracy_b']:.4f} (Δ {m['accuracy_diff']:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}]);"
        f" calibration {'reused' if calibration['reused'] else 'measured'} "
        f"({len(calibration['pairs'])} pairs, {calibration['path']})"
    )
    for line in r["reasons"]:
        err.print(f"  [red]fail[/]: {line}")
    for line in r["notes"]:
        err.print(f"  note: {line}")
    err.print(f"verdict: [bold]{r['verdict']}[/]")
    if json_out is not None:
        json_out.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

"""`nlpfeat analyze ...` commands (registered on the CLI app by importing this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nlpfeat._cli import _fail, app, err

__all__ = ["analyze"]

Opt = typer.Option


@app.command()
def analyze(
    input: Annotated[str, Opt(help="table to analyze (a path Spark reads)")],
    report: Annotated[Path, Opt(help="directory for report.html, report.json, flagged/")],
    compare: Annotated[str | None, Opt(help="a second table to compare against (drift)")] = None,
    group_col: Annotated[str | None, Opt(help="group column, e.g. movie_id")] = None,
    format: Annotated[str | None, Opt(help="csv | tsv | jsonl | parquet")] = None,
    text_col: Annotated[str, Opt(help="text column")] = "document",
    id_col: Annotated[str, Opt(help="id column (made from the text when absent)")] = "id",
    label_col: Annotated[str, Opt(help="label column")] = "label",
    proxy: Annotated[str | None, Opt(help="proxy URL for the morpheme sample")] = None,
    api_key: Annotated[str | None, Opt(envvar="NLPFEAT_API_KEY", help="proxy API key")] = None,
    sample: Annotated[int, Opt(help="docs sent to the API (0: skip morphemes)")] = 2000,
    analyzer: Annotated[str, Opt(help="analyzer of the NLP API")] = "mecab",
    master: Annotated[str, Opt(help="Spark master")] = "local[2]",
    progress: Annotated[bool, Opt("--progress/--no-progress")] = True,
) -> None:
    """ANALYZE: a data report over all rows (Spark), morphemes on a sample (API), drift."""
    from spark_udfs import InputError, JavaMissing, JobConfigError, spark_session
    from spark_udfs._analyze import analyze as run
    from spark_udfs._job import InputConfig

    try:
        cfg = InputConfig(path=input, format=format, text=text_col, id=id_col, label=label_col)  # type: ignore[arg-type]
        ccfg = None
        if compare:
            ccfg = InputConfig(
                path=compare, format=format, text=text_col, id=id_col, label=label_col
            )  # type: ignore[arg-type]
        spark = spark_session(master, "nlpfeat-analyze")
        result = run(
            spark,
            cfg,
            compare_cfg=ccfg,
            group_col=group_col,
            report_dir=report,
            proxy_url=proxy,
            api_key=api_key,
            sample=sample if proxy else 0,
            analyzer=analyzer,
            progress=progress,
        )
    except (InputError, JobConfigError, JavaMissing) as exc:
        _fail(exc)
        return
    except ValueError as exc:  # pydantic: a bad format name
        _fail(exc)
        return
    _summary(result, report)


def _summary(report: dict, out: Path) -> None:
    table = Table(title=f"analyze -> {out}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for key, value in report["summary"].items():
        table.add_row(key, f"{value:,}")
    if report.get("sample"):
        table.add_row("morpheme sample", f"{report['sample']['size']:,}")
    for row in report.get("drift") or []:
        table.add_row(f"drift {row['statistic']}", f"PSI {row['psi']:.3f} {row['verdict']}")
    err.print(table)
    html = out / "report.html"
    err.print(f"report: {html if html.exists() else out / 'report.json'}")

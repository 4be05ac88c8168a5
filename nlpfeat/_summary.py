"""The end-of-job summary of `nlpfeat featurize`: what came in, what was dropped and why,
what was featurized, what errored, how often faults were retried, and how long it took."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_job_summary"]


def print_job_summary(console: Console, result: Any) -> None:
    job = result.job
    if result.complete:
        console.print(f"{result.output} is already complete: nothing to do (see below)")
    elif result.parts_skipped:
        console.print(
            f"resumed: {len(result.parts_skipped)} part(s) were done by an earlier run, "
            f"{len(result.parts_done)} computed now"
        )
    rows = job.get("rows", {})
    table = Table(title=f"featurize -> {result.output}", show_header=True)
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_column("examples / detail")
    table.add_row("in", f"{rows.get('in', 0):,}", str(job.get("input", {}).get("path", "")))
    filters = job.get("filters", {})
    for name, count in filters.get("dropped", {}).items():
        sample = ", ".join(repr(e.get("text")) for e in filters.get("examples", {}).get(name, []))
        table.add_row(f"  dropped by {name}", f"{count:,}", sample[:80])
    table.add_row("kept", f"{rows.get('kept', 0):,}", f"{job.get('parts', 0)} part(s)")
    table.add_row("featurized", f"{rows.get('featurized', 0):,}", "")
    for kind, count in rows.get("errored", {}).items():
        table.add_row(f"  errored: {kind}", f"{count:,}", "")
    retries = {k: v for k, v in job.get("retries", {}).items() if k != "requests"}
    detail = ", ".join(f"{k}: {v}" for k, v in retries.items()) or "none"
    table.add_row("requests", f"{job.get('retries', {}).get('requests', 0):,}", f"retries {detail}")
    timings = job.get("timings", {})
    spent = ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in timings.items())
    table.add_row("time", f"{timings.get('total_s', 0):.1f}s", spent)
    console.print(table)
    info = result.info
    console.print(
        f"{info.analyzer} {info.analyzer_version}, {info.dictionary}"
        + (
            f" + {info.user_dictionary} {info.user_dictionary_version}"
            if info.user_dictionary
            else ""
        )
        + f"; spec_hash {info.spec_hash}"
    )

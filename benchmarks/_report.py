"""What a scenario reports (rows of goal, target, measured, met) and how it is shown."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

__all__ = ["Outcome", "Row", "Ui", "table"]


@dataclass(frozen=True)
class Row:
    """One goal: ``met`` is None for a figure shown for information only."""

    goal: str
    target: str
    measured: str
    met: bool | None


@dataclass
class Outcome:
    """A scenario's rows, the setup they were measured under, and the raw figures."""

    scenario: str
    setup: str
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, goal: str, target: str, measured: str, met: bool | None) -> None:
        self.rows.append(Row(goal, target, measured, met))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "setup": self.setup,
            "rows": [asdict(r) for r in self.rows],
            "figures": self.figures,
        }


def table(outcomes: Sequence[Outcome], command: str) -> Table:
    t = Table(title="nlpfeat proxy: measured vs target", caption=command, show_lines=False)
    t.add_column("scenario", style="bold")
    t.add_column("goal")
    t.add_column("target", justify="right")
    t.add_column("measured", justify="right")
    t.add_column("met", justify="center")
    for outcome in outcomes:
        for i, row in enumerate(outcome.rows):
            met = {True: "[green]yes[/]", False: "[red]NO[/]", None: "[dim]info[/]"}[row.met]
            t.add_row(outcome.scenario if i == 0 else "", row.goal, row.target, row.measured, met)
        t.add_section()
    return t


class Ui:
    """Progress bars for timed load phases, and notes printed above them."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> Ui:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def note(self, text: str) -> None:
        self.progress.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}")

    @contextmanager
    def timed(self, description: str, start_at: float, end: float) -> Iterator[Any]:
        """A bar over ``[start_at, end]`` (``time.monotonic()``); yields ``tick()``."""
        task = self.progress.add_task(description, total=max(0.1, end - start_at))

        def tick() -> None:
            done = min(max(0.0, time.monotonic() - start_at), end - start_at)
            self.progress.update(task, completed=done)

        try:
            yield tick
        finally:
            self.progress.remove_task(task)

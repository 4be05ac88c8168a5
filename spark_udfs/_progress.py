"""A progress bar for a Spark job counted in rows, with rows/s and ETA (rich).

Spark reports tasks, not rows: while a part runs, its rows are credited in proportion to its
finished tasks (`SparkStatusTracker`, polled from a thread); a finished part counts in full.
Spark's own console progress is switched off by the session (see `spark_session`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["RowProgress"]


class RowProgress:
    """`with RowProgress(spark, total) as bar: with bar.part(rows): ...run a Spark job...`"""

    def __init__(
        self, spark: Any, total: int, *, enabled: bool = True, console: Console | None = None
    ) -> None:
        self._tracker = spark.sparkContext.statusTracker()
        self._bar = Progress(
            TextColumn("[bold]featurize[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task = self._bar.add_task("rows", total=max(total, 1), rate="")
        self._done = 0
        self._running = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> RowProgress:
        self._bar.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._update(0.0)
        self._bar.stop()

    def skip(self, rows: int) -> None:
        """Rows of a part that a previous run finished."""
        self._done += rows
        self._bar.update(self._task, completed=self._done, rate="(resumed)")

    @contextmanager
    def part(self, rows: int) -> Iterator[None]:
        self._running = rows
        try:
            yield
        finally:
            self._done += rows
            self._running = 0
            self._update(0.0)

    def _fraction(self) -> float:
        done = total = 0
        for stage_id in self._tracker.getActiveStageIds():
            info = self._tracker.getStageInfo(stage_id)
            if info is not None:
                done += info.numCompletedTasks
                total += info.numTasks
        return done / total if total else 0.0

    def _update(self, fraction: float) -> None:
        completed = self._done + int(self._running * fraction)
        task = self._bar.tasks[0]
        speed = task.speed
        rate = f"{speed:,.0f} rows/s" if speed else ""
        self._bar.update(self._task, completed=completed, rate=rate)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._update(self._fraction())
            except Exception:  # a tracker call racing the session's shutdown: the bar only
                return

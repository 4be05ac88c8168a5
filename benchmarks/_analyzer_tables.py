"""The goals of the analyzer benchmark and the tables it prints (`print_tables`)."""

from __future__ import annotations

import argparse

import psutil
from _api_client import SCALING_CLIENTS
from _stats import interval, verdict
from rich.console import Console
from rich.table import Table

__all__ = ["API_GOAL", "BACKEND_GOALS", "SCALING_GOAL", "print_tables"]

API_GOAL = 0.9
"""The API's docs per worker CPU-second over the library loop's docs per second."""
BACKEND_GOALS = {"okt": 2.5, "komoran": 1.5}
"""Our backend's docs/s over konlpy's own loop."""
SCALING_GOAL = 1.8
"""Two workers' docs/s over one worker's."""


def ratio(a: dict | None, b: dict | None) -> float | None:
    return a["rate"] / b["rate"] if a and b and b["rate"] else None


def per_cpu_ratio(api: dict | None, lib: dict | None) -> float | None:
    """The worker's docs per CPU-second against the library loop's docs/s on its one core."""
    return api["per_cpu"] / lib["rate"] if api and lib and lib["rate"] else None


def rate(r: dict | None, key: str = "rate") -> str:
    if r is None:
        return "failed"
    note = f" ({r['errors']} err)" if r.get("errors") else ""
    return f"{r[key]:,.0f}{note}" if r[key] >= 100 else f"{r[key]:,.1f}{note}"


def _table(title: str, columns: list[str] | tuple[str, ...]) -> Table:
    """A table whose first column (the analyzer or process) is left-aligned, the rest right."""
    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def main_table(args: argparse.Namespace, n: int, res: dict) -> Table:
    goals = ", ".join(f"{a} {g}x" for a, g in BACKEND_GOALS.items())
    table = _table(
        f"{n:,} reviews, {args.seconds:g} s per measurement after {args.warmup:g} s "
        f"warm-up, API: one worker, two pipelined clients, batches of {args.batch_size}, "
        f"{res['note']}",
        [
            *("analyzer", "load s (lib)", "library cold", "library docs/s", "our backend docs/s"),
            *("API docs/s", "API / library", "API docs per worker CPU-s"),
            f"per CPU-s / library (goal {API_GOAL}x)",
            f"backend / library ({goals})",
            "backend RSS MB",
        ],
    )
    for name in args.analyzers:
        lib, own, api = res["library"][name], res["backend"][name], res["api"][name]
        goal = BACKEND_GOALS.get(name)
        backend_vs = verdict(ratio(own, lib), goal) if goal else f"{ratio(own, lib) or 0:.2f}x"
        table.add_row(
            name,
            f"{lib['load_s']:.1f}" if lib else "-",
            rate(lib, "cold"),
            rate(lib),
            rate(own),
            rate(api),
            f"{ratio(api, lib) or 0:.2f}x",
            f"{api['per_cpu']:,.0f}" if api else "-",
            verdict(per_cpu_ratio(api, lib), API_GOAL),
            backend_vs,
            f"{own['rss_mb']:,.0f}" if own else "-",
        )
    return table


def api_interleaved_table(args: argparse.Namespace, res: dict) -> Table:
    table = _table(
        f"API vs library loop, interleaved: {args.rounds} rounds of "
        f"~{args.round_seconds:g} s each (the same docs for both sides of a round), docs per "
        "CPU-second of each side's own process",
        [
            *("analyzer", "library (median)", "API (median)", "ratio range", "95% CI of median"),
            f"median ratio (goal {API_GOAL}x)",
        ],
    )
    for name in args.analyzers:
        it = (res["api"][name] or {}).get("interleaved")
        if it is None:
            table.add_row(name, "-", "-", "-", "-", "n/a")
            continue
        table.add_row(
            name,
            f"{it['library']:,.0f}",
            f"{it['api']:,.0f}",
            interval(*it["spread"]),
            interval(*it["ci"]),
            verdict(it["ratio"], API_GOAL, it["ci"]),
        )
    return table


def backend_interleaved_table(args: argparse.Namespace, res: dict) -> Table:
    table = _table(
        f"our backend vs konlpy's loop, interleaved: {args.rounds} rounds of "
        f"~{args.round_seconds:g} s each over the same docs, docs per CPU-second; 'Java alone' "
        "is konlpy's Java call with its result left unconverted: the most any way of crossing "
        "could give",
        [
            *("analyzer", "konlpy loop", "our backend", "Java alone", "ratio range", "95% CI"),
            *("backend / konlpy (median)", "Java alone / konlpy (ceiling)"),
        ],
    )
    for name, it in res["backend_interleaved"].items():
        if it is None:
            table.add_row(name, *["-"] * 5, "n/a", "n/a")
            continue
        rates, back, java = it["rates"], it["backend"], it.get("java")
        table.add_row(
            name,
            f"{rates['library']:,.0f}",
            f"{rates['backend']:,.0f}",
            f"{rates['java']:,.0f}" if java else "-",
            interval(*back["spread"]),
            interval(*back["ci"]),
            verdict(back["ratio"], BACKEND_GOALS[name], back["ci"]),
            f"{java['ratio']:.2f}x" if java else "-",
        )
    return table


def scaling_table(args: argparse.Namespace, res: dict) -> Table:
    table = _table(
        f"workers scaling: {SCALING_CLIENTS} client threads, batches of "
        f"{args.batch_size}, {psutil.cpu_count()} cores",
        ("analyzer", "1 worker docs/s", "2 workers docs/s", f"2 / 1 (goal {SCALING_GOAL}x)"),
    )
    for name, by in res["scaling"].items():
        one, two = by.get(1), by.get(2)
        table.add_row(
            name,
            f"{one:,.0f}" if one else "failed",
            f"{two:,.0f}" if two else "failed",
            verdict(two / one if one and two else None, SCALING_GOAL),
        )
    return table


def memory_table(args: argparse.Namespace, res: dict) -> Table:
    memory: dict[str, list[tuple[str, float]]] = res["memory"]
    table = _table(
        f"resident memory, one API worker, {','.join(args.analyzers)}, {res['note']}",
        ["process", *(f"RSS MB {when}" for when in memory)],
    )
    labels = dict.fromkeys(label for rows in memory.values() for label, _ in rows)
    for label in labels:
        cells = [dict(rows).get(label) for rows in memory.values()]
        table.add_row(label, *(f"{c:,.0f}" if c is not None else "-" for c in cells))
    totals = (f"{sum(m for _, m in rows):,.0f}" for rows in memory.values())
    table.add_row("[bold]total[/]", *totals)
    return table


def print_tables(console: Console, args: argparse.Namespace, n: int, res: dict) -> None:
    console.print(main_table(args, n, res))
    console.print(api_interleaved_table(args, res))
    console.print(backend_interleaved_table(args, res))
    console.print(scaling_table(args, res))
    console.print(memory_table(args, res))

"""docs/s of every analyzer: the library's own loop, our backend, and /v1/analyze; one run.

    python benchmarks/bench_analyzers.py [--data ../shared/data/reviews_train.tsv] [--n 2000]
        [--analyzers mecab,kiwi,komoran,okt,hannanum,kkma] [--seconds 8] [--batch-size 64]
        [--scaling mecab,kiwi] [--rounds 20] [--round-seconds 2]

Each measurement runs the same docs (in order, cycling) for `--seconds` of wall time after a
warm-up (at least 50 docs and `--warmup` seconds: konlpy's JVM analyzers need seconds of JIT
before they reach speed; okt runs ~4x faster after 5 s). The in-process loops run in a fresh
process per analyzer and kind, so JVMs and memory stay apart. The API runs one worker fed by
two pipelined clients; besides its wall-clock docs/s, its docs per second of worker CPU
(children included) are set against the library loop on its one core, since on two cores
the load generator and the JVMs' own threads share the CPU with the worker; the
scaling table runs 1 vs 2 workers fed by 8 client threads; the memory table is the resident
set of the one-worker API and of its isolated analyzer processes.

Since this machine's speed drifts by tens of percent from one second to the next, the ratios
that carry the goals are also measured in interleaved rounds (`--rounds` of `--round-seconds`,
docs per CPU-second, median of the per-round ratios with its 95% confidence interval from the
order statistics; a goal inside the interval reads UNSURE): the API against the library loop (each
a warm process of its own), and for okt and komoran our backend against konlpy's loop, next
to konlpy's Java call alone with its result left in Java, the ceiling for any way of crossing
Python<->Java (all three in one process, so they share one JVM and its JIT-compiled code).

Absolute numbers drift on a shared machine; the ratios, measured side by side in one run, are
the result. The loops are in `_loops.py`, the API clients in `_api_client.py`, the statistics in
`_stats.py`, the tables and goals in `_analyzer_tables.py`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
from _analyzer_tables import BACKEND_GOALS, print_tables
from _api_client import api_concurrent, api_pipelined, api_probe, api_round, memory
from _data import FULL, analyze_bodies, read_reviews
from _loops import in_fresh_process, warm_loop
from _servers import Servers, ServiceFailed, cpu_seconds
from _stats import Rounds, medians
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

ANALYZERS = ("mecab", "kiwi", "komoran", "okt", "hannanum", "kkma")
DEFAULT_ISOLATED = frozenset({"kkma", "hannanum"})


def interleaved(
    url: str, pid: int, name: str, reqs: list[tuple[bytes, int]], args: argparse.Namespace
) -> dict | None:
    """Library loop and API in alternating rounds over the same docs (`Rounds`), each as docs
    per CPU-second of its own process(es); the result is the median of the per-round ratios.
    The API gets one client here: it waits while the worker works, so the worker has its core
    to itself, as the library loop does (two clients would share the cores with the worker)."""
    batch = reqs[0][1]
    full = [r for r in reqs if r[1] == batch]
    try:
        with warm_loop("library", name, args) as lib_run:
            rates: dict[str, list[float]] = {"library": [], "api": []}
            rounds = Rounds(lib_run, batch, len(full) * batch, args.round_seconds)
            for _, (b, count) in zip(range(args.rounds), rounds, strict=False):
                rates["library"].append(lib_run(b * batch, count))
                bodies = [full[(b + j) % len(full)][0] for j in range(count // batch)]
                cpu = cpu_seconds(pid, children=True)
                api_round(url, bodies)
                rates["api"].append(count / max(cpu_seconds(pid, children=True) - cpu, 1e-9))
    except (RuntimeError, OSError, ValueError, httpx.HTTPError) as exc:
        Console(stderr=True).print(f"[red]interleaved {name} failed:[/] {exc}")
        return None
    out = medians(rates, "library")
    return {"library": out["rates"]["library"], "api": out["rates"]["api"], **out["api"]}


def backend_interleaved(name: str, args: argparse.Namespace) -> dict | None:
    """konlpy's loop, our backend and (okt, komoran) the Java call alone, in alternating
    rounds over the same docs, all in one warm process: one JVM, so the Java work is the same
    JIT-compiled code for all three and only the crossing differs (separate JVMs differ by
    more than that)."""
    kinds = ["library", "backend"] + (["java"] if name in BACKEND_GOALS else [])
    try:
        with warm_loop(",".join(kinds), name, args) as run:
            rates: dict[str, list[float]] = {k: [] for k in kinds}
            rounds = Rounds(run, args.batch_size, args.n, args.round_seconds)
            for _, (b, count) in zip(range(args.rounds), rounds, strict=False):
                for kind in kinds:
                    rates[kind].append(run(b * args.batch_size, count, kind))
    except (RuntimeError, OSError, ValueError) as exc:
        Console(stderr=True).print(f"[red]backend vs library {name} failed:[/] {exc}")
        return None
    return medians(rates, "library")


def run_main_api(
    args: argparse.Namespace, docs: list[str], logs: Path, progress: Progress
) -> tuple[dict[str, dict | None], dict[str, list[tuple[str, float]]], str]:
    """/v1/analyze per analyzer on one worker, default isolation (or none, as a fallback)."""
    results: dict[str, dict | None] = {}
    mem: dict[str, list[tuple[str, float]]] = {}
    isolate, note = None, "default isolation (kkma, hannanum in child processes)"
    task = progress.add_task("API: starting one worker, loading analyzers", total=None)
    for attempt in range(2):
        with Servers(logs) as servers:
            api = servers.api(
                args.analyzers, isolate=isolate, name=f"api-w1-try{attempt}", allow_failed=True
            )
            broken = dict(api.failed)
            for name in DEFAULT_ISOLATED.intersection(args.analyzers) - api.failed.keys():
                problem = api_probe(api.url, name, docs) if isolate is None else None
                if problem:
                    broken[name] = problem
            if attempt == 0 and DEFAULT_ISOLATED.intersection(broken):
                progress.console.print(f"[yellow]isolation not working[/] ({broken}); retrying")
                isolate, note = "", "NO isolation (--isolate ''): isolated analyzers failed"
                continue
            pid = api.proc.pid
            mem["after ready"] = memory(pid)
            for name in args.analyzers:
                progress.update(task, description=f"API: {name}, two pipelined clients")
                if name in broken:
                    results[name] = None
                    continue
                reqs = analyze_bodies(name, docs, args.batch_size)
                results[name] = api_pipelined(api.url, reqs, args.seconds, args.warmup, pid)
                if results[name] is not None and args.rounds:
                    progress.update(task, description=f"API vs library, interleaved: {name}")
                    results[name]["interleaved"] = interleaved(api.url, pid, name, reqs, args)
            mem["after benchmark"] = memory(pid)
            break
    progress.remove_task(task)
    return results, mem, note


def run_scaling(
    args: argparse.Namespace, docs: list[str], logs: Path, progress: Progress
) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {name: {} for name in args.scaling}
    task = progress.add_task("scaling", total=2 * len(args.scaling))
    for workers in (1, 2):
        progress.update(task, description=f"scaling: starting {workers} worker(s)")
        with Servers(logs) as servers:
            api = servers.api(
                args.scaling, workers=workers, name=f"api-w{workers}", allow_failed=True
            )
            for name in args.scaling:
                progress.update(task, description=f"scaling: {name}, {workers} worker(s)")
                if name not in api.failed:
                    reqs = analyze_bodies(name, docs, args.batch_size)
                    out[name][workers] = api_concurrent(api.url, reqs, args.seconds)
                progress.advance(task)
    progress.remove_task(task)
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FULL)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--analyzers", default=",".join(ANALYZERS))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of JIT warm-up")
    parser.add_argument(
        "--scaling", default="mecab,kiwi", help='analyzers for 1 vs 2 workers ("" skips it)'
    )
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (0 skips)")
    parser.add_argument("--round-seconds", type=float, default=2.0)
    args = parser.parse_args()
    args.n -= args.n % args.batch_size  # whole batches: every round's docs are the same each side
    args.analyzers = [a.strip() for a in args.analyzers.split(",") if a.strip()]
    args.scaling = [a.strip() for a in args.scaling.split(",") if a.strip()]
    return args


def in_process(args: argparse.Namespace, res: dict, progress: Progress) -> None:
    """The library's and our backend's loops, each in a fresh process, then (with rounds)
    our backend against konlpy's loop, interleaved."""
    task = progress.add_task("in-process", total=2 * len(args.analyzers))
    for name in args.analyzers:
        for kind in ("library", "backend"):
            progress.update(task, description=f"in-process: {kind} {name} (fresh process)")
            res[kind][name] = in_fresh_process(kind, name, args)
            progress.advance(task)
    progress.remove_task(task)
    res["backend_interleaved"] = {}
    if args.rounds:
        goals = [n for n in args.analyzers if n in BACKEND_GOALS]
        task = progress.add_task("backend vs library, interleaved", total=len(goals))
        for name in goals:
            progress.update(task, description=f"backend vs library, interleaved: {name}")
            res["backend_interleaved"][name] = backend_interleaved(name, args)
            progress.advance(task)
        progress.remove_task(task)


def main() -> None:
    args = parse_args()
    console = Console(width=max(Console().width, 150))
    docs = read_reviews(args.data, args.n)
    logs = Path(tempfile.mkdtemp(prefix="nlpfeat-bench-"))
    res: dict = {"library": {}, "backend": {}}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        in_process(args, res, progress)
        try:
            res["api"], res["memory"], res["note"] = run_main_api(args, docs, logs, progress)
            res["scaling"] = run_scaling(args, docs, logs, progress) if args.scaling else {}
        except ServiceFailed as exc:
            console.print(f"[red]{exc}[/]")
            raise SystemExit(1) from exc
    print_tables(console, args, len(docs), res)
    console.print(f"server logs: {logs}")


if __name__ == "__main__":
    main()

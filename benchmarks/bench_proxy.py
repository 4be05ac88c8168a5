"""The proxy's goals, measured side by side in one run; prints measured vs target.

    python benchmarks/bench_proxy.py                      # every scenario, the goals' durations
    python benchmarks/bench_proxy.py --scenarios one-replica,redis-outage --duration 10
    python benchmarks/bench_proxy.py --json results.json  # the raw figures too

Scenarios (each starts its own servers, an own ``redis-server`` where it needs Redis, and the
load generator ``_load.py`` in a separate process; all are stopped on exit and on Ctrl-C):

* ``latency``: added latency at 50% of the real mecab API's measured capacity;
* ``throughput``: forwarded req/s per proxy CPU-second, no-op upstream;
* ``one-replica``, ``two-replicas``: admitted requests at 3x the rate limit vs the GCRA bound;
* ``fairness``: interactive p99 and batch fairness on ``model_upstream.py`` (fixed capacity);
* ``redis-outage``: Redis SIGSTOPped under 1.5x load: local limits, delays, recovery.

The machine is small and shared: absolute figures drift; the side-by-side ones are the result.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
from _data import SAMPLE
from _fairness import fairness
from _fleet import Fleet
from _latency import latency, throughput
from _limits import one_replica, redis_outage, two_replicas
from _report import Outcome, Ui, table
from _scenario import Context, Options
from _servers import workdir
from rich.console import Console

SCENARIOS: dict[str, Callable[[Context], Outcome]] = {
    "latency": latency,
    "throughput": throughput,
    "one-replica": one_replica,
    "two-replicas": two_replicas,
    "fairness": fairness,
    "redis-outage": redis_outage,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds per measured phase")
    p.add_argument("--outage", type=float, default=20.0, help="seconds Redis stays stopped")
    p.add_argument(
        "--data",
        type=Path,
        default=SAMPLE,
        help="reviews TSV the requests' sentences come from",
    )
    p.add_argument("--rate", type=float, default=100.0, help="R for the rate-limit scenarios")
    p.add_argument("--burst", type=int, default=20, help="B for the rate-limit scenarios")
    p.add_argument("--slots", type=int, default=16, help="model upstream: concurrent requests")
    p.add_argument("--base-ms", type=float, default=20.0, help="model upstream: ms per request")
    p.add_argument("--per-doc-ms", type=float, default=2.0, help="model upstream: ms per doc")
    p.add_argument(
        "--reserved",
        type=float,
        help="fairness: the interactive reserve as a share of the model's slots (default 0.5, "
        "on top of them; with --fifo 0.25, out of them)",
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="latency: API on CPU 0; proxy, Redis and load generator on CPU 1",
    )
    p.add_argument(
        "--fifo",
        action="store_true",
        help="fairness: model an API without priority turns (interactive waits for a free slot)",
    )
    p.add_argument("--json", type=Path, help="also write every figure here")
    p.add_argument("--workdir", type=Path, help="keep configs, logs and recordings here")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    if args.duration <= 0 or args.outage <= 0:
        parser.error("--duration and --outage must be > 0")
    options = Options(
        duration=args.duration,
        outage=args.outage,
        rate=args.rate,
        burst=args.burst,
        slots=args.slots,
        base_ms=args.base_ms,
        per_doc_ms=args.per_doc_ms,
        reserved=args.reserved if args.reserved is not None else (0.25 if args.fifo else 0.5),
        preempt=not args.fifo,
        pin=args.pin,
    )
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    console = Console(width=None if sys.stdout.isatty() else 140)
    outcomes: list[Outcome] = []
    try:
        with workdir(args.workdir, "bench-proxy-") as work, Ui(console) as ui:
            for name in names:
                ui.note(f"[bold]{name}[/]")
                with Fleet(work / name, args.data) as fleet:
                    outcomes.append(SCENARIOS[name](Context(options, fleet, ui)))
    except KeyboardInterrupt:
        console.print("[bold]interrupted[/]: every process the benchmark started is stopped")
        if not outcomes:
            return 130
    console.print(table(outcomes, command))
    for outcome in outcomes:
        console.print(f"[bold]{outcome.scenario}[/]: {outcome.setup}")
    if args.json:
        payload = {"command": command, "outcomes": [o.as_dict() for o in outcomes]}
        args.json.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Interactive latency on the real API while batches keep it busy, with and without priority.

    python benchmarks/bench_priority.py [--analyzer kiwi] [--seconds 15] [--data ...]

One API worker; two batch clients send 64-doc batches back to back; one interactive client
sends a single sentence every 50 ms. Three phases in one run: the interactive client alone,
then with the batch load as an unmarked request (it waits for the analyzer like any batch),
then marked `X-Request-Class: interactive` as the proxy marks an interactive client's requests
(the API serves it between the docs of the batch in progress). Prints p50/p99 per phase and
the ratio to the unloaded p99. Then the price of the API's 1 ms GIL switch interval: batch
throughput (two clients, 64-doc batches) of two API processes, one at Python's default 5 ms and
one at 1 ms, loaded in turn for `--rounds` rounds; the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from _api_client import JSON
from _data import SAMPLE, analyze_bodies, read_reviews
from _servers import Servers
from _stats import medians, percentile
from rich.console import Console
from rich.table import Table

from contracts import headers as h

BATCH = 64


def interactive(url: str, bodies: list[bytes], seconds: float, marked: bool) -> list[float]:
    """Latencies of one request every 50 ms (or as fast as answered), for `seconds`; `marked`
    as the proxy marks an interactive client's requests."""
    headers = {**JSON, h.REQUEST_CLASS: h.INTERACTIVE} if marked else JSON
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as http:
        end, i = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            sent = time.perf_counter()
            resp = http.post("/v1/analyze", content=bodies[i % len(bodies)], headers=headers)
            resp.raise_for_status()
            latencies.append(time.perf_counter() - sent)
            i += 1
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - sent)))
    return latencies


def batches(url: str, bodies: list[bytes], stop: threading.Event, done: list[int]) -> None:
    """Send the BATCH-doc `bodies` back to back until `stop`; append BATCH to `done` per
    answer."""
    with httpx.Client(base_url=url, timeout=60) as http:
        i = 0
        while not stop.is_set():
            resp = http.post("/v1/analyze", content=bodies[i % len(bodies)], headers=JSON)
            resp.raise_for_status()
            done.append(BATCH)
            i += 1


@contextlib.contextmanager
def batch_load(url: str, bodies: list[bytes], clients: int = 2) -> Iterator[list[int]]:
    """`clients` threads sending batches back to back until the block ends; yields the list
    they append each answer's docs to."""
    stop = threading.Event()
    done: list[int] = []
    threads = [
        threading.Thread(target=batches, args=(url, bodies, stop, done)) for _ in range(clients)
    ]
    for t in threads:
        t.start()
    try:
        yield done
    finally:
        stop.set()
        for t in threads:
            t.join(30)


def batch_rate(url: str, bodies: list[bytes], seconds: float) -> float:
    """Docs/s of two batch clients sending BATCH-doc batches back to back for `seconds`."""
    started = time.perf_counter()
    with batch_load(url, bodies) as done:
        time.sleep(seconds)
    return sum(done) / (time.perf_counter() - started)


def switch_interval_cost(args: argparse.Namespace, bodies: list[bytes], console: Console) -> None:
    """Batch docs/s of an API at a 1 ms GIL switch interval over one at 5 ms, in turns."""
    rates: dict[str, list[float]] = {"0.005": [], "0.001": []}
    with tempfile.TemporaryDirectory() as logs, Servers(Path(logs)) as servers:
        urls = {}
        for interval in rates:
            env = {"NLPFEAT_API_SWITCH_INTERVAL": interval}
            urls[interval] = servers.api(args.analyzer, name=f"api-{interval}", env=env).url
            batch_rate(urls[interval], bodies, 1.0)  # warm-up
        with console.status("GIL switch interval: 5 ms vs 1 ms, in turns"):
            for _ in range(args.rounds):
                for interval, url in urls.items():
                    rates[interval].append(batch_rate(url, bodies, 3.0))
    fast = medians(rates, "0.005")["0.001"]
    low, high = fast["spread"]
    console.print(
        f"batch throughput with a 1 ms GIL switch interval / with 5 ms: median "
        f"{fast['ratio']:.2f}x over {args.rounds} rounds (range {low:.2f}-{high:.2f}x)"
    )


def phases(url: str, analyzer: str, docs: list[str], seconds: float, console: Console) -> dict:
    """Interactive latencies alone, then beside the batch load unmarked and marked."""
    singles = [body for body, _ in analyze_bodies(analyzer, docs, 1)]
    bodies = [body for body, n in analyze_bodies(analyzer, docs, BATCH) if n == BATCH]
    results: dict[str, list[float]] = {}
    interactive(url, singles, 2.0, False)  # warm-up
    with console.status("interactive alone"):
        results["alone"] = interactive(url, singles, seconds, False)
    with batch_load(url, bodies):
        time.sleep(1.0)
        for name, marked in (
            ("with batch load, unmarked", False),
            ("with batch load, marked", True),
        ):
            with console.status(name):
                results[name] = interactive(url, singles, seconds, marked)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SAMPLE)
    parser.add_argument("--analyzer", default="kiwi")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=8, help="switch-interval rounds (0 skips)")
    args = parser.parse_args()
    docs = read_reviews(args.data, 2000, skip_blank=True)
    console = Console()
    with tempfile.TemporaryDirectory() as logs, Servers(Path(logs)) as servers:
        url = servers.api(args.analyzer).url
        results = phases(url, args.analyzer, docs, args.seconds, console)
    table = Table(
        title=f"{args.analyzer}: a sentence every 50 ms; one API worker; 2 batch clients x 64 docs"
    )
    for col in ("phase", "requests", "p50 ms", "p99 ms", "p99 / alone"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    base = percentile(results["alone"], 0.99)
    for name, lat in results.items():
        p99 = percentile(lat, 0.99)
        table.add_row(
            name,
            str(len(lat)),
            f"{statistics.median(lat) * 1000:.1f}",
            f"{p99 * 1000:.1f}",
            f"{p99 / base:.2f}x",
        )
    console.print(table)
    if args.rounds:
        bodies = [body for body, n in analyze_bodies(args.analyzer, docs, BATCH) if n == BATCH]
        switch_interval_cost(args, bodies, console)
    console.print("command: python benchmarks/bench_priority.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()

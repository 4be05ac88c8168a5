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
from pathlib import Path

import httpx
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlpfeat._services import free_port, service  # noqa: E402


def load(path: Path, n: int) -> list[str]:
    df = pd.read_csv(path, sep="\t", quoting=3, usecols=["document"], nrows=n)
    return [d for d in df["document"].fillna("").astype(str) if d.strip()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def interactive(url: str, analyzer: str, docs: list[str], seconds: float, marked: bool) -> list:
    headers = {"content-type": "application/json"}
    if marked:
        headers["X-Request-Class"] = "interactive"
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as http:
        end, i = time.perf_counter() + seconds, 0
        while time.perf_counter() < end:
            body = orjson.dumps({"analyzer": analyzer, "docs": [docs[i % len(docs)]]})
            sent = time.perf_counter()
            http.post("/v1/analyze", content=body, headers=headers).raise_for_status()
            latencies.append(time.perf_counter() - sent)
            i += 1
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - sent)))
    return latencies


def batches(
    url: str, analyzer: str, docs: list[str], stop: threading.Event, done: list[int]
) -> None:
    """Send 64-doc batches back to back until `stop`; append 64 to `done` per answer."""
    bodies = [
        orjson.dumps({"analyzer": analyzer, "docs": docs[i : i + 64]})
        for i in range(0, len(docs) - 64, 64)
    ]
    with httpx.Client(base_url=url, timeout=60) as http:
        i = 0
        while not stop.is_set():
            http.post(
                "/v1/analyze",
                content=bodies[i % len(bodies)],
                headers={"content-type": "application/json"},
            ).raise_for_status()
            done.append(64)
            i += 1


def batch_rate(url: str, analyzer: str, docs: list[str], seconds: float) -> float:
    """Docs/s of two batch clients sending 64-doc batches back to back for `seconds`."""
    stop, done = threading.Event(), []
    threads = [
        threading.Thread(target=batches, args=(url, analyzer, docs, stop, done)) for _ in range(2)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
    return sum(done) / (time.perf_counter() - started)


def switch_interval_cost(args: argparse.Namespace, docs: list[str], console: Console) -> None:
    with tempfile.TemporaryDirectory() as logs, contextlib.ExitStack() as stack:
        urls = {}
        for interval in ("0.005", "0.001"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = ["api", "--port", str(port), "--analyzers", args.analyzer, "--isolate", ""]
            env = {"NLPFEAT_API_SWITCH_INTERVAL": interval}
            stack.enter_context(
                service(f"api-{interval}", cmd, f"{url}/readyz", log_dir=Path(logs), env=env)
            )
            batch_rate(url, args.analyzer, docs, 1.0)  # warm-up
            urls[interval] = url
        ratios = []
        with console.status("GIL switch interval: 5 ms vs 1 ms, in turns"):
            for _ in range(args.rounds):
                slow = batch_rate(urls["0.005"], args.analyzer, docs, 3.0)
                fast = batch_rate(urls["0.001"], args.analyzer, docs, 3.0)
                ratios.append(fast / slow)
    ratios.sort()
    console.print(
        f"batch throughput with a 1 ms GIL switch interval / with 5 ms: median "
        f"{statistics.median(ratios):.2f}x over {len(ratios)} rounds "
        f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data/reviews_sample.tsv")
    parser.add_argument("--analyzer", default="kiwi")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=8, help="switch-interval rounds (0 skips)")
    args = parser.parse_args()
    docs = load(args.data, 2000)
    console = Console()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = ["api", "--port", str(port), "--analyzers", args.analyzer, "--isolate", ""]
    results: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as logs,
        service("api", cmd, f"{url}/readyz", log_dir=Path(logs)),
    ):
        interactive(url, args.analyzer, docs, 2.0, False)  # warm-up
        with console.status("interactive alone"):
            results["alone"] = interactive(url, args.analyzer, docs, args.seconds, False)
        stop = threading.Event()
        load_threads = [
            threading.Thread(target=batches, args=(url, args.analyzer, docs, stop, []))
            for _ in range(2)
        ]
        for t in load_threads:
            t.start()
        time.sleep(1.0)
        try:
            for name, marked in (
                ("with batch load, unmarked", False),
                ("with batch load, marked", True),
            ):
                with console.status(name):
                    results[name] = interactive(url, args.analyzer, docs, args.seconds, marked)
        finally:
            stop.set()
            for t in load_threads:
                t.join(30)
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
        switch_interval_cost(args, docs, console)
    console.print("command: python benchmarks/bench_priority.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()

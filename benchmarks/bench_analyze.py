"""docs/s of mecab in-process, through /v1/analyze directly, and through the proxy; one run.

    python benchmarks/bench_analyze.py [--data ../shared/data/reviews_train.tsv] [--n 20000]
        [--batch-size 64] [--concurrency 4] [--seconds 8] [--warmup 1]

The in-process loop is `bench_analyzers.py`'s library loop (a fresh process, one core); both
HTTP paths are its concurrent clients (`_api_client.api_concurrent`), `--concurrency` threads
with a connection each, over the same docs to one API worker, the proxy's with a batch key.
Absolute numbers drift on a shared machine; the ratios, measured side by side, are the result.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _api_client import api_concurrent
from _data import FULL, analyze_bodies, read_reviews
from _loops import in_fresh_process
from _proxy_config import ClientSpec, ProxySpec
from _servers import Servers
from rich.console import Console
from rich.table import Table

from contracts import headers

IN_PROCESS = "in-process (one core)"


def measure(args: argparse.Namespace, docs: list[str], console: Console) -> dict[str, float]:
    """docs/s of each path, in turn."""
    with console.status("in-process mecab (fresh process)"):
        lib = in_fresh_process("library", "mecab", args)
    if lib is None:
        raise SystemExit("the in-process mecab loop failed")
    rates = {IN_PROCESS: lib["rate"]}
    reqs = analyze_bodies("mecab", docs, args.batch_size)
    client = ClientSpec("bench", headers.BATCH, rate=1e5, burst=10_000)
    logs = Path(tempfile.mkdtemp(prefix="nlpfeat-bench-"))
    with Servers(logs) as servers:
        api = servers.api("mecab", isolate=None)
        proxy = servers.proxy(ProxySpec([api.url], [client]))
        paths = {
            "/v1/analyze direct": (api.url, {}),
            "/v1/analyze via proxy": (proxy.url, {headers.API_KEY: client.key}),
        }
        for label, (url, extra) in paths.items():
            with console.status(label):
                rates[label] = api_concurrent(url, reqs, args.seconds, args.concurrency, extra)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FULL)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per path")
    parser.add_argument("--warmup", type=float, default=1.0, help="in-process warm-up seconds")
    args = parser.parse_args()
    console = Console()
    docs = read_reviews(args.data, args.n)
    rates = measure(args, docs, console)
    base = rates[IN_PROCESS]
    table = Table(
        title=f"mecab, {len(docs):,} real reviews, batches of {args.batch_size}, "
        f"{args.concurrency} concurrent clients, one API worker"
    )
    for col in ("path", "docs/s", "ratio to in-process"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for name, rate in rates.items():
        table.add_row(name, f"{rate:,.0f}", f"{rate / base:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()

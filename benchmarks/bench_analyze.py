"""docs/s of mecab in-process, through /v1/analyze directly, and through the proxy; one run.

    python benchmarks/bench_analyze.py [--data ../shared/data/reviews_train.tsv] [--n 20000]

Absolute numbers drift on a shared machine; the ratios, measured side by side, are the result.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

from nlpfeat._services import free_port, service

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path, n: int) -> list[str]:
    df = pd.read_csv(path, sep="\t", quoting=3, usecols=["document"], nrows=n)
    return df["document"].fillna("").astype(str).tolist()


def in_process(docs: list[str]) -> float:
    import mecab

    tagger = mecab.MeCab()
    tagger.pos(docs[0])
    start = time.perf_counter()
    for doc in track(docs, description="in-process mecab", transient=True):
        tagger.pos(doc)
    return len(docs) / (time.perf_counter() - start)


def over_http(url: str, docs: list[str], batch: int, concurrency: int, label: str) -> float:
    batches = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=url, timeout=60, limits=limits) as http:

        def send(chunk: list[str]) -> int:
            resp = http.post("/v1/analyze", json={"analyzer": "mecab", "docs": chunk})
            resp.raise_for_status()
            return len(resp.json()["results"])

        send(batches[0])
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            done = sum(
                track(
                    pool.map(send, batches), total=len(batches), description=label, transient=True
                )
            )
        elapsed = time.perf_counter() - start
    assert done == len(docs)
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/reviews_train.tsv")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    console = Console()
    docs = load(args.data, args.n)
    logs = Path(tempfile.mkdtemp(prefix="nlpfeat-bench-"))
    api_port, proxy_port = free_port(), free_port()
    api, prx = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{proxy_port}"
    rates = {"in-process (one core)": in_process(docs)}
    with (
        service(
            "api",
            ["api", "--port", str(api_port), "--analyzers", "mecab"],
            f"{api}/healthz",
            log_dir=logs,
        ),
        service(
            "proxy",
            [
                "proxy",
                "--upstream",
                api,
                "--port",
                str(proxy_port),
                "--rate",
                "100000",
                "--burst",
                "10000",
            ],
            f"{prx}/_proxy/healthz",
            log_dir=logs,
        ),
    ):
        rates["/v1/analyze direct"] = over_http(
            api, docs, args.batch_size, args.concurrency, "direct"
        )
        rates["/v1/analyze via proxy"] = over_http(
            prx, docs, args.batch_size, args.concurrency, "via proxy"
        )
    base = rates["in-process (one core)"]
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

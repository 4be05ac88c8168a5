"""BATCH speed: featurize the reviews through proxy -> API, and with mecab inside a Spark pandas
UDF, in one Spark session (local[2]) on the same cores, rounds interleaved; then a job paced by
a proxy limit below the API's capacity, and the share of its requests refused with 429.

    python benchmarks/bench_featurize.py [--data ../shared/data/reviews_train.tsv] [--rows N]
        [--rounds 3] [--workers 2] [--batch-size 1000] [--concurrency 2] [--paced-rate 5]

Both paths compute the same features (the API's own featurizer code runs inside the UDF on the
in-Spark path) from the same cached frame, and write to Spark's `noop` sink, so the ratio is
the cost of the service path alone. The API runs `--workers` processes behind one proxy with its
limits in Redis (an own redis-server). Goals: service/in-Spark >= 0.75; paced 429s < 1%.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from _data import FULL, read_reviews
from _proxy_config import ClientSpec, ProxySpec
from _servers import Servers
from _stats import interval, medians, verdict
from rich.console import Console
from rich.table import Table

from contracts import FeatureSpec

SERVICE, IN_SPARK = "proxy -> API", "mecab in a pandas UDF"
GOAL, PACED_GOAL = 0.75, 0.01


def in_spark_udf(spec: FeatureSpec) -> Any:
    """mecab and the API's featurizer inside the UDF (one analyzer per Python worker)."""
    from pyspark.sql.functions import pandas_udf

    from spark_udfs import FEATURES_SCHEMA

    @pandas_udf(FEATURES_SCHEMA)  # type: ignore[call-overload]
    def features(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        from nlp_api._features import doc_features
        from nlp_api.analyzers._mecab import MecabAnalyzer

        mecab = MecabAnalyzer()
        for docs in batches:
            rows = []
            for doc in docs.tolist():
                if not isinstance(doc, str):
                    rows.append((None, None, None, "NullDocument: no text"))
                    continue
                _, indices, values = doc_features(mecab.pos(doc), spec, mecab.tagset, doc)
                rows.append((None, indices, values, None))
            yield pd.DataFrame(rows, columns=[f.name for f in FEATURES_SCHEMA.fields])

    return features


def proxy_counts(url: str, client: str) -> tuple[float, float]:
    """(admitted, refused for its rate) of `client`, from the proxy's own /_proxy/metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    admitted = refused = 0.0
    text = httpx.get(f"{url}/_proxy/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("client") != client or not sample.name.endswith("_total"):
                continue
            if sample.name == "nlpfeat_proxy_admitted_total":
                admitted += sample.value
            elif (
                sample.name == "nlpfeat_proxy_rejected_total"
                and sample.labels.get("reason") == "rate"
            ):
                refused += sample.value
    return admitted, refused


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FULL)
    parser.add_argument("--rows", type=int, default=None, help="first N reviews (default all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="API worker processes")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight per task")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--paced-rate", type=float, default=20.0, help="req/s of the paced key")
    parser.add_argument("--paced-batch", type=int, default=100, help="docs per paced request")
    parser.add_argument("--paced-seconds", type=float, default=40.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before counting")
    args = parser.parse_args()
    console = Console(stderr=True)

    from pyspark.sql import functions as F

    from spark_udfs import FeaturizeOptions, counter_accumulator, spark_session, transform

    docs = read_reviews(args.data, args.rows)
    spec = FeatureSpec()
    logs = Path(tempfile.mkdtemp(prefix="nlpfeat-bench-featurize-"))
    fast = ClientSpec("spark", rate=1e5, burst=10_000, max_in_flight=1000)
    paced = ClientSpec("paced", rate=args.paced_rate, burst=5, max_in_flight=1000)
    with Servers(logs) as servers:
        redis = servers.redis()
        api = servers.api("mecab", workers=args.workers, isolate="")
        proxy = servers.proxy(ProxySpec([api.url], [fast, paced], redis_url=redis.url))
        spark = spark_session("local[2]", "bench-featurize")
        frame = spark.createDataFrame(pd.DataFrame({"text": docs})).repartition(args.partitions)
        frame = frame.cache()
        frame.count()

        def options(key: str) -> FeaturizeOptions:
            return FeaturizeOptions(
                proxy_url=proxy.url,
                api_key=key,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                return_tokens=False,
            )

        def sink(df: Any) -> None:
            df.write.format("noop").mode("overwrite").save()

        udf = in_spark_udf(spec)
        paths = {
            SERVICE: lambda: sink(transform(frame, options(fast.key), text_col="text")),
            IN_SPARK: lambda: sink(frame.select(udf(F.col("text")).alias("f"))),
        }
        with console.status("warming both paths up"):
            for run in paths.values() if args.rounds else ():
                run()
        rates: dict[str, list[float]] = {name: [] for name in paths}
        for r in range(args.rounds):
            order = list(paths) if r % 2 == 0 else list(reversed(paths))
            for name in order:
                with console.status(f"round {r + 1}/{args.rounds}: {name}"):
                    rates[name].append(len(docs) / timed(paths[name]))

        counts = counter_accumulator(spark)
        n_paced = int(args.paced_rate * args.paced_seconds * args.paced_batch)
        paced_frame = frame.limit(min(n_paced, len(docs))).repartition(args.partitions)
        paced_opts = replace(options(paced.key), batch_size=args.paced_batch)
        settled: list[tuple[float, float]] = []
        done = threading.Event()

        def watch() -> None:  # the proxy's counters once the tasks' shares have settled
            if not done.wait(args.settle):
                settled.append(proxy_counts(proxy.url, paced.name))

        watcher = threading.Thread(target=watch)
        watcher.start()
        with console.status(f"paced job at {args.paced_rate:g} req/s"):
            paced_s = timed(
                lambda: sink(transform(paced_frame, paced_opts, text_col="text", counts=counts))
            )
        done.set()
        watcher.join()
        end = proxy_counts(proxy.url, paced.name)
        spark.stop()

    if args.rounds:
        interleaved_table(console, args, docs, paths, rates)
    paced_report(console, args, counts.value, paced_s, settled, end)


def interleaved_table(
    console: Console, args: argparse.Namespace, docs: list[str], paths: dict, rates: dict
) -> None:
    summary = medians(rates, IN_SPARK)
    ratio = summary[SERVICE]
    table = Table(
        title=f"featurize {len(docs):,} reviews, local[2], {args.rounds} rounds interleaved"
    )
    table.add_column("path")
    table.add_column("rows/s (median)", justify="right")
    table.add_column("seconds (median)", justify="right")
    table.add_column(f"ratio to {IN_SPARK}", justify="right")
    table.add_column("range / 95% CI")
    table.add_column(f"goal >= {GOAL}")
    for name in paths:
        rate = summary["rates"][name]
        if name == SERVICE:
            cells = [
                f"{ratio['ratio']:.2f}",
                f"{interval(*ratio['spread'])} / {interval(*ratio['ci'])}",
                verdict(ratio["ratio"], GOAL, ratio["ci"]),
            ]
        else:
            cells = ["1.00", "", ""]
        table.add_row(name, f"{rate:,.0f}", f"{len(docs) / rate:.1f}", *cells)
    console.print(table)
    console.print(
        f"API: {args.workers} worker(s); batch {args.batch_size} docs, {args.concurrency} in "
        f"flight per task, {args.partitions} tasks. Per round: "
        + ", ".join(f"{n} {statistics.median(v):,.0f} rows/s" for n, v in rates.items())
    )


def paced_report(
    console: Console,
    args: argparse.Namespace,
    got: dict[str, int],
    paced_s: float,
    settled: list[tuple[float, float]],
    end: tuple[float, float],
) -> None:
    refused = got.get("429", 0) / max(1, got.get("requests", 0))
    if settled:
        (a0, r0), (a1, r1) = settled[0], end
        late = (r1 - r0) / max(1.0, (a1 - a0) + (r1 - r0))
        late_text = (
            f"{r1 - r0:.0f} of {a1 - a0 + r1 - r0:.0f} after the first {args.settle:g}s "
            f"= {late:.2%}"
        )
    else:
        late, late_text = refused, "the job ended before the shares settled"
    console.print(
        f"paced job ({args.paced_batch} docs per request, limit {args.paced_rate:g} req/s, "
        f"{args.partitions} tasks on one key): {got.get('requests', 0)} requests in "
        f"{paced_s:.1f}s; refused with 429: {got.get('429', 0)} in all = {refused:.2%}, "
        f"{late_text} (goal < {PACED_GOAL:.0%} once settled: "
        f"{'MET' if late < PACED_GOAL else 'NOT MET'}); other retries "
        f"{ {k: v for k, v in got.items() if k not in ('requests', '429')} }"
    )


if __name__ == "__main__":
    main()

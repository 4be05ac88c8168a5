"""Serving: /v1/predict latency, v2 infer throughput and a promotion under load; one run.

    python benchmarks/bench_serving.py [--data data/reviews_sample.tsv] [--seconds 8]
        [--rounds 3] [--swap-seconds 12]

Starts the NLP API (mecab, one worker), the proxy (an interactive key, in-process limiter)
and ``nlpfeat serve`` on two versions of a model built with `training.build_graph` (random
weights over the default spec, version 1 in production). Rounds interleave both sides of
each comparison, so the machine's drift hits both alike; the table shows medians over
rounds, and per-round spreads:

- ``/v1/predict``, one review per request, Poisson 100 req/s through serving -> proxy -> API:
  p50 / p99 (goal p99 <= 6 ms) beside the same work in-process (mecab, features, onnxruntime);
- ``/v2/models/{name}/infer`` on hashed inputs (64 reviews per request, closed loop x4):
  rows/s over in-process onnxruntime on the same lists (goal >= 40%);
- a promotion (the production alias moved to version 2) during Poisson 200 req/s: zero failed
  requests, p99 in the 2 s after the move <= 2x the p99 before it.

The load runs in a child process (this file with ``--load``) on `_load`'s open and closed
loops, so it shares no GIL with what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
from _data import SAMPLE, read_reviews
from _load import Recording, Stream, _run_stream
from _proxy_config import ClientSpec, ProxySpec
from _servers import Server, Servers, workdir
from _stats import interval, medians, percentile, verdict
from rich.console import Console
from rich.table import Table

from contracts import (
    PRODUCTION,
    FeatureSpec,
    ModelRegistry,
    ModelRepository,
    headers,
    pad_rows,
    spec_hash,
)

HERE = Path(__file__).resolve().parent
MODEL = "sentiment"
ANALYZER = "mecab"
SPEC = FeatureSpec()
INFER_ROWS = 64
INFER_PATH = f"/v2/models/{MODEL}/infer"


def write_models(root: Path) -> ModelRepository:
    """Versions 1 and 2 (random weights), version 1 in production."""
    from training import build_graph

    repository = ModelRepository(root)
    metadata = {
        "analyzer": ANALYZER,
        "num_features": SPEC.num_features,
        "spec": SPEC.to_json(),
        "spec_hash": spec_hash(SPEC, ANALYZER),
    }
    rng = np.random.default_rng(0)
    for _ in range(2):
        weights = rng.normal(0, 0.1, SPEC.num_features).astype(np.float32)
        repository.write_version(MODEL, build_graph(weights, 0.0).SerializeToString(), metadata)
    ModelRegistry(repository).set_alias(MODEL, PRODUCTION, 1, by="bench", reason="start")
    return repository


class InProcess:
    """The work of one /v1/predict in this process: mecab, features, padding, onnxruntime."""

    def __init__(self, model_path: Path) -> None:
        from nlp_api._features import doc_features
        from nlp_api.analyzers import load_analyzer

        self._features = doc_features
        self.analyzer = load_analyzer(ANALYZER)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path), options, ["CPUExecutionProvider"])

    def hashed(self, doc: str) -> tuple[list[int], list[float]]:
        tokens = self.analyzer.pos(doc)
        _, indices, values = self._features(tokens, SPEC, self.analyzer.tagset, doc)
        return indices, values

    def predict_ms(self, docs: list[str]) -> list[float]:
        """Milliseconds per doc, one at a time."""
        out = []
        for doc in docs:
            start = time.perf_counter()
            indices, values = pad_rows([self.hashed(doc)])
            self.session.run(None, {"indices": indices, "values": values})
            out.append((time.perf_counter() - start) * 1000)
        return out

    def infer_rate(self, bodies: list[dict[str, Any]], seconds: float) -> float:
        """Rows/s of onnxruntime on the bodies' lists (made arrays, as a server must)."""
        rows, end, i = 0, time.monotonic() + seconds, 0
        while time.monotonic() < end:
            inputs = bodies[i % len(bodies)]["inputs"]
            feeds = {
                t["name"]: np.asarray(
                    t["data"], np.int64 if t["datatype"] == "INT64" else np.float32
                )
                for t in inputs
            }
            self.session.run(None, feeds)
            rows, i = rows + INFER_ROWS, i + 1
        return rows / seconds


def infer_bodies(local: InProcess, docs: list[str], n: int = 16) -> list[dict[str, Any]]:
    bodies = []
    for b in range(n):
        chunk = docs[b * INFER_ROWS : (b + 1) * INFER_ROWS]
        indices, values = pad_rows([local.hashed(d) for d in chunk])
        tensors = [
            {"name": "indices", "shape": list(indices.shape), "datatype": "INT64"},
            {"name": "values", "shape": list(values.shape), "datatype": "FP32"},
        ]
        tensors[0]["data"], tensors[1]["data"] = indices.tolist(), values.tolist()
        bodies.append({"inputs": tensors})
    return bodies


def load(stream: dict[str, Any], bodies: list[bytes], work: Path, during: Any = None) -> Recording:
    """Run one `_load.Stream` in a child process; `during()` is called once it has begun."""
    spec = work / "load.json"
    out = work / "load-out.json"
    spec.write_bytes(orjson.dumps({"stream": stream, "bodies": [b.decode() for b in bodies]}))
    child = subprocess.Popen([sys.executable, __file__, "--load", str(spec), str(out)])
    if during is not None:
        during()
    if child.wait() != 0:
        raise SystemExit("the load generator failed")
    return Recording(orjson.loads(out.read_bytes()))


def _load_main(spec_path: str, out_path: str) -> None:
    spec = orjson.loads(Path(spec_path).read_bytes())
    stream = Stream(**spec["stream"])
    bodies = [b.encode() for b in spec["bodies"]]
    result = asyncio.run(_run_stream(stream, bodies, time.monotonic() + 0.5))
    Path(out_path).write_bytes(orjson.dumps(result))


def ok_ms(rec: Recording, q: float) -> float:
    return rec.quantile_ms(q, rec.status == 200)


def start_stack(
    servers: Servers, repository: ModelRepository, client: ClientSpec
) -> tuple[Server, Server, Server]:
    """The NLP API (mecab), the proxy (`client` its interactive key, in-process limiter) and
    ``nlpfeat serve`` on `repository`'s model, watching its registry every 0.5 s."""
    from nlpfeat._services import free_port

    api = servers.api(ANALYZER, isolate="")
    proxy = servers.proxy(ProxySpec([api.url], [client]))
    port = free_port()
    argv = ["serve", "--models", str(repository.root), "--proxy", proxy.url]
    argv += ["--port", str(port), "--name", MODEL, "--poll-interval", "0.5"]
    serve = servers.nlpfeat(
        "serve",
        argv,
        f"http://127.0.0.1:{port}",
        "/v2/health/ready",
        env={**os.environ, "NLPFEAT_API_KEY": client.key},
    )
    return api, proxy, serve


def measure(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    docs = read_reviews(args.data, 4000, skip_blank=True)
    client = ClientSpec("serving", headers.INTERACTIVE, rate=1e5, burst=100_000)
    with workdir(args.keep) as work, Servers(work / "logs") as servers:
        repository = write_models(work / "models")
        local = InProcess(repository.model_path(MODEL, 1))
        console.print("starting the NLP API (mecab), the proxy and serving")
        _api, _proxy, serve = start_stack(servers, repository, client)
        predict = [orjson.dumps({"texts": [d]}) for d in docs[:1000]]
        bodies = infer_bodies(local, docs[1000:])
        infer = [orjson.dumps(b) for b in bodies]
        base = {"urls": [serve.url], "headers": {"Content-Type": "application/json"}}
        results: dict[str, Any] = {"p50": [], "p99": [], "local_p50": [], "local_p99": []}
        rates: dict[str, list[float]] = {"in-process": [], "http": []}
        load(
            {
                **base,
                "name": "warm",
                "mode": "closed",
                "concurrency": 2,
                "duration": 2,
                "path": "/v1/predict",
            },
            predict,
            work,
        )
        for r in range(args.rounds):
            console.print(f"round {r + 1}/{args.rounds}")
            rec = load(
                {
                    **base,
                    "name": "predict",
                    "mode": "open",
                    "rate": 100,
                    "seed": r,
                    "duration": args.seconds,
                    "path": "/v1/predict",
                },
                predict,
                work,
            )
            results["p50"].append(ok_ms(rec, 0.5))
            results["p99"].append(ok_ms(rec, 0.99))
            results["not_ok"] = results.get("not_ok", 0) + len(rec) - rec.count(200)
            # the same requests back to back (one in flight): the stack without idle gaps
            rec = load(
                {
                    **base,
                    "name": "predict-closed",
                    "mode": "closed",
                    "concurrency": 1,
                    "duration": args.seconds / 2,
                    "path": "/v1/predict",
                },
                predict,
                work,
            )
            results.setdefault("closed_p50", []).append(ok_ms(rec, 0.5))
            results.setdefault("closed_p99", []).append(ok_ms(rec, 0.99))
            results["not_ok"] += len(rec) - rec.count(200)
            local_ms = local.predict_ms(docs[r * 300 : (r + 1) * 300])
            results["local_p50"].append(statistics.median(local_ms))
            results["local_p99"].append(percentile(local_ms, 0.99))
            rates["in-process"].append(local.infer_rate(bodies, args.seconds / 2))
            rec = load(
                {
                    **base,
                    "name": "infer",
                    "mode": "closed",
                    "concurrency": 4,
                    "duration": args.seconds / 2,
                    "path": INFER_PATH,
                },
                infer,
                work,
            )
            rates["http"].append(rec.count(200) * INFER_ROWS / rec.span())
            results["not_ok"] += len(rec) - rec.count(200)
        results["infer"] = medians(rates, "in-process")
        results["swap"] = swap(args, base, predict, repository, work, serve.url)
    return results


def swap(
    args: argparse.Namespace,
    base: dict[str, Any],
    predict: list[bytes],
    repository: ModelRepository,
    work: Path,
    url: str,
) -> dict[str, Any]:
    """Poisson 200 req/s; the production alias moves to version 2 halfway."""
    moved: list[float] = []

    def promote() -> None:
        time.sleep(0.5 + args.swap_seconds / 2)
        moved.append(time.monotonic())
        ModelRegistry(repository).set_alias(MODEL, PRODUCTION, 2, by="bench", reason="swap")

    stream = {
        **base,
        "name": "swap",
        "mode": "open",
        "rate": 200,
        "duration": args.swap_seconds,
        "path": "/v1/predict",
    }
    rec = load(stream, predict, work, during=promote)
    at = moved[0]
    steady = rec.between(rec.send.min() + 1.0, at)
    during = rec.between(at, at + 2.0)
    import httpx

    served = httpx.get(f"{url}/v2/models/{MODEL}").json()["parameters"]["lifecycle"]["version"]
    return {
        "not_ok": len(rec) - rec.count(200),
        "n": len(rec),
        "steady_p99": ok_ms(steady, 0.99),
        "swap_p99": ok_ms(during, 0.99),
        "served_after": served,
    }


def report(results: dict[str, Any], args: argparse.Namespace, console: Console) -> None:
    med = statistics.median
    table = Table(title=f"serving, mecab, {args.rounds} interleaved rounds of {args.seconds:g} s")
    for col in ("measure", "goal", "median (spread over rounds)", "verdict"):
        table.add_column(col)
    p99, p50 = med(results["p99"]), med(results["p50"])
    table.add_row(
        "/v1/predict p99, 100 req/s, serving->proxy->API",
        "<= 6 ms",
        f"{p99:.2f} ms ({min(results['p99']):.2f}-{max(results['p99']):.2f})",
        "[green]PASS[/]" if p99 <= 6 else "[red]FAIL[/]",
    )
    table.add_row(
        "/v1/predict p50",
        "info",
        f"{p50:.2f} ms ({min(results['p50']):.2f}-{max(results['p50']):.2f})",
        "",
    )
    c50, c99 = med(results["closed_p50"]), med(results["closed_p99"])
    table.add_row(
        "/v1/predict back to back (1 in flight) p50 / p99",
        "info",
        f"{c50:.2f} / {c99:.2f} ms (p99 {min(results['closed_p99']):.2f}-"
        f"{max(results['closed_p99']):.2f})",
        "",
    )
    local50, local99 = med(results["local_p50"]), med(results["local_p99"])
    table.add_row(
        "in-process p50 / p99 (mecab+features+onnxruntime)",
        "info",
        f"{local50:.3f} / {local99:.3f} ms; HTTP adds {p50 - local50:.2f} ms at p50",
        "",
    )
    infer = results["infer"]
    http = infer["http"]
    table.add_row(
        f"v2 infer rows/s over in-process ({INFER_ROWS} rows/request)",
        ">= 0.40x",
        f"{infer['rates']['http']:,.0f} vs {infer['rates']['in-process']:,.0f} rows/s "
        f"({interval(*http['spread'])})",
        verdict(http["ratio"], 0.40, http["ci"]),
    )
    s = results["swap"]
    ratio = s["swap_p99"] / s["steady_p99"]
    table.add_row(
        "promotion at 200 req/s: failed requests",
        "0",
        f"{s['not_ok']} of {s['n']}",
        "[green]PASS[/]" if s["not_ok"] == 0 else "[red]FAIL[/]",
    )
    table.add_row(
        "p99 in the 2 s after the move / before",
        "<= 2x",
        f"{s['swap_p99']:.2f} / {s['steady_p99']:.2f} ms = {ratio:.2f}x; "
        f"serving version {s['served_after']} after",
        "[green]PASS[/]" if ratio <= 2 and s["served_after"] == "2" else "[red]FAIL[/]",
    )
    table.add_row("other non-200 answers", "0", str(results["not_ok"]), "")
    console.print(table)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--load":
        _load_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SAMPLE)
    parser.add_argument("--seconds", type=float, default=8.0, help="per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--swap-seconds", type=float, default=12.0)
    parser.add_argument("--keep", type=Path, default=None, help="keep models and logs here")
    args = parser.parse_args()
    console = Console()
    report(measure(args, console), args, console)


if __name__ == "__main__":
    main()

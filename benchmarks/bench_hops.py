"""Where a one-review `/v1/predict` spends its time: each hop of serving -> proxy -> API alone,
beside a do-nothing server (the floor of one Python HTTP hop on this machine) and a chain of
three (the floor of the stack's shape); one run.

    python benchmarks/bench_hops.py [--seconds 8] [--rounds 2]

Starts the NLP API (mecab), the proxy and ``nlpfeat serve`` as `bench_serving` does, and a
do-nothing aiohttp server (this file with ``--noop PORT``: answers every POST with a fixed
body). Each round sends, in turn, one-review requests to the API's ``/v1/features``, to the
proxy's (-> API), to serving's ``/v1/predict`` (-> proxy -> API), to the do-nothing server and
to three of them in a chain (aiohttp, each forwarding to the next with a pooled session):
Poisson 100 req/s (open loop, as the serving goal is stated) and back to back (one in flight).
The table shows p50 / p90 / p99 (medians over rounds) and the CPU each server process spent per
request (user + system, from /proc), so the open loop's cost can be read apart from the work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from _data import SAMPLE, read_reviews
from _proxy_config import ClientSpec
from _servers import Server, Servers, cpu_seconds, http_ok, workdir
from bench_serving import ANALYZER, SPEC, load, start_stack, write_models
from rich.console import Console
from rich.table import Table

from contracts import headers

RATE = 100
JSON = {"Content-Type": "application/json"}


def noop_server(port: int, upstream: str | None = None) -> None:
    """A server that reads the request and answers a fixed JSON body (the floor of one hop),
    or with `upstream` passes the body on there and answers what comes back (one aiohttp
    session, as the proxy and serving forward)."""
    import aiohttp
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        if upstream is None or request.method != "POST":
            return web.Response(body=b'{"ok":true}', content_type="application/json")
        session: aiohttp.ClientSession = request.app["session"]
        async with session.post(upstream + request.path, data=body, headers=JSON) as r:
            return web.Response(body=await r.read(), status=r.status, headers=JSON)

    async def session(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as s:
            app["session"] = s
            yield

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", answer)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = None
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=loop)


def start_noop(servers: Servers, name: str = "noop", upstream: str | None = None) -> Server:
    from nlpfeat._services import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, __file__, "--noop", str(port)]
    if upstream:
        argv += ["--upstream", upstream]
    return servers.spawn(name, argv, url, lambda: http_ok(url + "/healthz"))


def measure(args: argparse.Namespace, console: Console) -> dict[str, dict[str, list[float]]]:
    docs = read_reviews(args.data, 1000, skip_blank=True)
    client = ClientSpec("serving", headers.INTERACTIVE, rate=1e5, burst=100_000)
    with workdir(None) as work, Servers(work / "logs") as servers:
        repository = write_models(work / "models")
        console.print("starting the NLP API (mecab), the proxy, serving and a do-nothing server")
        api, proxy, serve = start_stack(servers, repository, client)
        noop = start_noop(servers)
        # the same shape as serving -> proxy -> API, every hop doing nothing but forwarding
        leaf = start_noop(servers, "chain-3")
        middle = start_noop(servers, "chain-2", leaf.url)
        chain = start_noop(servers, "chain-1", middle.url)
        spec = SPEC.to_json()
        features = [orjson.dumps({"analyzer": ANALYZER, "docs": [d], "spec": spec}) for d in docs]
        predict = [orjson.dumps({"texts": [d]}) for d in docs]
        key = {headers.API_KEY: client.key}
        targets = [
            ("API /v1/features", api.url, "/v1/features", features, {}),
            ("proxy -> API", proxy.url, "/v1/features", features, key),
            ("serving -> proxy -> API", serve.url, "/v1/predict", predict, {}),
            ("do-nothing server", noop.url, "/x", predict, {}),
            ("3 do-nothing servers, forwarding", chain.url, "/x", predict, {}),
        ]
        procs = {"API": api, "proxy": proxy, "serving": serve, "do-nothing": noop}
        procs |= {"chain-1": chain, "chain-2": middle, "chain-3": leaf}
        out: dict[str, dict[str, list[float]]] = {}
        for _name, url, path, bodies, extra in targets:  # warm every path
            base = {"urls": [url], "headers": {"Content-Type": "application/json", **extra}}
            load({**base, "name": "warm", "mode": "closed", "concurrency": 2, "duration": 2,
                  "path": path}, bodies, work)  # fmt: skip
        for r in range(args.rounds):
            console.print(f"round {r + 1}/{args.rounds}")
            for name, url, path, bodies, extra in targets:
                base = {"urls": [url], "headers": {"Content-Type": "application/json", **extra}}
                for mode, stream in (
                    ("open", {"mode": "open", "rate": RATE, "seed": r}),
                    ("closed", {"mode": "closed", "concurrency": 1}),
                ):
                    before = {k: cpu_seconds(s.proc.pid) for k, s in procs.items()}
                    rec = load(
                        {**base, **stream, "name": name, "duration": args.seconds, "path": path},
                        bodies,
                        work,
                    )
                    ok = rec.status == 200
                    row = out.setdefault(f"{name}|{mode}", {})
                    for q in (0.5, 0.9, 0.99):
                        row.setdefault(f"p{round(q * 100)}", []).append(rec.quantile_ms(q, ok))
                    row.setdefault("not_ok", []).append(float(len(rec) - int(ok.sum())))
                    for k, s in procs.items():
                        spent = (cpu_seconds(s.proc.pid) - before[k]) / max(len(rec), 1)
                        row.setdefault(f"cpu_{k}", []).append(spent * 1000)
    return out


def report(results: dict[str, dict[str, list[float]]], console: Console) -> None:
    table = Table(title=f"one review per request; open loop = Poisson {RATE} req/s")
    for col in ("target", "load", "p50 ms", "p90 ms", "p99 ms", "CPU ms per request", "not 200"):
        table.add_column(col, justify="left" if col in ("target", "load") else "right")
    for key, row in results.items():
        name, mode = key.split("|")
        med = {k: statistics.median(v) for k, v in row.items()}
        cpu = ", ".join(
            f"{k.removeprefix('cpu_')} {v:.2f}" for k, v in med.items() if k.startswith("cpu_")
            and v >= 0.05
        )  # fmt: skip
        spread = f"{min(row['p99']):.2f}-{max(row['p99']):.2f}"
        table.add_row(
            name,
            "100 req/s" if mode == "open" else "back to back",
            f"{med['p50']:.2f}",
            f"{med['p90']:.2f}",
            f"{med['p99']:.2f} ({spread})",
            cpu,
            f"{int(sum(row['not_ok']))}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SAMPLE)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--noop", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop:
        noop_server(args.noop, args.upstream)
        return
    console = Console(width=max(Console().width, 130))
    started = time.monotonic()
    report(measure(args, console), console)
    console.print(f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

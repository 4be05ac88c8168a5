"""Clients that load the NLP API's /v1/analyze: a checked warm-up, pipelined and concurrent
clients on stdlib connections, rounds for the interleaved comparisons, and what the worker
costs (CPU, resident memory).

The load generator shares the two cores with the workers, so the measured requests go over
plain `http.client` connections and their answers are read, not parsed; httpx plus a JSON
parse cost several times more per request than a fast analyzer's worker spends on it.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time

import httpx
import orjson
import psutil
from _loops import WARMUP_DOCS
from _servers import cpu_seconds

__all__ = [
    "API_CLIENTS",
    "SCALING_CLIENTS",
    "api_concurrent",
    "api_pipelined",
    "api_probe",
    "api_round",
    "memory",
    "post",
    "raw_connection",
    "raw_post",
]

API_CLIENTS = 2
"""Requests in flight to the one worker of the main table."""
SCALING_CLIENTS = 8
MB = 2**20
JSON = {"content-type": "application/json"}


def raw_connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=600)


def raw_post(
    conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """One /v1/analyze on a stdlib connection: the answer read, not parsed."""
    conn.request("POST", "/v1/analyze", body, {**JSON, **(headers or {})})
    resp = conn.getresponse()
    answer = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{conn.host}:{conn.port}: {resp.status} {answer[:200]!r}")
    return answer


def api_round(url: str, bodies: list[bytes]) -> None:
    """Each body in turn on one new connection (a round can outlast the keep-alive)."""
    conn = raw_connection(url)
    try:
        for body in bodies:
            raw_post(conn, body)
    finally:
        conn.close()


def post(http: httpx.Client, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """One /v1/analyze, parsed: (results, error entries among them)."""
    resp = http.post("/v1/analyze", content=body, headers={**JSON, **(headers or {})})
    resp.raise_for_status()
    results = orjson.loads(resp.content)["results"]
    return len(results), sum("error" in r for r in results)


def api_probe(url: str, name: str, docs: list[str]) -> str | None:
    """None if /v1/analyze answers for `name` without error entries, else what went wrong."""
    with httpx.Client(base_url=url, timeout=120) as http:
        try:
            _, errors = post(http, orjson.dumps({"analyzer": name, "docs": docs[:4]}))
        except httpx.HTTPError as exc:
            return str(exc)
    return f"{errors} error entries" if errors else None


def api_pipelined(
    url: str, reqs: list[tuple[bytes, int]], seconds: float, warmup: float, pid: int
) -> dict:
    """Warm up (>= 50 docs and >= `warmup` s), then API_CLIENTS clients for `seconds`: two
    requests in flight keep the one worker busy while the client reads the last answer, so the
    worker, like the library loop on its one core, is what is measured."""
    with httpx.Client(base_url=url, timeout=300) as http:
        done, i, start = 0, 0, time.perf_counter()
        while done < WARMUP_DOCS or time.perf_counter() - start < warmup:
            done += post(http, reqs[i % len(reqs)][0])[0]
            i += 1
        errors = post(http, reqs[0][0])[1]
    cpu_before, wall_before = cpu_seconds(pid, children=True), time.perf_counter()
    rate = api_concurrent(url, reqs, seconds, API_CLIENTS)
    docs = rate * (time.perf_counter() - wall_before)
    per_cpu = docs / max(cpu_seconds(pid, children=True) - cpu_before, 1e-9)
    return {"rate": rate, "docs": int(docs), "errors": errors, "per_cpu": per_cpu}


def api_concurrent(
    url: str,
    reqs: list[tuple[bytes, int]],
    seconds: float,
    clients: int = SCALING_CLIENTS,
    headers: dict[str, str] | None = None,
) -> float:
    """Docs/s of `clients` threads for `seconds`, each with its own keep-alive connection
    (`raw_post`: a response's docs and error entries counted without parsing it; the warm-up
    requests are parsed and checked in full); `headers` go with every request."""
    counts = [0] * clients
    clock: dict[str, float] = {}

    def go() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    gate = threading.Barrier(clients, action=go)

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as checked:
            for j in range(2):  # warm-up, parsed in full
                body, docs = reqs[(k + j) % len(reqs)]
                if post(checked, body, headers) != (docs, 0):
                    raise RuntimeError(f"{url}: wrong answer count or error entries")
        conn = raw_connection(url)
        try:
            gate.wait()
            i = k
            while time.perf_counter() < clock["deadline"]:
                body, docs = reqs[i % len(reqs)]
                counts[k] += docs - raw_post(conn, body, headers).count(b'"error":{')
                i += clients
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - clock["start"])


def memory(pid: int) -> list[tuple[str, float]]:
    """Resident MB of the API worker and of each of its children (isolated analyzers)."""
    api = psutil.Process(pid)
    rows = [(f"API worker (pid {pid})", api.memory_info().rss / MB)]
    for child in api.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            what = " ".join(child.cmdline()[1:])[-60:]
            rows.append((f"  child {child.pid}: {what}", child.memory_info().rss / MB))
    return rows

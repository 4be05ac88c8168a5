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
the result.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pandas as pd
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from nlpfeat._services import free_port, service

ROOT = Path(__file__).resolve().parents[1]
ANALYZERS = ("mecab", "kiwi", "komoran", "okt", "hannanum", "kkma")
DEFAULT_ISOLATED = frozenset({"kkma", "hannanum"})
KONLPY_CLASSES = {"okt": "Okt", "komoran": "Komoran", "hannanum": "Hannanum", "kkma": "Kkma"}
WARMUP_DOCS = 50
API_GOAL = 0.9
BACKEND_GOALS = {"okt": 2.5, "komoran": 1.5}
SCALING_GOAL = 1.8
SCALING_CLIENTS = 8
ROUND_BATCHES = 8
API_CLIENTS = 2
MB = 2**20


def load(path: Path, n: int) -> list[str]:
    df = pd.read_csv(path, sep="\t", quoting=3, usecols=["document"], nrows=n)
    return df["document"].fillna("").astype(str).tolist()


# --- in-process loops, each in a fresh child process -------------------------------------


def library_tagger(name: str) -> Callable[[str], object]:
    """The call a user of the library would write, started the library's own way."""
    if name == "mecab":
        import mecab

        return mecab.MeCab().pos
    if name == "kiwi":
        from kiwipiepy import Kiwi

        return Kiwi().tokenize
    import konlpy.tag

    return getattr(konlpy.tag, KONLPY_CLASSES[name])().pos


def backend_tagger(name: str) -> Callable[[str], object]:
    from nlp_api import start_jvm
    from nlp_api.analyzers import JVM_BACKENDS, load_analyzer

    if name in JVM_BACKENDS:
        start_jvm()
    return load_analyzer(name).pos


def per_doc_loop(
    pos: Callable[[str], object], docs: list[str], seconds: float, warmup: float
) -> dict:
    """Cold rate over the first WARMUP_DOCS; warm up (>= WARMUP_DOCS and >= `warmup` s: the
    JVM's JIT needs seconds), then docs in order (cycling) for `seconds`."""
    errors = 0

    def call(doc: str) -> None:
        nonlocal errors
        try:
            pos(doc)
        except Exception:
            errors += 1

    start = time.perf_counter()
    for doc in docs[:WARMUP_DOCS]:
        call(doc)
    cold = min(WARMUP_DOCS, len(docs)) / (time.perf_counter() - start)
    i = WARMUP_DOCS
    while time.perf_counter() - start < warmup:
        call(docs[i % len(docs)])
        i += 1
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        call(docs[done % len(docs)])
        done += 1
    elapsed = time.perf_counter() - start
    return {"cold": cold, "rate": done / elapsed, "docs": done, "errors": errors}


def child_main(kind: str, name: str, data: Path, n: int, seconds: float, warmup: float) -> None:
    docs = load(data, n)
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    start = time.perf_counter()
    pos = (library_tagger if kind == "library" else backend_tagger)(name)
    result = {"load_s": time.perf_counter() - start, **per_doc_loop(pos, docs, seconds, warmup)}
    result["rss_mb"] = (proc.memory_info().rss - rss_before) / MB
    print("\n" + json.dumps(result), flush=True)


def java_only(name: str) -> Callable[[str], object]:
    """The JVM analyzer's own work and nothing else: konlpy's Java call, its result left in
    Java (not converted). Its rate over the library loop's is the most any way of crossing
    Python<->Java could give."""
    import jpype
    import konlpy.tag

    tagger = getattr(konlpy.tag, KONLPY_CLASSES[name])()
    if name == "okt":
        no = jpype.java.lang.Boolean(False)
        return lambda text: tagger.jki.tokenize(text, no, no)
    if name == "komoran":
        return lambda text: tagger.jki.analyze(text).getTokenList()
    raise ValueError(f"no Java-only loop for {name}")


LOOP_KINDS: dict[str, Callable[[str], Callable[[str], object]]] = {
    "library": library_tagger,
    "backend": backend_tagger,
    "java": java_only,
}


def loop_server_main(kinds: str, name: str, data: Path, n: int, warmup: float) -> None:
    """Loops kept warm in one process (`kinds`: comma-separated library, backend, java); each
    stdin line `<kind> <start> <count>` runs that loop once over docs start..start+count
    (cycling) and prints docs and the process's CPU seconds (JVM threads included) as one
    JSON line. Our backend is built first, so a JVM is started our way (konlpy's own start
    adds `-ea`, which would slow every kind alike)."""
    docs = load(data, n)
    order = sorted(kinds.split(","), key=lambda k: k != "backend")
    loops = {kind: LOOP_KINDS[kind](name) for kind in order}
    for pos in loops.values():
        per_doc_loop(pos, docs, 0.2, warmup)
    print("READY", flush=True)
    for line in sys.stdin:
        kind, start, count = line.split()
        pos = loops[kind]
        cpu = time.process_time()
        for i in range(int(start), int(start) + int(count)):
            with contextlib.suppress(Exception):
                pos(docs[i % len(docs)])
        print(json.dumps({"docs": int(count), "cpu": time.process_time() - cpu}), flush=True)


@contextlib.contextmanager
def warm_loop(kinds: str, name: str, args: argparse.Namespace) -> Iterator[Callable[..., float]]:
    """Warm loops (`kinds`: comma-separated library, backend, java) in one process of their
    own; yields `run(start, count, kind=<the first>) -> docs per CPU-second` over docs
    start..start+count."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--loop-server", kinds, name]
    cmd += ["--data", str(args.data), "--n", str(args.n), "--warmup", str(args.warmup)]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    try:
        while (line := stdout.readline()) and line.strip() != "READY":
            pass
        if not line:
            raise RuntimeError(f"the {kinds} {name} loops exited before they were ready")

        def run(start: int, count: int, kind: str = kinds.split(",")[0]) -> float:
            stdin.write(f"{kind} {start} {count}\n")
            stdin.flush()
            out = json.loads(stdout.readline())
            return out["docs"] / max(out["cpu"], 1e-9)

        yield run
    finally:
        proc.kill()
        proc.wait()


def median_ci(ordered: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median of sorted values: the order
    statistics k and n+1-k, k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2.
    With fewer than 6 values no such k exists and the interval is the whole range."""
    n = len(ordered)
    k, below = 0, 0.0
    while True:
        below += math.comb(n, k) / 2**n  # P(X <= k), X ~ Binomial(n, 1/2)
        if below > (1 - level) / 2:
            break
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def medians(rates: dict[str, list[float]], base: str) -> dict:
    """Median rate per side, and per side the median, range and 95% confidence interval of
    its per-round ratio to `base`: drifts in the machine's speed hit both sides of every
    ratio alike."""
    out: dict = {"rates": {k: statistics.median(v) for k, v in rates.items()}}
    for side, values in rates.items():
        if side != base:
            ratios = sorted(a / b for a, b in zip(values, rates[base], strict=True))
            out[side] = {
                "ratio": statistics.median(ratios),
                "spread": (ratios[0], ratios[-1]),
                "ci": median_ci(ratios),
            }
    return out


class Rounds:
    """The docs of each interleaved round: the same `count` docs for every side of a round,
    the next ones in the next round, so that every side meets the same documents (kkma's
    time per doc varies a hundredfold). `count` is a whole number of batches, at least
    `ROUND_BATCHES`, and about `--round-seconds` of the first side's work."""

    def __init__(self, run: Callable[..., float], batch: int, n_docs: int, seconds: float):
        self.batch = batch
        self.n_batches = max(1, n_docs // batch)
        rate = run(0, ROUND_BATCHES * batch)
        self.batches = max(ROUND_BATCHES, math.ceil(rate * seconds / batch))
        self.first = ROUND_BATCHES % self.n_batches

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """(first batch, docs) per round, forever; docs start at batch * first batch."""
        b = self.first
        while True:
            yield b, self.batches * self.batch
            b = (b + self.batches) % self.n_batches


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
                cpu = cpu_seconds(pid)
                api_round(url, bodies)
                rates["api"].append(count / max(cpu_seconds(pid) - cpu, 1e-9))
    except (RuntimeError, OSError, ValueError, httpx.HTTPError) as exc:
        Console(stderr=True).print(f"[red]interleaved {name} failed:[/] {exc}")
        return None
    out = medians(rates, "library")
    return {
        "library": out["rates"]["library"],
        "api": out["rates"]["api"],
        "ratio": out["api"]["ratio"],
        "spread": out["api"]["spread"],
        "ci": out["api"]["ci"],
    }


def raw_connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=600)


def raw_post(conn: http.client.HTTPConnection, body: bytes) -> bytes:
    """One /v1/analyze on a stdlib connection: the answer read, not parsed (the load
    generator shares the two cores with the workers; httpx plus a JSON parse cost several
    times more per request than a fast analyzer's worker spends on it)."""
    conn.request("POST", "/v1/analyze", body, {"content-type": "application/json"})
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


def in_fresh_process(kind: str, name: str, args: argparse.Namespace) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, name]
    cmd += ["--data", str(args.data), "--n", str(args.n), "--seconds", str(args.seconds)]
    cmd += ["--warmup", str(args.warmup)]
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=(args.seconds + args.warmup) * 4 + 240,
            check=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        tail = (exc.stderr or "")[-400:] if isinstance(exc.stderr, str) else ""
        Console(stderr=True).print(f"[red]{kind} {name} failed:[/] {exc}\n{tail}")
        return None
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last)


# --- the API --------------------------------------------------------------------------------


def wait_ready(url: str, timeout: float = 600.0) -> dict[str, str]:
    """{} once /readyz is 200; else the analyzers whose loading failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            resp = httpx.get(f"{url}/readyz", timeout=5)
            if resp.status_code == 200:
                return {}
            states = resp.json().get("analyzers", {})
            if states and all(s == "ready" or s.startswith("failed") for s in states.values()):
                return {a: s for a, s in states.items() if s != "ready"}
        time.sleep(0.5)
    raise TimeoutError(f"{url}/readyz not 200 after {timeout:.0f}s")


@contextlib.contextmanager
def api_server(
    analyzers: list[str], workers: int, logs: Path, isolate: str | None = None, tag: str = ""
) -> Iterator[tuple[str, subprocess.Popen, dict[str, str]]]:
    """One `nlpfeat api`; yields (url, process, analyzers that failed to load)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = ["api", "--port", str(port), "--workers", str(workers)]
    cmd += ["--analyzers", ",".join(analyzers)]
    if isolate is not None:
        cmd += ["--isolate", isolate]
    with service(f"api-w{workers}{tag}", cmd, f"{url}/healthz", log_dir=logs) as proc:
        yield url, proc, wait_ready(url)


def bodies(name: str, docs: list[str], batch: int) -> list[tuple[bytes, int]]:
    """Request bodies encoded once, so the client spends its CPU on sending, not encoding."""
    chunks = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    return [(orjson.dumps({"analyzer": name, "docs": c}), len(c)) for c in chunks]


def post(http: httpx.Client, body: bytes) -> tuple[int, int]:
    resp = http.post("/v1/analyze", content=body, headers={"content-type": "application/json"})
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


def cpu_seconds(pid: int) -> float:
    """User+system CPU of the API process and its children (isolated analyzers), so far,
    including children already gone (an isolated analyzer killed after a doc timeout): their
    time moves into the parent's children_user/children_system when it reaps them."""
    proc = psutil.Process(pid)
    t = proc.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


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
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    rate = api_concurrent(url, reqs, seconds, clients=API_CLIENTS)
    docs = rate * (time.perf_counter() - wall_before)
    per_cpu = docs / max(cpu_seconds(pid) - cpu_before, 1e-9)
    return {"rate": rate, "docs": int(docs), "errors": errors, "per_cpu": per_cpu}


def api_concurrent(
    url: str, reqs: list[tuple[bytes, int]], seconds: float, clients: int = 0
) -> float:
    """`clients` (default SCALING_CLIENTS) threads, each with its own keep-alive connection
    (`raw_post`: a response's docs and error entries counted without parsing it; the warm-up
    requests are parsed and checked in full)."""
    n = clients or SCALING_CLIENTS
    counts = [0] * n
    clock: dict[str, float] = {}

    def go() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + seconds

    gate = threading.Barrier(n, action=go)

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as checked:
            for j in range(2):  # warm-up, parsed in full
                body, docs = reqs[(k + j) % len(reqs)]
                if post(checked, body) != (docs, 0):
                    raise RuntimeError(f"{url}: wrong answer count or error entries")
        conn = raw_connection(url)
        try:
            gate.wait()
            i = k
            while time.perf_counter() < clock["deadline"]:
                body, docs = reqs[i % len(reqs)]
                counts[k] += docs - raw_post(conn, body).count(b'"error":{')
                i += n
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - clock["start"])


def memory(pid: int) -> list[tuple[str, float]]:
    api = psutil.Process(pid)
    rows = [(f"API worker (pid {pid})", api.memory_info().rss / MB)]
    for child in api.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            what = " ".join(child.cmdline()[1:])[-60:]
            rows.append((f"  child {child.pid}: {what}", child.memory_info().rss / MB))
    return rows


# --- the run --------------------------------------------------------------------------------


def verdict(value: float | None, goal: float, ci: tuple[float, float] | None = None) -> str:
    """PASS or FAIL by `value`; with a confidence interval `ci` that straddles the goal, the
    rounds cannot tell (UNSURE): more or longer rounds, or a quieter machine, decide it."""
    if value is None:
        return "n/a"
    if ci is not None and ci[0] < goal <= ci[1]:
        return f"[yellow]{value:.2f}x UNSURE[/]"
    ok = value >= goal
    return f"[{'green' if ok else 'red'}]{value:.2f}x {'PASS' if ok else 'FAIL'}[/]"


def interval(it: dict) -> str:
    low, high = it["ci"]
    return f"{low:.2f}-{high:.2f}x"


def ratio(a: dict | None, b: dict | None) -> float | None:
    return a["rate"] / b["rate"] if a and b and b["rate"] else None


def rate(r: dict | None, key: str = "rate") -> str:
    if r is None:
        return "failed"
    note = f" ({r['errors']} err)" if r.get("errors") else ""
    return f"{r[key]:,.0f}{note}" if r[key] >= 100 else f"{r[key]:,.1f}{note}"


def run_main_api(
    args: argparse.Namespace, docs: list[str], logs: Path, progress: Progress
) -> tuple[dict[str, dict | None], dict[str, list[tuple[str, float]]], str]:
    """/v1/analyze per analyzer on one worker, default isolation (or none, as a fallback)."""
    results: dict[str, dict | None] = {}
    mem: dict[str, list[tuple[str, float]]] = {}
    isolate, note = None, "default isolation (kkma, hannanum in child processes)"
    task = progress.add_task("API: starting one worker, loading analyzers", total=None)
    for attempt in range(2):
        with api_server(args.analyzers, 1, logs, isolate, f"-try{attempt}") as (url, proc, failed):
            broken = dict(failed)
            for name in DEFAULT_ISOLATED.intersection(args.analyzers) - failed.keys():
                problem = api_probe(url, name, docs) if isolate is None else None
                if problem:
                    broken[name] = problem
            if attempt == 0 and DEFAULT_ISOLATED.intersection(broken):
                progress.console.print(f"[yellow]isolation not working[/] ({broken}); retrying")
                isolate, note = "", "NO isolation (--isolate ''): isolated analyzers failed"
                continue
            mem["after ready"] = memory(proc.pid)
            for name in args.analyzers:
                progress.update(task, description=f"API: {name}, two pipelined clients")
                if name in broken:
                    results[name] = None
                    continue
                reqs = bodies(name, docs, args.batch_size)
                results[name] = api_pipelined(url, reqs, args.seconds, args.warmup, proc.pid)
                if results[name] is not None and args.rounds:
                    progress.update(task, description=f"API vs library, interleaved: {name}")
                    results[name]["interleaved"] = interleaved(url, proc.pid, name, reqs, args)
            mem["after benchmark"] = memory(proc.pid)
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
        with api_server(args.scaling, workers, logs, "") as (url, _, failed):
            for name in args.scaling:
                progress.update(task, description=f"scaling: {name}, {workers} worker(s)")
                if name not in failed:
                    out[name][workers] = api_concurrent(
                        url, bodies(name, docs, args.batch_size), args.seconds
                    )
                progress.advance(task)
    progress.remove_task(task)
    return out


def per_cpu_ratio(api: dict | None, lib: dict | None) -> float | None:
    """The worker's docs per CPU-second against the library loop's docs/s on its one core."""
    return api["per_cpu"] / lib["rate"] if api and lib and lib["rate"] else None


def print_tables(console: Console, args: argparse.Namespace, n: int, res: dict) -> None:
    table = Table(
        title=f"{n:,} reviews, {args.seconds:g} s per measurement after {args.warmup:g} s "
        f"warm-up, API: one worker, two pipelined clients, batches of {args.batch_size}, "
        f"{res['note']}"
    )
    cols = ["analyzer", "load s (lib)", "library cold", "library docs/s", "our backend docs/s"]
    cols += ["API docs/s", "API / library", "API docs per worker CPU-s"]
    cols += [f"per CPU-s / library (goal {API_GOAL}x)"]
    goals = ", ".join(f"{a} {g}x" for a, g in BACKEND_GOALS.items())
    cols += [f"backend / library ({goals})", "backend RSS MB"]
    for col in cols:
        table.add_column(col, justify="left" if col == "analyzer" else "right")
    for name in args.analyzers:
        lib, own, api = res["library"][name], res["backend"][name], res["api"][name]
        goal = BACKEND_GOALS.get(name)
        backend_vs = verdict(ratio(own, lib), goal) if goal else f"{ratio(own, lib) or 0:.2f}x"
        table.add_row(
            name,
            f"{lib['load_s']:.1f}" if lib else "-",
            rate(lib, "cold"),
            rate(lib),
            rate(own),
            rate(api),
            f"{ratio(api, lib) or 0:.2f}x",
            f"{api['per_cpu']:,.0f}" if api else "-",
            verdict(per_cpu_ratio(api, lib), API_GOAL),
            backend_vs,
            f"{own['rss_mb']:,.0f}" if own else "-",
        )
    console.print(table)
    inter = Table(
        title=f"API vs library loop, interleaved: {args.rounds} rounds of "
        f"~{args.round_seconds:g} s each (the same docs for both sides of a round), docs per "
        "CPU-second of each side's own process"
    )
    cols = ("analyzer", "library (median)", "API (median)", "ratio range", "95% CI of median")
    for col in (*cols, f"median ratio (goal {API_GOAL}x)"):
        inter.add_column(col, justify="left" if col == "analyzer" else "right")
    for name in args.analyzers:
        it = (res["api"][name] or {}).get("interleaved")
        if it is None:
            inter.add_row(name, "-", "-", "-", "-", "n/a")
            continue
        low, high = it["spread"]
        inter.add_row(
            name,
            f"{it['library']:,.0f}",
            f"{it['api']:,.0f}",
            f"{low:.2f}-{high:.2f}x",
            interval(it),
            verdict(it["ratio"], API_GOAL, it["ci"]),
        )
    console.print(inter)
    own = Table(
        title=f"our backend vs konlpy's loop, interleaved: {args.rounds} rounds of "
        f"~{args.round_seconds:g} s each over the same docs, docs per CPU-second; 'Java alone' "
        "is konlpy's Java call with its result left unconverted: the most any way of crossing "
        "could give"
    )
    for col in ("analyzer", "konlpy loop", "our backend", "Java alone", "ratio range", "95% CI"):
        own.add_column(col, justify="left" if col == "analyzer" else "right")
    own.add_column("backend / konlpy (median)", justify="right")
    own.add_column("Java alone / konlpy (ceiling)", justify="right")
    for name, it in res["backend_interleaved"].items():
        if it is None:
            own.add_row(name, *["-"] * 5, "n/a", "n/a")
            continue
        rates, back, java = it["rates"], it["backend"], it.get("java")
        own.add_row(
            name,
            f"{rates['library']:,.0f}",
            f"{rates['backend']:,.0f}",
            f"{rates['java']:,.0f}" if java else "-",
            f"{back['spread'][0]:.2f}-{back['spread'][1]:.2f}x",
            interval(back),
            verdict(back["ratio"], BACKEND_GOALS[name], back["ci"]),
            f"{java['ratio']:.2f}x" if java else "-",
        )
    console.print(own)
    scaling = Table(
        title=f"workers scaling: {SCALING_CLIENTS} client threads, batches of "
        f"{args.batch_size}, {psutil.cpu_count()} cores"
    )
    for col in ("analyzer", "1 worker docs/s", "2 workers docs/s", f"2 / 1 (goal {SCALING_GOAL}x)"):
        scaling.add_column(col, justify="left" if col == "analyzer" else "right")
    for name, by in res["scaling"].items():
        one, two = by.get(1), by.get(2)
        scaling.add_row(
            name,
            f"{one:,.0f}" if one else "failed",
            f"{two:,.0f}" if two else "failed",
            verdict(two / one if one and two else None, SCALING_GOAL),
        )
    console.print(scaling)
    mem = Table(title=f"resident memory, one API worker, {','.join(args.analyzers)}, {res['note']}")
    mem.add_column("process")
    for when in res["memory"]:
        mem.add_column(f"RSS MB {when}", justify="right")
    labels = dict.fromkeys(label for rows in res["memory"].values() for label, _ in rows)
    for label in labels:
        cells = [dict(rows).get(label) for rows in res["memory"].values()]
        mem.add_row(label, *(f"{c:,.0f}" if c is not None else "-" for c in cells))
    mem.add_row(
        "[bold]total[/]", *(f"{sum(m for _, m in rows):,.0f}" for rows in res["memory"].values())
    )
    console.print(mem)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/reviews_train.tsv")
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
    parser.add_argument("--child", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--loop-server", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.n -= args.n % args.batch_size  # whole batches: every round's docs are the same each side
    args.analyzers = [a.strip() for a in args.analyzers.split(",") if a.strip()]
    args.scaling = [a.strip() for a in args.scaling.split(",") if a.strip()]
    return args


def main() -> None:
    args = parse_args()
    if args.child:
        child_main(*args.child, args.data, args.n, args.seconds, args.warmup)
        return
    if args.loop_server:
        loop_server_main(*args.loop_server, args.data, args.n, args.warmup)
        return
    console = Console(width=max(Console().width, 150))
    docs = load(args.data, args.n)
    logs = Path(tempfile.mkdtemp(prefix="nlpfeat-bench-"))
    res: dict = {"library": {}, "backend": {}}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
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
        res["api"], res["memory"], res["note"] = run_main_api(args, docs, logs, progress)
        res["scaling"] = run_scaling(args, docs, logs, progress) if args.scaling else {}
    print_tables(console, args, len(docs), res)
    console.print(f"server logs: {logs}")


if __name__ == "__main__":
    main()

"""Instructions per doc: the library's own loop, our backend and /v1/analyze, counted by
valgrind's callgrind, so the ratio does not drift with the machine.

    python benchmarks/bench_instructions.py [--analyzers mecab,kiwi] [--n 512]
        [--data ../shared/data/reviews_train.tsv] [--batch-size 64]

`bench_analyzers.py` measures docs per CPU-second, but on this shared machine single rounds
of the same ratio range from 0.6x to 1.3x, and a goal of 0.9x can sit inside the confidence
interval of 20 rounds. Instruction counts are the same from run to run whatever else the
machine is doing. They are not time: cache misses and branch mispredictions are not counted,
and under valgrind a library takes its AVX2 path rather than AVX-512. So this is a check on the
timed ratio, not a replacement: API / library here is the API's throughput relative to the
library's if both ran at the same instructions per second.

Each side runs under `valgrind --tool=callgrind --instr-atstart=no`. It loads and warms up
over all docs with counting off, and `callgrind_control -i on` starts counting just before the
measured pass over the same docs. The API is one worker, counted across all its threads, fed
one batch at a time by a plain `http.client` connection that is not itself counted. mecab and
kiwi only: a JVM under valgrind runs too slowly to be worth it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
from _analyzer_tables import API_GOAL
from _api_client import raw_connection, raw_post
from _data import FULL, analyze_bodies, read_reviews
from _loops import backend_tagger, library_tagger
from _servers import Servers
from _stats import verdict
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
ANALYZERS = ("mecab", "kiwi")
START_TIMEOUT_S = 900.0


def child_main(kind: str, name: str, data: Path, n: int) -> None:
    """Under valgrind: warm up over the docs, then one counted pass when told `GO`."""
    docs = read_reviews(data, n)
    pos = library_tagger(name) if kind == "library" else backend_tagger(name)
    for doc in docs:
        pos(doc)
    print("READY", flush=True)
    sys.stdin.readline()
    for doc in docs:
        pos(doc)
    print("DONE", flush=True)
    sys.stdin.readline()


def callgrind(out: Path) -> list[str]:
    """The command line that runs a program under callgrind, counting off until told."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def counting(pid: int, on: bool) -> None:
    """Waits until callgrind has switched; `callgrind_control` answers once it has."""
    arg = "on" if on else "off"
    subprocess.run(["callgrind_control", "-i", arg, str(pid)], check=True, capture_output=True)


def instructions(out: Path) -> int:
    """Total instructions in a callgrind output file (written when the process exits)."""
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("totals:"):  # "summary:" is the count when the file was opened
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def in_process(kind: str, name: str, args: argparse.Namespace, work: Path) -> int:
    out, log = work / f"{kind}-{name}.callgrind", work / f"{kind}-{name}.log"
    cmd = [*callgrind(out), sys.executable, str(Path(__file__).resolve()), "--child", kind, name]
    cmd += ["--data", str(args.data), "--n", str(args.n)]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, text=True
        )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if proc.stdout.readline().strip() != "READY":
            raise RuntimeError(f"{kind} {name} did not start; see {log}")
        counting(proc.pid, True)
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        if proc.stdout.readline().strip() != "DONE":
            raise RuntimeError(f"{kind} {name} failed during the counted pass; see {log}")
        counting(proc.pid, False)
        proc.stdin.write("EXIT\n")
        proc.stdin.flush()
        proc.wait(timeout=START_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return instructions(out)


def api(name: str, args: argparse.Namespace, work: Path) -> int:
    """The API under callgrind (one worker, in-process analyzers), counted over one pass of
    the batches after an uncounted one; its file is written when it exits."""
    out = work / f"api-{name}.callgrind"
    requests = [
        body for body, _ in analyze_bodies(name, read_reviews(args.data, args.n), args.batch_size)
    ]
    with Servers(work) as servers:
        server = servers.api(
            name,
            name=f"api-{name}",
            timeout=START_TIMEOUT_S,
            launcher=callgrind(out),
            stop_grace=120.0,  # uvicorn's shutdown under valgrind, then callgrind writes its file
        )
        conn = raw_connection(server.url)
        for body in requests:  # warm-up, uncounted
            raw_post(conn, body)
        counting(server.proc.pid, True)
        for body in requests:
            raw_post(conn, body)
        counting(server.proc.pid, False)
        conn.close()
    return instructions(out)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FULL)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--analyzers", default=",".join(ANALYZERS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write instructions per doc here")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.n -= args.n % args.batch_size  # whole batches, so every side sees the same docs
    args.analyzers = [a.strip() for a in args.analyzers.split(",") if a.strip()]
    return args


def main() -> None:
    args = parse_args()
    if args.child:
        child_main(*args.child, args.data, args.n)
        return
    console = Console(width=max(Console().width, 120))
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        console.print("[red]valgrind is not installed:[/] apt-get install valgrind")
        raise SystemExit(2)
    work = Path(tempfile.mkdtemp(prefix="nlpfeat-callgrind-"))
    table = Table(
        title=f"instructions per doc (callgrind), {args.n:,} reviews, the same docs on every "
        f"side; API: one worker, all threads, batches of {args.batch_size}"
    )
    for col in ("analyzer", "library", "our backend", "API", "backend / library"):
        table.add_column(col, justify="left" if col == "analyzer" else "right")
    table.add_column(f"API throughput / library (goal {API_GOAL}x)", justify="right")
    results = {}
    with console.status("counting") as status:
        for name in args.analyzers:
            counts = {}
            for kind in ("library", "backend", "api"):
                status.update(f"{name}: {kind} under valgrind (minutes)")
                counts[kind] = (
                    api(name, args, work) if kind == "api" else in_process(kind, name, args, work)
                )
            results[name] = {k: v / args.n for k, v in counts.items()}
    for name, per_doc in results.items():
        lib, own, via_api = per_doc["library"], per_doc["backend"], per_doc["api"]
        table.add_row(
            name,
            f"{lib:,.0f}",
            f"{own:,.0f}",
            f"{via_api:,.0f}",
            f"{lib / own:.2f}x",
            verdict(lib / via_api, API_GOAL),
        )
    console.print(table)
    console.print(f"callgrind files and logs: {work}")
    if args.json:
        args.json.write_bytes(orjson.dumps(results))


if __name__ == "__main__":
    main()

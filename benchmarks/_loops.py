"""The in-process loops the API is measured against, each in a child process of its own.

    python benchmarks/_loops.py child KIND NAME --data D --n N --seconds S --warmup W
    python benchmarks/_loops.py loop-server KINDS NAME --data D --n N --warmup W

KIND is ``library`` (the call a user of the library would write), ``backend`` (our analyzer)
or ``java`` (konlpy's Java call alone, its result left in Java). ``child`` runs one loop once
in a fresh process and prints its result as a JSON line; ``loop-server`` keeps loops warm in
one process (so they share one JVM) and runs them on request (`warm_loop`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from _data import read_reviews
from rich.console import Console

__all__ = [
    "KONLPY_CLASSES",
    "WARMUP_DOCS",
    "backend_tagger",
    "in_fresh_process",
    "library_tagger",
    "per_doc_loop",
    "warm_loop",
]

KONLPY_CLASSES = {"okt": "Okt", "komoran": "Komoran", "hannanum": "Hannanum", "kkma": "Kkma"}
WARMUP_DOCS = 50
MB = 2**20


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
    docs = read_reviews(data, n)
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    start = time.perf_counter()
    pos = LOOP_KINDS[kind](name)
    result = {"load_s": time.perf_counter() - start, **per_doc_loop(pos, docs, seconds, warmup)}
    result["rss_mb"] = (proc.memory_info().rss - rss_before) / MB
    print("\n" + json.dumps(result), flush=True)


def loop_server_main(kinds: str, name: str, data: Path, n: int, warmup: float) -> None:
    """Loops kept warm in one process (`kinds`: comma-separated library, backend, java); each
    stdin line `<kind> <start> <count>` runs that loop once over docs start..start+count
    (cycling) and prints docs and the process's CPU seconds (JVM threads included) as one
    JSON line. Our backend is built first, so a JVM is started our way (konlpy's own start
    adds `-ea`, which would slow every kind alike)."""
    docs = read_reviews(data, n)
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


def _argv(mode: str, what: str, name: str, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), mode, what, name]
    cmd += ["--data", str(args.data), "--n", str(args.n), "--warmup", str(args.warmup)]
    return cmd + (["--seconds", str(args.seconds)] if mode == "child" else [])


@contextlib.contextmanager
def warm_loop(kinds: str, name: str, args: argparse.Namespace) -> Iterator[Callable[..., float]]:
    """Warm loops (`kinds`: comma-separated library, backend, java) in one process of their
    own; yields `run(start, count, kind=<the first>) -> docs per CPU-second` over docs
    start..start+count."""
    proc = subprocess.Popen(
        _argv("loop-server", kinds, name, args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
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


def in_fresh_process(kind: str, name: str, args: argparse.Namespace) -> dict | None:
    """`per_doc_loop` of one kind in a fresh process: load time, cold and warm rates, the
    memory the analyzer took (None, said on stderr, if it failed)."""
    try:
        done = subprocess.run(
            _argv("child", kind, name, args),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("child", "loop-server"))
    parser.add_argument("kind", help="library, backend or java (loop-server: comma-separated)")
    parser.add_argument("name", help="the analyzer")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    a = parser.parse_args()
    if a.mode == "child":
        child_main(a.kind, a.name, a.data, a.n, a.seconds, a.warmup)
    else:
        loop_server_main(a.kind, a.name, a.data, a.n, a.warmup)


if __name__ == "__main__":
    main()

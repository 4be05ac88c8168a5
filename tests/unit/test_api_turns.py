"""Interactive requests get an analyzer between the docs of a batch in progress."""

from __future__ import annotations

import threading
import time

from nlp_api._registry import Lease
from nlp_api._service import run_pos
from nlp_api._turns import Turns
from nlp_api.analyzers import Analyzer, Token


class SlowAnalyzer(Analyzer):
    """Takes 5 ms per doc and records the order in which docs were analysed."""

    name = "slow"
    tagset = "mecab-ko"
    options: dict = {}
    version = "test"
    dictionary = "none"

    def __init__(self) -> None:
        self.order: list[str] = []

    def pos(self, text: str) -> list[Token]:
        time.sleep(0.005)
        self.order.append(text)
        return [Token(text, "NNG", None, None)]


def _batch_under_way(
    n_docs: int, started: int
) -> tuple[SlowAnalyzer, Lease, list[str], threading.Thread]:
    """A batch of `n_docs` running in a thread, returned once `started` docs are done."""
    analyzer = SlowAnalyzer()
    lease = Lease(analyzer, Turns())
    batch = [f"batch-{i}" for i in range(n_docs)]
    worker = threading.Thread(target=run_pos, args=(lease, batch, {}))
    worker.start()
    while len(analyzer.order) < started:
        time.sleep(0.001)
    return analyzer, lease, batch, worker


def test_an_interactive_request_is_served_between_the_docs_of_a_running_batch() -> None:
    analyzer, lease, batch, worker = _batch_under_way(60, started=5)
    (answer,) = run_pos(lease, ["urgent"], {}, urgent=True)
    worker.join(10)
    assert answer[0].form == "urgent"
    position = analyzer.order.index("urgent")
    assert position < 30, f"served after {position} batch docs (of 60): it waited for the batch"
    assert [d for d in analyzer.order if d != "urgent"] == batch, "the batch keeps its order"


def test_an_unmarked_request_waits_for_the_batch_to_finish() -> None:
    analyzer, lease, _, worker = _batch_under_way(20, started=3)
    run_pos(lease, ["other-batch"], {})
    worker.join(10)
    assert analyzer.order[-1] == "other-batch"


def test_waiting_interactive_callers_go_before_waiting_batch_ones() -> None:
    turns, order = Turns(), []
    with turns.turn():
        threads = [
            threading.Thread(target=lambda n=n, u=u: _take(turns, order, n, u))
            for n, u in (("batch", False), ("interactive", True))
        ]
        threads[0].start()
        time.sleep(0.05)
        threads[1].start()
        time.sleep(0.05)
    for t in threads:
        t.join(5)
    assert order == ["interactive", "batch"]


def _take(turns: Turns, order: list[str], name: str, urgent: bool) -> None:
    with turns.turn(urgent=urgent):
        order.append(name)


class Recorder(SlowAnalyzer):
    """Records the thread each doc ran on; short requests may run on the event loop."""

    name = "mecab"
    inline_chars = 20

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def pos(self, text: str) -> list[Token]:
        self.threads.append(threading.current_thread().name)
        return [Token(text, "NNG", None, None)]


def test_short_requests_to_a_free_analyzer_skip_the_thread_pool() -> None:
    from fastapi.testclient import TestClient

    from nlp_api import ApiSettings, Registry, create_app

    analyzer = Recorder()
    registry = Registry([analyzer])
    app = create_app(ApiSettings(analyzers=("mecab",)), registry=registry)
    pool = "AnyIO worker thread"
    with TestClient(app) as client:

        def ask(docs: list[str]) -> str:
            analyzer.threads.clear()
            answer = client.post("/v1/features", json={"analyzer": "mecab", "docs": docs})
            assert answer.status_code == 200 and len(answer.json()["results"]) == len(docs)
            assert len(set(analyzer.threads)) == 1
            return analyzer.threads[0]

        assert ask(["짧은 문장"]) != pool  # on the event loop: no hop
        assert ask(["이것은 스무 글자가 넘는 조금 긴 문장입니다"]) == pool  # too long
        # a batch holds the analyzer: the short request waits for its turn in the pool
        lease = registry.get("mecab")
        held, release = threading.Event(), threading.Event()

        def batch() -> None:
            with lease.turns.turn():
                held.set()
                release.wait(5)

        worker = threading.Thread(target=batch)
        worker.start()
        held.wait(5)
        threading.Timer(0.2, release.set).start()
        assert ask(["짧은 문장"]) == pool
        worker.join()

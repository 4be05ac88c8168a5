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

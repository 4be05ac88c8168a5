"""The isolated analyzer: per-doc time limit, crashes, restarts, and the real kkma in a child.

The fake backend is `slow_fake` below. The child process imports it as `test_isolated:slow_fake`:
a spawned child starts with the parent's `sys.path`, and the `fake_on_path` fixture puts this
directory on it (whatever pytest's import mode), so no patching is needed.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from nlp_api._errors import AnalyzerNotReady, AnalyzerUnavailable, DocTimeout
from nlp_api._isolated import IsolatedAnalyzer
from nlp_api._registry import Lease
from nlp_api._service import run_pos
from nlp_api._turns import Turns
from nlp_api.analyzers import Option, Token

FAKE = "test_isolated:slow_fake"


class _SlowFake:
    name = "fake"
    version = "fake 1.0"
    tagset = "fake"
    dictionary = "none"

    def __init__(self, sleep: float) -> None:
        self.options = {"upper": Option(bool, False, "upper-case the forms")}
        self._sleep = sleep

    def pos(self, text: str, upper: bool = False) -> list[Token]:
        if "SLOW" in text:
            time.sleep(self._sleep)
        if "BOOM" in text:
            raise RuntimeError("boom")
        if "CRASH" in text:
            os._exit(1)
        return [Token(w.upper() if upper else w, "W") for w in text.split()]


def slow_fake(sleep: float = 30.0) -> _SlowFake:
    """The factory the child calls (`_factory`); SLOW docs sleep `sleep` seconds."""
    return _SlowFake(sleep)


def failing_fake() -> _SlowFake:
    raise RuntimeError("no dictionary here")


@pytest.fixture
def fake_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.fixture
def fake(fake_on_path: None):
    analyzer = IsolatedAnalyzer("fake", doc_timeout=0.5, start_timeout=60, _factory=FAKE)
    yield analyzer
    analyzer.close()


def _words(*words: str) -> list[Token]:
    return [Token(w, "W") for w in words]


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_exposes_the_wrapped_analyzers_metadata(fake: IsolatedAnalyzer) -> None:
    assert (fake.name, fake.version, fake.tagset, fake.dictionary) == (
        "fake",
        "fake 1.0",
        "fake",
        "none",
    )
    assert fake.options == {"upper": Option(bool, False, "upper-case the forms")}
    assert fake.pos("a b", upper=True) == _words("A", "B")


def test_timeout_restarts_the_child_and_answers_the_rest(fake: IsolatedAnalyzer) -> None:
    first_pid = fake.pid
    results = fake.pos_many(["a b", "SLOW", "c", "BOOM", "d e"])

    assert results[0] == _words("a", "b")
    assert results[1] == {
        "error": {
            "type": "DocTimeout",
            "detail": "fake took longer than 0.5s on this document; "
            "the analyzer process was restarted",
        }
    }
    assert results[2] == _words("c")
    assert results[3]["error"]["type"] == "AnalyzerFailed"
    assert "RuntimeError: boom" in results[3]["error"]["detail"]
    assert results[4] == _words("d", "e")
    assert fake.pid != first_pid
    assert not _alive(first_pid)

    assert fake.pos_many(["x", "y z"]) == [_words("x"), _words("y", "z")]


def test_a_crash_mid_batch_fails_only_that_doc(fake: IsolatedAnalyzer) -> None:
    first_pid = fake.pid
    results = fake.pos_many(["a", "CRASH", "b c"])

    assert results[0] == _words("a")
    assert results[1]["error"]["type"] == "DocCrashed"
    assert "exit code 1" in results[1]["error"]["detail"]
    assert results[2] == _words("b", "c")
    assert fake.pid != first_pid


def test_invalid_text_never_reaches_the_child(fake: IsolatedAnalyzer) -> None:
    pid = fake.pid
    results = fake.pos_many(["a\x00b", "bad \ud800 doc", "SLOW"])

    assert results[0] == _words("a", "b")
    assert results[1]["error"]["type"] == "InvalidText"
    assert "lone surrogate" in results[1]["error"]["detail"]
    assert results[2]["error"]["type"] == "DocTimeout"
    assert fake.pid != pid
    only_invalid = fake.pid
    assert fake.pos_many(["\udc80"])[0]["error"]["type"] == "InvalidText"
    assert fake.pid == only_invalid


def test_pos_raises_on_timeout(fake: IsolatedAnalyzer) -> None:
    with pytest.raises(DocTimeout, match=r"took longer than 0\.5s"):
        fake.pos("SLOW")
    assert fake.pos("ok") == _words("ok")


def test_close_stops_the_child(fake: IsolatedAnalyzer) -> None:
    pid = fake.pid
    assert pid is not None and _alive(pid)
    fake.close()
    assert fake.pid is None
    assert not _alive(pid)
    with pytest.raises(AnalyzerNotReady):
        fake.pos_many(["a"])


def test_an_interactive_request_is_served_between_the_docs_of_an_isolated_batch(
    fake_on_path: None,
) -> None:
    """The API's path (`run_pos`) reaches the isolated analyzer's `pos_many` under the turns,
    so a batch hands the child over between its docs."""
    paced = IsolatedAnalyzer(
        "fake", doc_timeout=5, start_timeout=60, kwargs={"sleep": 0.05}, _factory=FAKE
    )
    lease = Lease(paced, Turns())
    batch = [f"SLOW {i}" for i in range(40)]  # 2 s in the child
    answers: dict[str, list] = {}
    worker = threading.Thread(target=lambda: answers.update(batch=run_pos(lease, batch, {})))
    try:
        worker.start()
        time.sleep(0.3)  # the batch is under way
        started = time.monotonic()
        (urgent,) = run_pos(lease, ["urgent"], {"upper": True}, urgent=True)
        waited = time.monotonic() - started
        batch_still_running = worker.is_alive()
        worker.join(30)
    finally:
        paced.close()
    assert urgent == _words("URGENT")
    assert batch_still_running and waited < 1.0, f"waited {waited:.2f}s for the batch"
    assert answers["batch"] == [_words("SLOW", str(i)) for i in range(40)]


def test_a_child_that_fails_to_start_is_unavailable(fake_on_path: None) -> None:
    with pytest.raises(AnalyzerUnavailable, match="RuntimeError: no dictionary here"):
        IsolatedAnalyzer("fake", start_timeout=60, _factory="test_isolated:failing_fake")


@pytest.mark.jvm
def test_real_kkma_matches_in_process(reviews: pd.DataFrame) -> None:
    from konlpy.tag import Kkma

    from nlp_api._jvm import start_jvm

    texts = [t for t in reviews["document"].dropna() if len(t) > 15][:3]
    start_jvm("1g")
    expected = [[(f, t) for f, t in Kkma().pos(text)] for text in texts]

    kkma = IsolatedAnalyzer("kkma", doc_timeout=60, start_timeout=120)
    try:
        pid = kkma.pid
        assert (kkma.name, kkma.tagset) == ("kkma", "kkma")
        results = kkma.pos_many(texts)
    finally:
        kkma.close()

    assert [[(t.form, t.tag) for t in r] for r in results] == expected
    assert pid is not None and not _alive(pid)

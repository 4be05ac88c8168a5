"""What every benchmark shares: one reader of the review files, the request bodies made of
them, and one readiness poll that names what did not come up."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _data import SAMPLE, analyze_bodies, cycled_bodies, read_reviews
from _servers import ServiceFailed, wait_until


def test_reviews_are_the_document_column_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "reviews.tsv"
    rows = ["id\tdocument\tlabel", '1\t"따옴표" 그대로\t1', "2\t\t0", "3\t   \t0", "4\t123\t1"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert read_reviews(path) == ['"따옴표" 그대로', "", "   ", "123"]
    assert read_reviews(path, 2) == ['"따옴표" 그대로', ""]
    assert read_reviews(path, skip_blank=True) == ['"따옴표" 그대로', "123"]


def test_the_bundled_sample_reads_whole() -> None:
    assert len(read_reviews(SAMPLE)) == 5000
    assert read_reviews(SAMPLE, 1) == ["그만좀나와라...레알 재미없어 ㅡㅡ 우려먹기도 정도껏해라"]


def test_bodies_are_consecutive_batches_with_their_counts() -> None:
    docs = [f"doc {i}" for i in range(5)]
    bodies = analyze_bodies("kiwi", docs, 2)
    assert [n for _, n in bodies] == [2, 2, 1]
    assert orjson.loads(bodies[2][0]) == {"analyzer": "kiwi", "docs": ["doc 4"]}
    cycled = [orjson.loads(b)["docs"] for b in cycled_bodies(docs, 3, limit=2)]
    assert cycled == [["doc 0", "doc 1", "doc 2"], ["doc 3", "doc 4", "doc 0"]]


def test_wait_until_returns_what_the_probe_found() -> None:
    answers = iter([None, False, {}])
    assert wait_until("api", lambda: next(answers), every=0) == {}


def test_wait_until_names_what_did_not_come_up() -> None:
    with pytest.raises(ServiceFailed, match=r"redis \(redis://x\) did not come up.*see r\.log"):
        wait_until("redis (redis://x)", lambda: False, timeout=0, log=Path("r.log"))
    gone = SimpleNamespace(poll=lambda: 3, returncode=3)
    with pytest.raises(ServiceFailed, match="model exited with 3 before it came up"):
        wait_until("model", lambda: None, proc=gone)  # type: ignore[arg-type]

"""The reviews every benchmark sends, read one way, and the request bodies made of them.

The review files (``../shared/data/reviews_*.tsv``, the bundled ``data/reviews_sample.tsv``)
are tab-separated UTF-8 with one header line and no quoting (``../shared/data/README.md``).
Empty reviews and reviews of only emoticons or jamo are real input: they are kept unless a
caller asks for ``skip_blank`` (a load generator that must not send empty sentences).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path

import orjson

__all__ = ["FULL", "SAMPLE", "analyze_bodies", "cycled_bodies", "read_reviews"]

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT.parent / "shared" / "data" / "reviews_train.tsv"
"""The full training file, the default of the analyzer benchmarks."""
SAMPLE = ROOT / "data" / "reviews_sample.tsv"
"""The 5,000 reviews bundled with the repository, the default of the load benchmarks."""


def read_reviews(path: Path, n: int | None = None, *, skip_blank: bool = False) -> list[str]:
    """The ``document`` column of the first ``n`` rows (all without ``n``), in file order;
    with ``skip_blank``, without the reviews that are empty or only whitespace."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        docs = [row.get("document") or "" for row in itertools.islice(rows, n)]
    return [d for d in docs if d.strip()] if skip_blank else docs


def analyze_bodies(analyzer: str, docs: Sequence[str], batch: int) -> list[tuple[bytes, int]]:
    """``/v1/analyze`` bodies of ``batch`` consecutive docs (the last may be shorter) with
    their doc counts, encoded once, so a client spends its CPU on sending, not encoding."""
    chunks = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    return [(orjson.dumps({"analyzer": analyzer, "docs": list(c)}), len(c)) for c in chunks]


def cycled_bodies(
    docs: Sequence[str], per_request: int, limit: int = 256, analyzer: str = "mecab"
) -> list[bytes]:
    """Up to ``limit`` distinct ``/v1/analyze`` bodies of ``per_request`` docs each, cycling
    through ``docs``."""
    cycle = itertools.cycle(docs)
    return [
        orjson.dumps({"analyzer": analyzer, "docs": list(itertools.islice(cycle, per_request))})
        for _ in range(limit)
    ]

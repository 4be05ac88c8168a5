"""Regenerate the golden files: real reviews -> tokens, from each LIBRARY called directly.

    .venv/bin/python tests/golden/make_golden.py

Run it only when a library version changes on purpose; the diff shows what changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "data" / "reviews_sample.tsv"
EXTRA = ["", "ㅋㅋㅋㅋ", "최고👍👍 😀", "韓國 映畫 좋아요", "מה 영화 שלום", "2020년 10월 3일 OK!!"]


def golden_docs() -> list[str]:
    docs = pd.read_csv(SAMPLE, sep="\t", quoting=3, nrows=60)["document"].fillna("").tolist()
    return [str(d) for d in docs[40:60]] + EXTRA


def library_pos(name: str):
    """The library's own call, exactly as its users write it."""
    if name == "mecab":
        import mecab

        return mecab.MeCab().pos
    if name == "kiwi":
        from kiwipiepy import Kiwi

        kiwi = Kiwi()
        return lambda text: [(t.form, t.tag) for t in kiwi.tokenize(text)]
    from konlpy import tag

    tagger = {"okt": tag.Okt, "komoran": tag.Komoran, "hannanum": tag.Hannanum, "kkma": tag.Kkma}
    pos = tagger[name]().pos
    return lambda text: pos(text) if text.strip() else []


def _tokens(pos, doc: str) -> list[list[str]] | None:
    """The library's tokens, or None where the library itself fails on the doc."""
    try:
        return [list(t) for t in pos(doc)]
    except Exception:
        return None


def main() -> None:
    docs = golden_docs()
    for name in ("hannanum", "kiwi", "kkma", "komoran", "mecab", "okt"):
        pos = library_pos(name)
        tokens = [_tokens(pos, d) for d in docs]
        path = HERE / f"{name}.json"
        path.write_text(json.dumps({"docs": docs, "tokens": tokens}, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

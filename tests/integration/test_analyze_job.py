"""ANALYZE on real Spark (local[2]): a small table with known defects, the expected counts
computed here in plain Python, and report.json / flagged ids checked against them."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from spark_udfs import InputError
from spark_udfs._analyze import analyze
from spark_udfs._job import InputConfig

pytestmark = [pytest.mark.spark]

ROWS = [
    ("a01", "정말 재미있는 영화였어요", 1, "m1"),
    ("a02", "정말 재미있는 영화였어요", 1, "m1"),  # exact duplicate
    ("a03", "정말 재미있는 영화였어요!!", 1, "m1"),  # normalized duplicate
    ("a04", "최악의 영화", 0, "m1"),
    ("a05", "최악의 영화", 1, "m1"),  # exact duplicate with a conflicting label
    ("a06", "ㅋㅋㅋㅋ", 1, "m1"),  # jamo-only, repeated
    ("a07", "ㅠㅠ", 0, "m1"),  # jamo-only
    ("a08", "", 0, "m1"),  # empty
    ("a09", None, 1, "m1"),  # null
    ("a10", "   ", 0, "m1"),  # empty (blank)
    ("a11", "good movie", 1, "m1"),  # Latin-only
    ("a12", "...!!!", 0, "m2"),  # punctuation-only
    ("a13", "배우 연기가 좋았다 good", 1, "m2"),  # mixed
    ("a14", "지루하고 길다", 0, "m3"),
    ("a15", "음악이 훌륭하다", 1, "m1"),
    ("a16", "스토리가 엉망", 0, "m1"),
    ("a17", "다시 보고 싶다", 1, "m1"),
    ("a18", "A", 1, "m1"),
]


def _visible(t: str) -> str:
    return re.sub(r"\s+", "", t)


def _core(t: str) -> str:
    return "".join(ch for ch in _visible(t) if unicodedata.category(ch)[0] not in "PS")


def _expected(rows: list[tuple]) -> dict:
    df = pd.DataFrame(rows, columns=["id", "document", "label", "movie_id"]).sort_values("id")
    texts = df["document"]
    has = texts.notna() & texts.fillna("").map(lambda t: _visible(t) != "")
    jamo = texts.fillna("").map(
        lambda t: bool(_core(t)) and all(0x3131 <= ord(c) <= 0x318E for c in _core(t))
    )
    punct = texts.fillna("").map(lambda t: bool(_visible(t)) and not _core(t))
    rep = texts.fillna("").map(lambda t: len(_visible(t)) >= 3 and len(set(_visible(t))) == 1)
    exact = has & df[has].duplicated("document").reindex(df.index, fill_value=False)
    norm = texts.fillna("").map(lambda t: _core(t.lower()))
    ndup = has & (norm != "") & norm.where(has & (norm != "")).duplicated() & (norm != "")
    per_text = df[has].groupby("document")["label"].nunique()
    conflict_texts = set(per_text[per_text > 1].index)
    conflict = df["document"].isin(conflict_texts) & has
    flags = {
        "null": texts.isna(),
        "empty": texts.notna() & ~has,
        "jamo_only": jamo,
        "punct_only": punct,
        "repeated_char": rep,
        "exact_duplicate": exact,
        "conflicting_label": conflict,
    }
    flagged = set(df["id"][pd.concat(flags, axis=1).any(axis=1)])
    return {
        "summary": {
            "rows": len(df),
            "null_texts": int(flags["null"].sum()),
            "empty_texts": int(flags["empty"].sum()),
            "exact_duplicates": int(exact.sum()),
            "normalized_duplicates": int(ndup.sum()),
            "conflicting_label_texts": len(conflict_texts),
            "jamo_only": int(jamo.sum()),
            "flagged_rows": len(flagged),
        },
        "flagged": flagged,
        "by_reason": {k: int(v.sum()) for k, v in flags.items()},
        "latin_only": int(
            texts.fillna("")
            .map(
                lambda t: (
                    bool(re.fullmatch(r"[A-Za-z0-9]+", _core(t))) and bool(re.search("[A-Za-z]", t))
                )
            )
            .sum()
        ),
    }


def _write(tmp: Path, name: str, rows: list[tuple]) -> InputConfig:
    path = tmp / f"{name}.parquet"
    pd.DataFrame(rows, columns=["id", "document", "label", "movie_id"]).to_parquet(path)
    return InputConfig(path=str(path))


def _stat(report: dict, section: str, sid: str) -> object:
    sec = next(s for s in report["sections"] if s["id"] == section)
    return next(s for s in sec["stats"] if s["id"] == sid)


def test_known_defects_are_counted_and_flagged(spark, tmp_path: Path) -> None:
    cfg = _write(tmp_path, "t", ROWS)
    report = analyze(
        spark,
        cfg,
        group_col="movie_id",
        report_dir=tmp_path / "r",
        sample=0,
        progress=False,
        min_group_rows=3,
    )
    want = _expected(ROWS)
    on_disk = json.loads((tmp_path / "r" / "report.json").read_text("utf-8"))
    assert on_disk["summary"] == report["summary"] == want["summary"]
    assert report["flagged"]["by_reason"] == want["by_reason"]
    assert _stat(report, "text", "latin_only")["value"] == want["latin_only"]
    flagged = spark.read.parquet(str(tmp_path / "r" / "flagged")).toPandas()
    assert set(flagged["id"]) == want["flagged"]
    assert dict(zip(flagged["id"], flagged["reasons"].map(list), strict=True))["a05"] == [
        "exact_duplicate",
        "conflicting_label",
    ]
    groups = next(s for s in report["sections"] if s["id"] == "groups")
    top = next(f for f in groups["figures"] if f["id"] == "top_groups")
    assert top["rows"][0][:2] == ["m1", 15]
    assert any(f["id"] == "dominant_group" for f in groups["findings"])
    table = next(s for s in report["sections"] if s["id"] == "table")
    hist = next(f for f in table["figures"] if f["id"] == "chars_hist")
    assert sum(hist["counts"]) == len(ROWS) - 1  # every non-null text
    assert len(hist["edges"]) == len(hist["counts"]) + 1
    dup = next(f for f in table["findings"] if f["id"] == "exact_duplicates")
    assert {e["id"] for e in dup["examples"]} == {"a02", "a05"}
    texts = {r[0]: r[1] for r in ROWS}
    assert all(e["text"] == texts[e["id"]] for e in dup["examples"])  # read back by id
    # normalized duplicates show the near one (equal to a01 only once normalized)
    near = next(f for f in table["findings"] if f["id"] == "normalized_duplicates")
    assert [(e["id"], e["text"]) for e in near["examples"]] == [("a03", texts["a03"])]


def test_drift_against_a_shifted_copy(spark, tmp_path: Path) -> None:
    base = [
        (f"r{i:03d}", "좋은 영화" if i % 3 else "별로인 영화네요", i % 2, "m") for i in range(60)
    ]
    longer = [(i, " ".join([t] * 8), label, g) for i, t, label, g in base]
    report = analyze(
        spark,
        _write(tmp_path, "a", base),
        compare_cfg=_write(tmp_path, "b", longer),
        report_dir=tmp_path / "r",
        sample=0,
        progress=False,
    )
    verdicts = {d["statistic"]: d["verdict"] for d in report["drift"]}
    assert verdicts["chars"] == "drift"
    assert verdicts["eojeol"] == "drift"
    assert verdicts["label"] == "stable"
    assert verdicts["hangul_share"] == "stable"
    assert report["compare"]["rows"] == 60
    chars = _stat(report, "table", "chars_max")
    assert chars["compare_value"] > chars["value"]


def test_bad_inputs_are_one_clear_error(spark, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        analyze(
            spark,
            InputConfig(path=str(tmp_path / "nope.parquet")),
            report_dir=tmp_path,
            sample=0,
            progress=False,
        )
    cfg = _write(tmp_path, "t", ROWS[:3])
    with pytest.raises(InputError, match="--text-col"):
        analyze(
            spark,
            InputConfig(path=cfg.path, text="review"),
            report_dir=tmp_path,
            sample=0,
            progress=False,
        )
    with pytest.raises(InputError, match="--group-col"):
        analyze(spark, cfg, group_col="genre", report_dir=tmp_path, sample=0, progress=False)
    with pytest.raises(InputError, match="no rows"):
        analyze(spark, _write(tmp_path, "e", []), report_dir=tmp_path, sample=0, progress=False)


def test_a_text_column_of_nulls_is_a_finding(spark, tmp_path: Path) -> None:
    rows = [(f"n{i}", None, 1, "m") for i in range(5)]
    report = analyze(
        spark, _write(tmp_path, "n", rows), report_dir=tmp_path / "r", sample=0, progress=False
    )
    assert report["summary"]["null_texts"] == 5
    table = next(s for s in report["sections"] if s["id"] == "table")
    assert [f["count"] for f in table["findings"] if f["id"] == "null_texts"] == [5]
    assert report["flagged"]["rows"] == 5


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.jvm
def test_morphemes_through_the_proxy(spark, proxy_url: str, tmp_path: Path) -> None:
    cfg = _write(tmp_path, "t", ROWS)
    report = analyze(
        spark,
        cfg,
        compare_cfg=cfg,
        report_dir=tmp_path / "r",
        proxy_url=proxy_url,
        sample=10,
        progress=False,
    )
    assert report["sample"]["size"] == 10
    assert report["sample"]["analyzer_version"].startswith("python-mecab-ko")
    morph = next(s for s in report["sections"] if s["id"] == "morphemes")
    stats = {s["id"]: s for s in morph["stats"]}
    assert stats["vocabulary"]["value"] > 5
    assert stats["vocabulary"]["exact"] is False
    assert stats["morphemes_per_doc"]["value"] > 1
    top = next(f for f in morph["figures"] if f["id"] == "top_terms")
    assert all("/" in row[0] for row in top["rows"])
    drift = {d["statistic"]: d for d in report["drift"]}
    assert drift["chars"]["psi"] == 0 and drift["chars"]["verdict"] == "stable"

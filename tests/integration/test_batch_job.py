"""BATCH on real Spark through the real proxy and API: every input format with the user's own
column names, declared filters counted against a table whose defects are known, stable ids for
a table without them, and the clear errors before any work starts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contracts import read_table_info

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]

# 20 good reviews, then rows with one known defect each (the filter that must drop them).
GOOD = [f"{n}번째 리뷰인데 이 영화 정말 재미있어요" for n in range(20)]
DEFECTS = [
    ("", 1, "min_chars"),
    ("ㅋ", 0, "min_chars"),
    ("great movie, really great", 1, "min_hangul"),
    (GOOD[0], 1, "drop_duplicates"),
    (GOOD[1], 0, "drop_duplicates"),
    (GOOD[2] + "!!", 1, "drop_normalized_duplicates"),
    ("  " + GOOD[3].upper() + " ", 1, "drop_normalized_duplicates"),
    ("라벨이 없는 리뷰입니다 정말로", None, "label_required"),
    ("너무 길어요 " * 40, 1, "max_chars"),
]
FILTERS = {
    "label_required": True,
    "min_chars": 2,
    "max_chars": 200,
    "min_hangul": 0.5,
    "drop_duplicates": True,
    "drop_normalized_duplicates": True,
}


def table() -> pd.DataFrame:
    rows = [(f"g{n:02d}", text, n % 2, None) for n, text in enumerate(GOOD)]
    rows += [(f"z{n:02d}", text, label, why) for n, (text, label, why) in enumerate(DEFECTS)]
    frame = pd.DataFrame(rows, columns=["rid", "review", "y", "why"])
    frame.loc[len(frame)] = [
        "g99",
        '쉼표, "따옴표"\n그리고 줄바꿈도 있는 리뷰',
        1,
        None,
    ]  # CSV quoting
    frame["y"] = frame["y"].astype("Int64")
    return frame


def write(frame: pd.DataFrame, fmt: str, path: Path) -> Path:
    data = frame.drop(columns=["why"])
    if fmt == "csv":
        data.to_csv(path.with_suffix(".csv"), index=False)
        return path.with_suffix(".csv")
    if fmt == "jsonl":
        data.to_json(path.with_suffix(".jsonl"), orient="records", lines=True, force_ascii=False)
        return path.with_suffix(".jsonl")
    data.to_parquet(path.with_suffix(".parquet"), index=False)
    return path.with_suffix(".parquet")


def job(source: Path, out: Path, proxy_url: str, **input_fields: object):
    from spark_udfs import load_job

    return load_job(
        overrides={
            "input": {
                "path": str(source),
                "text": "review",
                "id": "rid",
                "label": "y",
                **input_fields,
            },
            "filters": FILTERS,
            "output": {"path": str(out), "rows_per_part": 8},
            "service": {"proxy": proxy_url, "batch_size": 8},
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_any_format_with_named_columns_and_every_filter_counted(spark, proxy_url, tmp_path, fmt):
    from spark_udfs import featurize

    frame = table()
    source = write(frame, fmt, tmp_path / "reviews")
    result = featurize(job(source, tmp_path / "out", proxy_url), spark=spark, progress=False)

    expected = frame["why"].value_counts().to_dict()
    filters = result.job["filters"]
    assert filters["dropped"] == {name: expected.get(name, 0) for name in FILTERS}
    for name, examples in filters["examples"].items():
        dropped_ids = set(frame.loc[frame["why"] == name, "rid"])
        assert {e["id"] for e in examples} <= dropped_ids, name
    kept = frame[frame["why"].isna()]
    out = pd.read_parquet(tmp_path / "out")
    assert sorted(out["id"]) == sorted(kept["rid"])
    assert out["error"].isna().all()
    assert dict(zip(out["id"], out["label"], strict=True)) == dict(
        zip(kept["rid"], kept["y"].astype(int), strict=True)
    )
    rows = read_table_info(tmp_path / "out").job["rows"]
    assert rows == {
        "in": len(frame),
        "dropped": len(frame) - len(kept),
        "kept": len(kept),
        "featurized": len(kept),
        "errored": {},
        "output": len(kept),
    }
    assert result.job["parts"] == 3 and len(list((tmp_path / "out").glob("part=*"))) == 3


def test_a_table_without_ids_gets_the_same_stable_ids_every_run(spark, proxy_url, tmp_path):
    from spark_udfs import featurize, load_job

    frame = table().drop(columns=["rid"])
    source = tmp_path / "noid.parquet"
    frame.drop(columns=["why"]).to_parquet(source, index=False)
    ids = []
    for run in ("a", "b"):
        j = load_job(
            overrides={
                "input": {"path": str(source), "text": "review", "label": "y", "id": None},
                "output": {"path": str(tmp_path / run)},
                "service": {"proxy": proxy_url},
            }
        )
        featurize(j, spark=spark, progress=False)
        ids.append(pd.read_parquet(tmp_path / run).sort_values("id")["id"].tolist())
    assert ids[0] == ids[1] and len(set(ids[0])) == len(frame)  # repeats get -1, -2...


def test_a_missing_column_or_unreadable_input_fails_before_any_work(spark, proxy_url, tmp_path):
    from spark_udfs import InputError, featurize

    source = write(table(), "parquet", tmp_path / "reviews")
    with pytest.raises(InputError, match=r"no text column 'document'.*--text-col"):
        featurize(job(source, tmp_path / "out", proxy_url, text="document"), spark=spark)
    with pytest.raises(InputError, match="cannot read"):
        featurize(job(tmp_path / "absent.parquet", tmp_path / "out2", proxy_url), spark=spark)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()


def test_other_settings_over_a_finished_table_are_refused(spark, proxy_url, tmp_path):
    from spark_udfs import JobConfigError, featurize, load_job

    source = write(table(), "parquet", tmp_path / "reviews")
    featurize(job(source, tmp_path / "out", proxy_url), spark=spark, progress=False)
    other = load_job(
        overrides={
            "input": {"path": str(source), "text": "review", "id": "rid", "label": "y"},
            "spec": {"ngram_range": [1, 3]},
            "output": {"path": str(tmp_path / "out")},
            "service": {"proxy": proxy_url},
        }
    )
    with pytest.raises(JobConfigError, match=r"holds another job.*--overwrite"):
        featurize(other, spark=spark, progress=False)
    again = featurize(other, spark=spark, progress=False, overwrite=True)
    assert (
        read_table_info(tmp_path / "out").spec.ngram_range == (1, 3) == again.info.spec.ngram_range
    )

"""ANALYZE's report.html in a real headless browser (playwright driving Debian's chromium).

The page is not blank (text, a screenshot of more than one colour), every plot drew (each
``svg[data-figure]`` has a size and bars of non-zero size), nothing outside the file was
requested, and every number with a ``data-stat`` equals report.json. End to end: a small table
with known defects goes through `spark_udfs._analyze.analyze`, its counts are computed again
here in plain Python, and page == report.json == those counts.

chromium comes from ``apt-get install chromium`` (``.ci/run`` installs it); playwright's own
browser downloads are never used. Missing either: fails under CI, skipped elsewhere.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from spark_udfs._analyze._render import render_html

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "fixtures" / "analyze_report_example.json"
CHROMIUM = Path("/usr/bin/chromium")
JAMO = [(0x3131, 0x318E), (0x1100, 0x11FF)]


def missing(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} not found: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


# --- what a page must show --------------------------------------------------------------

PAGE_FACTS = """() => {
  const stats = {};
  for (const e of document.querySelectorAll('[data-stat]')) {
    (stats[e.dataset.stat] ??= []).push([e.dataset.value, e.innerText]);
  }
  const figures = [...document.querySelectorAll('svg[data-figure]')].map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('rect, path')].filter(m => {
      const b = m.getBBox(); return b.width > 0 && b.height > 0;
    });
    return {id: svg.dataset.figure, width: box.width, height: box.height, marks: marks.length};
  });
  const links = [...document.querySelectorAll('article[data-finding] a[href^="#"]')]
    .map(a => [a.getAttribute('href'), !!document.getElementById(a.getAttribute('href').slice(1))]);
  return {text: document.body.innerText.length, stats, figures, links,
          tables: [...document.querySelectorAll('table[data-figure]')].map(t => t.dataset.figure)};
}"""


def lookup(report: dict[str, Any], key: str) -> Any:
    """The value in report.json that the page's ``data-stat`` key names."""
    head, _, rest = key.partition(".")
    if head in ("summary", "input", "compare", "sample"):
        return report[head][rest]
    if head == "flagged":
        return (
            report["flagged"]["rows"]
            if rest == "rows"
            else report["flagged"]["by_reason"][rest.removeprefix("by_reason.")]
        )
    if head == "drift":
        statistic, _, field = rest.rpartition(".")
        return next(d[field] for d in report["drift"] if d["statistic"] == statistic)
    sections = {s["id"]: s for s in report["sections"]}
    if head == "finding":
        sid, _, rest = rest.partition(".")
        fid = rest.removesuffix(".count")
        return next(f["count"] for f in sections[sid]["findings"] if f["id"] == fid)
    assert head == "section", key
    sid, _, rest = rest.partition(".")
    field = "compare_value" if rest.endswith(".compare") else "value"
    stat = rest.removesuffix(".compare")
    return next(s[field] for s in sections[sid]["stats"] if s["id"] == stat)


def shown(text: str) -> float:
    return float(text.replace(",", "").replace("≈", "").strip())


def check_page(browser: Any, report: dict[str, Any], html_path: Path) -> dict[str, Any]:
    """Open `html_path` as a person would and check it against `report`; the page's facts."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html_path.as_uri())
    facts = page.evaluate(PAGE_FACTS)
    png = page.screenshot(full_page=True)
    page.close()

    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert facts["text"] > 500, "the page has hardly any text"
    assert len(_colours(png)) > 1, "the screenshot is one colour"
    expected_figures = {f["id"] for s in report["sections"] for f in s["figures"]}
    drawn = {f["id"] for f in facts["figures"]} | set(facts["tables"])
    assert expected_figures <= drawn, expected_figures - drawn
    for fig in facts["figures"]:
        assert fig["width"] > 0 and fig["height"] > 0, fig
        assert fig["marks"] > 0, f"no bar drawn in {fig['id']}"
    assert facts["links"] and all(ok for _, ok in facts["links"]), facts["links"]
    for key in report["summary"]:
        assert key in {k.removeprefix("summary.") for k in facts["stats"]}, key
    for key, seen in facts["stats"].items():
        value = lookup(report, key)
        for machine, text in seen:
            if value is None or isinstance(value, str):
                assert machine == ("" if value is None else value), key
            elif isinstance(value, int):
                assert int(machine) == value and shown(text) == value, (key, text)
            else:
                assert float(machine) == value, key
                assert shown(text) == pytest.approx(value, rel=1e-3, abs=1e-12), (key, text)
    return facts


def _colours(png: bytes) -> set[Any]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=1 << 24) or []}


# --- the tests --------------------------------------------------------------------------


def test_the_example_report_renders_in_chromium(browser: Any, tmp_path: Path) -> None:
    report = json.loads(EXAMPLE.read_text("utf-8"))
    html_path = tmp_path / "report.html"
    html_path.write_text(render_html(report), "utf-8")
    facts = check_page(browser, report, html_path)
    assert {"summary.rows", "drift.label.psi", "flagged.rows"} <= set(facts["stats"])


def defect_table() -> list[dict[str, Any]]:
    """Reviews with known defects: duplicates, conflicting labels, empty, null and jamo-only
    texts, a normalized duplicate, and one large group whose labels are all 1."""
    rows: list[tuple[str | None, int | None, str]] = []
    rows += [(f"보통 영화 {i}번 리뷰입니다", i % 2, f"m{i % 7}") for i in range(40)]
    rows += [(f"배우 연기가 {i}점 정말 좋아요", 1, "skew") for i in range(25)]
    rows += [("최고의 영화", 1, "m1")] * 3  # 2 exact duplicates
    rows += [("그냥 그래요", 0, "m2"), ("그냥 그래요", 1, "m3")]  # conflict + a duplicate
    rows += [("재밌다!!", 1, "m4"), ("재밌다 !", 1, "m5")]  # a normalized duplicate
    rows += [("", 0, "m1"), ("   ", 1, "m2"), (None, 1, "m3")]
    rows += [("ㅋㅋㅋ", 1, "m4"), ("ㅠㅠ ㅜㅜ", 0, "m5"), ("!!!", 0, "m6")]
    return [
        {"id": f"{i:04d}", "document": t, "label": lab, "movie_id": g}
        for i, (t, lab, g) in enumerate(rows)
    ]


def expected_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The summary, from the definitions in `spark_udfs/_analyze/_rows.py`, in plain Python."""

    def visible(t: str) -> str:
        return "".join(t.split())

    def core(t: str) -> str:
        return "".join(c for c in visible(t) if unicodedata.category(c)[0] not in "PS")

    def jamo(c: str) -> bool:
        return any(lo <= ord(c) <= hi for lo, hi in JAMO)

    texts = [r["document"] for r in rows if r["document"] is not None and visible(r["document"])]
    norms = [core(t).lower() for t in texts if core(t)]
    labels: dict[str, set[int]] = {}
    for r in rows:
        if r["document"] is not None and visible(r["document"]) and r["label"] is not None:
            labels.setdefault(r["document"], set()).add(r["label"])
    conflicted = {t for t, ls in labels.items() if len(ls) > 1}
    seen: set[str] = set()
    flagged = 0
    for r in sorted(rows, key=lambda r: r["id"]):
        t = r["document"]
        reasons = t is None or not visible(t)
        if not reasons:
            c, v = core(t), visible(t)
            reasons = bool(c and all(map(jamo, c))) or not c or (len(v) >= 3 and len(set(v)) == 1)
            reasons = reasons or t in seen or t in conflicted
            seen.add(t)
        flagged += bool(reasons)
    return {
        "rows": len(rows),
        "null_texts": sum(r["document"] is None for r in rows),
        "empty_texts": sum(r["document"] is not None and not visible(r["document"]) for r in rows),
        "exact_duplicates": len(texts) - len(set(texts)),
        "normalized_duplicates": len(norms) - len(set(norms)),
        "conflicting_label_texts": len(conflicted),
        "jamo_only": sum(bool(core(t)) and all(map(jamo, core(t))) for t in texts),
        "flagged_rows": flagged,
    }


@pytest.mark.spark
def test_a_table_with_known_defects_end_to_end(browser: Any, spark: Any, tmp_path: Path) -> None:
    import pandas as pd

    from spark_udfs._analyze import analyze
    from spark_udfs._job import InputConfig

    rows = defect_table()
    table = tmp_path / "reviews.parquet"
    pd.DataFrame(rows).astype({"label": "Int64"}).to_parquet(table, index=False)
    cfg = InputConfig(path=str(table), format="parquet")
    out = tmp_path / "report"
    analyze(spark, cfg, group_col="movie_id", report_dir=out, sample=0, progress=False)

    report = json.loads((out / "report.json").read_text("utf-8"))
    expected = expected_counts(rows)
    assert expected == {  # the table has what it was built to have
        "rows": 78, "null_texts": 1, "empty_texts": 2, "exact_duplicates": 3,
        "normalized_duplicates": 4, "conflicting_label_texts": 1, "jamo_only": 2,
        "flagged_rows": 10,
    }  # fmt: skip
    assert report["summary"] == expected
    groups = next(s for s in report["sections"] if s["id"] == "groups")
    extreme = next(s for s in groups["stats"] if s["id"] == "extreme_groups")
    assert extreme["value"] == 1  # the "skew" group: 25 rows, all label 1
    facts = check_page(browser, report, out / "report.html")
    for key, value in expected.items():
        assert [int(v) for v, _ in facts["stats"][f"summary.{key}"]] == [value], key


@pytest.mark.slow
@pytest.mark.spark
def test_bench_analyze_report_smoke() -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "bench_analyze_report.py"), "--smoke"]
    env = os.environ | {"COLUMNS": "200", "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for title in ("ANALYZE vs ydata-profiling", "counts agree", "4x rows"):
        assert title in done.stdout, done.stdout[-3000:]

"""The report page drawn from report.json: every number and figure of the JSON is on it, with
its machine-readable twin, and hostile text from the data stays text.

Pages are parsed with the standard library's HTMLParser (the browser test in
tests/integration/test_analyze_report_browser.py renders them in chromium)."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from spark_udfs._analyze._render import render_html

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "analyze_report_example.json"
HOSTILE = '<script>alert("x")</script>\'"><img src=x onerror=alert(1)>&amp;'
RTL = "\u202eevil\u202c 리뷰 \u200f"


class Page(HTMLParser):
    """Every element (tag, attributes, text inside it) and the page's whole text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self.open: list[dict[str, Any]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": []}
        self.elements.append(element)
        if tag not in ("meta", "line", "br", "img", "input", "link"):
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for element in self.open:
            element["text"].append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.elements
            if (tag is None or e["tag"] == tag)
            and all(e["attrs"].get(_attr(k)) == v for k, v in attrs.items())
        ]

    def stat(self, key: str) -> dict[str, Any]:
        (element,) = self.find(data_stat=key)
        return element


def _attr(name: str) -> str:
    return "class" if name == "cls" else name.replace("_", "-")


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text("utf-8"))


def figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for s in report["sections"] for f in s["figures"]]


def shown_number(element: dict[str, Any]) -> float:
    return float("".join(element["text"]).replace(",", ""))


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return example()


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> Page:
    return Page(render_html(report))


def test_every_figure_of_the_json_is_drawn(report: dict[str, Any], page: Page) -> None:
    assert figures(report), "the example report has figures"
    for fig in figures(report):
        tag = "table" if fig["kind"] == "table" else "svg"
        (drawn,) = page.find(tag, data_figure=fig["id"])
        if fig["kind"] == "histogram":
            bins = [e for e in page.elements if e in page.find("rect") and _inside(page, e, drawn)]
            expected = list(fig["counts"]) + list(fig["compare_counts"] or [])
            assert [int(b["attrs"]["data-count"]) for b in bins] == expected
        elif fig["kind"] == "bar":
            bars = [e for e in page.find("rect") if _inside(page, e, drawn)]
            expected = list(fig["values"]) + list(fig["compare_values"] or [])
            got = sorted(float(b["attrs"]["data-value"]) for b in bars)
            assert got == sorted(float(v) for v in expected)
    assert page.find("svg", data_figure="drift")
    assert page.find("svg", data_figure="flagged.by_reason")


def _inside(page: Page, element: dict[str, Any], container: dict[str, Any]) -> bool:
    """Whether `element` comes after `container` and before the next element of its kind."""
    start = page.elements.index(container)
    later = [e for e in page.elements[start + 1 :] if e["tag"] == container["tag"]]
    end = page.elements.index(later[0]) if later else len(page.elements)
    return start < page.elements.index(element) < end


def test_every_key_number_equals_the_json(report: dict[str, Any], page: Page) -> None:
    expected: dict[str, Any] = {f"summary.{k}": v for k, v in report["summary"].items()}
    expected |= {"input.rows": report["input"]["rows"], "compare.rows": report["compare"]["rows"]}
    expected["sample.size"] = report["sample"]["size"]
    for section in report["sections"]:
        for s in section["stats"]:
            expected[f"section.{section['id']}.{s['id']}"] = s["value"]
        for f in section["findings"]:
            expected[f"finding.{section['id']}.{f['id']}.count"] = f["count"]
    for d in report["drift"]:
        expected |= {f"drift.{d['statistic']}.{k}": d[k] for k in ("psi", "js", "threshold")}
    expected["flagged.rows"] = report["flagged"]["rows"]
    expected |= {f"flagged.by_reason.{r}": n for r, n in report["flagged"]["by_reason"].items()}
    for key, value in expected.items():
        element = page.stat(key)
        if isinstance(value, str):
            assert element["attrs"]["data-value"] == value, key
            continue
        assert float(element["attrs"]["data-value"]) == value, key
        if isinstance(value, int):
            assert shown_number(element) == value, key
        else:
            assert shown_number(element) == pytest.approx(value, rel=1e-3), key


def test_findings_link_to_their_example_rows(report: dict[str, Any], page: Page) -> None:
    ids = {e["attrs"]["id"] for e in page.elements if "id" in e["attrs"]}
    for section in report["sections"]:
        for finding in section["findings"]:
            (article,) = page.find("article", data_finding=finding["id"])
            assert article["attrs"]["data-severity"] == finding["severity"]
            if not finding["examples"]:
                continue
            target = f"examples-{section['id']}-{finding['id']}"
            assert page.find("a", href=f"#{target}") and target in ids
            rows = page.find("tr", data_example=finding["examples"][0]["id"])
            assert rows, finding["id"]


def test_the_page_fetches_nothing(page: Page) -> None:
    (csp,) = page.find("meta", http_equiv="Content-Security-Policy")
    assert "default-src 'none'" in csp["attrs"]["content"]
    assert not page.find("script") and not page.find("link") and not page.find("img")
    for element in page.elements:
        for name, value in element["attrs"].items():
            assert not (value or "").startswith(("http:", "https:", "//")) or name == "xmlns"
    (meta,) = page.find("meta", charset="utf-8")
    assert meta
    (style,) = page.find("style")
    assert "Noto Sans CJK KR" in "".join(style["text"])


def hostile_report() -> dict[str, Any]:
    report = copy.deepcopy(example())
    report["title"] = HOSTILE
    report["input"]["path"] = f"/data/{HOSTILE}.tsv"
    section = report["sections"][0]
    section["title"] = RTL + HOSTILE
    section["stats"][0]["label"] = HOSTILE
    section["stats"][0]["note"] = HOSTILE
    section["figures"][0]["title"] = HOSTILE
    section["figures"][0]["id"] = 'fig"<x>'
    bar = next(f for f in figures(report) if f["kind"] == "bar")
    bar["categories"][0] = HOSTILE
    finding = section["findings"][0]
    finding["id"] = 'f"1 <b>'
    finding["detail"] = HOSTILE
    finding["examples"] = [
        {"id": HOSTILE, "text": HOSTILE, "label": 1},
        {"id": "rtl", "text": RTL, "label": 0},
        {"id": "ctl", "text": "a\x00b\x1bc\ud800d", "label": None},
        {"id": "long", "text": "가" * 100_000, "label": 1},
    ]
    report["flagged"]["by_reason"] = {HOSTILE: 3}
    return report


def test_hostile_text_stays_text() -> None:
    markup = render_html(hostile_report())
    markup.encode("utf-8")  # no lone surrogate left
    page = Page(markup)
    assert not page.find("script") and not page.find("img") and not page.find("b")
    assert "<script" not in markup and "<img" not in markup
    assert "\x00" not in markup and "\x1b" not in markup
    text = "".join(page.text)
    assert HOSTILE in text  # shown exactly as it was, not interpreted
    assert "a␀b␛c\ufffdd" in text
    (svg,) = page.find("svg", data_figure='fig"<x>')
    assert svg
    (row,) = page.find("tr", data_example=HOSTILE)
    assert row["attrs"]["id"].isascii() and " " not in row["attrs"]["id"]
    assert len(markup) < len(render_html(example())) + 20_000  # the 100k-char text is cut
    isolated = [e for e in page.find("span", cls="data") if "".join(e["text"]) == RTL]
    assert isolated, "the RTL text sits in a bidi-isolating span of its own"


def test_a_report_without_compare_sample_or_drift() -> None:
    report = example()
    report |= {"compare": None, "sample": None, "drift": None}
    for fig in figures(report):
        fig.pop("compare_counts", None)
        fig.pop("compare_values", None)
    for section in report["sections"]:
        for s in section["stats"]:
            s["compare_value"] = None
    page = Page(render_html(report))
    assert not page.find(data_stat="compare.rows") and not page.find(data_stat="sample.size")
    assert not page.find("svg", data_figure="drift")
    assert not page.find("rect", cls="compare")
    assert page.stat("summary.rows")["attrs"]["data-value"] == str(report["summary"]["rows"])

"""ANALYZE's `report.html`: one self-contained page drawn from `report.json` (`_schema.Report`).

No script, font or image is fetched: the style sheet is inlined from `templates/report.css`,
every plot is inline SVG drawn here, and a Content-Security-Policy meta tag forbids the page to
load anything, so it opens from disk and cannot reach out even if a text slipped through
escaping. Every key number carries a machine-readable twin::

    <span data-stat="summary.rows" data-value="350000">350,000</span>
    <svg data-figure="chars_hist" ...>   (a table figure: <table data-figure="...">)

`data-stat` keys: ``summary.<key>``, ``input.rows``, ``compare.rows``, ``sample.size``,
``section.<section>.<stat>`` (``...<stat>.compare``: the compare table's),
``finding.<section>.<finding>.count``, ``drift.<statistic>.psi|js|threshold``, ``flagged.rows``,
``flagged.by_reason.<reason>``.
Each finding links to the table of its example rows (``#examples-<section>-<finding>``).

Every text from the data goes through `_text`: HTML-escaped (quotes too), lone surrogates and
control characters made visible; shown inside a ``.data`` span that isolates bidi marks.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

__all__ = ["render_html"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
SUMMARY_LABELS = {
    "rows": "rows",
    "null_texts": "null texts",
    "empty_texts": "empty texts",
    "exact_duplicates": "exact duplicates",
    "normalized_duplicates": "duplicates after normalizing",
    "conflicting_label_texts": "texts with conflicting labels",
    "jamo_only": "jamo-only texts",
    "flagged_rows": "flagged rows",
}
MAX_TEXT_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NOT_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")
Json = Mapping[str, Any]


def render_html(report: Json) -> str:
    """The whole page for one report (a dict of `_schema.Report`'s shape)."""
    sections = list(report.get("sections") or [])
    drift = list(report.get("drift") or [])
    standalone_drift = bool(drift) and all(s.get("id") != "drift" for s in sections)
    parts = [_section(s, report, drift if s.get("id") == "drift" else []) for s in sections]
    toc = [(_anchor("section", s.get("id", "")), str(s.get("title", ""))) for s in sections]
    if standalone_drift:
        parts.append(_part("drift-panel", "Drift", _drift_panel(drift)))
        toc.append(("drift-panel", "Drift"))
    parts.append(_part("flagged", "Flagged rows", _flagged_panel(report.get("flagged") or {})))
    toc.append(("flagged", "Flagged rows"))
    title = _text(report.get("title", "ANALYZE report"))
    head = (
        '<meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_css()}</style>"
    )
    main = _el("main", _cards(report.get("summary") or {}) + "".join(parts))
    layout = _el("div", _toc(toc) + main, cls="layout")
    body = _header(report, title) + layout
    return f'<!doctype html>\n<html lang="ko"><head>{head}</head>\n<body>{body}</body></html>\n'


def _css() -> str:
    return files("spark_udfs._analyze").joinpath("templates/report.css").read_text("utf-8")


# --- text, numbers, elements ------------------------------------------------------------


def _clean(value: object) -> str:
    """`value` as text that encodes to UTF-8, its control characters shown as symbols (␀)."""
    text = _SURROGATE.sub("\ufffd", str(value))
    return _CONTROL.sub(lambda m: chr(0x2400 + min(ord(m.group()), 0x21)), text)


def _text(value: object, limit: int | None = None) -> str:
    """Escaped text for an element or an attribute, cut to `limit` characters (an ellipsis)."""
    text = _clean(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def _data(value: object, limit: int | None = MAX_TEXT_CHARS) -> str:
    """Text from the data, bidi-isolated so RTL marks cannot reorder the page around it."""
    return f'<span class="data">{_text(value, limit)}</span>'


def _el(tag: str, body: str = "", **attrs: object) -> str:
    """``<tag attrs>body</tag>``; `body` is HTML already, attribute values are escaped
    (``cls`` is ``class``, underscores become hyphens, None leaves an attribute out)."""
    pairs = "".join(
        f' {"class" if k == "cls" else k.replace("_", "-")}="{_text(v)}"'
        for k, v in attrs.items()
        if v is not None
    )
    return f"<{tag}{pairs}>{body}</{tag}>"


def _anchor(*parts: object) -> str:
    """An HTML id made of `parts`, safe in `id` and `href` (other characters hex-escaped)."""
    return "-".join(_NOT_ANCHOR.sub(lambda m: f"_{ord(m.group()):x}", _clean(p)) for p in parts)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _machine(value: object) -> str:
    """The exact value as JSON would spell it (numbers), or the text itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if _number(value) else str("" if value is None else value)


def _shown(value: object) -> str:
    """A value as people read it: 150,000; 35.2; 0.0041; 1.2e-05."""
    if value is None:
        return "—"
    if not _number(value):
        return _text(value, 120)
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value)  # type: ignore[arg-type]
    if not math.isfinite(v):
        return str(v)
    if v != 0 and abs(v) < 0.001:
        return f"{v:.2e}"
    return f"{v:,.0f}" if abs(v) >= 10_000 else f"{v:,.4g}"


def _stat(key: str, value: object, *, exact: bool = True) -> str:
    """A number the page shows, with its key and exact value in `data-*` attributes."""
    mark = ""
    if not exact and value is not None:
        mark = _el("span", "≈", cls="approx", title="approximate (a sketch or the API sample)")
    return mark + _el("span", _shown(value), data_stat=key, data_value=_machine(value))


def _part(anchor: str, title: str, body: str, section_id: str | None = None) -> str:
    return _el(
        "section", _el("h2", _data(title)) + body, cls="part", id=anchor, data_section=section_id
    )


def _figure(caption: str, body: str, anchor: str | None = None, kind: str | None = None) -> str:
    return _el("figure", _el("figcaption", _data(caption)) + body, id=anchor, data_kind=kind)


# --- page parts -------------------------------------------------------------------------


def _header(report: Json, title: str) -> str:
    items = [("created", _data(report.get("created_at", "")))]
    for key in ("input", "compare"):
        ref = report.get(key)
        if ref:
            rows = _stat(f"{key}.rows", ref.get("rows"))
            what = f"{_data(ref.get('path', ''))} ({_text(ref.get('format', ''))}, {rows} rows)"
            items.append((key, what))
    sample = report.get("sample")
    if sample:
        who = f"{_data(sample.get('analyzer', ''))} {_data(sample.get('analyzer_version', ''))}"
        items.append(("API sample", f"{_stat('sample.size', sample.get('size'))} rows, {who}"))
    else:
        items.append(("API sample", "none (no morpheme statistics)"))
    cells = "".join(_el("div", _el("dt", k) + _el("dd", v)) for k, v in items)
    return _el("header", _el("h1", title, cls="data") + _el("dl", cells), cls="top")


def _toc(entries: Iterable[tuple[str, str]]) -> str:
    links = "".join(_el("li", _el("a", _data(t), href=f"#{a}")) for a, t in entries)
    summary = _el("li", _el("a", "Summary", href="#summary"))
    return _el("nav", _el("h2", "Contents") + _el("ol", summary + links), cls="toc")


def _cards(summary: Json) -> str:
    keys = [k for k in SUMMARY_LABELS if k in summary] + [
        k for k in summary if k not in SUMMARY_LABELS
    ]
    cards = "".join(
        _el(
            "div",
            _el("span", _stat(f"summary.{k}", summary[k]), cls="num")
            + _el("span", _text(SUMMARY_LABELS.get(k, k)), cls="what"),
            cls="card hot" if k != "rows" and summary[k] else "card",
        )
        for k in keys
    )
    return _el("section", cards, id="summary", cls="cards", aria_label="Summary")


def _section(section: Json, report: Json, drift: Sequence[Json]) -> str:
    sid = str(section.get("id", ""))
    body = [
        _stats_table(sid, section.get("stats") or []),
        _figures(sid, section.get("figures") or [], _names(report)),
        _findings(sid, section.get("findings") or []),
        _drift_panel(drift) if drift else "",
    ]
    return _part(_anchor("section", sid), section.get("title", sid), "".join(body), sid)


def _names(report: Json) -> tuple[str, str]:
    def name(key: str) -> str:
        path = str((report.get(key) or {}).get("path", key)).rstrip("/")
        return path.rsplit("/", 1)[-1] or key

    return name("input"), name("compare")


def _stats_table(sid: str, stats: Sequence[Json]) -> str:
    if not stats:
        return ""
    compare = any(s.get("compare_value") is not None for s in stats)
    rows = [
        _el(
            "tr",
            "".join(_el("th", h) for h in ("statistic", "value", "compare" if compare else "", "")),
        )
    ]
    for s in stats:
        key, exact = f"section.{sid}.{s.get('id', '')}", bool(s.get("exact", True))
        cells = _el("td", _data(s.get("label", s.get("id", ""))))
        cells += _el("td", _stat(key, s.get("value"), exact=exact), cls="n")
        cells += _el(
            "td",
            _stat(f"{key}.compare", s.get("compare_value"), exact=exact) if compare else "",
            cls="n",
        )
        cells += _el("td", _data(s["note"]) if s.get("note") else "", cls="note")
        rows.append(_el("tr", cells))
    return _el("table", "".join(rows), cls="stats")


def _figures(sid: str, figures: Sequence[Json], names: tuple[str, str]) -> str:
    drawn = []
    for fig in figures:
        kind = str(fig.get("kind", ""))
        if kind == "histogram":
            body, compare = _histogram_svg(fig), fig.get("compare_counts") is not None
        elif kind == "bar":
            body, compare = _bar_svg(fig), fig.get("compare_values") is not None
        else:
            body, compare = _table_figure(fig), False
        legend = _legend(names) if compare else ""
        anchor = _anchor("figure", sid, fig.get("id", ""))
        drawn.append(_figure(str(fig.get("title", "")), legend + body, anchor, kind))
    return _el("div", "".join(drawn), cls="figures") if drawn else ""


def _legend(names: tuple[str, str]) -> str:
    swatches = (
        _el("span", "", cls=f"swatch {cls}") + _data(n)
        for cls, n in zip(("main", "compare"), names, strict=True)
    )
    return _el("div", "".join(swatches), cls="legend")


def _table_figure(fig: Json) -> str:
    head = _el("tr", "".join(_el("th", _data(c)) for c in fig.get("columns") or []))
    rows = "".join(_el("tr", "".join(_cell(c) for c in row)) for row in fig.get("rows") or [])
    return _el("table", head + rows, data_figure=fig.get("id", ""))


def _cell(value: object) -> str:
    if _number(value):
        return _el("td", _shown(value), cls="n", data_value=_machine(value))
    return _el("td", _data("" if value is None else value))


def _findings(sid: str, findings: Sequence[Json]) -> str:
    out = [_el("h3", "Findings")] if findings else []
    for f in findings:
        fid, sev = str(f.get("id", "")), str(f.get("severity", "info"))
        sev = sev if sev in ("info", "warn", "error") else "info"
        examples, target = f.get("examples") or [], _anchor("examples", sid, fid)
        link = (
            _el("a", f"{len(examples)} example rows ↓", href=f"#{target}")
            if examples
            else "no examples"
        )
        count = _stat(f"finding.{sid}.{fid}.count", f.get("count"))
        title = _el(
            "h4", _el("span", sev, cls="badge") + f"{_data(f.get('title', fid))}: {count} rows"
        )
        body = title + _el("p", _data(f.get("detail", ""))) + link
        out.append(
            _el(
                "article",
                body,
                cls=f"finding {sev}",
                id=_anchor("finding", sid, fid),
                data_finding=fid,
                data_severity=sev,
            )
        )
        if examples:
            out.append(_examples(sid, fid, target, examples))
    return "".join(out)


def _examples(sid: str, fid: str, target: str, examples: Sequence[Json]) -> str:
    rows = [_el("tr", _el("th", "id") + _el("th", "text") + _el("th", "label"))]
    for e in examples:
        text, eid = str(e.get("text", "")), str(e.get("id", ""))
        shown = (
            _data(text) if text.strip() else _el("span", f"(empty: {len(text)} chars)", cls="note")
        )
        if len(text) > MAX_TEXT_CHARS:
            shown += _el("span", f" ({len(text):,} chars)", cls="note")
        cells = (
            _el("td", _data(eid))
            + _el("td", shown, cls="text")
            + _el("td", _shown(e.get("label")), cls="n")
        )
        rows.append(_el("tr", cells, id=_anchor("example", sid, fid, eid), data_example=eid))
    back = _el("a", "↑ finding", href=f"#{_anchor('finding', sid, fid)}")
    caption = _el("caption", f"examples: {_data(fid)} {back}")
    return _el("table", caption + "".join(rows), cls="examples", id=target, data_examples=fid)


def _drift_panel(drift: Sequence[Json]) -> str:
    rows = [
        _el("tr", "".join(_el("th", h) for h in ("statistic", "PSI", "JS", "threshold", "verdict")))
    ]
    for d in drift:
        name, verdict = str(d.get("statistic", "")), str(d.get("verdict", ""))
        cells = _el("td", _data(name))
        cells += "".join(
            _el("td", _stat(f"drift.{name}.{k}", d.get(k)), cls="n")
            for k in ("psi", "js", "threshold")
        )
        badge = _el(
            "span", _text(verdict), cls=f"badge {'drift' if verdict == 'drift' else 'stable'}"
        )
        rows.append(_el("tr", cells + _el("td", badge), data_verdict=verdict))
    chart = _figure(
        "PSI per statistic (dashed: its threshold)", _drift_svg(drift), "drift-chart", "drift"
    )
    return (
        _el("h3", "Drift")
        + _el("div", chart, cls="figures")
        + _el("table", "".join(rows), cls="drift")
    )


def _flagged_panel(flagged: Json) -> str:
    by_reason = dict(flagged.get("by_reason") or {})
    rows_out = _stat("flagged.rows", flagged.get("rows", 0))
    head = _el("p", f"{rows_out} rows written to {_data(flagged.get('path', ''))}")
    if not by_reason:
        return head
    rows = "".join(
        _el("tr", _el("td", _data(r)) + _el("td", _stat(f"flagged.by_reason.{r}", n), cls="n"))
        for r, n in by_reason.items()
    )
    bars = [_Bar(str(r), ((float(n), "main", f"{r}: {n:,}"),)) for r, n in by_reason.items()]
    chart = _figure(
        "flagged rows by reason", _hbars("flagged.by_reason", bars, "rows"), "flagged-chart", "bar"
    )
    return head + _el("div", chart, cls="figures") + _el("table", rows, cls="stats")


# --- SVG --------------------------------------------------------------------------------

WIDTH = 620
MAX_LABEL_CHARS = 22


@dataclass(frozen=True)
class _Bar:
    """One category of a horizontal bar chart: (value, css class, tooltip) per bar, and an
    optional marker drawn as a dashed tick (the drift threshold)."""

    label: str
    values: tuple[tuple[float, str, str], ...]
    marker: float | None = None


def _svg(figure_id: object, height: float, parts: Iterable[str], label: object) -> str:
    return _el(
        "svg",
        "".join(parts),
        xmlns="http://www.w3.org/2000/svg",
        data_figure=figure_id,
        role="img",
        aria_label=label,
        width=WIDTH,
        height=f"{height:.0f}",
        viewBox=f"0 0 {WIDTH} {height:.0f}",
        font_size=12,
    )


def _rect(x: float, y: float, w: float, h: float, cls: str, tip: str, **data: object) -> str:
    box = {
        "x": f"{x:.2f}",
        "y": f"{y:.2f}",
        "width": f"{max(w, 0):.2f}",
        "height": f"{max(h, 0):.2f}",
    }
    return _el("rect", _el("title", _text(tip)), cls=cls, **box, **data)


def _label(x: float, y: float, text: str, anchor: str = "start", **attrs: object) -> str:
    return _el("text", text, x=f"{x:.1f}", y=f"{y:.1f}", text_anchor=anchor, **attrs)


def _histogram_svg(fig: Json) -> str:
    """Bins as columns; with compare counts, both tables' shares side by side in each bin."""
    edges, counts = list(fig.get("edges") or []), list(fig.get("counts") or [])
    compare = fig.get("compare_counts")
    series = [(counts, "main")] + ([(list(compare), "compare")] if compare is not None else [])
    shares = compare is not None
    scaled = [[c / (sum(cs) or 1) if shares else float(c) for c in cs] for cs, _ in series]
    top = max((v for vs in scaled for v in vs), default=0) or 1
    left, up, plot_w, plot_h = 60, 12, WIDTH - 74, 192
    bin_w, slot = plot_w / max(len(counts), 1), 0.9 / len(series)
    parts = _y_axis(left, up, plot_w, plot_h, top, percent=shares)
    for k, ((raw, cls), values) in enumerate(zip(series, scaled, strict=True)):
        for i, (c, v) in enumerate(zip(raw, values, strict=False)):
            lo, hi = (edges[i], edges[i + 1]) if i + 1 < len(edges) else (i, i + 1)
            tip = f"[{_short(lo)}, {_short(hi)}): {c:,} rows" + (f" ({v:.1%})" if shares else "")
            x, h = left + bin_w * (i + 0.05 + k * slot), v / top * plot_h
            parts.append(
                _rect(x, up + plot_h - h, bin_w * slot, h, cls, tip, data_bin=i, data_count=c)
            )
    step = max(1, math.ceil(len(edges) / 8))
    for i in range(0, len(edges), step):
        parts.append(_label(left + i * bin_w, up + plot_h + 16, _short(edges[i]), "middle"))
    parts.append(
        _label(left + plot_w / 2, up + plot_h + 38, _text(fig.get("x_label", "")), "middle")
    )
    return _svg(fig.get("id", ""), up + plot_h + 46, parts, fig.get("title", ""))


def _y_axis(
    left: int, up: int, plot_w: float, plot_h: float, top: float, *, percent: bool
) -> list[str]:
    parts = []
    for frac in (0, 0.5, 1):
        y = up + plot_h * (1 - frac)
        parts.append(
            _el("line", cls="grid", x1=left, x2=left + plot_w, y1=f"{y:.1f}", y2=f"{y:.1f}")
        )
        parts.append(
            _label(left - 6, y + 4, f"{top * frac:.0%}" if percent else _short(top * frac), "end")
        )
    parts.append(_el("line", cls="axis", x1=left, x2=left, y1=up, y2=up + plot_h))
    turn = f"translate(14 {up + plot_h / 2:.0f}) rotate(-90)"
    parts.append(
        _el("text", "share of rows" if percent else "rows", transform=turn, text_anchor="middle")
    )
    return parts


def _bar_svg(fig: Json) -> str:
    values, compare = list(fig.get("values") or []), fig.get("compare_values")
    bars = []
    for i, cat in enumerate(fig.get("categories") or []):
        v = float(values[i]) if i < len(values) else 0.0
        pairs = [(v, "main", f"{cat}: {_short(v)}")]
        if compare is not None and i < len(compare):
            pairs.append((float(compare[i]), "compare", f"{cat} (compare): {_short(compare[i])}"))
        bars.append(_Bar(str(cat), tuple(pairs)))
    return _hbars(fig.get("id", ""), bars, str(fig.get("x_label", "")), fig.get("title"))


def _drift_svg(drift: Sequence[Json]) -> str:
    bars = []
    for d in drift:
        psi, cls = float(d.get("psi", 0)), "drift" if d.get("verdict") == "drift" else "stable"
        tip = f"{d.get('statistic')}: PSI {psi:.4g}, threshold {d.get('threshold')}"
        bars.append(
            _Bar(str(d.get("statistic", "")), ((psi, cls, tip),), float(d.get("threshold", 0)))
        )
    return _hbars("drift", bars, "population stability index (PSI)")


def _hbars(figure_id: object, bars: Sequence[_Bar], x_label: str, title: object = None) -> str:
    """Horizontal bars, one row per category (labels cut, full text in the tooltip)."""
    left, up, plot_w, thick = 176, 8, WIDTH - 246, 13
    values = [v for b in bars for v, _, _ in b.values] + [b.marker or 0 for b in bars]
    top = max([*values, 0]) or 1
    parts, y = [], float(up)
    for bar in bars:
        name = _el("title", _text(bar.label)) + _text(bar.label, MAX_LABEL_CHARS)
        parts.append(_label(left - 6, y + thick * len(bar.values) / 2 + 4, name, "end"))
        for k, (v, cls, tip) in enumerate(bar.values):
            w, top_y = max(v, 0) / top * plot_w, y + k * thick
            parts.append(_rect(left, top_y, w, thick - 2, cls, tip, data_value=_machine(v)))
            parts.append(_label(left + w + 4, top_y + thick - 3, _short(v), font_size=11))
        if bar.marker is not None:
            x = f"{left + bar.marker / top * plot_w:.1f}"
            parts.append(
                _el(
                    "line",
                    cls="threshold",
                    x1=x,
                    x2=x,
                    y1=f"{y - 2:.1f}",
                    y2=f"{y + thick * len(bar.values):.1f}",
                )
            )
        y += thick * len(bar.values) + 8
    parts.append(_el("line", cls="axis", x1=left, x2=left, y1=up, y2=f"{y:.1f}"))
    parts.append(_label(left + plot_w / 2, y + 18, _text(x_label), "middle"))
    return _svg(figure_id, y + 28, parts, title or x_label)


def _short(value: object) -> str:
    """A compact axis or bar label: 1.2k, 35, 0.25."""
    if not _number(value):
        return _text(value)
    v = float(value)  # type: ignore[arg-type]
    if not math.isfinite(v):
        return str(v)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"

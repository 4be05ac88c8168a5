"""Turn the computed aggregates into report sections (`_schema.Section`): pure Python over small
dicts, no Spark."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from spark_udfs._analyze._drift import PSI_DRIFT, PSI_MODERATE
from spark_udfs._analyze._labels import LENGTH_BUCKETS
from spark_udfs._analyze._morph import MORPH_EDGES, UNKNOWN_TAGS
from spark_udfs._analyze._rows import CHAR_EDGES, EOJEOL_EDGES, HANGUL_EDGES, SCRIPTS

__all__ = [
    "histogram",
    "section_drift",
    "section_groups",
    "section_labels",
    "section_morphemes",
    "section_table",
    "section_text",
    "stat",
]

QUANT = "exact: the smallest value whose cumulative count reaches q x rows"


def stat(
    sid: str,
    label: str,
    value: Any,
    cmp: Any = None,
    *,
    exact: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    if isinstance(value, float):
        value = round(value, 6)
    if isinstance(cmp, float):
        cmp = round(cmp, 6)
    return {
        "id": sid,
        "label": label,
        "value": value,
        "exact": exact,
        "note": note,
        "compare_value": cmp,
    }


def histogram(
    fid: str,
    title: str,
    x_label: str,
    edges: Sequence[float],
    counts: list[int],
    cmp: list[int] | None,
    top: float | None,
) -> dict[str, Any]:
    """Trailing empty bins (in both tables) are cut; the last edge becomes the observed max."""
    last = max(
        [i for i, c in enumerate(counts) if c] + [i for i, c in enumerate(cmp or []) if c] + [0]
    )
    edges = [float(e) for e in edges[: last + 2]]
    if top is not None and top >= edges[-2]:
        edges[-1] = float(max(top, edges[-2])) if last == len(counts) - 1 else edges[-1]
    return {
        "id": fid,
        "kind": "histogram",
        "title": title,
        "x_label": x_label,
        "edges": edges,
        "counts": counts[: last + 1],
        "compare_counts": None if cmp is None else cmp[: last + 1],
    }


def _get(c: dict[str, Any] | None, key: str, i: int | None = None) -> Any:
    if c is None:
        return None
    v = c.get(key)
    return v[i] if (i is not None and v is not None) else v


def finding(
    fid: str,
    severity: str,
    title: str,
    detail: str,
    count: int,
    examples: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    return {
        "id": fid,
        "severity": severity,
        "title": title,
        "detail": detail,
        "count": count,
        "examples": examples.get(fid, []),
    }


def section_table(a: dict[str, Any], c: dict[str, Any] | None, ex: dict) -> dict[str, Any]:
    s = [
        stat("rows", "Rows", a["rows"], _get(c, "rows")),
        stat("null_texts", "Null texts", a["null_texts"], _get(c, "null_texts")),
        stat(
            "empty_texts",
            "Empty texts (nothing but whitespace)",
            a["empty_texts"],
            _get(c, "empty_texts"),
        ),
        stat("distinct_texts", "Distinct texts", a["distinct_texts"], _get(c, "distinct_texts")),
        stat(
            "exact_duplicates",
            "Exact duplicates (beyond the first)",
            a["exact_duplicates"],
            _get(c, "exact_duplicates"),
        ),
        stat(
            "normalized_duplicates",
            "Normalized duplicates (beyond the first)",
            a["normalized_duplicates"],
            _get(c, "normalized_duplicates"),
            note="lower case, without whitespace, punctuation or symbols (_filters.normalized)",
        ),
        stat(
            "conflicting_label_texts",
            "Distinct texts with conflicting labels",
            a["conflicting_label_texts"],
            _get(c, "conflicting_label_texts"),
        ),
        stat(
            "conflicting_rows",
            "Rows of texts with conflicting labels",
            a["conflicting_rows"],
            _get(c, "conflicting_rows"),
        ),
        stat("chars_mean", "Characters per text (mean)", a["chars_mean"], _get(c, "chars_mean")),
    ]
    for i, q in enumerate(("p50", "p90", "p99")):
        s.append(
            stat(
                f"chars_{q}",
                f"Characters per text ({q})",
                _get(a, "chars_q", i),
                _get(c, "chars_q", i),
                note=QUANT,
            )
        )
    s.append(stat("chars_max", "Characters per text (max)", a["chars_max"], _get(c, "chars_max")))
    s.append(
        stat("eojeol_mean", "Eojeol per text (mean)", a["eojeol_mean"], _get(c, "eojeol_mean"))
    )
    for i, q in enumerate(("p50", "p90", "p99")):
        s.append(
            stat(
                f"eojeol_{q}",
                f"Eojeol per text ({q})",
                _get(a, "eojeol_q", i),
                _get(c, "eojeol_q", i),
                note=QUANT,
            )
        )
    top_c = max(a["chars_max"] or 0, _get(c, "chars_max") or 0)
    top_e = max(a["eojeol_max"] or 0, _get(c, "eojeol_max") or 0)
    figs = [
        histogram(
            "chars_hist",
            "Characters per text",
            "characters",
            CHAR_EDGES,
            a["chars_counts"],
            _get(c, "chars_counts"),
            top_c,
        ),
        histogram(
            "eojeol_hist",
            "Eojeol (whitespace-separated words) per text",
            "eojeol",
            EOJEOL_EDGES,
            a["eojeol_counts"],
            _get(c, "eojeol_counts"),
            top_e,
        ),
    ]
    f = []
    for key, sev, title, detail in [
        ("null_texts", "error", "Null texts", "rows whose text is null; flagged"),
        ("empty_texts", "warn", "Empty texts", "rows with nothing but whitespace; flagged"),
        (
            "exact_duplicates",
            "warn",
            "Exact duplicates",
            "rows repeating the text of a row with a smaller id; the first is kept, the rest "
            "flagged",
        ),
        (
            "normalized_duplicates",
            "info",
            "Normalized duplicates",
            "rows equal to an earlier one after lower-casing and removing spaces, punctuation and "
            "symbols (exact duplicates included); not flagged",
        ),
        (
            "conflicting_rows",
            "error",
            "Identical texts with conflicting labels",
            f"{a['conflicting_label_texts']} distinct texts carry more than one label; every such "
            "row is flagged",
        ),
    ]:
        if a[key]:
            f.append(finding(key, sev, title, f"{a[key]} {detail}", a[key], ex))
    return {"id": "table", "title": "Table", "stats": s, "figures": figs, "findings": f}


def _share(n: Any, d: Any) -> float | None:
    return None if not d else round(float(n) / float(d), 6)


def section_text(a: dict[str, Any], c: dict[str, Any] | None, ex: dict) -> dict[str, Any]:
    rows, crows = a["rows"], _get(c, "rows")
    cs = (lambda k: None) if c is None else (lambda k: c[k])
    s = [
        stat(
            "hangul_share",
            "Hangul syllables (share of visible characters)",
            _share(a["hangul_chars"], a["visible_chars"]) or 0.0,
            None if c is None else _share(c["hangul_chars"], c["visible_chars"]),
        ),
    ]
    for sc in SCRIPTS:
        s.append(
            stat(
                f"rows_{sc}",
                f"Rows containing {sc} (share)",
                _share(a[f"rows_{sc}"], rows) or 0.0,
                None if c is None else _share(c[f"rows_{sc}"], crows),
            )
        )
    for key, label in [
        ("jamo_only", "Jamo-only texts (ㅋㅋㅋ, ㅠㅠ)"),
        ("latin_only", "Latin-only texts"),
        ("punct_only", "Punctuation/symbol-only texts"),
        ("repeated_char", "Texts of one repeated character (3+)"),
        ("mixed_script_rows", "Rows mixing Hangul and Latin"),
        ("rows_control", "Rows with control/format characters"),
    ]:
        s.append(stat(key, label, a[key], cs(key)))
    figs = [
        {
            "id": "script_rows",
            "kind": "bar",
            "title": "Rows containing each script (share)",
            "x_label": "script",
            "categories": SCRIPTS,
            "values": [_share(a[f"rows_{sc}"], rows) or 0.0 for sc in SCRIPTS],
            "compare_values": None
            if c is None
            else [_share(c[f"rows_{sc}"], crows) or 0.0 for sc in SCRIPTS],
        },
        histogram(
            "hangul_share_hist",
            "Hangul share per text",
            "share of visible characters",
            HANGUL_EDGES,
            a["hangul_counts"],
            _get(c, "hangul_counts"),
            None,
        ),
    ]
    f = []
    for key, sev, title, detail in [
        ("jamo_only", "warn", "Jamo-only texts", "texts of only jamo (e.g. ㅋㅋㅋ); flagged"),
        (
            "punct_only",
            "warn",
            "Punctuation-only texts",
            "texts of only punctuation or symbols; flagged",
        ),
        (
            "repeated_char",
            "info",
            "Repeated-character texts",
            "texts of one character repeated (ignoring spaces); flagged",
        ),
        (
            "latin_only",
            "info",
            "Latin-only texts",
            "texts of only Latin letters and digits; not flagged",
        ),
        (
            "rows_control",
            "info",
            "Control/format characters",
            "texts containing control or "
            "format characters (NUL, zero-width, bidi marks); not flagged",
        ),
    ]:
        if a[key]:
            f.append(finding(key, sev, title, f"{a[key]} {detail}", a[key], ex))
    return {"id": "text", "title": "Text", "stats": s, "figures": figs, "findings": f}


def section_labels(lab: dict[str, Any], clab: dict[str, Any] | None) -> dict[str, Any]:
    counts = lab["counts"]
    labelled = {k: v for k, v in counts.items() if k != "null"}
    total = sum(labelled.values())
    cats = sorted(set(counts) | set((clab or {}).get("counts", {})))
    s = [
        stat(
            "labelled_rows",
            "Rows with a label",
            total,
            None if clab is None else sum(v for k, v in clab["counts"].items() if k != "null"),
        ),
        stat(
            "null_labels",
            "Rows without a label",
            counts.get("null", 0),
            None if clab is None else clab["counts"].get("null", 0),
        ),
        stat("label_classes", "Label classes", len(labelled)),
        stat(
            "majority_share",
            "Majority label share (of labelled rows)",
            _share(max(labelled.values(), default=0), total) or 0.0,
        ),
    ]
    names = [f"{lo}-{hi}" for lo, hi in itertools.pairwise(LENGTH_BUCKETS)]
    names.append(f"{LENGTH_BUCKETS[-1]}+")
    label_cols = sorted(labelled)
    rows = []
    for b, name in enumerate(names):
        cell = lab["by_length"].get(b, {})
        n = sum(v for k, v in cell.items() if k != "null")
        rows.append([name, sum(cell.values()), *[_share(cell.get(k, 0), n) for k in label_cols]])
    figs = [
        {
            "id": "label_counts",
            "kind": "bar",
            "title": "Rows per label",
            "x_label": "label",
            "categories": cats,
            "values": [counts.get(k, 0) for k in cats],
            "compare_values": None if clab is None else [clab["counts"].get(k, 0) for k in cats],
        },
        {
            "id": "label_by_length",
            "kind": "table",
            "title": "Label share by length (characters)",
            "columns": ["chars", "rows", *label_cols],
            "rows": rows,
        },
    ]
    f = []
    if total and len(labelled) > 1 and (_share(max(labelled.values()), total) or 0) > 0.8:
        f.append(
            finding(
                "label_imbalance",
                "warn",
                "Label imbalance",
                "the majority label has more than 80% of the labelled rows",
                total,
                {},
            )
        )
    if total == 0:
        f.append(finding("no_labels", "info", "No labels", "no row has a label", 0, {}))
    return {"id": "labels", "title": "Labels", "stats": s, "figures": figs, "findings": f}


def section_groups(g: dict[str, Any], col: str, rows: int, target: int, min_rows: int) -> dict:
    top = g["top"]
    top1 = _share(top[0]["rows"], rows) if top else 0.0
    top10 = _share(sum(t["rows"] for t in top), rows) if top else 0.0
    s = [
        stat("groups", "Distinct groups", g["groups"]),
        stat("top1_share", "Largest group's share of rows", top1),
        stat("top10_share", f"Top {len(top)} groups' share of rows", top10),
        stat(
            "extreme_groups",
            f"Groups ({min_rows}+ labelled rows) with label={target} share <= 0.1 or >= 0.9",
            g["extreme_groups"],
        ),
    ]
    table = [
        [
            t["group"],
            t["rows"],
            _share(t["rows"], rows),
            None if t["share"] is None else round(t["share"], 4),
        ]
        for t in top
    ]
    figs = [
        {
            "id": "top_groups",
            "kind": "table",
            "title": "Largest groups",
            "columns": ["group", "rows", "share of rows", f"label={target} share"],
            "rows": table,
        },
        histogram(
            "group_label_share_hist",
            f"label={target} share per group ({min_rows}+ rows)",
            f"label={target} share",
            HANGUL_EDGES,
            g["share_counts"],
            None,
            None,
        ),
    ]
    f = []
    if top1 and top1 >= 0.2:
        f.append(
            finding(
                "dominant_group",
                "warn",
                "A group dominates",
                f"group {top[0]['group']} has {top1:.0%} of the rows",
                top[0]["rows"],
                {},
            )
        )
    if g["extreme_groups"]:
        names = ", ".join(str(e["group"]) for e in g["extreme"])
        f.append(
            finding(
                "extreme_groups",
                "info",
                "Groups with an extreme label share",
                f"{g['extreme_groups']} groups with {min_rows}+ labelled rows have a "
                f"label={target} share <= 0.1 or >= 0.9 (largest: {names})",
                g["extreme_groups"],
                {},
            )
        )
    return {"id": "groups", "title": f"Groups ({col})", "stats": s, "figures": figs, "findings": f}


def section_morphemes(m: dict[str, Any], cm: dict[str, Any] | None, size: int) -> dict:
    note = f"on a random sample of {m['docs']} docs"
    s = [
        stat(
            "sample_size",
            "Sample size (docs sent to the API)",
            m["docs"],
            None if cm is None else cm["docs"],
            exact=False,
            note=f"--sample {size}",
        ),
        stat("sample_errors", "Sample docs the API failed", m["errors"]),
        stat(
            "morphemes_per_doc",
            "Morphemes per doc (mean)",
            m["mean"] or 0.0,
            None if cm is None else cm["mean"],
            exact=False,
            note=note,
        ),
        stat(
            "vocabulary",
            "Distinct morphemes (form/TAG)",
            m["vocab"],
            None if cm is None else cm["vocab"],
            exact=False,
            note=note,
        ),
        stat(
            "unknown_share",
            f"Unknown-word share (tags {', '.join(UNKNOWN_TAGS)})",
            _share(m["unknown"], m["tokens"]) or 0.0,
            None if cm is None else _share(cm["unknown"], cm["tokens"]),
            exact=False,
            note="mecab-ko-dic tags an unknown Hangul word UNKNOWN (komoran/kiwi: NA)",
        ),
        stat(
            "foreign_share",
            "Foreign-token share (SL Latin, SH Hanja)",
            _share(m["foreign"], m["tokens"]) or 0.0,
            None if cm is None else _share(cm["foreign"], cm["tokens"]),
            exact=False,
            note=note,
        ),
    ]
    figs: list[dict[str, Any]] = [
        histogram(
            "morphemes_hist",
            "Morphemes per doc",
            "morphemes",
            MORPH_EDGES,
            m["hist"],
            None if cm is None else cm["hist"],
            None,
        ),
        {
            "id": "vocab_growth",
            "kind": "table",
            "title": "Vocabulary growth (distinct morphemes vs docs seen)",
            "columns": ["docs", "distinct morphemes"],
            "rows": [g for g in m["growth"] if g[0] <= max(m["docs"], 1)],
        },
        {
            "id": "top_terms",
            "kind": "table",
            "title": "Top terms",
            "columns": ["term", "count", "docs"],
            "rows": m["top"],
        },
    ]
    for lab, rows in m["by_label"].items():
        figs.append(
            {
                "id": f"top_terms_label_{lab}",
                "kind": "table",
                "title": f"Terms most "
                f"typical of label {lab} (log-odds, informative Dirichlet prior)",
                "columns": ["term", "z", "count"],
                "rows": rows,
            }
        )
    f = []
    if m["errors"]:
        f.append(
            finding(
                "api_errors",
                "warn",
                "Docs the API failed",
                f"{m['errors']} sample docs got an error from the API",
                m["errors"],
                {},
            )
        )
    return {
        "id": "morphemes",
        "title": "Morphemes (API sample)",
        "stats": s,
        "figures": figs,
        "findings": f,
    }


def section_drift(rows: list[dict[str, Any]], path: str, shift: list[list[Any]]) -> dict:
    s = [
        stat(
            "psi_threshold",
            "PSI at or above which a statistic drifted",
            PSI_DRIFT,
            note=f"PSI < {PSI_MODERATE} stable, {PSI_MODERATE}-{PSI_DRIFT} moderate, >= "
            f"{PSI_DRIFT} drift; Jensen-Shannon divergence in bits",
        ),
        stat("drifted", "Statistics that drifted", sum(r["verdict"] == "drift" for r in rows)),
    ]
    figs: list[dict[str, Any]] = [
        {
            "id": "drift_table",
            "kind": "table",
            "title": "PSI and Jensen-Shannon per statistic",
            "columns": ["statistic", "psi", "js", "threshold", "verdict", "level"],
            "rows": [
                [r["statistic"], r["psi"], r["js"], r["threshold"], r["verdict"], r["level"]]
                for r in rows
            ],
        },
    ]
    if shift:
        figs.append(
            {
                "id": "top_term_shift",
                "kind": "table",
                "title": "Top-term shift (samples)",
                "columns": ["term", "share", "compare share", "log ratio"],
                "rows": shift,
            }
        )
    f = [
        finding(
            f"drift_{r['statistic']}",
            "warn",
            f"Drift: {r['statistic']}",
            f"PSI {r['psi']:.3f} >= {r['threshold']}",
            1,
            {},
        )
        for r in rows
        if r["verdict"] == "drift"
    ]
    return {
        "id": "drift",
        "title": f"Drift against {path}",
        "stats": s,
        "figures": figs,
        "findings": f,
    }

"""The example report follows the schema the renderer reads (`_schema.Report`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_type_hints

from spark_udfs._analyze import _schema

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "analyze_report_example.json"


def test_example_has_every_schema_key() -> None:
    report = json.loads(EXAMPLE.read_text("utf-8"))
    assert set(get_type_hints(_schema.Report)) <= set(report)
    assert set(get_type_hints(_schema.Summary)) <= set(report["summary"])
    for section in report["sections"]:
        assert set(get_type_hints(_schema.Section)) <= set(section)
        for stat in section["stats"]:
            assert set(get_type_hints(_schema.Stat)) <= set(stat)
        for fig in section["figures"]:
            kind = {
                "histogram": _schema.HistogramFigure,
                "bar": _schema.BarFigure,
                "table": _schema.TableFigure,
            }[fig["kind"]]
            assert set(get_type_hints(kind)) <= set(fig)
            if fig["kind"] == "histogram":
                assert len(fig["edges"]) == len(fig["counts"]) + 1

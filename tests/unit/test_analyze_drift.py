"""PSI / Jensen-Shannon on binned distributions, and the verdict thresholds."""

from __future__ import annotations

import math

import pytest

from spark_udfs._analyze._drift import PSI_DRIFT, drift_row, js, psi


def test_identical_distributions_are_stable() -> None:
    row = drift_row("chars", [10, 20, 30], [1, 2, 3])
    assert row["psi"] == 0 and row["js"] == 0
    assert row["verdict"] == "stable" and row["threshold"] == PSI_DRIFT


def test_psi_matches_the_formula() -> None:
    p, q = [0.25, 0.75], [0.5, 0.5]
    want = sum((b - a) * math.log(b / a) for a, b in zip(p, q, strict=True))
    assert psi([25, 75], [50, 50]) == pytest.approx(want)


def test_disjoint_distributions_drift_and_js_is_one_bit() -> None:
    row = drift_row("label", [100, 0], [0, 100])
    assert row["verdict"] == "drift" and row["level"] == "drift"
    assert js([100, 0], [0, 100]) == pytest.approx(1.0)


def test_moderate_shift_is_stable_with_level_moderate() -> None:
    row = drift_row("x", [50, 50], [70, 30])
    assert 0.1 <= row["psi"] < 0.25
    assert (row["verdict"], row["level"]) == ("stable", "moderate")

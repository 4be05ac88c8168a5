"""The interval the benchmarks put around their median ratios."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _stats import median_ci, medians, verdict


def test_median_interval_is_the_binomial_order_statistics() -> None:
    assert median_ci([float(i) for i in range(1, 21)]) == (6.0, 15.0)  # P(X <= 5) = 0.0207
    assert median_ci([float(i) for i in range(1, 11)]) == (2.0, 9.0)  # P(X <= 1) = 0.0107
    assert median_ci([1.0, 2.0, 3.0]) == (1.0, 3.0)  # too few rounds: the whole range


def test_median_interval_covers_the_true_median_at_least_95_percent_of_the_time() -> None:
    rng = random.Random(7)
    trials, covered = 4000, 0
    for _ in range(trials):
        # skewed per-round ratios like the benchmark's (a slow round drags one side down)
        sample = sorted(0.9 * rng.lognormvariate(0, 0.2) for _ in range(20))
        low, high = median_ci(sample)
        covered += low <= 0.9 <= high
    assert covered / trials >= 0.945


def test_verdict_is_unsure_while_the_interval_straddles_the_goal() -> None:
    assert "UNSURE" in verdict(0.89, 0.9, (0.85, 0.95))
    assert "FAIL" in verdict(0.80, 0.9, (0.75, 0.86))
    assert "PASS" in verdict(0.95, 0.9, (0.91, 0.99))
    assert "PASS" in verdict(0.95, 0.9)


def test_medians_are_of_the_per_round_ratios_not_of_the_rates() -> None:
    # a slow round slows both sides: its ratio is still 2, though its rates are far off
    out = medians({"base": [10.0, 1.0, 10.0], "side": [20.0, 2.0, 20.0]}, "base")
    assert out["rates"] == {"base": 10.0, "side": 20.0}
    assert out["side"]["ratio"] == 2.0
    assert out["side"]["spread"] == (2.0, 2.0)
    assert "base" not in out

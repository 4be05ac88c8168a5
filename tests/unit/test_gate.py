"""The gate's numbers against independent computations, its thresholds and its verdicts."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from training import compare, decide, production_lineage, thresholds
from training._gate import FLOORS, length_buckets, noise, paired_accuracy_ci


def naive_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b by counting every pair."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    n0 = concordant + discordant
    return (concordant - discordant) / np.sqrt((n0 + ties_x) * (n0 + ties_y))


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 300
    y = rng.integers(0, 2, n)
    p_a = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, n), 0.001, 0.999)
    p_b = np.clip(p_a + rng.normal(0, 0.08, n), 0.001, 0.999)
    p_b[:10] = np.round(p_b[:10], 1)  # some ties
    lengths = rng.integers(1, 60, n)
    return p_a, p_b, y, lengths


def test_rank_flip_and_dp_numbers_equal_independent_ones(scores) -> None:
    p_a, p_b, y, lengths = scores
    got = compare(p_a, p_b, y, lengths)
    label_a, label_b = p_a >= 0.5, p_b >= 0.5
    assert got["kendall_tau"] == pytest.approx(naive_tau_b(p_a, p_b), abs=1e-12)
    assert got["flips_0_1"] == sum(1 for a, b in zip(label_a, label_b, strict=True) if not a and b)
    assert got["flips_1_0"] == sum(1 for a, b in zip(label_a, label_b, strict=True) if a and not b)
    assert got["hamming"] == got["flips_0_1"] + got["flips_1_0"] > 0
    assert got["flip_0_1"] == got["flips_0_1"] / len(y)
    dp = sorted(abs(b - a) for a, b in zip(p_a, p_b, strict=True))
    assert got["mean_abs_dp"] == pytest.approx(sum(dp) / len(dp))
    rank = 0.99 * (len(dp) - 1)  # numpy's linear interpolation
    lo = int(rank)
    assert got["p99_abs_dp"] == pytest.approx(dp[lo] + (dp[lo + 1] - dp[lo]) * (rank - lo))
    assert got["accuracy_a"] == pytest.approx(np.mean(label_a == y))
    assert got["accuracy_diff"] == pytest.approx(np.mean(label_b == y) - np.mean(label_a == y))


def test_slices_by_length_cover_every_row(scores) -> None:
    p_a, p_b, y, lengths = scores
    got = compare(p_a, p_b, y, lengths)
    assert sum(s["rows"] for s in got["slices"]) == len(y)
    names, bucket, edges = length_buckets(lengths)
    for k, s in enumerate(got["slices"]):
        rows = bucket == k
        assert s["slice"] == names[k]
        assert s["flip_rate"] == pytest.approx(np.mean((p_a[rows] >= 0.5) != (p_b[rows] >= 0.5)))
    assert all(lengths[bucket == 0] <= edges[0]) and all(lengths[bucket == 2] > edges[1])


def test_the_models_own_labels_win_over_the_threshold() -> None:
    p = np.array([0.5, 0.5, 0.2])
    got = compare(p, p, np.array([1, 0, 0]), np.ones(3), labels=(np.array([1, 1, 0]), [0, 1, 0]))
    assert got["flips_1_0"] == 1 and got["flips_0_1"] == 0
    assert got["kendall_tau"] == pytest.approx(1.0)


def test_paired_bootstrap_interval_is_seeded_and_covers_the_difference() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(2000) < 0.80
    b = a.copy()
    b[rng.choice(2000, 120, replace=False)] ^= True
    diff = b.mean() - a.mean()
    low, high = paired_accuracy_ci(a, b, seed=3)
    assert (low, high) == paired_accuracy_ci(a, b, seed=3)
    assert low < diff < high
    # the normal approximation of the paired difference has about the same width
    d = b.astype(float) - a.astype(float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    assert high - low == pytest.approx(2 * half, rel=0.1)
    same = paired_accuracy_ci(a, a)
    assert same == (0.0, 0.0)


def test_thresholds_are_the_worst_noise_times_the_margin_with_floors() -> None:
    quiet = dict.fromkeys(FLOORS, 0.0)
    loud = {**quiet, "tau_drop": 0.08, "flip_0_1": 0.04}
    got = thresholds([quiet, loud], 1.5)
    assert got["tau_drop"] == pytest.approx(0.12)
    assert got["flip_0_1"] == pytest.approx(0.06)
    assert got["flip_1_0"] == FLOORS["flip_1_0"]
    assert thresholds([], 2.0) == FLOORS


def comparison(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kendall_tau": 0.99,
        "flip_0_1": 0.0,
        "flip_1_0": 0.0,
        "mean_abs_dp": 0.0,
        "p99_abs_dp": 0.0,
        "accuracy_diff": 0.0,
        "accuracy_diff_ci": [-0.01, 0.01],
        "slices": [],
    }
    return {**base, **fields}


LIMITS = {**FLOORS, "tau_drop": 0.05, "flip_0_1": 0.03, "flip_1_0": 0.03, "accuracy_drop": 0.01}


def test_a_model_within_noise_passes() -> None:
    verdict = decide(comparison(kendall_tau=0.97, flip_0_1=0.02), LIMITS)
    assert verdict.passed and verdict.reasons == []


def test_worse_beyond_noise_and_significantly_fails() -> None:
    verdict = decide(comparison(accuracy_diff=-0.05, accuracy_diff_ci=[-0.08, -0.02]), LIMITS)
    assert not verdict.passed and "accuracy falls by 0.0500" in verdict.reasons[0]
    # beyond noise but not significant: passes
    assert decide(comparison(accuracy_diff=-0.05, accuracy_diff_ci=[-0.1, 0.001]), LIMITS).passed


def test_divergence_fails_unless_significantly_better() -> None:
    diverging = comparison(kendall_tau=0.5, flip_1_0=0.2)
    verdict = decide(diverging, LIMITS)
    assert not verdict.passed and len(verdict.reasons) == 2
    better = decide({**diverging, "accuracy_diff": 0.05, "accuracy_diff_ci": [0.02, 0.08]}, LIMITS)
    assert better.passed and len(better.notes) == 2


def test_a_slice_that_gets_worse_fails() -> None:
    bad = {
        "slice": "length<=3",
        "rows": 100,
        "accuracy_diff": -0.2,
        "accuracy_diff_ci": [-0.3, -0.1],
    }
    verdict = decide(comparison(slices=[bad]), LIMITS)
    assert not verdict.passed and verdict.reasons[0].startswith("slice length<=3")


def test_noise_of_identical_models_is_zero(scores) -> None:
    p_a, _, y, lengths = scores
    assert set(noise(compare(p_a, p_a, y, lengths)).values()) == {0.0}


@pytest.mark.parametrize(
    ("sequence", "lineage"),
    [
        ([1, 2, 3], [1, 2, 3]),
        ([1, 2, 1], [1]),  # a rollback pops
        ([1, 2, 3, 2, 1], [1]),
        ([1, 2, 1, 3], [1, 3]),
        ([1, 1], [1]),
    ],
)
def test_production_lineage(sequence: list[int], lineage: list[int]) -> None:
    history = [{"alias": "production", "version": v} for v in sequence]
    history.insert(1, {"alias": "candidate", "version": 9})
    assert production_lineage(history) == lineage

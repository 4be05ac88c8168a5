"""The gate: may a candidate replace production? Both models score the same evaluation rows.

What is compared (`compare`), production ``a`` against candidate ``b`` on the same rows:

- rank agreement of the probabilities, Kendall's tau-b (`scipy.stats.kendalltau`);
- label flips each way (``0->1``, ``1->0``; their sum is the Hamming distance of the labels);
- mean and 99th percentile of ``|p_b - p_a|``;
- accuracy of each and their difference, with a *paired* bootstrap interval: resampling rows
  changes how many rows only ``b`` gets right (``n+``) and only ``a`` gets right (``n-``),
  and a bootstrap sample of ``n`` rows draws them multinomially with shares ``n+/n``,
  ``n-/n``, so ``B`` resamples cost ``O(B)`` at any ``n`` (seeded, reproducible);
- the same per slice: rows bucketed by length (non-zero features, the tercile edges of the
  evaluation table).

What counts as too different is measured, not guessed (`calibrate`): the production recipe
is retrained on the same data with other seeds (another stratified split, so other training
rows), and every pair of {production, retrains} is compared the same way. Two such models
are equally good by construction; each threshold is the worst pair's value times a margin
(`thresholds`), with a small floor so that identical retrains do not forbid every change.

The verdict (`decide`) fails a candidate whose accuracy falls beyond that noise *and*
significantly (the interval's upper end below 0), overall or in a slice; one that diverges
from production more than a retrain does (tau, flips, |dp|) fails too unless it is
significantly better, in which case the divergence is a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy.stats import kendalltau

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_SEEDS",
    "FLOORS",
    "Verdict",
    "compare",
    "decide",
    "length_buckets",
    "noise",
    "paired_accuracy_ci",
    "thresholds",
]

DEFAULT_MARGIN: Final = 1.5
DEFAULT_SEEDS: Final = (1, 2, 3)
BOOTSTRAP_SAMPLES: Final = 4000
CONFIDENCE: Final = 0.95
FLOORS: Final = {
    "tau_drop": 0.01,
    "flip_0_1": 0.005,
    "flip_1_0": 0.005,
    "mean_abs_dp": 0.002,
    "p99_abs_dp": 0.01,
    "accuracy_drop": 0.005,
    "slice_accuracy_drop": 0.01,
}
"""The least each threshold may be, whatever the noise measured (its unit is the metric's)."""
_NOISE_KEYS: Final = tuple(FLOORS)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: list[str]
    """Why it failed (empty when it passed)."""
    notes: list[str]
    """What was beyond noise but did not fail it (divergence of a significantly better model)."""


def length_buckets(lengths: np.ndarray) -> tuple[list[str], np.ndarray, list[float]]:
    """Bucket rows by length at the terciles: ``(names, bucket of each row, edges)``."""
    lengths = np.asarray(lengths)
    edges = [float(e) for e in np.quantile(lengths, [1 / 3, 2 / 3])] if lengths.size else [0.0, 0.0]
    bucket: np.ndarray = np.digitize(lengths, edges, right=True)
    names = [f"length<={edges[0]:g}", f"{edges[0]:g}<length<={edges[1]:g}", f"length>{edges[1]:g}"]
    return names, bucket, edges


def paired_accuracy_ci(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    seed: int = 0,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile interval of ``accuracy(b) - accuracy(a)`` by a paired bootstrap over rows."""
    n = len(correct_a)
    if n == 0:
        return (0.0, 0.0)
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n_plus, n_minus = int(np.sum(b & ~a)), int(np.sum(a & ~b))
    shares = [n_plus / n, n_minus / n, (n - n_plus - n_minus) / n]
    draws = np.random.default_rng(seed).multinomial(n, shares, size=samples)
    diffs = (draws[:, 0] - draws[:, 1]) / n
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


def compare(
    p_a: np.ndarray,
    p_b: np.ndarray,
    y: np.ndarray,
    lengths: np.ndarray,
    *,
    labels: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Production (``a``) against candidate (``b``) on the same rows; see the module doc.

    ``labels`` are the models' own labels (the graph's ``label`` output); without them a
    label is ``p >= 0.5``."""
    p_a, p_b = np.asarray(p_a, np.float64), np.asarray(p_b, np.float64)
    y = np.asarray(y)
    label_a, label_b = (
        (p_a >= 0.5, p_b >= 0.5) if labels is None else (np.asarray(v) == 1 for v in labels)
    )
    names, bucket, edges = length_buckets(lengths)
    overall = _accuracy(label_a, label_b, y, seed)
    slices = []
    for k, slice_name in enumerate(names):
        rows = bucket == k
        slices.append(
            {
                "slice": slice_name,
                "rows": int(rows.sum()),
                "flip_rate": float(np.mean(label_a[rows] != label_b[rows])) if rows.any() else 0.0,
                **_accuracy(label_a[rows], label_b[rows], y[rows], seed),
            }
        )
    dp = np.abs(p_b - p_a)
    tau = float(kendalltau(p_a, p_b).statistic) if len(y) > 1 else 1.0
    return {
        "rows": len(y),
        "kendall_tau": 1.0 if np.isnan(tau) else tau,
        "flips_0_1": int(np.sum(~label_a & label_b)),
        "flips_1_0": int(np.sum(label_a & ~label_b)),
        "hamming": int(np.sum(label_a != label_b)),
        "flip_0_1": float(np.mean(~label_a & label_b)) if len(y) else 0.0,
        "flip_1_0": float(np.mean(label_a & ~label_b)) if len(y) else 0.0,
        "mean_abs_dp": float(dp.mean()) if len(y) else 0.0,
        "p99_abs_dp": float(np.percentile(dp, 99)) if len(y) else 0.0,
        **overall,
        "slices": slices,
        "slice_edges": edges,
    }


def _accuracy(label_a: np.ndarray, label_b: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    correct_a, correct_b = label_a == (y == 1), label_b == (y == 1)
    acc_a = float(correct_a.mean()) if len(y) else 0.0
    acc_b = float(correct_b.mean()) if len(y) else 0.0
    low, high = paired_accuracy_ci(correct_a, correct_b, seed=seed)
    return {
        "accuracy_a": acc_a,
        "accuracy_b": acc_b,
        "accuracy_diff": acc_b - acc_a,
        "accuracy_diff_ci": [low, high],
    }


def noise(comparison: Mapping[str, Any]) -> dict[str, float]:
    """How far apart one comparison puts two models, in the units of the thresholds."""
    return {
        "tau_drop": 1.0 - float(comparison["kendall_tau"]),
        "flip_0_1": float(comparison["flip_0_1"]),
        "flip_1_0": float(comparison["flip_1_0"]),
        "mean_abs_dp": float(comparison["mean_abs_dp"]),
        "p99_abs_dp": float(comparison["p99_abs_dp"]),
        "accuracy_drop": abs(float(comparison["accuracy_diff"])),
        "slice_accuracy_drop": max(
            (abs(float(s["accuracy_diff"])) for s in comparison["slices"] if s["rows"]),
            default=0.0,
        ),
    }


def thresholds(noises: Sequence[Mapping[str, float]], margin: float) -> dict[str, float]:
    """Each threshold: the largest noise observed times ``margin``, at least its floor."""
    return {
        key: max(FLOORS[key], margin * max((float(n[key]) for n in noises), default=0.0))
        for key in _NOISE_KEYS
    }


def decide(comparison: Mapping[str, Any], limits: Mapping[str, float]) -> Verdict:
    """Pass or fail, with the reasons; see the module doc for the rule."""
    reasons: list[str] = []
    low, high = comparison["accuracy_diff_ci"]
    diff = float(comparison["accuracy_diff"])
    if diff < -limits["accuracy_drop"] and high < 0:
        reasons.append(
            f"accuracy falls by {-diff:.4f} (95% CI of the difference [{low:+.4f}, {high:+.4f}]),"
            f" more than retraining noise allows ({limits['accuracy_drop']:.4f})"
        )
    for s in comparison["slices"]:
        s_low, s_high = s["accuracy_diff_ci"]
        if s["accuracy_diff"] < -limits["slice_accuracy_drop"] and s_high < 0:
            reasons.append(
                f"slice {s['slice']} ({s['rows']} rows): accuracy falls by "
                f"{-s['accuracy_diff']:.4f} (95% CI [{s_low:+.4f}, {s_high:+.4f}]), beyond "
                f"noise ({limits['slice_accuracy_drop']:.4f})"
            )
    divergence = _divergence(comparison, limits)
    better = low > 0
    if better and divergence:
        return Verdict(
            not reasons,
            reasons,
            [f"{d} (allowed: the candidate is significantly better)" for d in divergence],
        )
    reasons.extend(divergence)
    return Verdict(not reasons, reasons, [])


def _divergence(comparison: Mapping[str, Any], limits: Mapping[str, float]) -> list[str]:
    found = []
    tau = float(comparison["kendall_tau"])
    if 1.0 - tau > limits["tau_drop"]:
        found.append(f"Kendall tau {tau:.4f} < {1.0 - limits['tau_drop']:.4f} (retraining noise)")
    for key, label in (("flip_0_1", "0->1"), ("flip_1_0", "1->0")):
        if comparison[key] > limits[key]:
            found.append(
                f"{comparison[key]:.2%} of labels flip {label} (noise allows {limits[key]:.2%})"
            )
    for key, label in (("mean_abs_dp", "mean"), ("p99_abs_dp", "p99")):
        if comparison[key] > limits[key]:
            found.append(f"{label} |Δp| {comparison[key]:.4f} > {limits[key]:.4f}")
    return found

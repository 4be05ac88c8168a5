"""Drift between two binned distributions (same bins): PSI and Jensen-Shannon divergence.

PSI = sum((p - q) * ln(p / q)) over bins, with empty bins smoothed to `EPS` so one empty bin
does not make it infinite; the usual reading is < 0.1 stable, 0.1-0.25 moderate, >= 0.25 a
significant shift. The verdict is "drift" at PSI >= `PSI_DRIFT` (0.25); the `level` key adds
"moderate" for 0.1 <= PSI < 0.25. JS is the Jensen-Shannon divergence in bits (0..1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["EPS", "PSI_DRIFT", "PSI_MODERATE", "drift_row", "js", "psi"]

EPS = 1e-4
PSI_MODERATE = 0.1
PSI_DRIFT = 0.25


def _shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        return [1.0 / max(len(counts), 1)] * len(counts)
    return [max(c / total, EPS) for c in counts]


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    p, q = _shares(expected), _shares(actual)
    return float(sum((b - a) * math.log(b / a) for a, b in zip(p, q, strict=True)))


def js(expected: Sequence[float], actual: Sequence[float]) -> float:
    tp, tq = float(sum(expected)) or 1.0, float(sum(actual)) or 1.0
    p = [c / tp for c in expected]
    q = [c / tq for c in actual]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, m, strict=True) if a > 0)

    return float(max(0.0, (kl(p) + kl(q)) / 2))


def drift_row(statistic: str, expected: Sequence[float], actual: Sequence[float]) -> dict:
    value = psi(expected, actual)
    level = "drift" if value >= PSI_DRIFT else "moderate" if value >= PSI_MODERATE else "stable"
    return {
        "statistic": statistic,
        "psi": round(value, 6),
        "js": round(js(expected, actual), 6),
        "threshold": PSI_DRIFT,
        "verdict": "drift" if level == "drift" else "stable",
        "level": level,
    }

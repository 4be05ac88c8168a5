"""Side-by-side statistics: per-round ratios, their median, spread and confidence interval,
the interleaved rounds' schedule, and the PASS / FAIL / UNSURE verdict against a goal.

This machine's speed drifts by tens of percent from one second to the next; a ratio measured
round by round, both sides in turn over the same docs, cancels the drift that hits both."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator

__all__ = ["ROUND_BATCHES", "Rounds", "interval", "median_ci", "medians", "percentile", "verdict"]

ROUND_BATCHES = 8
"""The fewest batches in one round."""


def median_ci(ordered: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median of sorted values: the order
    statistics k and n+1-k, k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2.
    With fewer than 6 values no such k exists and the interval is the whole range."""
    n = len(ordered)
    k, below = 0, 0.0
    while True:
        below += math.comb(n, k) / 2**n  # P(X <= k), X ~ Binomial(n, 1/2)
        if below > (1 - level) / 2:
            break
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def medians(rates: dict[str, list[float]], base: str) -> dict:
    """Median rate per side, and per side the median, range and 95% confidence interval of
    its per-round ratio to `base`: drifts in the machine's speed hit both sides of every
    ratio alike."""
    out: dict = {"rates": {k: statistics.median(v) for k, v in rates.items()}}
    for side, values in rates.items():
        if side != base:
            ratios = sorted(a / b for a, b in zip(values, rates[base], strict=True))
            out[side] = {
                "ratio": statistics.median(ratios),
                "spread": (ratios[0], ratios[-1]),
                "ci": median_ci(ratios),
            }
    return out


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank quantile `q` of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Rounds:
    """The docs of each interleaved round: the same `count` docs for every side of a round,
    the next ones in the next round, so that every side meets the same documents (kkma's
    time per doc varies a hundredfold). `count` is a whole number of batches, at least
    `ROUND_BATCHES`, and about `seconds` of the first side's work (`run(start, count)` its
    rate over docs start..start+count)."""

    def __init__(self, run: Callable[..., float], batch: int, n_docs: int, seconds: float):
        self.batch = batch
        self.n_batches = max(1, n_docs // batch)
        rate = run(0, ROUND_BATCHES * batch)
        self.batches = max(ROUND_BATCHES, math.ceil(rate * seconds / batch))
        self.first = ROUND_BATCHES % self.n_batches

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """(first batch, docs) per round, forever; docs start at batch * first batch."""
        b = self.first
        while True:
            yield b, self.batches * self.batch
            b = (b + self.batches) % self.n_batches


def verdict(value: float | None, goal: float, ci: tuple[float, float] | None = None) -> str:
    """PASS or FAIL by `value`; with a confidence interval `ci` that straddles the goal, the
    rounds cannot tell (UNSURE): more or longer rounds, or a quieter machine, decide it."""
    if value is None:
        return "n/a"
    if ci is not None and ci[0] < goal <= ci[1]:
        return f"[yellow]{value:.2f}x UNSURE[/]"
    ok = value >= goal
    return f"[{'green' if ok else 'red'}]{value:.2f}x {'PASS' if ok else 'FAIL'}[/]"


def interval(low: float, high: float) -> str:
    """A range of ratios, as the tables show spreads and confidence intervals."""
    return f"{low:.2f}-{high:.2f}x"

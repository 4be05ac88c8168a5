"""GCRA (generic cell rate algorithm) as pure math over a stored theoretical arrival time.

Formulation (the "virtual scheduling" form, as in ATM/I.371 and redis-cell):

* emission interval ``T = 1 / rate``: the spacing of requests at exactly the sustained rate;
* delay-variation tolerance ``tau = T * (burst - 1)``: how far ahead of schedule a client may
  run, so that ``burst`` requests fit into an idle limiter at one instant;
* the stored state is ``TAT``, the theoretical arrival time of the *next* request if the client
  kept to the rate. An unknown key behaves as ``TAT = now``.

A request at ``now`` is tested against ``new_tat = max(TAT, now) + T``. It is admitted when
``new_tat - now <= T + tau`` (``= T * burst``, the *burst offset*), and then ``TAT := new_tat``;
otherwise TAT is left unchanged and the request may retry after ``new_tat - now - T * burst``.

Consequences: from a fresh state, requests at one instant are admitted while ``k * T <= burst
* T``, i.e. exactly ``burst`` of them, whatever the rate. Over any span ``d`` of offered load
above the rate, at most ``burst + rate * d`` requests are admitted (TAT advances by ``T`` per
admission and may lead ``now`` by at most ``burst * T``), which is the long-run bound.

All times here are integer microseconds: Redis ``TIME`` has that resolution, and integers keep
the Lua twin of this code (``gcra.lua``) exact in Lua's doubles (epoch microseconds ~ 2**51).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import SettingsError

__all__ = ["MICROS", "Decision", "GCRAPolicy"]

MICROS = 1_000_000
_MAX_SPAN_US = 2**52 - 2**51  # keeps epoch-us + burst offset an exact double in Lua


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one limiter check.

    ``retry_after``: seconds until this request would be admitted (0.0 when allowed).
    ``remaining``: requests that could still be admitted right now, after this one.
    ``reset``: seconds until the limiter is back to a full burst (idle state).
    ``wait``: for an admitted request that reserved a future slot (``max_wait``), the seconds
    it must wait before going upstream (0.0 when it may go now).
    """

    allowed: bool
    retry_after: float
    remaining: int
    reset: float
    wait: float = 0.0


@dataclass(frozen=True, slots=True)
class GCRAPolicy:
    """Rate ``rate`` per second with burst ``burst``; see the module docstring for the math."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (isinstance(self.burst, int) and self.burst >= 1):
            raise SettingsError(f"burst must be an integer >= 1, got {self.burst!r}")
        if not (self.rate > 0 and MICROS / self.rate >= 1):
            raise SettingsError(f"rate must be in (0, 1e6] per second, got {self.rate!r}")
        if self.burst_offset_us > _MAX_SPAN_US:
            raise SettingsError(
                f"burst / rate is too long a window ({self.burst} / {self.rate} per second)"
            )

    @property
    def emission_interval_us(self) -> int:
        """``T`` in whole microseconds (rounded; at least 1)."""
        return max(1, round(MICROS / self.rate))

    @property
    def burst_offset_us(self) -> int:
        """``T + tau = T * burst``: how far TAT may lead ``now`` after an admission."""
        return self.emission_interval_us * self.burst

    @property
    def window(self) -> float:
        """Seconds an idle-started limiter needs to refill a full burst (``burst / rate``)."""
        return self.burst_offset_us / MICROS

    def step(self, tat: int | None, now: int, max_wait_us: int = 0) -> tuple[Decision, int]:
        """Decide one request at ``now`` given the stored ``tat``; return it and the new TAT.

        Both times are integer microseconds on the same clock. The returned TAT is the value
        to store (unchanged, though clamped to ``now``, when the request is refused).
        ``max_wait_us`` > 0 lets a request over the rate *reserve* the next free slot when it
        is at most that far ahead: it is admitted with ``Decision.wait`` set, and TAT moves on
        as if it had been sent then, so queued requests never exceed the rate either.
        """
        base = now if tat is None else max(tat, now)
        allowed = base + self.emission_interval_us - now <= self.burst_offset_us + max_wait_us
        stored = base + self.emission_interval_us if allowed else base
        return self.describe(allowed, stored, now), stored

    def describe(self, allowed: bool, tat: int, now: int) -> Decision:
        """Build the Decision for a verdict already taken (by ``step`` or by ``gcra.lua``).

        ``tat`` is the TAT after the decision (``max(TAT, now)`` when refused).
        """
        ahead = max(0, tat - now)
        if allowed:
            remaining = (self.burst_offset_us - ahead) // self.emission_interval_us
            wait = max(0, ahead - self.burst_offset_us) / MICROS
            return Decision(True, 0.0, max(0, remaining), ahead / MICROS, wait)
        wait = ahead + self.emission_interval_us - self.burst_offset_us
        return Decision(False, max(0, wait) / MICROS, 0, ahead / MICROS)

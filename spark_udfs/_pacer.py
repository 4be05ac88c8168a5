"""Pace one Spark task's requests by what the proxy says about its limit.

The proxy answers with `RateLimit-Policy: "<client>";q=<n>;w=<seconds>` and
`RateLimit: "<client>";r=<remaining>;t=<seconds>` (draft-ietf-httpapi-ratelimit-headers-11),
and with 429 plus `Retry-After` when a client is over its limit. A task starts unpaced; the
first policy it sees spaces its sends one per `w/q` seconds divided by the task's *share*
(no burst of its own: bursts are what the key's budget is for). The spacing is kept from the
last send whatever changes: a new policy or share only changes the gap to the next send, so a
share change never lets a request through at once (a new token bucket would). `r=0` holds
the task's next send for one interval of the policy (`w/q`: the proxy's limiter frees one
request at a time; `t` is in whole seconds) or for `t` while no policy is known; a 429's or
503's `Retry-After` holds it in full.

Several tasks share one API key, and a task cannot know how many siblings run beside it (the
executor count is the cluster's business). So each task adapts its share like TCP does its
window (AIMD): it starts at the whole policy rate, halves its share on every 429, and wins
back 2% of the rate per successful request, but only while the key's burst is at least half
full (`RateLimit` r against the policy's `burst`); an empty burst (r=0) eases its share by 10%
before any 429 (a delay signal, as TCP Vegas uses). N tasks settle near 1/N each, a lone task
(or a one-partition job) gets the full rate, and 429s become rare once the shares have settled.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping

from contracts import headers

__all__ = ["Pacer", "parse_items"]

Sleep = Callable[[float], Awaitable[None]]

_PARAM = re.compile(r';\s*([a-z*][a-z0-9_.*-]*)\s*=\s*("[^"]*"|[^;,\s]+)')


def parse_items(value: str) -> list[dict[str, float]]:
    """The numeric parameters of each item of a structured-field list, e.g. `"a";q=5;w=1`.

    Best effort, like the draft the headers follow: items or parameters that are not plain
    numbers are skipped rather than fatal, so an odd header never fails a task.
    """
    items = []
    for item in value.split(","):
        params = {}
        for key, raw in _PARAM.findall(item):
            try:
                params[key] = float(raw)
            except ValueError:
                continue
        items.append(params)
    return items


MIN_SHARE = 1 / 64
SHARE_STEP = 0.02
EASE = 0.9
"""Share kept when the key's burst is found empty (`r=0`): a gentle step down before any 429."""


class Pacer:
    """When the next request of a task may go: one interval after the last send, and not
    before a hold ends.

    `clock` (seconds, monotonic) and `sleep` are injectable so tests step time instead of
    sleeping. A hold never exceeds `max_wait` seconds, whatever a header says.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 60.0,
    ) -> None:
        self.rate: float | None = None
        """The key's sustained rate (requests per second) from the last policy seen."""
        self.share = 1.0
        """This task's part of ``rate`` (AIMD: halved on 429, +2% per success)."""
        self.burst: float | None = None
        """The key's burst from the policy (`burst=` parameter), when the proxy names it."""
        self.remaining: float | None = None
        """What the last `RateLimit` said is left of the key's burst."""
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._not_before = 0.0
        self._last: float | None = None

    @property
    def interval(self) -> float:
        """Seconds between this task's sends (0 while no policy is known)."""
        return 1 / (self.rate * self.share) if self.rate else 0.0

    async def wait(self) -> None:
        """Return when a request may be sent: after any hold, one interval after the last."""
        while True:
            now = self._clock()
            slot = max(now, self._not_before)
            if self._last is not None:
                slot = max(slot, self._last + self.interval)
            self._last = slot  # reserved: concurrent senders queue behind it
            if slot > now:
                await self._sleep(slot - now)
            if self._clock() >= self._not_before:  # else a hold came while sleeping
                return

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a later hold already in place stays)."""
        until = self._clock() + min(max(seconds, 0.0), self._max_wait)
        self._not_before = max(self._not_before, until)

    def observe(self, answer: Mapping[str, str]) -> None:
        """Re-rate from `RateLimit-Policy` and hold on `RateLimit` r=0, when present
        (`answer`: the response's headers, looked up case-insensitively as httpx does)."""
        policy = answer.get(headers.RATELIMIT_POLICY)
        if policy:
            self._rerate(parse_items(policy))
        state = answer.get(headers.RATELIMIT)
        if state:
            items = parse_items(state)
            left = [p["r"] for p in items if "r" in p]
            self.remaining = min(left) if left else None
            waits = [p.get("t", 0.0) for p in items if p.get("r") == 0]
            if waits:
                self.hold(1 / self.rate if self.rate else max(waits))
                self._reshare(max(MIN_SHARE, self.share * EASE))  # before a 429 comes

    def throttled(self) -> None:
        """A 429: this task takes half its share from now on."""
        self._reshare(max(MIN_SHARE, self.share / 2))

    def succeeded(self) -> None:
        """An answered request: win back a little of the rate, unless the key's burst is
        running low (`RateLimit` r under half the policy's burst): the tasks together are
        already at the limit, and growing now would only end in a 429."""
        draining = (
            self.remaining is not None
            and self.burst is not None
            and self.remaining < self.burst / 2
        )
        if self.share < 1.0 and not draining:
            self._reshare(min(1.0, self.share + SHARE_STEP))

    def _rerate(self, policies: list[dict[str, float]]) -> None:
        quotas = [(p["q"], p["w"]) for p in policies if p.get("q", 0) >= 1 and p.get("w", 0) > 0]
        if not quotas:
            return
        q, w = min(quotas, key=lambda quota: quota[0] / quota[1])  # the strictest applies
        self.rate = q / w
        bursts = [p["burst"] for p in policies if p.get("burst", 0) > 0]
        self.burst = min(bursts) if bursts else None

    def _reshare(self, share: float) -> None:
        self.share = share

"""Pace one Spark task's requests by what the proxy says about its limit, with aiolimiter.

The proxy answers with `RateLimit-Policy: "<client>";q=<burst>;w=<seconds>` and
`RateLimit: "<client>";r=<remaining>;t=<seconds>` (draft-ietf-httpapi-ratelimit-headers-11),
and with 429 plus `Retry-After` when a client is over its limit. A task starts unpaced; the
first policy it sees sets an `aiolimiter.AsyncLimiter` to q requests per w seconds (a leaky
bucket: a burst of q, then the sustained rate q/w), and a changed policy replaces it. `r=0`
holds every send of the task until `t` seconds have passed; so does a 429's or 503's
`Retry-After`.

Several tasks share one API key, and a task cannot know how many siblings run beside it (the
executor count is the cluster's business). So each task paces itself at the whole policy
rate, never a guessed share: together N tasks may offer up to N times the rate, the proxy
answers r=0 or 429 as the key's budget runs out, and every task then holds for t or
Retry-After. The sum converges on the key's rate with few 429s, and a lone task (or a job
with one partition) still gets the full rate.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping

from aiolimiter import AsyncLimiter

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


class Pacer:
    """When the next request of a task may go: an AsyncLimiter plus a hold-until time.

    `clock` (seconds, monotonic) and `sleep` are injectable so tests step time instead of
    sleeping; the limiter itself runs on the event loop's clock, as aiolimiter does. A hold
    never exceeds `max_wait` seconds, whatever a header says.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 60.0,
    ) -> None:
        self.limiter: AsyncLimiter | None = None
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._not_before = 0.0

    async def wait(self) -> None:
        """Return when a request may be sent: after any hold, then within the limiter's rate."""
        while (delay := self._not_before - self._clock()) > 0:
            await self._sleep(delay)
        if self.limiter is not None:
            await self.limiter.acquire()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a later hold already in place stays)."""
        until = self._clock() + min(max(seconds, 0.0), self._max_wait)
        self._not_before = max(self._not_before, until)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Re-rate from `RateLimit-Policy` and hold on `RateLimit` r=0, when present."""
        policy = headers.get("ratelimit-policy")
        if policy:
            self._rerate(parse_items(policy))
        state = headers.get("ratelimit")
        if state:
            waits = [p.get("t", 0.0) for p in parse_items(state) if p.get("r") == 0]
            if waits:
                self.hold(max(waits))

    def _rerate(self, policies: list[dict[str, float]]) -> None:
        quotas = [(p["q"], p["w"]) for p in policies if p.get("q", 0) >= 1 and p.get("w", 0) > 0]
        if not quotas:
            return
        q, w = min(quotas, key=lambda quota: quota[0] / quota[1])  # the strictest applies
        if self.limiter is None or (self.limiter.max_rate, self.limiter.time_period) != (q, w):
            self.limiter = AsyncLimiter(q, w)

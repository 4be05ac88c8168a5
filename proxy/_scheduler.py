"""Upstream capacity: interactive first, batch clients in fair turns, bounded queues.

The upstreams take ``max_in_flight`` requests at once (all replicas of the API together).
A request takes one slot for as long as it is forwarded.

* **Interactive** requests may take any free slot and are always served before batch.
* **Batch** requests may not take the last ``reserved_slots`` (the interactive reserve) while
  interactive traffic is about: once no interactive request has arrived for ``lend_after``
  seconds, batch may use the reserve too, so idle capacity is never left unused. An
  interactive request arriving then takes the next slot that frees.
* Between clients of one class, freed slots go round-robin to the clients that have requests
  waiting: deficit round robin with one request as the unit, so a client with ten times the
  concurrency gets the same share as the other and only a longer queue.
* Each client has at most ``max_in_flight`` requests upstream and ``queue_cap`` waiting. A
  request that would wait longer than its deadline is refused at once, with the predicted wait
  (queue position x the class's recent service time / the client's share of slots) as the
  ``Retry-After``; one that waits past its deadline anyway is refused then.

All of it runs on one event loop; nothing here awaits while holding state half-updated.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

from contracts.headers import BATCH, INTERACTIVE

from ._config import REQUEST_CLASSES, CapacityConfig, ClientConfig
from ._errors import ProxyError
from ._gcra import GCRAPolicy
from ._limiter import Clock
from ._metrics import ProxyMetrics

__all__ = ["ClientState", "Refused", "Scheduler"]

_EWMA = 0.1
_INITIAL_SERVICE = 0.05


class Refused(ProxyError):
    """The proxy answers the request itself: ``status`` with ``Retry-After``."""

    def __init__(self, status: int, reason: str, retry_after: float, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        self.detail = detail


@dataclass(eq=False)
class ClientState:
    """One configured client at run time: its queue and what it has upstream."""

    config: ClientConfig
    policy: GCRAPolicy = field(init=False)
    """The client's rate and burst, built once (``config.policy`` builds a new one)."""
    in_flight: int = 0
    waiting: int = 0
    """Requests of this client inside the proxy, not yet upstream (rate wait or queue)."""
    queue: deque[asyncio.Future[None]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.policy = self.config.policy

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def klass(self) -> str:
        return self.config.klass

    @property
    def limit_key(self) -> str:
        return f"client:{self.config.name}"


class Scheduler:
    """Grants upstream slots; see the module docstring for the rules."""

    def __init__(
        self,
        capacity: CapacityConfig,
        *,
        metrics: ProxyMetrics | None = None,
        clock: Clock = time.monotonic,
        lend_after: float = 1.0,
    ) -> None:
        self.capacity = capacity.max_in_flight
        self.reserved = capacity.reserved_slots
        self._metrics = metrics
        self._clock = clock
        self._lend_after = lend_after
        self._last_interactive = -float("inf")
        self.in_flight: dict[str, int] = dict.fromkeys(REQUEST_CLASSES, 0)
        self._rings: dict[str, deque[ClientState]] = {k: deque() for k in REQUEST_CLASSES}
        self._service: dict[str, float] = dict.fromkeys(REQUEST_CLASSES, _INITIAL_SERVICE)

    # -- what may go ------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self.in_flight[INTERACTIVE] + self.in_flight[BATCH]

    def reserve_now(self) -> int:
        """Slots batch may not take right now (0 once interactive has been quiet a while)."""
        quiet = self._clock() - self._last_interactive >= self._lend_after
        if quiet and self.in_flight[INTERACTIVE] == 0 and not self._rings[INTERACTIVE]:
            return 0
        return self.reserved

    def _fits(self, client: ClientState) -> bool:
        if client.in_flight >= client.config.max_in_flight or self.total >= self.capacity:
            return False
        if client.klass == INTERACTIVE:
            return True
        return self.in_flight[BATCH] < self.capacity - self.reserve_now()

    def predict_wait(self, client: ClientState) -> float:
        """Seconds until a request joining ``client``'s queue now would get a slot."""
        service = self._service[client.klass]
        if client.klass == INTERACTIVE:
            ahead = sum(len(c.queue) for c in self._rings[INTERACTIVE])
            return (ahead + 1) * service / self.capacity
        active = max(1, len(self._rings[BATCH]) + (0 if client.queue else 1))
        share = (self.capacity - self.reserve_now()) / active
        share = max(1.0, min(float(client.config.max_in_flight), share))
        return (len(client.queue) + 1) * service / share

    # -- granting ---------------------------------------------------------------------------

    async def acquire(self, client: ClientState, deadline: float, *, counted: bool = False) -> None:
        """Return once ``client`` holds a slot (call ``release`` after); raise ``Refused``
        when its queue is full or the slot would come after ``deadline`` (clock seconds).
        A request that has to queue is counted in ``queued`` unless ``counted`` already."""
        if client.klass == INTERACTIVE:
            self._last_interactive = self._clock()
        if self.try_take(client):
            return
        cap = client.config.queue_cap
        predicted = self.predict_wait(client)
        if len(client.queue) >= cap:
            raise Refused(
                429,
                "queue_full",
                predicted,
                f"Client {client.name!r} already has {cap} requests waiting (queue_cap); "
                "send fewer at once or raise queue_cap.",
            )
        budget = deadline - self._clock()
        if predicted > budget:
            raise Refused(
                429,
                "deadline",
                predicted,
                f"Upstream capacity is busy: predicted wait {predicted:.2f} s exceeds this "
                f"request's max wait {max(0.0, budget):.2f} s.",
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        client.queue.append(waiter)
        ring = self._rings[client.klass]
        if client not in ring:
            ring.append(client)
        self._gauge(client)
        if self._metrics and not counted:
            self._metrics.queued.labels(client.name, client.klass).inc()
        try:
            done, _ = await asyncio.wait({waiter}, timeout=max(0.0, budget))
        except asyncio.CancelledError:
            self._abandon(client, waiter)
            raise
        if not done:
            self._abandon(client, waiter)
            raise Refused(
                429,
                "deadline",
                self.predict_wait(client),
                f"Waited {max(0.0, budget):.2f} s (this request's max wait) without a free "
                "upstream slot; retry later.",
            )

    def try_take(self, client: ClientState) -> bool:
        """Take a slot only if one is free for ``client`` right now, with no request of its own
        queued ahead (``acquire``'s fast path; the dry run's only path: it never waits)."""
        if not client.queue and self._fits(client):
            self._take(client)
            return True
        return False

    def _abandon(self, client: ClientState, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            self.release(client)  # granted in the same instant it gave up: hand it on
            return
        waiter.cancel()
        with contextlib.suppress(ValueError):
            client.queue.remove(waiter)
        ring = self._rings[client.klass]
        if not client.queue and client in ring:
            ring.remove(client)
        self._gauge(client)

    def _take(self, client: ClientState) -> None:
        client.in_flight += 1
        self.in_flight[client.klass] += 1
        if self._metrics:
            self._metrics.in_flight.labels(client.klass).set(self.in_flight[client.klass])

    def release(self, client: ClientState, service_time: float | None = None) -> None:
        """Give back ``client``'s slot; ``service_time`` (seconds upstream) tunes predictions."""
        client.in_flight -= 1
        self.in_flight[client.klass] -= 1
        if self._metrics:
            self._metrics.in_flight.labels(client.klass).set(self.in_flight[client.klass])
        if service_time is not None:
            old = self._service[client.klass]
            self._service[client.klass] = old + _EWMA * (service_time - old)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free slots to waiters: interactive clients first, then batch, round-robin."""
        while self._grant_one(INTERACTIVE) or self._grant_one(BATCH):
            pass

    def _grant_one(self, klass: str) -> bool:
        ring = self._rings[klass]
        for _ in range(len(ring)):
            client = ring[0]
            ring.rotate(-1)
            while client.queue and client.queue[0].done():  # cancelled by its request
                client.queue.popleft()
            if not client.queue:
                ring.remove(client)
                continue
            if self._fits(client):
                client.queue.popleft().set_result(None)
                self._take(client)
                if not client.queue:
                    ring.remove(client)
                self._gauge(client)
                return True
        return False

    def _gauge(self, client: ClientState) -> None:
        if self._metrics:
            self._metrics.queue_depth.labels(client.name).set(len(client.queue))

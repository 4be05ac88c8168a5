"""A bound on the requests served at once: over it, 503 with ``Retry-After`` at once.

Refusing beats queueing here: a queue in front of a saturated server only adds its wait to
every answer, and the client (or the proxy in front) is better placed to retry elsewhere.
The count lives on the event loop, so it needs no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._errors import Overloaded
from ._metrics import ServingMetrics

__all__ = ["InFlightLimit"]


class InFlightLimit:
    """At most `limit` holders of `slot` at a time; one more gets `Overloaded`."""

    def __init__(
        self, route: str, limit: int, *, retry_after: int = 1, metrics: ServingMetrics
    ) -> None:
        self.route = route
        self.limit = limit
        self.in_flight = 0
        self._retry_after = str(retry_after)
        self._metrics = metrics

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.in_flight >= self.limit:
            self._metrics.rejected.labels(self.route).inc()
            raise Overloaded(
                f"{self.limit} {self.route} request(s) in flight already; retry later",
                retry_after=self._retry_after,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

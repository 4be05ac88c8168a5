"""Fakes shared by the unit tests (imported as ``_fakes``: ``tests/`` is on ``sys.path``)."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Monotonic seconds that move only when a test moves them: ``advance``, set ``now``, or
    ``await clock.sleep(s)`` (which records ``s`` in ``sleeps``), so nothing really sleeps.

    Pass the clock itself where code takes ``clock=`` and ``clock.sleep`` where it takes
    ``sleep=``.
    """

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

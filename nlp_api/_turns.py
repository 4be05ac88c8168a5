"""Turns at one analyzer: one caller at a time, interactive callers first.

A batch of 64 docs holds an analyzer for tens of milliseconds; a single sentence from a web
service arriving meanwhile should not wait for all of it. A batch therefore gives way between
docs whenever an interactive caller is waiting (`give_way`), and a waiting interactive caller
always goes before waiting batch ones. The proxy marks requests with its client's class
(header `contracts.headers.REQUEST_CLASS`, X-Request-Class); unmarked requests count as batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["HELD", "Turns"]


class Turns:
    """A lock with two priorities and a cheap check for a batch holder to yield."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = False
        self._urgent = 0

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        """Hold the analyzer; ``urgent`` (interactive) callers are served before others."""
        self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def turn_if_free(self) -> Iterator[bool]:
        """Take the analyzer only if nobody holds it or waits for it; yields whether it did
        (and then holds it until the block ends)."""
        with self._cond:
            taken = not self._busy and not self._urgent
            if taken:
                self._busy = True
        try:
            yield taken
        finally:
            if taken:
                self._release()

    def give_way(self) -> None:
        """For a batch holder between docs: let waiting interactive callers go first."""
        if self._urgent:  # read without the lock: a stale 0 only delays the hand-over a doc
            self._release()
            self._acquire(urgent=False)

    def _acquire(self, urgent: bool) -> None:
        with self._cond:
            if urgent:
                self._urgent += 1
            try:
                while self._busy or (not urgent and self._urgent):
                    self._cond.wait()
            finally:
                if urgent:
                    self._urgent -= 1
            self._busy = True

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


class _Held(Turns):
    """The turns of an analyzer whose turn the caller already holds (`Turns.turn_if_free`)."""

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        yield

    def give_way(self) -> None:
        pass


HELD = _Held()

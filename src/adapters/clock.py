"""Clocks: the real one for the service, a settable one for tests and simulations."""

from __future__ import annotations

import pendulum

__all__ = ["FixedClock", "SystemClock"]


class SystemClock:
    def now(self) -> pendulum.DateTime:
        return pendulum.now("UTC")


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, instant: pendulum.DateTime) -> None:
        self.instant = instant

    def now(self) -> pendulum.DateTime:
        return self.instant

    def advance(self, **delta: int) -> None:
        self.instant = self.instant.add(**delta)

"""Future working days for tests that run against a live server with the real clock.

The server uses today's date and its default settings (12:00-17:00 UTC, Sundays off, hourly
slots, 365-day horizon), so tests cannot hard-code dates. Tests sharing a server and a database
take their own days from one :class:`WorkingDays`, so no two of them ever ask for the same slot
unless they mean to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["SLOT_TIMES", "SUNDAY", "WorkingDays", "today_utc"]

#: The start of every slot with the default settings.
SLOT_TIMES = ("12:00", "13:00", "14:00", "15:00", "16:00")
SUNDAY = 7
#: Days skipped at the start: "today" and "tomorrow" could turn into the past during a run
#: that crosses midnight, and today's slots may already be over.
_FIRST_OFFSET = 2
#: Stay clear of the 365-day horizon by the same margin at the other end.
_LAST_OFFSET = 360


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class WorkingDays:
    """Hands out distinct future working days (not Sundays), nearest first."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today or today_utc()
        self._next_offset = _FIRST_OFFSET

    def take(self, where: Callable[[dt.date], bool] | None = None) -> dt.date:
        """The next unused working day (optionally the next one satisfying ``where``).

        Days skipped because they fail ``where`` are not handed out later: a strictly increasing
        allocator is simpler, and the horizon holds about 300 working days.
        """
        while self._next_offset <= _LAST_OFFSET:
            day = self.today + dt.timedelta(days=self._next_offset)
            self._next_offset += 1
            if day.isoweekday() != SUNDAY and (where is None or where(day)):
                return day
        raise RuntimeError("the tests ran out of working days within the booking horizon")

    def take_many(self, count: int) -> list[dt.date]:
        return [self.take() for _ in range(count)]

    def sunday(self) -> dt.date:
        """A future Sunday inside the horizon (Sundays are never booked, so any will do)."""
        offset = _FIRST_OFFSET
        while (self.today + dt.timedelta(days=offset)).isoweekday() != SUNDAY:
            offset += 1
        return self.today + dt.timedelta(days=offset)

"""When a booking may start: the slot and working-hours policy.

One policy object answers both "may this start be booked?" (create) and "which starts may be
booked?" (availability, alternatives), so the two can never disagree. Checks run in the order
``DESIGN.md`` fixes; the first failure wins.
"""

from __future__ import annotations

from collections.abc import Set

import pendulum
from attrs import frozen

from agent_booking.core.errors import (
    BeyondHorizon,
    BookingInPast,
    ClosedDate,
    NotASlotStart,
    OffDay,
    OutsideWorkingHours,
)
from agent_booking.core.instants import as_utc, in_zone, local_datetime
from agent_booking.core.settings import BusinessSettings

__all__ = ["ALTERNATIVE_SEARCH_DAYS", "MAX_ALTERNATIVE_STARTS", "SlotPolicy"]

#: How many days after the requested one are searched for alternatives, at most.
ALTERNATIVE_SEARCH_DAYS = 14
#: How many slot starts one refusal's search for alternatives may read and examine, at most
#: (the same bound as one availability answer): with 1-minute slots a full fortnight was 21,600
#: taken starts read for every refused request, so short slots search fewer days.
MAX_ALTERNATIVE_STARTS = 3000


@frozen
class SlotPolicy:
    settings: BusinessSettings

    def check(
        self, day: pendulum.Date, time: pendulum.Time, now: pendulum.DateTime
    ) -> pendulum.DateTime:
        """Return the slot's start in the business time zone, or raise the first broken rule."""
        start = self.local_start(day, time)
        if start <= now:
            raise BookingInPast
        self._check_date(day, now)
        if not self.settings.open_time <= time < self.settings.close_time:
            raise OutsideWorkingHours
        if not self.settings.is_slot_start(time):
            raise NotASlotStart
        if not _keeps_wall_time(start, time):
            raise NotASlotStart("This time does not exist on that day (clock change)")
        return start

    def local_start(self, day: pendulum.Date, time: pendulum.Time) -> pendulum.DateTime:
        return local_datetime(
            day.year, day.month, day.day, time.hour, time.minute, time.second, self.settings.tz
        )

    def bookable_starts(
        self, day: pendulum.Date, now: pendulum.DateTime
    ) -> list[pendulum.DateTime]:
        """Every start on ``day`` that :meth:`check` grants ``now`` (whether or not it is taken).

        The same rules, with those about the day alone (horizon, off days, closed dates) judged
        once for the day rather than once per slot: a day of 1-minute slots has up to 1,439.
        Slot times are inside working hours and on the grid by construction, so what is left
        per slot is its local start, whether it is over, and whether a clock change skips it.
        (Whether a start is over is asked of every start, never inferred from its date: where
        clocks fall back across midnight, local dates do not follow instants.)
        """
        try:
            self._check_date(day, now)
        except (BeyondHorizon, OffDay, ClosedDate):
            return []
        starts = []
        for time in self.settings.slot_times():
            start = self.local_start(day, time)
            if start > now and _keeps_wall_time(start, time):
                starts.append(start)
        return starts

    def fits(self, day: pendulum.Date, time: pendulum.Time) -> bool:
        """Whether these settings would hold a booking at this local day and time, ignoring when
        it is asked (past, horizon): used to find bookings a settings change strands."""
        return (
            self.day_closure(day) is None
            and self.settings.open_time <= time < self.settings.close_time
            and self.settings.is_slot_start(time)
        )

    def free_starts(
        self, day: pendulum.Date, now: pendulum.DateTime, taken: Set[pendulum.DateTime]
    ) -> list[pendulum.DateTime]:
        """Starts on ``day`` that a create request would be granted right now.

        ``taken`` holds UTC instants; starts are compared in UTC because Python never finds a
        local time in a repeated (clock-change) hour equal to its UTC instant.
        """
        return [start for start in self.bookable_starts(day, now) if as_utc(start) not in taken]

    def nearest_free(
        self,
        wanted: pendulum.DateTime,
        now: pendulum.DateTime,
        taken: Set[pendulum.DateTime],
        *,
        limit: int = 3,
        search_days: int | None = None,
    ) -> list[pendulum.DateTime]:
        """Up to ``limit`` free starts near ``wanted`` (local): the same day first, nearest
        first; then the following days in order (:attr:`alternative_search_days` of them
        unless ``search_days`` says)."""
        if search_days is None:
            search_days = self.alternative_search_days
        day = wanted.date()
        same_day = sorted(
            self.free_starts(day, now, taken), key=lambda start: abs((start - wanted).in_seconds())
        )
        found = same_day[:limit]
        for offset in range(1, search_days + 1):
            if len(found) >= limit:
                break
            found.extend(self.free_starts(day.add(days=offset), now, taken)[: limit - len(found)])
        return found

    @property
    def alternative_search_days(self) -> int:
        """Days after the requested one that alternatives come from: up to
        :data:`ALTERNATIVE_SEARCH_DAYS`, fewer when the days' slots would come to more than
        :data:`MAX_ALTERNATIVE_STARTS` (1-minute slots all day: the next day only)."""
        per_day = len(self.settings.slot_times())
        return min(ALTERNATIVE_SEARCH_DAYS, max(0, MAX_ALTERNATIVE_STARTS // per_day - 1))

    def day_closure(self, day: pendulum.Date) -> str | None:
        """``"off_day"`` or ``"closed_date"`` when nothing can be booked that day, else None."""
        if day.isoweekday() in self.settings.off_days:
            return OffDay.code
        if day in self.settings.closed_dates:
            return ClosedDate.code
        return None

    def _check_date(self, day: pendulum.Date, now: pendulum.DateTime) -> None:
        """The rules about the day alone, in the check order (after "not in the past")."""
        today = in_zone(now, self.settings.tz).date()
        if day.toordinal() - today.toordinal() > self.settings.horizon_days:
            raise BeyondHorizon(
                f"Booking date is more than {self.settings.horizon_days} days ahead"
            )
        if day.isoweekday() in self.settings.off_days:
            raise OffDay
        if day in self.settings.closed_dates:
            raise ClosedDate


def _keeps_wall_time(start: pendulum.DateTime, time: pendulum.Time) -> bool:
    """Whether ``start`` shows ``time`` on the clock: not where a clock change skips ``time``
    (pendulum then moves the start past the gap)."""
    return (start.hour, start.minute, start.second) == (time.hour, time.minute, time.second)

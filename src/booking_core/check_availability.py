"""What can be booked: free slot starts per day, from the same policy the create path uses.

Availability and create cannot disagree because both ask :class:`SlotPolicy`: a start listed
as free here is one a create request would be granted now (unless someone books it first).

One answer lists at most :data:`MAX_AVAILABILITY_SLOTS` slot starts (the days asked for times
the slots of one day), whatever the settings: 31 days of 1-minute slots took 0.4 s and 492 kB
(issue 13), so with short slots a range covers fewer days, and the refusal says how many.
"""

from __future__ import annotations

import pendulum
from attrs import frozen

from agent_booking.core.errors import InvalidField, MissingField, SettingsMissing
from agent_booking.core.instants import as_utc
from agent_booking.core.parsing import DateOrder, check_supported_date, parse_date
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, UnitOfWorkFactory
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "MAX_AVAILABILITY_DAYS",
    "MAX_AVAILABILITY_SLOTS",
    "Availability",
    "AvailabilityQuery",
    "CheckAvailability",
    "DayAvailability",
]

MAX_AVAILABILITY_DAYS = 31
#: Slot starts one answer may cover: the days asked for, times the slots of one day. A month
#: of 5-minute slots over an 8-hour day (31 days of 96) fits, and so does any one day (at most
#: 1,439 slots).
MAX_AVAILABILITY_SLOTS = 3000


@frozen
class AvailabilityQuery:
    """The days to report on, ``first`` to ``last`` inclusive: at most 31 days, in order."""

    first: pendulum.Date
    last: pendulum.Date

    def __attrs_post_init__(self) -> None:
        check_supported_date(self.first)
        check_supported_date(self.last)
        if self.last < self.first:
            raise InvalidField("to", "must not be before from")
        if self.days > MAX_AVAILABILITY_DAYS:
            raise InvalidField("to", f"a range covers at most {MAX_AVAILABILITY_DAYS} days")

    @property
    def days(self) -> int:
        """How many days the query covers."""
        return (self.last - self.first).in_days() + 1

    def check_size(self, settings: BusinessSettings) -> None:
        """Refuse a range whose days hold more than :data:`MAX_AVAILABILITY_SLOTS` slot starts
        under ``settings``, saying how many days these settings allow."""
        per_day = len(settings.slot_times())
        if self.days * per_day > MAX_AVAILABILITY_SLOTS:
            raise InvalidField(
                "to",
                f"with {settings.slot_minutes}-minute slots ({per_day} a day) a range covers "
                f"at most {MAX_AVAILABILITY_SLOTS // per_day} days; ask for a shorter range",
            )

    @classmethod
    def parse(
        cls,
        *,
        date: str | None = None,
        first: str | None = None,
        last: str | None = None,
        date_order: DateOrder = DateOrder.DMY,
    ) -> AvailabilityQuery:
        """From the texts an agent sent (any accepted date format; empty counts as absent):
        ``date`` for one day, else ``first`` and optionally ``last``. The core parses them, so
        library users and HTTP clients get the same messages."""
        if date:
            day = parse_date(date, date_order)
            return cls(day, day)
        if not first:
            raise MissingField("date")
        start = parse_date(first, date_order)
        return cls(start, parse_date(last, date_order) if last else start)


@frozen
class DayAvailability:
    day: pendulum.Date
    closed: str | None  # "off_day", "closed_date" or None
    free: tuple[pendulum.Time, ...]
    taken: tuple[pendulum.Time, ...]


@frozen
class Availability:
    settings: BusinessSettings
    days: tuple[DayAvailability, ...]


class CheckAvailability:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, query: AvailabilityQuery) -> Availability:
        first, last = query.first, query.last
        async with self._uow() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            query.check_size(settings)
            policy = SlotPolicy(settings)
            start = policy.local_start(first, settings.open_time).in_timezone("UTC")
            end = policy.local_start(last.add(days=1), settings.open_time).in_timezone("UTC")
            taken = await uow.bookings.active_starts_between(start, end)
        now = self._clock.now()
        days = []
        day = first
        while day <= last:
            free: list[pendulum.Time] = []
            held: list[pendulum.Time] = []
            for start in policy.bookable_starts(day, now):
                # One set lookup per start, in UTC: Python never finds a local time in a
                # repeated (clock-change) hour equal to its UTC instant.
                (held if as_utc(start) in taken else free).append(start.time())
            days.append(
                DayAvailability(
                    day=day, closed=policy.day_closure(day), free=tuple(free), taken=tuple(held)
                )
            )
            day = day.add(days=1)
        return Availability(settings, tuple(days))

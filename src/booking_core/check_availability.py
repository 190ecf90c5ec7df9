"""What can be booked: free slot starts per day, from the same policy the create path uses.

Availability and create cannot disagree because both ask :class:`SlotPolicy`: a start listed
as free here is one a create request would be granted now (unless someone books it first).
"""

from __future__ import annotations

from collections.abc import Mapping

import pendulum
from attrs import frozen

from booking_core.errors import InvalidField, MissingField, SettingsMissing
from booking_core.events import JsonObject, format_time
from booking_core.parsing import DateOrder, parse_date
from booking_core.policy import SlotPolicy
from booking_core.ports import Clock, UnitOfWorkFactory
from booking_core.settings import BusinessSettings

__all__ = ["MAX_AVAILABILITY_DAYS", "Availability", "CheckAvailability", "DayAvailability"]

MAX_AVAILABILITY_DAYS = 31


@frozen
class DayAvailability:
    day: pendulum.Date
    closed: str | None  # "off_day", "closed_date" or None
    free: tuple[pendulum.Time, ...]
    taken: tuple[pendulum.Time, ...]

    def as_document(self) -> JsonObject:
        return {
            "date": self.day.isoformat(),
            "closed": self.closed,
            "free": [format_time(time) for time in self.free],
            "taken": [format_time(time) for time in self.taken],
        }


@frozen
class Availability:
    settings: BusinessSettings
    days: tuple[DayAvailability, ...]

    def as_response(self) -> JsonObject:
        return {
            "success": True,
            "timezone": self.settings.timezone,
            "slot_minutes": self.settings.slot_minutes,
            "days": [day.as_document() for day in self.days],
        }


class CheckAvailability:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, *, date_order: DateOrder = DateOrder.DMY
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._date_order = date_order

    async def __call__(self, query: Mapping[str, str]) -> Availability:
        """``{"date": …}`` or ``{"from": …, "to": …}`` (at most 31 days), any date format."""
        first, last = self._range(query)
        async with self._uow() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            policy = SlotPolicy(settings)
            start = policy.local_start(first, settings.open_time).in_timezone("UTC")
            end = policy.local_start(last.add(days=1), settings.open_time).in_timezone("UTC")
            taken = await uow.bookings.active_starts_between(start, end)
        now = self._clock.now()
        days = []
        day = first
        while day <= last:
            bookable = policy.bookable_starts(day, now)
            held = {s for s in bookable if s.in_timezone("UTC") in taken}  # compare in UTC
            days.append(
                DayAvailability(
                    day=day,
                    closed=policy.day_closure(day),
                    free=tuple(s.time() for s in bookable if s not in held),
                    taken=tuple(s.time() for s in bookable if s in held),
                )
            )
            day = day.add(days=1)
        return Availability(settings, tuple(days))

    def _range(self, query: Mapping[str, str]) -> tuple[pendulum.Date, pendulum.Date]:
        if query.get("date"):
            day = parse_date(query["date"], self._date_order)
            return day, day
        if not query.get("from"):
            raise MissingField("date")
        first = parse_date(query["from"], self._date_order)
        last = parse_date(query["to"], self._date_order) if query.get("to") else first
        if last < first:
            raise InvalidField("to", "must not be before from")
        if (last - first).in_days() >= MAX_AVAILABILITY_DAYS:
            raise InvalidField("to", f"a range covers at most {MAX_AVAILABILITY_DAYS} days")
        return first, last

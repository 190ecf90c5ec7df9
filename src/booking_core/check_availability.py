"""What can be booked: free slot starts per day, from the same policy the create path uses.

Availability and create cannot disagree because both ask :class:`SlotPolicy`: a start listed
as free here is one a create request would be granted now (unless someone books it first).

Availability is per service (``service_id``; without one, the spec's free-text service: one
slot long, on any resource) and optionally per resource: a start is free when at least one
resource that performs the service can take its whole occupied interval, and the answer says
which resources can.

One answer lists at most :data:`MAX_AVAILABILITY_SLOTS` slot starts (the days asked for times
the slots of one day), whatever the settings: 31 days of 1-minute slots took 0.4 s and 492 kB
(issue 13), so with short slots a range covers fewer days, and the refusal says how many.
"""

from __future__ import annotations

import pendulum
from attrs import field, frozen

from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import (
    InvalidField,
    MissingField,
    SettingsMissing,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.parsing import DateOrder, check_supported_date, parse_date
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, UnitOfWorkFactory
from agent_booking.core.resources import Catalog, Resource, Service
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
    service_id: int | None = None
    resource_id: int | None = None

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
        service_id: str | None = None,
        resource_id: str | None = None,
        date_order: DateOrder = DateOrder.DMY,
    ) -> AvailabilityQuery:
        """From the texts an agent sent (any accepted date format; empty counts as absent):
        ``date`` for one day, else ``first`` and optionally ``last``. The core parses them, so
        library users and HTTP clients get the same messages."""
        ids = {
            "service_id": _query_id("service_id", service_id),
            "resource_id": _query_id("resource_id", resource_id),
        }
        if date:
            day = parse_date(date, date_order)
            return cls(day, day, **ids)
        if not first:
            raise MissingField("date")
        start = parse_date(first, date_order)
        return cls(start, parse_date(last, date_order) if last else start, **ids)


def _query_id(name: str, text: str | None) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidField(name, "must be a positive integer")
    return int(text)


@frozen
class DayAvailability:
    day: pendulum.Date
    closed: str | None  # "off_day", "closed_date" or None
    free: tuple[pendulum.Time, ...]
    taken: tuple[pendulum.Time, ...]
    #: For each free start (same order), the ids of the resources free for it. Left out of
    #: equality: two answers with the same free and taken starts are the same availability.
    free_resources: tuple[tuple[int, ...], ...] = field(default=(), eq=False)


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
            catalog = await uow.catalog.get_active(settings)
            service, candidates = _asked_for(query, catalog, settings)
            policy = SlotPolicy(settings)
            reach = service.buffer_before + service.duration_minutes + service.buffer_after
            start = policy.local_start(first, pendulum.Time(0)).in_timezone("UTC")
            end = policy.local_start(last.add(days=1), pendulum.Time(0)).in_timezone("UTC")
            now = self._clock.now()
            occupied = await uow.bookings.occupied_between(
                start.subtract(minutes=reach), end.add(minutes=reach), now=now
            )
        occupancy = Occupancy(occupied)
        days = []
        day = first
        while day <= last:
            starts = policy.day_starts(day, now, service, candidates, occupancy)
            days.append(
                DayAvailability(
                    day=day,
                    closed=policy.day_closure(day),
                    free=tuple(time for time, ids in starts if ids),
                    taken=tuple(time for time, ids in starts if not ids),
                    free_resources=tuple(ids for _time, ids in starts if ids),
                )
            )
            day = day.add(days=1)
        return Availability(settings, tuple(days))


def _asked_for(
    query: AvailabilityQuery, catalog: Catalog, settings: BusinessSettings
) -> tuple[Service, tuple[Resource, ...]]:
    """The service asked about (without one: a slot-long booking, as the spec books a free-text
    service) and the resources to look at (the one asked for, else all that perform it)."""
    if query.service_id is None:
        service = Service(None, "Any service", settings.slot_minutes)
    else:
        found = catalog.service(query.service_id)
        if found is None or not found.active:
            raise UnknownService(catalog.offered_names())
        service = found
    performers = catalog.performers(service)
    if query.resource_id is None:
        return service, performers
    chosen = tuple(item for item in performers if item.id == query.resource_id)
    if not chosen:
        raise UnknownResource
    return service, chosen

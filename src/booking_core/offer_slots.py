""" "Anything Tuesday afternoon?": the next free starts after a moment, across days.

An agent asks this on every turn of a call, so the answer is the next few starts rather than
whole days, and the work is bounded: the first day is read alone, then days a week at a time
(one occupancy read each), each day judged start by start only until the limit is reached; the
search stops at the limit, at the horizon, or once it has looked at :data:`MAX_OFFER_STARTS`
slot starts, whichever comes first; the answer says which day it searched up to. A start is
offered exactly when a create request for it would be granted now: the same
:class:`SlotPolicy` decides (``iter_free_for``), on the same occupancy.

Parts of the day are in the business time zone: morning before 12:00, afternoon from 12:00 to
before 17:00, evening from 17:00.
"""

from __future__ import annotations

import datetime as dt
import enum

import pendulum
from attrs import define, field, frozen

from agent_booking.core.check_availability import MAX_AVAILABILITY_SLOTS
from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import InvalidField, SettingsMissing, UnknownResource, UnknownService
from agent_booking.core.instants import as_utc, in_zone
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.parsing import DateOrder, check_supported_date, parse_date
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import BookingRepository, Clock, UnitOfWorkFactory
from agent_booking.core.resources import REJECT_UNKNOWN, Catalog, Resource, Service
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.slot_grid import micros

__all__ = [
    "DEFAULT_OFFER_LIMIT",
    "FIRST_WINDOW_STARTS",
    "MAX_OFFER_LIMIT",
    "MAX_OFFER_STARTS",
    "OFFER_WINDOW_DAYS",
    "OfferSlots",
    "OfferedStart",
    "PartOfDay",
    "SlotOffer",
    "SlotOfferQuery",
]

DEFAULT_OFFER_LIMIT = 3
MAX_OFFER_LIMIT = 20
#: Slot starts one offer may look at (every resource's grid, day by day): the bound of one
#: availability answer. With hourly slots on one resource that is the whole of a year's horizon;
#: with 1-minute slots all day, two days.
MAX_OFFER_STARTS = MAX_AVAILABILITY_SLOTS
#: Days whose occupancy one storage read brings, after the first day's read alone (most
#: offers are answered from it: reading a week of a busy calendar first cost more than judging
#: the day, in ``bench.run``'s read scenario).
OFFER_WINDOW_DAYS = 7
#: The first occupancy read covers this many grid steps per start asked for, from the moment
#: asked about (then the rest of that day): 12 minutes of 1-minute slots for 3 starts.
FIRST_WINDOW_STARTS = 4

_NOON = pendulum.Time(12)
_FIVE_PM = pendulum.Time(17)
_SERVICE_NAME_LIMIT = 100  # as a create request's service_name


class PartOfDay(enum.Enum):
    """A part of the day, by local start time."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    def holds(self, time: pendulum.Time) -> bool:
        if self is PartOfDay.MORNING:
            return time < _NOON
        if self is PartOfDay.AFTERNOON:
            return _NOON <= time < _FIVE_PM
        return time >= _FIVE_PM


@frozen
class SlotOfferQuery:
    """What the agent asks for. ``after`` is an instant (UTC), or a local wall-clock time of
    the business (``after_local``) when the text named no offset; neither means now."""

    service_id: int | None = None
    service_name: str | None = None
    after: pendulum.DateTime | None = None
    after_local: tuple[pendulum.Date, pendulum.Time] | None = None
    limit: int = DEFAULT_OFFER_LIMIT
    part_of_day: PartOfDay | None = None
    resource_id: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        service_id: str | None = None,
        service: str | None = None,
        after: str | None = None,
        limit: str | None = None,
        part_of_day: str | None = None,
        resource_id: str | None = None,
        date_order: DateOrder = DateOrder.DMY,
    ) -> SlotOfferQuery:
        """From the texts an agent sent; empty counts as absent."""
        instant, local = _parse_after(after, date_order) if after else (None, None)
        name = service.strip() if service else None
        if service is not None and len(service) > _SERVICE_NAME_LIMIT:
            raise InvalidField("service", f"must be at most {_SERVICE_NAME_LIMIT} characters")
        return cls(
            service_id=_query_id("service_id", service_id),
            service_name=name or None,
            after=instant,
            after_local=local,
            limit=_limit(limit),
            part_of_day=_part_of_day(part_of_day),
            resource_id=_query_id("resource_id", resource_id),
        )


@frozen
class OfferedStart:
    start: pendulum.DateTime  # local, in the business time zone
    resource_ids: tuple[int, ...]


@frozen
class SlotOffer:
    settings: BusinessSettings
    service: Service
    starts: tuple[OfferedStart, ...]
    #: The last local day looked at (the search stops at the limit, the horizon or the bound).
    searched_until: pendulum.Date


class OfferSlots:
    def __init__(self, reads: UnitOfWorkFactory, clock: Clock) -> None:
        self._reads = reads
        self._clock = clock

    async def __call__(self, query: SlotOfferQuery) -> SlotOffer:
        now = self._clock.now()
        async with self._reads() as uow:  # one read unit of work for the whole answer
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            catalog = await uow.catalog.get_active(settings)
            service, candidates = _asked_for(query, catalog, settings)
            policy = SlotPolicy(settings)
            since = _since(query, policy, now)
            first = in_zone(since, settings.tz).date()
            horizon = in_zone(now, settings.tz).date().add(days=settings.horizon_days)
            if first > horizon:  # nothing can be booked from then on
                return SlotOffer(settings, service, (), horizon)
            per_day = max(1, policy.service_grid_per_day(service, candidates))
            last = min(horizon, first.add(days=max(0, MAX_OFFER_STARTS // per_day - 1)))
            search = _Search(query, policy, service, candidates, now, uow.bookings)
            return SlotOffer(settings, service, *await search.run(since, first, last))


@define
class _Search:
    """The windows of one offer, in order: :data:`FIRST_WINDOW_STARTS` grid steps per start
    asked for from the moment asked about, the rest of that day, then
    :data:`OFFER_WINDOW_DAYS` days at a time; one occupancy read each (only the intervals that
    can reach the window's starts), the window's starts judged one at a time until the limit
    is reached.

    Most offers are answered from the first window: reading a whole day of 1-minute bookings
    (about 800 intervals) for three starts made the read, not the judging, most of an offer's
    cost (5.1 ms of CPU per offer before this and the integer grid, ``python -m bench.read_cpu``).
    """

    query: SlotOfferQuery
    policy: SlotPolicy
    service: Service
    candidates: tuple[Resource, ...]
    now: pendulum.DateTime
    bookings: BookingRepository
    found: list[OfferedStart] = field(factory=list)

    async def run(
        self, since: pendulum.DateTime, first: pendulum.Date, last: pendulum.Date
    ) -> tuple[tuple[OfferedStart, ...], pendulum.Date]:
        policy = self.policy
        day_end = as_utc(policy.local_start(first.add(days=1), pendulum.Time(0)))
        slots = self.policy.settings.slot_minutes * self.query.limit * FIRST_WINDOW_STARTS
        early = min(day_end, since.add(minutes=slots))
        if await self._judge(first, first, since, early):
            return tuple(self.found), first
        if await self._judge(first, first, early, day_end):
            return tuple(self.found), first
        day = first.add(days=1)
        while day <= last:
            window_last = min(last, day.add(days=OFFER_WINDOW_DAYS - 1))
            begin = as_utc(policy.local_start(day, pendulum.Time(0)))
            end = as_utc(policy.local_start(window_last.add(days=1), pendulum.Time(0)))
            reached = await self._judge(day, window_last, begin, end)
            if reached is not None:
                return tuple(self.found), reached
            day = window_last.add(days=1)
        return tuple(self.found), last

    async def _judge(
        self,
        day: pendulum.Date,
        last: pendulum.Date,
        begin: pendulum.DateTime,
        end: pendulum.DateTime,
    ) -> pendulum.Date | None:
        """Judge the starts of ``day`` to ``last`` in ``[begin, end)``; the day on which the
        limit was reached, or None."""
        if begin >= end:
            return None
        service, query = self.service, self.query
        # A start s in the window occupies [s - buffer_before, s + duration + buffer_after):
        # only intervals overlapping that can make it taken.
        occupied = await self.bookings.occupied_between(
            begin.subtract(minutes=service.buffer_before),
            end.add(minutes=service.duration_minutes + service.buffer_after),
            now=self.now,
        )
        occupancy = Occupancy(occupied)
        window = (micros(begin), micros(end))
        while day <= last:
            for start, ids in self.policy.iter_free_for(
                day, self.now, service, self.candidates, occupancy, window
            ):
                if query.part_of_day is not None and not query.part_of_day.holds(start.time()):
                    continue
                self.found.append(OfferedStart(start, ids))
                if len(self.found) == query.limit:
                    return day
            day = day.add(days=1)
        return None


def _since(query: SlotOfferQuery, policy: SlotPolicy, now: pendulum.DateTime) -> pendulum.DateTime:
    """The moment from which starts are offered (inclusive); never before now."""
    if query.after_local is not None:
        since = policy.local_start(*query.after_local)
    elif query.after is not None:
        since = query.after
    else:
        return now
    return max(since, now)


def _asked_for(
    query: SlotOfferQuery, catalog: Catalog, settings: BusinessSettings
) -> tuple[Service, tuple[Resource, ...]]:
    """The service (by id, else by name as create reads it, else a slot-long booking) and the
    resources to offer (the one asked for, else every one that performs it)."""
    if query.service_id is not None:
        found = catalog.service(query.service_id)
        if found is None or not found.active:
            raise UnknownService(catalog.offered_names())
        service = found
    elif query.service_name is not None:
        named = catalog.service_named(query.service_name)
        if named is None and catalog.unknown_services == REJECT_UNKNOWN:
            raise UnknownService(catalog.offered_names())
        service = named or Service(None, query.service_name, settings.slot_minutes)
    else:
        service = Service(None, "Any service", settings.slot_minutes)
    performers = catalog.performers(service)
    if query.resource_id is None:
        return service, performers
    chosen = tuple(item for item in performers if item.id == query.resource_id)
    if not chosen:
        raise UnknownResource
    return service, chosen


def _parse_after(
    text: str, date_order: DateOrder
) -> tuple[pendulum.DateTime | None, tuple[pendulum.Date, pendulum.Time] | None]:
    """An ISO 8601 date and time: with an offset (or ``Z``) it is an instant; without one it is
    the business's wall-clock time. A date alone (any accepted date format) is its start."""
    text = text.strip()
    if "T" not in text and " " not in text:
        return None, (parse_date(text, date_order), pendulum.Time(0))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidField(
            "after", "must be a date, or an ISO 8601 date and time such as 2027-03-02T14:00"
        ) from None
    day = pendulum.Date(moment.year, moment.month, moment.day)
    check_supported_date(day)
    if moment.tzinfo is None:
        return None, (day, pendulum.Time(moment.hour, moment.minute, moment.second))
    return pendulum.instance(moment).in_timezone("UTC"), None


def _limit(text: str | None) -> int:
    if not text:
        return DEFAULT_OFFER_LIMIT
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_OFFER_LIMIT:
        raise InvalidField("limit", f"must be an integer from 1 to {MAX_OFFER_LIMIT}")
    return int(text)


def _part_of_day(text: str | None) -> PartOfDay | None:
    if not text:
        return None
    try:
        return PartOfDay(text.strip().lower())
    except ValueError:
        raise InvalidField("part_of_day", "must be morning, afternoon or evening") from None


def _query_id(name: str, text: str | None) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidField(name, "must be a positive integer")
    return int(text)

"""Who and what is booked: resources with their weekly plans, services, and the catalog of both.

A resource (a person or a room) takes one booking at a time. Its weekly plan gives, for every
ISO weekday, the open intervals in the business time zone (the gaps are breaks); exceptions
replace the plan on single dates (no interval: closed that day). A service says how long a
booking takes, how far it keeps other bookings away (buffers), how much notice it needs and
which resources perform it. These are values: checked on construction, so an inconsistent plan
or service never reaches the policy.
"""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from collections.abc import Iterable, Mapping

import pendulum
from attrs import field, frozen

from agent_booking.core.errors import InvalidCatalog
from agent_booking.core.instants import as_utc
from agent_booking.core.settings import ACCEPT_UNKNOWN, REJECT_UNKNOWN, BusinessSettings

__all__ = [
    "ACCEPT_UNKNOWN",
    "MAX_OCCUPIED_MINUTES",
    "REJECT_UNKNOWN",
    "Catalog",
    "OpenInterval",
    "Resource",
    "Service",
    "WeeklyPlan",
    "minute_of_day",
    "printable_name",
]

#: The longest a booking may occupy its resource: a free-text service lasts one slot (at most a
#: day), a catalog one at most 720 + 2 * 240 minutes. The database refuses longer intervals, so
#: a search for overlaps need only look this far back.
MAX_OCCUPIED_MINUTES = 24 * 60
_MIN_DURATION, _MAX_DURATION = 5, 720
_MAX_BUFFER = 240
_MAX_NOTICE = 10080
_MAX_NAME = 100


def minute_of_day(time: pendulum.Time) -> int:
    return time.hour * 60 + time.minute


@frozen(order=True)
class OpenInterval:
    """``[opens, closes)`` in local wall-clock time, whole minutes."""

    opens: pendulum.Time
    closes: pendulum.Time

    def __attrs_post_init__(self) -> None:
        if self.opens.second or self.closes.second or self.opens.microsecond:
            raise InvalidCatalog("interval times must be whole minutes")
        if self.closes <= self.opens:
            raise InvalidCatalog(f"interval {self} must close after it opens")

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


def _intervals(values: Iterable[OpenInterval]) -> tuple[OpenInterval, ...]:
    """Sorted, and refused if two overlap (touching is fine: 12:00-13:00 and 13:00-14:00)."""
    ordered = tuple(sorted(values))
    for before, after in itertools.pairwise(ordered):
        if after.opens < before.closes:
            raise InvalidCatalog(f"intervals {before} and {after} overlap")
    return ordered


def _week(days: Mapping[int, Iterable[OpenInterval]]) -> Mapping[int, tuple[OpenInterval, ...]]:
    if not set(days) <= set(range(1, 8)):
        raise InvalidCatalog("weekdays must be ISO weekday numbers 1-7")
    return {day: _intervals(days.get(day, ())) for day in range(1, 8)}


@frozen
class WeeklyPlan:
    """Open intervals per ISO weekday (Monday = 1); a day without intervals is not worked."""

    days: Mapping[int, tuple[OpenInterval, ...]] = field(converter=_week)

    @classmethod
    def from_settings(cls, settings: BusinessSettings) -> WeeklyPlan:
        """Today's single calendar as a plan: opening to closing on every day not off."""
        hours = (OpenInterval(settings.open_time, settings.close_time),)
        return cls({day: hours for day in range(1, 8) if day not in settings.off_days})


def _exceptions(
    values: Mapping[pendulum.Date, Iterable[OpenInterval]],
) -> Mapping[pendulum.Date, tuple[OpenInterval, ...]]:
    return {day: _intervals(intervals) for day, intervals in values.items()}


def printable_name(name: str) -> str:
    """A name an operator gives is shown on pages and in messages: no control characters or
    lone surrogates. (Checked on the admin's writes only: stored names are read as they are.)"""
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in name):
        raise InvalidCatalog("a name must not contain control characters")
    return name


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= _MAX_NAME:
        raise InvalidCatalog(f"a name must be 1-{_MAX_NAME} characters")
    return name


@frozen
class Resource:
    """A person or room that takes one booking at a time."""

    id: int
    name: str = field(converter=_name)
    plan: WeeklyPlan
    exceptions: Mapping[pendulum.Date, tuple[OpenInterval, ...]] = field(
        factory=dict, converter=_exceptions
    )
    active: bool = True
    #: Whether ``plan`` is the business hours (the settings' opening, closing and off days)
    #: rather than a plan of its own: such a plan moves with every settings change.
    follows_business_hours: bool = False

    def intervals_on(self, day: pendulum.Date) -> tuple[OpenInterval, ...]:
        """The open intervals on ``day``: the date's exception if it has one, else the plan's."""
        if day in self.exceptions:
            return self.exceptions[day]
        return self.plan.days[day.isoweekday()]


def _resource_ids(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


@frozen
class Service:
    """What is booked: how long it takes and how far it keeps other bookings away.

    ``id`` is None for an ad-hoc service (a free-text name booked with the slot length, as the
    original spec does). ``resource_ids`` empty means every resource performs it.
    """

    id: int | None
    name: str = field(converter=_name)
    duration_minutes: int
    buffer_before: int = 0
    buffer_after: int = 0
    min_notice_minutes: int = 0
    resource_ids: frozenset[int] = field(factory=frozenset, converter=_resource_ids)
    active: bool = True

    def __attrs_post_init__(self) -> None:
        if self.id is not None and not _MIN_DURATION <= self.duration_minutes <= _MAX_DURATION:
            raise InvalidCatalog(f"duration must be {_MIN_DURATION}-{_MAX_DURATION} minutes")
        if self.duration_minutes < 1:
            raise InvalidCatalog("duration must be at least 1 minute")
        for buffer in (self.buffer_before, self.buffer_after):
            if not 0 <= buffer <= _MAX_BUFFER:
                raise InvalidCatalog(f"buffers must be 0-{_MAX_BUFFER} minutes")
        if not 0 <= self.min_notice_minutes <= _MAX_NOTICE:
            raise InvalidCatalog(f"minimum notice must be 0-{_MAX_NOTICE} minutes")

    @property
    def key(self) -> str:
        """The name as matched against requests: case-insensitively."""
        return self.name.casefold()

    def performed_by(self, resource: Resource) -> bool:
        return not self.resource_ids or resource.id in self.resource_ids

    def occupied(self, start: pendulum.DateTime) -> tuple[pendulum.DateTime, pendulum.DateTime]:
        """``[start - buffer_before, start + duration + buffer_after)``, as UTC instants.

        Computed on instants, not wall-clock times: a booking across a clock change still
        occupies its real length. UTC has no clock changes, so plain ``datetime`` arithmetic
        is exact here, and it costs a twentieth of pendulum's ``add`` on the booking path.
        """
        utc = as_utc(start)
        begin = _plus(utc, -self.buffer_before) if self.buffer_before else utc
        return begin, _plus(utc, self.duration_minutes + self.buffer_after)


def _plus(instant: pendulum.DateTime, minutes: int) -> pendulum.DateTime:
    moved: pendulum.DateTime = dt.datetime.__add__(instant, dt.timedelta(minutes=minutes))
    return moved


def _by_id(values: Iterable[Resource]) -> tuple[Resource, ...]:
    return tuple(sorted(values, key=lambda resource: resource.id))


def _services(values: Iterable[Service]) -> tuple[Service, ...]:
    return tuple(values)


#: Free-text services a catalog keeps made (see :meth:`Catalog.ad_hoc`); names come from
#: requests, so they are bounded.
_AD_HOC_KEPT = 256


@frozen
class Catalog:
    """Every resource and service of the business, and what to do with unknown service names.

    A catalog is read once per change and then serves every request of its process, so what
    each booking would otherwise derive from it again (the active resources, the free-text
    service) is made once here.
    """

    resources: tuple[Resource, ...] = field(converter=_by_id)
    services: tuple[Service, ...] = field(factory=tuple, converter=_services)
    unknown_services: str = ACCEPT_UNKNOWN
    _active: tuple[Resource, ...] = field(init=False, eq=False, repr=False, default=())
    _ad_hoc: dict[tuple[str, int], Service] = field(init=False, eq=False, repr=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_active", tuple(item for item in self.resources if item.active))
        if self.unknown_services not in {ACCEPT_UNKNOWN, REJECT_UNKNOWN}:
            raise InvalidCatalog("unknown_services must be 'accept' or 'reject'")
        keys = [service.key for service in self.services]
        if len(keys) != len(set(keys)):
            raise InvalidCatalog("service names must be unique (case-insensitively)")
        ids = [resource.id for resource in self.resources]
        if len(ids) != len(set(ids)):
            raise InvalidCatalog("resource ids must be unique")

    @classmethod
    def single(cls, settings: BusinessSettings, resource_id: int = 1) -> Catalog:
        """Today's business: one resource working the settings' hours, no catalog services."""
        plan = WeeklyPlan.from_settings(settings)
        return cls(
            (Resource(resource_id, "Default", plan, follows_business_hours=True),),
            unknown_services=settings.unknown_services,
        )

    def resource(self, resource_id: int) -> Resource | None:
        return next((item for item in self.resources if item.id == resource_id), None)

    def service(self, service_id: int) -> Service | None:
        return next((item for item in self.services if item.id == service_id), None)

    def service_named(self, name: str) -> Service | None:
        """The active catalog service called ``name`` (case-insensitively), if any."""
        key = name.strip().casefold()
        return next((item for item in self.services if item.key == key and item.active), None)

    def offered_names(self) -> list[str]:
        return sorted((item.name for item in self.services if item.active), key=str.casefold)

    def performers(self, service: Service) -> tuple[Resource, ...]:
        """The active resources that perform ``service``, by id."""
        if not service.resource_ids:
            return self._active
        return tuple(item for item in self._active if service.performed_by(item))

    def ad_hoc(self, name: str, minutes: int) -> Service:
        """The free-text service ``name`` lasting ``minutes`` (the spec's one-slot booking).

        The same value each time, made once: making a :class:`Service` validates it, which
        cost about 3 µs of every such booking (``bench.inprocess``). At most
        ``_AD_HOC_KEPT`` names are kept (they come from requests); then they are made anew.
        """
        key = (name, minutes)
        found = self._ad_hoc.get(key)
        if found is None:
            if len(self._ad_hoc) >= _AD_HOC_KEPT:
                self._ad_hoc.clear()
            found = self._ad_hoc[key] = Service(None, name, minutes)
        return found

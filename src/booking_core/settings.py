"""The business's opening rules, as one validated value.

Settings live in storage (one active row) so operators can change them without a deploy; the core
only ever sees this frozen value, checked on construction so an inconsistent configuration can
never reach the policy.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable
from functools import cached_property

import pendulum
from attrs import field, frozen

from agent_booking.core.errors import InvalidDate, InvalidSettings
from agent_booking.core.parsing import FIRST_DATE, LAST_DATE, check_supported_date

__all__ = [
    "ACCEPT_UNKNOWN",
    "MAX_NOTICE_MINUTES",
    "REJECT_UNKNOWN",
    "UNKNOWN_SERVICES_CHOICES",
    "WEEKDAY_NAMES",
    "BusinessSettings",
    "is_iana_timezone",
    "parse_closed_dates",
    "parse_off_days",
]

#: What a booking for a service name the catalog does not know gets: ``accept`` books it as
#: the spec does (free text, one slot long); ``reject`` refuses it with the catalog's names.
ACCEPT_UNKNOWN = "accept"
REJECT_UNKNOWN = "reject"
UNKNOWN_SERVICES_CHOICES = (ACCEPT_UNKNOWN, REJECT_UNKNOWN)

#: ISO weekday numbers (Monday = 1 … Sunday = 7) by their three-letter names.
WEEKDAY_NAMES: dict[str, int] = {
    "mon": 1,
    "tue": 2,
    "wed": 3,
    "thu": 4,
    "fri": 5,
    "sat": 6,
    "sun": 7,
}
_FULL_WEEKDAY_NAMES: dict[str, int] = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
}
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MINUTES_PER_DAY = 24 * 60
_MAX_HORIZON_DAYS = 3660
#: A week: the longest notice for cancelling or moving a booking (as for a service's minimum
#: notice in the resources design).
MAX_NOTICE_MINUTES = 7 * 24 * 60


def _frozen_ints(values: Iterable[int]) -> frozenset[int]:
    return frozenset(values)


def _frozen_dates(values: Iterable[pendulum.Date]) -> frozenset[pendulum.Date]:
    return frozenset(values)


#: Names the time zone database may hold that are not zones of the IANA database, or that
#: mean something else on every host: the host's own zone, a placeholder, a template, and the
#: ``posix/`` and ``right/`` (leap-second) copies some systems install.
_HOST_DEPENDENT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
_HOST_DEPENDENT_PREFIXES = ("posix/", "right/")


@functools.cache
def _iana_timezones() -> frozenset[str]:
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _HOST_DEPENDENT_ZONES and not name.startswith(_HOST_DEPENDENT_PREFIXES)
    )


def is_iana_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (``Europe/Berlin``, ``UTC``) that means the same
    on every host: a business's hours must not move because a server's ``localtime`` did."""
    return name in _iana_timezones()


@frozen
class BusinessSettings:
    """Opening hours, off days, slot length, time zone, horizon and closed dates."""

    open_time: pendulum.Time = pendulum.Time(12, 0)
    close_time: pendulum.Time = pendulum.Time(17, 0)
    off_days: frozenset[int] = field(default=frozenset({7}), converter=_frozen_ints)
    slot_minutes: int = 60
    timezone: str = "UTC"
    horizon_days: int = 365
    closed_dates: frozenset[pendulum.Date] = field(factory=frozenset, converter=_frozen_dates)
    #: A caller may cancel (move) a booking only this many minutes or more before it starts.
    cancel_notice_minutes: int = 0
    reschedule_notice_minutes: int = 0
    unknown_services: str = ACCEPT_UNKNOWN

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidSettings` unless these settings describe at least one slot."""
        if self.open_time.second or self.close_time.second:
            raise InvalidSettings("opening and closing times must be whole minutes")
        if self.close_time <= self.open_time:
            raise InvalidSettings("closing time must be after opening time")
        if not 1 <= self.slot_minutes <= _MINUTES_PER_DAY:
            raise InvalidSettings("slot length must be between 1 and 1440 minutes")
        if self.slot_minutes > self.working_minutes:
            raise InvalidSettings("slot length must fit between opening and closing time")
        if not self.off_days <= set(WEEKDAY_NAMES.values()):
            raise InvalidSettings("off days must be ISO weekday numbers 1-7")
        if len(self.off_days) == len(WEEKDAY_NAMES):
            raise InvalidSettings("at least one weekday must be a working day")
        if not 0 <= self.horizon_days <= _MAX_HORIZON_DAYS:
            raise InvalidSettings(f"horizon must be between 0 and {_MAX_HORIZON_DAYS} days")
        if not is_iana_timezone(self.timezone):
            raise InvalidSettings(f"unknown time zone {self.timezone!r}")
        for name in ("cancel_notice_minutes", "reschedule_notice_minutes"):
            if not 0 <= getattr(self, name) <= MAX_NOTICE_MINUTES:
                what = name.removesuffix("_minutes").replace("_", " ")
                raise InvalidSettings(f"{what} must be between 0 and {MAX_NOTICE_MINUTES} minutes")
        if self.unknown_services not in UNKNOWN_SERVICES_CHOICES:
            raise InvalidSettings("unknown_services must be 'accept' or 'reject'")

    @property
    def working_minutes(self) -> int:
        return _minute_of_day(self.close_time) - _minute_of_day(self.open_time)

    @cached_property
    def tz(self) -> pendulum.Timezone | pendulum.FixedTimezone:
        return pendulum.timezone(self.timezone)

    def slot_times(self) -> tuple[pendulum.Time, ...]:
        """Local start times of every slot of a working day, in order."""
        return self._slot_times

    @cached_property
    def _slot_times(self) -> tuple[pendulum.Time, ...]:
        # Built once per settings value: with 1-minute slots a day has up to 1440 of them.
        start = _minute_of_day(self.open_time)
        count = self.working_minutes // self.slot_minutes
        return tuple(
            pendulum.Time(*divmod(start + index * self.slot_minutes, 60)) for index in range(count)
        )

    def is_slot_start(self, time: pendulum.Time) -> bool:
        """Whether ``time`` is one of :meth:`slot_times`, by arithmetic rather than a search."""
        if time.second or time.microsecond:
            return False
        offset = _minute_of_day(time) - _minute_of_day(self.open_time)
        return (
            offset >= 0
            and offset % self.slot_minutes == 0
            and offset // self.slot_minutes < self.working_minutes // self.slot_minutes
        )

    def off_day_names(self) -> list[str]:
        names = {number: name for name, number in WEEKDAY_NAMES.items()}
        return [names[number] for number in sorted(self.off_days)]


def _minute_of_day(time: pendulum.Time) -> int:
    return time.hour * 60 + time.minute


def parse_off_days(text: str) -> frozenset[int]:
    """Parse ``"sun,sat"`` (or ``"none"``) into ISO weekday numbers."""
    value = text.strip().lower()
    if value in {"", "none"}:
        return frozenset()
    days: set[int] = set()
    for part in value.split(","):
        name = part.strip()
        number = WEEKDAY_NAMES.get(name) or _FULL_WEEKDAY_NAMES.get(name)
        if number is None:
            raise InvalidSettings(f"unknown weekday {name!r} (use mon,tue,...,sun)")
        days.add(number)
    return frozenset(days)


def parse_closed_dates(text: str) -> frozenset[pendulum.Date]:
    """Parse ``"2026-12-25,2027-01-01"`` (or ``"none"``) into dates."""
    value = text.strip().lower()
    if value in {"", "none"}:
        return frozenset()
    dates: set[pendulum.Date] = set()
    for part in value.split(","):
        text = part.strip()
        match = _ISO_DATE.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)  # noqa: TRY301 - one message for both failures
            day = pendulum.Date(*map(int, match.groups()))
        except ValueError:
            raise InvalidSettings(f"closed date {text!r} is not YYYY-MM-DD") from None
        try:
            dates.add(check_supported_date(day))
        except InvalidDate:
            raise InvalidSettings(
                f"closed date {text!r} is not from {FIRST_DATE.isoformat()} "
                f"to {LAST_DATE.isoformat()}"
            ) from None
    return frozenset(dates)

"""Parsing of the date and time formats agents send.

Agents send whatever their telephony or CRM system produces, so several formats are accepted
(``DESIGN.md``). Ambiguity is resolved deterministically: a day/month pair that could be either
is read in the configured :class:`DateOrder`; a pair where one number exceeds 12 can only be read
one way and is read that way.

Dates are accepted from :data:`FIRST_DATE` to :data:`LAST_DATE`: a year short of each end of the
calendar Python can represent (years 1 to 9999). Everything the service derives from a date stays
inside that margin (the day's slots in any time zone and their UTC instants, the next day, a
31-day range, the 14 days searched for alternatives), so a date near the calendar's end is
refused here, with a message, rather than overflowing later.
"""

from __future__ import annotations

import enum
import re

import pendulum

from agent_booking.core.errors import InvalidDate, InvalidTime

__all__ = [
    "FIRST_DATE",
    "LAST_DATE",
    "DateOrder",
    "check_supported_date",
    "parse_date",
    "parse_time",
]

#: The first and last dates the service accepts (see the module docstring).
FIRST_DATE = pendulum.Date(2, 1, 1)
LAST_DATE = pendulum.Date(9998, 12, 31)


class DateOrder(enum.Enum):
    """How to read an ambiguous ``NN/NN/YYYY`` date."""

    DMY = "DMY"
    MDY = "MDY"


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_LOCAL_DATE = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})")
_TIME_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_12 = re.compile(r"([0-9]{1,2}):([0-9]{2}) ?([AaPp][Mm])")

_OUT_OF_RANGE = (
    f"Invalid date format: dates from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()} "
    "are accepted"
)
_MONTHS_IN_YEAR = 12
_HOURS_ON_A_12_HOUR_CLOCK = 12


def parse_date(text: str, order: DateOrder = DateOrder.DMY) -> pendulum.Date:
    """Parse one of the accepted date formats; raise :class:`InvalidDate` otherwise."""
    value = text.strip()
    if match := _ISO_DATE.fullmatch(value):
        year, month, day = (int(group) for group in match.groups())
        return _make_date(year, month, day)
    if match := _LOCAL_DATE.fullmatch(value):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        if first > _MONTHS_IN_YEAR >= second:
            return _make_date(year, second, first)
        if second > _MONTHS_IN_YEAR >= first:
            return _make_date(year, first, second)
        if order is DateOrder.DMY:
            return _make_date(year, second, first)
        return _make_date(year, first, second)
    raise InvalidDate


def check_supported_date(day: pendulum.Date) -> pendulum.Date:
    """``day`` if it lies from :data:`FIRST_DATE` to :data:`LAST_DATE`; else raise
    :class:`InvalidDate` saying so."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidDate(_OUT_OF_RANGE)
    return day


def parse_time(text: str) -> pendulum.Time:
    """Parse one of the accepted time formats; raise :class:`InvalidTime` otherwise."""
    value = text.strip()
    if match := _TIME_24.fullmatch(value):
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        return _make_time(hour, minute, second)
    if match := _TIME_12.fullmatch(value):
        hour, minute = int(match[1]), int(match[2])
        if not 1 <= hour <= _HOURS_ON_A_12_HOUR_CLOCK:
            raise InvalidTime
        is_pm = match[3].lower() == "pm"
        hour = hour % _HOURS_ON_A_12_HOUR_CLOCK + (_HOURS_ON_A_12_HOUR_CLOCK if is_pm else 0)
        return _make_time(hour, minute, 0)
    raise InvalidTime


def _make_date(year: int, month: int, day: int) -> pendulum.Date:
    try:
        date = pendulum.Date(year, month, day)
    except ValueError:
        raise InvalidDate from None
    return check_supported_date(date)


def _make_time(hour: int, minute: int, second: int) -> pendulum.Time:
    try:
        return pendulum.Time(hour, minute, second)
    except ValueError:
        raise InvalidTime from None

"""Parsing of the date and time formats agents send.

Agents send whatever their telephony or CRM system produces, so several formats are accepted
(``DESIGN.md``). Ambiguity is resolved deterministically: a day/month pair that could be either
is read in the configured :class:`DateOrder`; a pair where one number exceeds 12 can only be read
one way and is read that way.
"""

from __future__ import annotations

import enum
import re

import pendulum

from agent_booking.core.errors import InvalidDate, InvalidTime

__all__ = ["DateOrder", "parse_date", "parse_time"]


class DateOrder(enum.Enum):
    """How to read an ambiguous ``NN/NN/YYYY`` date."""

    DMY = "DMY"
    MDY = "MDY"


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_LOCAL_DATE = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})")
_TIME_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_12 = re.compile(r"([0-9]{1,2}):([0-9]{2}) ?([AaPp][Mm])")

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
        return pendulum.Date(year, month, day)
    except ValueError:
        raise InvalidDate from None


def _make_time(hour: int, minute: int, second: int) -> pendulum.Time:
    try:
        return pendulum.Time(hour, minute, second)
    except ValueError:
        raise InvalidTime from None

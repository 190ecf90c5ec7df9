"""DESIGN.md's slot rules, written again independently of ``agent_booking.core.policy``.

Property tests compare the core against this statement of the rules. It uses only the standard
library (``zoneinfo``), so a mistake in how the core uses pendulum cannot hide in both.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from agent_booking.core import (
    BeyondHorizon,
    BookingError,
    BookingInPast,
    BookingPolicyViolation,
    BusinessSettings,
    ClosedDate,
    NotASlotStart,
    OffDay,
    OutsideWorkingHours,
)

__all__ = ["UNDECIDED", "Verdict", "instants_of", "is_bookable", "verdict"]

UTC = datetime.UTC

#: The rules allow more than one outcome (an ambiguous wall time around a clock change).
UNDECIDED = "undecided"
#: ``None`` (bookable), the error the first broken rule raises, or :data:`UNDECIDED`.
Verdict = type[BookingError] | None | str


def instants_of(
    settings: BusinessSettings, day: datetime.date, time: datetime.time
) -> set[datetime.datetime]:
    """The UTC instants at which the wall clock reads ``day time`` in the business zone.

    Empty when the clocks skip that time, two instants when they repeat it.
    """
    zone = ZoneInfo(settings.timezone)
    wall = datetime.datetime(
        day.year, day.month, day.day, time.hour, time.minute, time.second, tzinfo=zone
    )
    instants = set()
    for fold in (0, 1):
        instant = wall.replace(fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
            instants.add(instant)
    return instants


def _minutes(time: datetime.time) -> int:
    return time.hour * 60 + time.minute


def _is_slot_start(settings: BusinessSettings, time: datetime.time) -> bool:
    offset = _minutes(time) - _minutes(settings.open_time)
    return (
        time.second == 0
        and offset % settings.slot_minutes == 0
        and offset + settings.slot_minutes
        <= _minutes(settings.close_time) - _minutes(settings.open_time)
    )


def _day_verdict(settings: BusinessSettings, day: datetime.date, now: datetime.datetime) -> Verdict:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    if day.toordinal() - today.toordinal() > settings.horizon_days:
        return BeyondHorizon
    if day.isoweekday() in settings.off_days:
        return OffDay
    if datetime.date(day.year, day.month, day.day) in settings.closed_dates:
        return ClosedDate
    return None


def verdict(
    settings: BusinessSettings,
    day: datetime.date,
    time: datetime.time,
    now: datetime.datetime,
) -> Verdict:
    """What the policy must answer, in DESIGN.md's check order (first failure wins)."""
    instants = instants_of(settings, day, time)
    if not instants:
        return BookingPolicyViolation  # a time the clocks skip: refused by some rule
    if all(instant <= now for instant in instants):
        return BookingInPast
    if any(instant <= now for instant in instants):
        return UNDECIDED
    if broken := _day_verdict(settings, day, now):
        return broken
    if not settings.open_time <= time < settings.close_time:
        return OutsideWorkingHours
    if not _is_slot_start(settings, time):
        return NotASlotStart
    return None


def is_bookable(
    settings: BusinessSettings,
    day: datetime.date,
    time: datetime.time,
    starts_at: datetime.datetime,
    now: datetime.datetime,
) -> bool:
    """Whether a stored booking obeys every rule: the property every accepted booking has."""
    local = starts_at.astimezone(ZoneInfo(settings.timezone))
    return (
        (local.date(), local.time()) == (day, time)
        and starts_at > now
        and _day_verdict(settings, day, now) is None
        and settings.open_time <= time < settings.close_time
        and _is_slot_start(settings, time)
    )

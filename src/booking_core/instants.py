"""Instants on the booking path: to UTC, to the business zone, and wall-clock ones built.

pendulum makes time zones safe, but its conversions are not cheap (several microseconds each,
on the hot path of every booking), and most instants here are in UTC already, as is the default
business time zone. These helpers skip the work when there is nothing to convert; the answers
are the ones pendulum gives (the unit tests compare them).
"""

from __future__ import annotations

import pendulum

__all__ = ["as_utc", "in_zone", "local_datetime"]

_UTC = pendulum.UTC


def as_utc(instant: pendulum.DateTime) -> pendulum.DateTime:
    """``instant.in_timezone("UTC")``, without converting what is in UTC already."""
    return instant if instant.tzinfo is _UTC else instant.in_timezone(_UTC)


def in_zone(
    instant: pendulum.DateTime, zone: pendulum.Timezone | pendulum.FixedTimezone
) -> pendulum.DateTime:
    """``instant.in_timezone(zone)``, without converting what is in that zone already."""
    return instant if instant.tzinfo is zone else instant.in_timezone(zone)


def local_datetime(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    zone: pendulum.Timezone | pendulum.FixedTimezone,
) -> pendulum.DateTime:
    """``pendulum.datetime(..., tz=zone)``: a wall-clock time in ``zone``, normalised by
    pendulum where the zone has clock changes. UTC has none, so it is built directly."""
    if zone is _UTC:
        # fold=1 as pendulum.datetime sets it (its default rule); in UTC it changes nothing.
        return pendulum.DateTime(year, month, day, hour, minute, second, tzinfo=_UTC, fold=1)
    return pendulum.datetime(year, month, day, hour, minute, second, tz=zone)

"""pendulum ⇄ stdlib conversions at the storage edge.

Drivers want plain ``datetime`` values; the core wants pendulum ones. Instants are stored in UTC
(SQLite keeps no offset, so a naive value read back is UTC by construction).
"""

from __future__ import annotations

import datetime as dt

import pendulum

from agent_booking.core.instants import as_utc

__all__ = ["date_from_db", "date_to_db", "instant_from_db", "instant_to_db", "time_from_db"]


_NO_OFFSET = dt.timedelta(0)


def instant_to_db(instant: pendulum.DateTime) -> dt.datetime:
    utc = as_utc(instant)
    return dt.datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, dt.UTC
    )


def instant_from_db(value: dt.datetime) -> pendulum.DateTime:
    if value.tzinfo is None or value.utcoffset() == _NO_OFFSET:
        # Already UTC (SQLite stores no offset): build the value directly, ten times cheaper
        # than converting it.
        return pendulum.DateTime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=pendulum.UTC,
        )
    return pendulum.instance(value).in_timezone("UTC")


def date_to_db(value: dt.date) -> dt.date:
    return dt.date(value.year, value.month, value.day)


def date_from_db(value: dt.date) -> pendulum.Date:
    return pendulum.Date(value.year, value.month, value.day)


def time_to_db(value: dt.time) -> dt.time:
    return dt.time(value.hour, value.minute, value.second)


def time_from_db(value: dt.time) -> pendulum.Time:
    return pendulum.Time(value.hour, value.minute, value.second)

"""SQLite values are written in exactly the text SQLAlchemy's SQLite types write, and read back
as SQLAlchemy reads them: databases written before keep working, and SQLAlchemy reads (the
admin listings, backups) see what the writer stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, Time
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

from agent_booking.adapters.sql.sqlite_statements import (
    date_from_text,
    date_text,
    instant_from_text,
    instant_text,
    time_from_text,
    time_text,
)

DIALECT = sqlite.dialect()


def sqlalchemy_text(type_: TypeEngine[Any], value: Any) -> str:
    process = type_.dialect_impl(DIALECT).bind_processor(DIALECT)
    assert process is not None
    return str(process(value))


def sqlalchemy_value(type_: TypeEngine[Any], text: str) -> Any:
    process = type_.dialect_impl(DIALECT).result_processor(DIALECT, None)
    assert process is not None
    return process(text)


instants = st.datetimes(
    min_value=dt.datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=dt.datetime(9998, 12, 30),  # noqa: DTZ001 - hypothesis bounds are naive
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
).map(pendulum.instance)


class TestSameTextAsSqlalchemy:
    @given(instants)
    def test_instants(self, value: pendulum.DateTime) -> None:
        utc = value.astimezone(dt.UTC)  # instants are stored in UTC, as before
        assert instant_text(value) == sqlalchemy_text(DateTime(timezone=True), utc)

    @given(st.dates())
    def test_dates(self, value: dt.date) -> None:
        assert date_text(value) == sqlalchemy_text(Date(), value)

    @given(st.times())
    def test_times_to_the_second(self, value: dt.time) -> None:
        whole = value.replace(microsecond=0)  # the service keeps times of day to the second
        assert time_text(value) == sqlalchemy_text(Time(), whole)


class TestReadBackAsSqlalchemyReadsIt:
    @given(instants)
    def test_instants(self, value: pendulum.DateTime) -> None:
        text = instant_text(value)
        read = instant_from_text(text)
        assert read == value
        assert read.replace(tzinfo=None) == sqlalchemy_value(DateTime(timezone=True), text)

    @given(st.dates())
    def test_dates(self, value: dt.date) -> None:
        text = date_text(value)
        assert date_from_text(text) == value == sqlalchemy_value(Date(), text)

    @given(st.times())
    def test_times(self, value: dt.time) -> None:
        text = time_text(value)
        assert time_from_text(text) == value.replace(microsecond=0)
        assert sqlalchemy_value(Time(), text) == value.replace(microsecond=0)

    def test_text_written_without_microseconds_is_read_too(self) -> None:
        assert instant_from_text("2026-12-03 09:00:00") == pendulum.datetime(2026, 12, 3, 9)

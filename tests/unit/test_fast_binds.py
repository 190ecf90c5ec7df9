"""The fast path's SQLite date and time binds store exactly the text SQLAlchemy's would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Date, DateTime, Integer, String, Time
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

from adapters.sql.compiled import bind_processor

DIALECT = sqlite.dialect()


def both(type_: TypeEngine[Any]) -> tuple[Any, Any]:
    fast = bind_processor(type_, DIALECT)
    general = type_.dialect_impl(DIALECT).bind_processor(DIALECT)
    assert fast is not None
    assert general is not None
    return fast, general


aware = st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5))]))


class TestSameTextAsSqlalchemy:
    @given(st.datetimes() | aware)
    def test_datetimes(self, value: dt.datetime) -> None:
        fast, general = both(DateTime(timezone=True))
        assert fast(value) == general(value)

    @given(st.dates())
    def test_dates(self, value: dt.date) -> None:
        fast, general = both(Date())
        assert fast(value) == general(value)

    @given(st.times())
    def test_times(self, value: dt.time) -> None:
        fast, general = both(Time())
        assert fast(value) == general(value)

    @pytest.mark.parametrize(
        ("type_", "value"),
        [
            (DateTime(), None),
            (DateTime(), dt.date(2027, 10, 20)),  # a date stored in a datetime column
            (DateTime(), pendulum.datetime(2027, 10, 20, 14, tz="Europe/London")),
            (Date(), pendulum.date(2027, 10, 20)),
            (Date(), None),
            (Time(), pendulum.time(14, 0, 5)),
        ],
        ids=["none", "date-in-datetime", "pendulum-datetime", "pendulum-date", "none-date", "pt"],
    )
    def test_other_values_go_to_sqlalchemys_own(self, type_: TypeEngine[Any], value: Any) -> None:
        fast, general = both(type_)
        assert fast(value) == general(value)

    def test_a_wrong_type_is_refused_as_sqlalchemy_refuses_it(self) -> None:
        fast, general = both(DateTime())
        with pytest.raises(TypeError):
            general("2027-10-20")
        with pytest.raises(TypeError):
            fast("2027-10-20")


class TestOnlyWhereItIsTheSame:
    def test_a_custom_storage_format_keeps_sqlalchemys_processor(self) -> None:
        custom = sqlite.DATETIME(
            storage_format="%(year)04d/%(month)02d/%(day)02d %(hour)02d:%(minute)02d",
            regexp=r"(\d+)/(\d+)/(\d+) (\d+):(\d+)",
        )
        value = dt.datetime(2027, 10, 20, 14, 30)  # noqa: DTZ001 - SQLite stores naive values
        assert bind_processor(custom, DIALECT)(value) == "2027/10/20 14:30"  # type: ignore[misc]

    @pytest.mark.parametrize("type_", [Integer(), String(10)])
    def test_types_without_a_processor_still_have_none(self, type_: TypeEngine[Any]) -> None:
        assert bind_processor(type_, DIALECT) is None

    @pytest.mark.parametrize("value", [True, False, None])
    def test_other_processors_are_sqlalchemys(self, value: bool | None) -> None:
        fast = bind_processor(Boolean(), DIALECT)
        general = Boolean().dialect_impl(DIALECT).bind_processor(DIALECT)
        assert fast is not None
        assert general is not None
        assert fast.__qualname__ == general.__qualname__
        assert fast(value) == general(value)

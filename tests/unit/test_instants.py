"""The booking path's instant helpers give pendulum's own answers, in every zone."""

from __future__ import annotations

import datetime as dt

import pendulum
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.core.events import format_instant
from agent_booking.core.instants import as_utc, in_zone, local_datetime

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]

#: Naive wall-clock values (hypothesis wants naive bounds); each test says which zone they are in.
wall_clock = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
)
zones = st.sampled_from(ZONES).map(pendulum.timezone)


def instant_in(
    moment: dt.datetime, zone: pendulum.Timezone | pendulum.FixedTimezone
) -> pendulum.DateTime:
    return pendulum.instance(moment.replace(tzinfo=dt.UTC)).in_timezone(zone)


class TestLocalDatetime:
    @given(wall_clock, zones)
    def test_is_pendulums_wall_clock_time_in_the_zone(
        self, moment: dt.datetime, zone: pendulum.Timezone
    ) -> None:
        fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
        built = local_datetime(*fields, zone)
        expected = pendulum.datetime(*fields, tz=zone)
        assert built == expected
        assert built.utcoffset() == expected.utcoffset()
        assert (built.tzinfo, built.fold) == (expected.tzinfo, expected.fold)

    def test_a_time_skipped_by_a_clock_change_moves_as_pendulum_moves_it(self) -> None:
        london = pendulum.timezone("Europe/London")
        assert local_datetime(2027, 3, 28, 1, 30, 0, london).hour == 2


class TestConversions:
    @given(wall_clock, zones)
    def test_as_utc_is_in_timezone_utc(self, moment: dt.datetime, zone: pendulum.Timezone) -> None:
        instant = instant_in(moment, zone)
        converted = as_utc(instant)
        assert converted == instant.in_timezone("UTC")
        assert converted.tzinfo is pendulum.UTC

    @given(wall_clock, zones, zones)
    def test_in_zone_is_in_timezone(
        self, moment: dt.datetime, source: pendulum.Timezone, target: pendulum.Timezone
    ) -> None:
        instant = instant_in(moment, source)
        converted = in_zone(instant, target)
        expected = instant.in_timezone(target)
        assert converted == expected
        assert (converted.date(), converted.time()) == (expected.date(), expected.time())
        assert converted.tzinfo is target

    @given(wall_clock, zones)
    def test_format_instant_is_the_utc_strftime(
        self, moment: dt.datetime, zone: pendulum.Timezone
    ) -> None:
        instant = instant_in(moment, zone)
        expected = instant.in_timezone("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        assert format_instant(instant) == expected

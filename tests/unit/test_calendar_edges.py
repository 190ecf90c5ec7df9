"""Dates near the ends of the calendar (issue 13, #7: ``?date=9999-12-31`` was a 500).

The service accepts dates from ``FIRST_DATE`` to ``LAST_DATE`` (a year short of each end of the
calendar Python can represent) and refuses any other with ``invalid_date``, wherever a date
comes in. Inside that range nothing it derives from a date may overflow, whatever the time zone,
opening hours and clock: availability, create, and the alternatives offered on a refusal.
"""

from __future__ import annotations

import contextlib
import datetime

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BookingError, BusinessSettings, InvalidDate, InvalidSettings
from agent_booking.core.check_availability import (
    MAX_AVAILABILITY_DAYS,
    MAX_AVAILABILITY_SLOTS,
    AvailabilityQuery,
    CheckAvailability,
)
from agent_booking.core.parsing import FIRST_DATE, LAST_DATE, parse_date
from agent_booking.core.request import BookingRequest
from agent_booking.core.settings import parse_closed_dates
from tests.unit.builders import basic_body
from tests.unit.driving import CreateFromBody
from tests.unit.strategies import TIME_ZONES

#: The zones furthest from UTC on either side, besides the usual ones.
_EDGE_ZONES = (*TIME_ZONES, "Etc/GMT+12", "Etc/GMT-14", "Pacific/Pago_Pago")
_OUTSIDE = ["9999-12-31", "31/12/9999", "12-31-9999", "9999-01-01", "0001-01-01", "01/01/0001"]


class TestDatesOutsideTheCalendarAreRefused:
    @pytest.mark.parametrize("text", _OUTSIDE)
    def test_when_parsed(self, text: str) -> None:
        with pytest.raises(InvalidDate, match="from 0002-01-01 to 9998-12-31"):
            parse_date(text)

    def test_the_first_and_last_supported_dates_are_accepted(self) -> None:
        assert parse_date("0002-01-01") == FIRST_DATE
        assert parse_date("31/12/9998") == LAST_DATE

    @pytest.mark.parametrize("day", [pendulum.Date(9999, 12, 31), pendulum.Date(1, 1, 1)], ids=str)
    def test_when_given_as_typed_values(self, day: pendulum.Date) -> None:
        with pytest.raises(InvalidDate):
            AvailabilityQuery(day, day)
        request = BookingRequest.from_mapping(basic_body(booking_date="2027-01-04"))
        with pytest.raises(InvalidDate):
            BookingRequest(request.customer, request.service_name, day, request.booking_time)

    @pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01"])
    def test_as_closed_dates(self, text: str) -> None:
        with pytest.raises(InvalidSettings, match="0002-01-01 to 9998-12-31"):
            parse_closed_dates(f"2027-12-25,{text}")


_opening_minutes = st.integers(0, 23 * 60)


@st.composite
def _edge_settings(draw: st.DrawFn) -> BusinessSettings:
    opens = draw(_opening_minutes)
    closes = draw(st.integers(opens + 1, 23 * 60 + 59))
    return BusinessSettings(
        open_time=pendulum.Time(*divmod(opens, 60)),
        close_time=pendulum.Time(*divmod(closes, 60)),
        off_days=frozenset(),
        slot_minutes=draw(st.integers(1, closes - opens)),
        timezone=draw(st.sampled_from(_EDGE_ZONES)),
        horizon_days=3660,
    )


class TestNothingOverflowsInsideTheCalendar:
    """The clock stands just before the last (or on the first) supported days, so that those
    days pass the past and horizon checks and every later step runs."""

    @given(
        settings=_edge_settings(),
        edge=st.sampled_from(["first", "last"]),
        wall_time=st.builds(pendulum.Time, st.integers(0, 23), st.sampled_from([0, 1, 59])),
    )
    async def test_availability_create_and_alternatives(
        self, settings: BusinessSettings, edge: str, wall_time: pendulum.Time
    ) -> None:
        # The longest range these settings allow: 31 days, or fewer with many slots a day.
        span = min(MAX_AVAILABILITY_DAYS, MAX_AVAILABILITY_SLOTS // len(settings.slot_times())) - 1
        if edge == "last":
            now = pendulum.datetime(LAST_DATE.year, 12, 29)
            first, last = LAST_DATE.subtract(days=span), LAST_DATE
        else:
            now = pendulum.datetime(1, 12, 30)
            first, last = FIRST_DATE, FIRST_DATE.add(days=span)
        store, clock = InMemoryStore(settings), FixedClock(now)
        check = CheckAvailability(store.unit_of_work, clock)
        create = CreateFromBody(store.unit_of_work, clock, InMemoryNotifier())

        availability = await check(AvailabilityQuery(first, last))
        assert [day.day for day in availability.days][-1] == last

        for day in (first, last):
            body = basic_body(booking_date=day.isoformat(), booking_time=_text(wall_time))
            for _ in range(2):  # the second finds the slot taken, and looks for alternatives
                with contextlib.suppress(BookingError):
                    await create(body)


def _text(time: datetime.time) -> str:
    return f"{time.hour:02d}:{time.minute:02d}"

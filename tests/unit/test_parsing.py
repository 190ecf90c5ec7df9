"""Reading the date and time formats agents send (agent_booking.core.parsing)."""

from __future__ import annotations

import datetime

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.core import DateOrder, InvalidDate, InvalidTime, parse_date, parse_time
from tests.unit.strategies import (
    DATE_FORMATS,
    DAY_FIRST_FORMATS,
    MONTH_FIRST_FORMATS,
    format_date,
    four_digit_year_dates,
    time_texts,
    times_of_day,
)


class TestParseDate:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2025-10-20", pendulum.Date(2025, 10, 20)),
            ("20/10/2025", pendulum.Date(2025, 10, 20)),
            ("10/20/2025", pendulum.Date(2025, 10, 20)),
            ("20-10-2025", pendulum.Date(2025, 10, 20)),
            ("10-20-2025", pendulum.Date(2025, 10, 20)),
            ("2027-6-5", pendulum.Date(2027, 6, 5)),
            ("5/6/2027", pendulum.Date(2027, 6, 5)),
            ("  2025-10-20 ", pendulum.Date(2025, 10, 20)),
        ],
    )
    def test_reads_every_accepted_format(self, text: str, expected: pendulum.Date) -> None:
        assert parse_date(text) == expected

    def test_reads_an_ambiguous_date_day_first_by_default(self) -> None:
        assert parse_date("05/06/2027") == pendulum.Date(2027, 6, 5)
        assert parse_date("05-06-2027") == pendulum.Date(2027, 6, 5)

    def test_reads_an_ambiguous_date_month_first_when_configured(self) -> None:
        assert parse_date("05/06/2027", DateOrder.MDY) == pendulum.Date(2027, 5, 6)
        assert parse_date("05-06-2027", DateOrder.MDY) == pendulum.Date(2027, 5, 6)

    @pytest.mark.parametrize("order", list(DateOrder))
    @pytest.mark.parametrize("text", ["10/20/2025", "20/10/2025", "10-20-2025", "20-10-2025"])
    def test_reads_an_unambiguous_date_the_only_possible_way_in_either_order(
        self, text: str, order: DateOrder
    ) -> None:
        assert parse_date(text, order) == pendulum.Date(2025, 10, 20)

    def test_iso_dates_ignore_the_configured_order(self) -> None:
        assert parse_date("2027-05-06", DateOrder.MDY) == pendulum.Date(2027, 5, 6)
        assert parse_date("2027-05-06", DateOrder.DMY) == pendulum.Date(2027, 5, 6)

    @pytest.mark.parametrize(
        "text",
        [
            "31/02/2027",
            "2027-13-01",
            "29/02/2027",
            "2027-02-29",
            "00/01/2027",
            "2027-00-10",
            "13/13/2027",
            "31-04-2027",
            "0000-01-01",
        ],
    )
    def test_rejects_impossible_dates(self, text: str) -> None:
        with pytest.raises(InvalidDate, match="Invalid date format"):
            parse_date(text)

    def test_accepts_the_29th_of_february_in_a_leap_year(self) -> None:
        assert parse_date("29/02/2028") == pendulum.Date(2028, 2, 29)

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "   ",
            "tomorrow",
            "2027/05/06",
            "20/10-2025",
            "20.10.2025",
            "20/10/25",
            "2025-10-20T14:00",
            "20251020",
            "\u0662\u0660\u0662\u0665-\u0661\u0660-\u0662\u0660",  # Arabic-Indic digits
            "\uff12\uff10\uff12\uff15-\uff11\uff10-\uff12\uff10",  # fullwidth digits
        ],
    )
    def test_rejects_unsupported_formats(self, text: str) -> None:
        with pytest.raises(InvalidDate):
            parse_date(text)


class TestParseTime:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("14:00", pendulum.Time(14, 0)),
            ("09:05", pendulum.Time(9, 5)),
            ("9:05", pendulum.Time(9, 5)),
            ("2:00 PM", pendulum.Time(14, 0)),
            ("2:00PM", pendulum.Time(14, 0)),
            ("2:00 pm", pendulum.Time(14, 0)),
            ("2:00pM", pendulum.Time(14, 0)),
            ("02:30 am", pendulum.Time(2, 30)),
            ("11:59PM", pendulum.Time(23, 59)),
            ("14:00:00", pendulum.Time(14, 0)),
            ("14:00:30", pendulum.Time(14, 0, 30)),
            ("00:00", pendulum.Time(0, 0)),
            (" 14:00 ", pendulum.Time(14, 0)),
        ],
    )
    def test_reads_every_accepted_format(self, text: str, expected: pendulum.Time) -> None:
        assert parse_time(text) == expected

    def test_reads_12_am_as_midnight(self) -> None:
        assert parse_time("12:00 AM") == pendulum.Time(0, 0)

    def test_reads_12_30_pm_as_half_past_noon(self) -> None:
        assert parse_time("12:30 PM") == pendulum.Time(12, 30)

    @pytest.mark.parametrize(
        "text",
        [
            "13:00 PM",
            "24:00",
            "9",
            "0:00 AM",
            "12:60",
            "",
            "   ",
            "14:00:60",
            "14:5",
            "14.00",
            "2 PM",
            "2:00 P.M.",
            "2:00:00 PM",
            "14:00:00.5",
            "\u0661\u0664:\u0660\u0660",  # Arabic-Indic digits
            "\uff11\uff14:\uff10\uff10",  # fullwidth digits
            "14\uff1a00",  # fullwidth colon
        ],
    )
    def test_rejects_invalid_times(self, text: str) -> None:
        with pytest.raises(InvalidTime, match="Invalid time format"):
            parse_time(text)


class TestParsingRoundTrips:
    @given(day=four_digit_year_dates(), padded=st.booleans())
    def test_an_iso_date_reads_back_in_either_order(self, day: datetime.date, padded: bool) -> None:
        text = format_date(day, "YYYY-MM-DD", padded=padded)
        assert parse_date(text, DateOrder.DMY) == day
        assert parse_date(text, DateOrder.MDY) == day

    @given(
        day=four_digit_year_dates(),
        format_name=st.sampled_from(sorted(DAY_FIRST_FORMATS)),
        padded=st.booleans(),
    )
    def test_a_day_first_date_reads_back_day_first(
        self, day: datetime.date, format_name: str, padded: bool
    ) -> None:
        assert parse_date(format_date(day, format_name, padded=padded), DateOrder.DMY) == day

    @given(
        day=four_digit_year_dates(),
        format_name=st.sampled_from(sorted(MONTH_FIRST_FORMATS)),
        padded=st.booleans(),
    )
    def test_a_month_first_date_reads_back_month_first(
        self, day: datetime.date, format_name: str, padded: bool
    ) -> None:
        assert parse_date(format_date(day, format_name, padded=padded), DateOrder.MDY) == day

    @given(
        day=four_digit_year_dates().filter(lambda day: day.day > 12),
        format_name=st.sampled_from(sorted(DATE_FORMATS)),
        order=st.sampled_from(DateOrder),
    )
    def test_a_date_after_the_12th_reads_back_in_any_format_and_order(
        self, day: datetime.date, format_name: str, order: DateOrder
    ) -> None:
        assert parse_date(format_date(day, format_name), order) == day

    @given(
        day=four_digit_year_dates().filter(lambda day: day.day <= 12),
        day_first=st.booleans(),
        separator=st.sampled_from("/-"),
    )
    def test_an_ambiguous_date_in_the_other_order_reads_with_day_and_month_swapped(
        self, day: datetime.date, day_first: bool, separator: str
    ) -> None:
        # Written day-first but read month-first (or the reverse): month and day trade places.
        format_name = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
        text = format_date(day, format_name.replace("/", separator))
        order = DateOrder.MDY if day_first else DateOrder.DMY
        assert parse_date(text, order) == datetime.date(day.year, day.day, day.month)

    @given(data=st.data(), time=times_of_day())
    def test_a_time_to_the_minute_reads_back_in_every_format(
        self, data: st.DataObject, time: pendulum.Time
    ) -> None:
        assert parse_time(data.draw(time_texts(time))) == time

    @given(time=times_of_day(seconds=True))
    def test_a_time_with_seconds_reads_back(self, time: pendulum.Time) -> None:
        assert parse_time(time.strftime("%H:%M:%S")) == time

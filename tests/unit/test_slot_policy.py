"""When a booking may start (agent_booking.core.policy.SlotPolicy).

Rules are checked in DESIGN.md's order, first failure wins: not in the past, within the horizon,
off day / closed date, within working hours, on a slot boundary.
"""

from __future__ import annotations

import datetime

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_booking.core import (
    BeyondHorizon,
    BookingInPast,
    BookingPolicyViolation,
    BusinessSettings,
    ClosedDate,
    NotASlotStart,
    OffDay,
    OutsideWorkingHours,
    SlotPolicy,
)
from tests.unit.builders import LAST_SUNDAY, NEXT_SUNDAY, NOW, TODAY, TOMORROW
from tests.unit.rules import UNDECIDED, instants_of, is_bookable, verdict
from tests.unit.strategies import booking_dates, business_settings, times_of_day

CHRISTMAS = pendulum.Date(2026, 12, 25)  # a Friday
DEFAULT = SlotPolicy(BusinessSettings())


def at(hour: int, minute: int = 0, second: int = 0) -> pendulum.Time:
    return pendulum.Time(hour, minute, second)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(year, month, day, hour, minute, tz="UTC")


class TestEachRule:
    def test_accepts_a_slot_start_on_a_working_day(self) -> None:
        assert DEFAULT.check(TOMORROW, at(14), NOW) == utc(2026, 11, 26, 14)

    @pytest.mark.parametrize("hour", [12, 13, 14, 15, 16])
    def test_accepts_every_default_slot(self, hour: int) -> None:
        assert DEFAULT.check(TOMORROW, at(hour), NOW) == utc(2026, 11, 26, hour)

    def test_accepts_a_later_slot_today(self) -> None:
        assert DEFAULT.check(TODAY, at(12), NOW) == utc(2026, 11, 25, 12)

    def test_rejects_a_slot_earlier_today(self) -> None:
        with pytest.raises(BookingInPast, match="Booking time is in the past"):
            DEFAULT.check(TODAY, at(14), utc(2026, 11, 25, 14, 30))

    def test_rejects_a_slot_starting_right_now(self) -> None:
        with pytest.raises(BookingInPast):
            DEFAULT.check(TODAY, at(14), utc(2026, 11, 25, 14))

    def test_rejects_a_past_day(self) -> None:
        with pytest.raises(BookingInPast):
            DEFAULT.check(pendulum.Date(2026, 11, 24), at(14), NOW)

    def test_accepts_the_last_day_of_the_horizon(self) -> None:
        last = TODAY.add(days=365)  # Thursday 2027-11-25
        assert DEFAULT.check(last, at(12), NOW) == utc(2027, 11, 25, 12)

    def test_rejects_the_day_after_the_horizon(self) -> None:
        with pytest.raises(BeyondHorizon, match="more than 365 days ahead"):
            DEFAULT.check(TODAY.add(days=366), at(12), NOW)

    def test_a_zero_day_horizon_allows_only_today(self) -> None:
        policy = SlotPolicy(BusinessSettings(horizon_days=0))
        assert policy.check(TODAY, at(16), NOW) == utc(2026, 11, 25, 16)
        with pytest.raises(BeyondHorizon):
            policy.check(TOMORROW, at(12), NOW)

    def test_rejects_sundays(self) -> None:
        with pytest.raises(OffDay, match="Booking not allowed on off days"):
            DEFAULT.check(NEXT_SUNDAY, at(14), NOW)

    def test_rejects_every_configured_off_day(self) -> None:
        policy = SlotPolicy(BusinessSettings(off_days={3, 4}))
        with pytest.raises(OffDay):
            policy.check(TOMORROW, at(14), NOW)
        assert policy.check(NEXT_SUNDAY, at(14), NOW) == utc(2026, 11, 29, 14)

    def test_rejects_a_closed_date(self) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={CHRISTMAS}))
        with pytest.raises(ClosedDate, match="Booking not allowed on closed dates"):
            policy.check(CHRISTMAS, at(14), NOW)

    @pytest.mark.parametrize(
        "time", [at(11), at(11, 59), at(17), at(18), at(0), at(23, 59), at(11, 59, 59)]
    )
    def test_rejects_a_time_outside_working_hours(self, time: pendulum.Time) -> None:
        with pytest.raises(OutsideWorkingHours, match="Booking time is outside working hours"):
            DEFAULT.check(TOMORROW, time, NOW)

    @pytest.mark.parametrize("time", [at(16, 30), at(12, 15), at(14, 0, 30), at(16, 59)])
    def test_rejects_a_time_between_slot_starts(self, time: pendulum.Time) -> None:
        with pytest.raises(NotASlotStart):
            DEFAULT.check(TOMORROW, time, NOW)

    def test_rejects_a_start_whose_slot_would_end_after_closing(self) -> None:
        policy = SlotPolicy(BusinessSettings(slot_minutes=90))
        assert policy.check(TOMORROW, at(13, 30), NOW) == utc(2026, 11, 26, 13, 30)
        with pytest.raises(NotASlotStart):
            policy.check(TOMORROW, at(16, 30), NOW)


class TestCheckOrder:
    def test_a_past_sunday_at_3am_is_in_the_past(self) -> None:
        with pytest.raises(BookingInPast):
            DEFAULT.check(LAST_SUNDAY, at(3), NOW)

    def test_a_sunday_beyond_the_horizon_at_3am_is_beyond_the_horizon(self) -> None:
        with pytest.raises(BeyondHorizon):
            DEFAULT.check(pendulum.Date(2027, 11, 28), at(3), NOW)

    def test_a_future_sunday_at_3am_is_an_off_day(self) -> None:
        with pytest.raises(OffDay):
            DEFAULT.check(NEXT_SUNDAY, at(3), NOW)

    def test_a_closed_date_at_3am_is_a_closed_date(self) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={CHRISTMAS}))
        with pytest.raises(ClosedDate):
            policy.check(CHRISTMAS, at(3, 17), NOW)

    def test_a_past_closed_date_is_in_the_past(self) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={pendulum.Date(2026, 11, 24)}))
        with pytest.raises(BookingInPast):
            policy.check(pendulum.Date(2026, 11, 24), at(14), NOW)

    def test_half_past_four_on_a_weekday_is_not_a_slot_start(self) -> None:
        with pytest.raises(NotASlotStart):
            DEFAULT.check(TOMORROW, at(16, 30), NOW)

    @pytest.mark.parametrize("time", [at(17), at(11), at(17, 30), at(11, 30)])
    def test_a_time_off_the_grid_outside_hours_is_outside_working_hours(
        self, time: pendulum.Time
    ) -> None:
        with pytest.raises(OutsideWorkingHours):
            DEFAULT.check(TOMORROW, time, NOW)


class TestBusinessTimeZone:
    def test_slots_are_in_local_time(self) -> None:
        policy = SlotPolicy(BusinessSettings(timezone="America/New_York"))
        start = policy.check(TOMORROW, at(14), NOW)
        assert start.timezone_name == "America/New_York"
        assert (start.hour, start.minute) == (14, 0)
        assert start.in_timezone("UTC") == utc(2026, 11, 26, 19)

    def test_local_slots_keep_their_wall_time_across_a_clock_change(self) -> None:
        policy = SlotPolicy(BusinessSettings(timezone="America/New_York"))
        before = policy.check(pendulum.Date(2027, 3, 12), at(12), NOW)  # Friday, EST
        after = policy.check(pendulum.Date(2027, 3, 15), at(12), NOW)  # Monday, EDT
        assert before.in_timezone("UTC") == utc(2027, 3, 12, 17)
        assert after.in_timezone("UTC") == utc(2027, 3, 15, 16)

    def test_the_past_is_judged_by_the_local_clock(self) -> None:
        # 10:00 UTC is already 19:00 in Tokyo: today's afternoon slots there are gone.
        policy = SlotPolicy(BusinessSettings(timezone="Asia/Tokyo"))
        with pytest.raises(BookingInPast):
            policy.check(TODAY, at(16), NOW)
        assert policy.check(TOMORROW, at(12), NOW) == utc(2026, 11, 26, 3)

    def test_the_horizon_counts_from_the_local_date(self) -> None:
        # 10:00 UTC on the 25th is already midnight on the 26th in Kiritimati (UTC+14).
        last = pendulum.Date(2027, 11, 26)  # a Friday
        local = SlotPolicy(BusinessSettings(timezone="Pacific/Kiritimati"))
        assert local.check(last, at(12), NOW).in_timezone("UTC") == utc(2027, 11, 25, 22)
        with pytest.raises(BeyondHorizon):
            DEFAULT.check(last, at(12), NOW)


class TestClockChanges:
    """Europe/London, open through the night so the policy meets the changes of clocks."""

    NIGHT = BusinessSettings(
        open_time=at(0), close_time=at(4), off_days=(), timezone="Europe/London"
    )
    SPRING_FORWARD = pendulum.Date(2027, 3, 28)  # 01:00 GMT becomes 02:00 BST
    FALL_BACK = pendulum.Date(2027, 10, 31)  # 02:00 BST becomes 01:00 GMT

    def test_rejects_a_time_the_clocks_skip(self) -> None:
        with pytest.raises(NotASlotStart, match="does not exist"):
            SlotPolicy(self.NIGHT).check(self.SPRING_FORWARD, at(1), NOW)

    def test_slots_around_the_skipped_hour_keep_their_wall_time(self) -> None:
        policy = SlotPolicy(self.NIGHT)
        assert policy.check(self.SPRING_FORWARD, at(0), NOW) == utc(2027, 3, 28, 0)
        assert policy.check(self.SPRING_FORWARD, at(2), NOW) == utc(2027, 3, 28, 1)
        assert policy.check(self.SPRING_FORWARD, at(3), NOW) == utc(2027, 3, 28, 2)

    def test_the_spring_forward_day_has_one_slot_fewer(self) -> None:
        starts = SlotPolicy(self.NIGHT).bookable_starts(self.SPRING_FORWARD, NOW)
        assert [start.in_timezone("UTC") for start in starts] == [
            utc(2027, 3, 28, 0),
            utc(2027, 3, 28, 1),
            utc(2027, 3, 28, 2),
        ]

    def test_the_repeated_hour_is_one_slot_at_one_of_its_instants(self) -> None:
        start = SlotPolicy(self.NIGHT).check(self.FALL_BACK, at(1), NOW)
        assert (start.hour, start.minute) == (1, 0)
        assert start.in_timezone("UTC") in {utc(2027, 10, 31, 0), utc(2027, 10, 31, 1)}

    def test_every_slot_of_the_fall_back_day_starts_at_a_distinct_instant(self) -> None:
        starts = SlotPolicy(self.NIGHT).bookable_starts(self.FALL_BACK, NOW)
        assert [(start.hour, start.minute) for start in starts] == [(0, 0), (1, 0), (2, 0), (3, 0)]
        assert len({start.in_timezone("UTC") for start in starts}) == 4


class TestBookableStarts:
    def test_lists_every_slot_of_a_future_working_day(self) -> None:
        assert DEFAULT.bookable_starts(TOMORROW, NOW) == [
            utc(2026, 11, 26, hour) for hour in (12, 13, 14, 15, 16)
        ]

    def test_leaves_out_the_slots_already_started_today(self) -> None:
        assert DEFAULT.bookable_starts(TODAY, utc(2026, 11, 25, 13, 30)) == [
            utc(2026, 11, 25, 14),
            utc(2026, 11, 25, 15),
            utc(2026, 11, 25, 16),
        ]

    @pytest.mark.parametrize(
        "day", [NEXT_SUNDAY, CHRISTMAS, LAST_SUNDAY, TODAY.add(days=366), TODAY.subtract(days=1)]
    )
    def test_lists_nothing_on_a_day_that_cannot_be_booked(self, day: pendulum.Date) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={CHRISTMAS}))
        assert policy.bookable_starts(day, NOW) == []

    def test_reports_why_a_whole_day_is_closed(self) -> None:
        policy = SlotPolicy(BusinessSettings(closed_dates={CHRISTMAS}))
        assert policy.day_closure(NEXT_SUNDAY) == "off_day"
        assert policy.day_closure(CHRISTMAS) == "closed_date"
        assert policy.day_closure(TOMORROW) is None


class TestSlotPolicyProperties:
    @settings(max_examples=300)
    @given(data=st.data(), settings_=business_settings(TODAY))
    def test_agrees_with_the_rules_for_any_settings_day_and_time(
        self, data: st.DataObject, settings_: BusinessSettings
    ) -> None:
        day = data.draw(booking_dates(TODAY), label="day")
        time = data.draw(
            st.one_of(st.sampled_from(settings_.slot_times()), times_of_day()), label="time"
        )
        expected = verdict(settings_, day, time, NOW)
        outcome = _check(SlotPolicy(settings_), day, time)
        if isinstance(outcome, BookingPolicyViolation):
            assert expected is not None, f"refused a bookable slot: {outcome!r}"
            if isinstance(expected, type):
                assert isinstance(outcome, expected)
        else:
            assert expected in (None, UNDECIDED), f"accepted, but the rules say {expected}"
            assert is_bookable(settings_, day, time, _stdlib(outcome), NOW)
            assert _stdlib(outcome) in instants_of(settings_, day, time)

    @settings(max_examples=100)
    @given(data=st.data(), settings_=business_settings(TODAY))
    def test_bookable_starts_are_exactly_the_slots_that_pass_the_check(
        self, data: st.DataObject, settings_: BusinessSettings
    ) -> None:
        day = data.draw(booking_dates(TODAY), label="day")
        policy = SlotPolicy(settings_)
        starts = policy.bookable_starts(pendulum.Date(day.year, day.month, day.day), NOW)
        for start in starts:
            assert is_bookable(settings_, day, start.time(), _stdlib(start), NOW)
        assert len({start.in_timezone("UTC") for start in starts}) == len(starts)
        listed = {start.time() for start in starts}
        for time in settings_.slot_times():
            if verdict(settings_, day, time, NOW) is None:
                assert time in listed, f"{time} passes every rule but is not listed"


class TestBookableStartsAtAnyMoment:
    @settings(max_examples=100)
    @given(
        data=st.data(),
        settings_=business_settings(TODAY),
        minutes=st.integers(-3 * 24 * 60, 3 * 24 * 60),
    )
    def test_are_exactly_the_starts_check_grants(
        self, data: st.DataObject, settings_: BusinessSettings, minutes: int
    ) -> None:
        """``bookable_starts`` judges the day's own rules once per day (availability lists up
        to 3,000 starts); it must still grant exactly what ``check`` grants, slot by slot, at
        any moment of the day asked about or around it."""
        drawn = data.draw(booking_dates(TODAY), label="day")
        day = pendulum.Date(drawn.year, drawn.month, drawn.day)
        now = NOW.add(minutes=minutes)
        policy = SlotPolicy(settings_)
        granted = []
        for time in settings_.slot_times():
            try:
                granted.append(policy.check(day, time, now))
            except BookingPolicyViolation:
                continue

        assert policy.bookable_starts(day, now) == granted


def _check(
    policy: SlotPolicy, day: datetime.date, time: pendulum.Time
) -> pendulum.DateTime | BookingPolicyViolation:
    try:
        return policy.check(pendulum.Date(day.year, day.month, day.day), time, NOW)
    except BookingPolicyViolation as refusal:
        return refusal


def _stdlib(instant: pendulum.DateTime) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(instant.timestamp(), datetime.UTC)

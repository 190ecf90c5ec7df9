"""The business's opening rules as one validated value (agent_booking.core.settings)."""

from __future__ import annotations

import pendulum
import pytest

from agent_booking.core import BusinessSettings, InvalidSettings, parse_closed_dates, parse_off_days


class TestBusinessSettings:
    def test_defaults_are_the_seeded_settings(self) -> None:
        settings = BusinessSettings()

        assert settings.open_time == pendulum.Time(12, 0)
        assert settings.close_time == pendulum.Time(17, 0)
        assert settings.off_days == frozenset({7})
        assert settings.off_day_names() == ["sun"]
        assert settings.slot_minutes == 60
        assert settings.timezone == "UTC"
        assert settings.horizon_days == 365
        assert settings.closed_dates == frozenset()

    def test_default_slots_start_on_the_hour_from_noon_to_four(self) -> None:
        assert BusinessSettings().slot_times() == tuple(
            pendulum.Time(hour, 0) for hour in (12, 13, 14, 15, 16)
        )

    def test_slots_must_end_by_closing_time(self) -> None:
        settings = BusinessSettings(slot_minutes=90)
        assert settings.slot_times() == (
            pendulum.Time(12, 0),
            pendulum.Time(13, 30),
            pendulum.Time(15, 0),
        )

    def test_a_slot_as_long_as_the_day_gives_one_slot(self) -> None:
        assert BusinessSettings(slot_minutes=300).slot_times() == (pendulum.Time(12, 0),)

    def test_slots_may_start_at_odd_minutes(self) -> None:
        settings = BusinessSettings(
            open_time=pendulum.Time(9, 15), close_time=pendulum.Time(10, 30), slot_minutes=25
        )
        assert settings.slot_times() == (
            pendulum.Time(9, 15),
            pendulum.Time(9, 40),
            pendulum.Time(10, 5),
        )

    def test_accepts_off_days_and_closed_dates_from_any_iterable(self) -> None:
        settings = BusinessSettings(off_days=[6, 7], closed_dates=[pendulum.Date(2026, 12, 25)])
        assert settings.off_days == frozenset({6, 7})
        assert settings.closed_dates == frozenset({pendulum.Date(2026, 12, 25)})

    def test_accepts_a_named_time_zone(self) -> None:
        settings = BusinessSettings(timezone="Europe/London")
        assert settings.tz.name == "Europe/London"

    def test_accepts_the_horizon_bounds(self) -> None:
        assert BusinessSettings(horizon_days=0).horizon_days == 0
        assert BusinessSettings(horizon_days=3660).horizon_days == 3660

    @pytest.mark.parametrize(
        "changes",
        [
            {"close_time": pendulum.Time(11, 0)},
            {"close_time": pendulum.Time(12, 0)},
            {"open_time": pendulum.Time(12, 0, 30)},
            {"slot_minutes": 301},
            {"slot_minutes": 0},
            {"slot_minutes": -60},
            {"off_days": frozenset(range(1, 8))},
            {"off_days": frozenset({0})},
            {"off_days": frozenset({8})},
            {"timezone": "Mars/Olympus_Mons"},
            {"timezone": ""},
            # Host-dependent names: what they mean depends on the server, not the business.
            {"timezone": "localtime"},
            {"timezone": "Factory"},
            {"timezone": "posixrules"},
            {"timezone": "right/UTC"},
            {"timezone": "posix/Europe/Berlin"},
            {"horizon_days": -1},
            {"horizon_days": 3661},
        ],
        ids=repr,
    )
    def test_rejects_inconsistent_settings(self, changes: dict[str, object]) -> None:
        with pytest.raises(InvalidSettings, match=r"^Invalid settings: "):
            BusinessSettings(**changes)  # type: ignore[arg-type]


class TestParseOffDays:
    @pytest.mark.parametrize(
        ("text", "days"),
        [
            ("sun", {7}),
            ("sun,sat", {6, 7}),
            (" Sat , SUN ", {6, 7}),
            ("saturday,sunday", {6, 7}),
            ("mon,tue,wed,thu,fri", {1, 2, 3, 4, 5}),
            ("none", set()),
            ("None", set()),
            ("", set()),
        ],
    )
    def test_reads_weekday_names(self, text: str, days: set[int]) -> None:
        assert parse_off_days(text) == frozenset(days)

    @pytest.mark.parametrize("text", ["funday", "sun,", "7", "mon,,tue", "xyz"])
    def test_rejects_an_unknown_weekday(self, text: str) -> None:
        with pytest.raises(InvalidSettings, match="unknown weekday"):
            parse_off_days(text)

    @pytest.mark.parametrize("text", ["sun;sat", "sat sun", "monkey", "sunburn"])
    def test_rejects_a_word_that_merely_starts_like_a_weekday(self, text: str) -> None:
        # "sun;sat" must not silently become {Sunday} and leave Saturday open for bookings.
        with pytest.raises(InvalidSettings, match="unknown weekday"):
            parse_off_days(text)


class TestParseClosedDates:
    def test_reads_iso_dates(self) -> None:
        assert parse_closed_dates("2026-12-25, 2027-01-01") == frozenset(
            {pendulum.Date(2026, 12, 25), pendulum.Date(2027, 1, 1)}
        )

    @pytest.mark.parametrize("text", ["none", "", "  NONE "])
    def test_reads_none_as_no_dates(self, text: str) -> None:
        assert parse_closed_dates(text) == frozenset()

    @pytest.mark.parametrize("text", ["25/12/2026", "2026-02-30", "christmas", "2026-12-25,"])
    def test_rejects_anything_else(self, text: str) -> None:
        with pytest.raises(InvalidSettings, match="is not YYYY-MM-DD"):
            parse_closed_dates(text)

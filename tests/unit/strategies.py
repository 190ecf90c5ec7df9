"""Every Hypothesis strategy of the unit tests, in one place.

Formatters here write dates and times the way agents send them (``DESIGN.md`` lists the
formats); the request-body strategies mix valid requests with each way a request can be wrong.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

import pendulum
from hypothesis import strategies as st

from agent_booking.core import BusinessSettings

__all__ = [
    "DATE_FORMATS",
    "DAY_FIRST_FORMATS",
    "INVALID_BODIES",
    "MONTH_FIRST_FORMATS",
    "PHONES",
    "TIME_ZONES",
    "bodies_for_slot",
    "booking_dates",
    "business_settings",
    "format_date",
    "four_digit_year_dates",
    "request_bodies",
    "time_texts",
    "times_of_day",
]

DateFormatter = Callable[[datetime.date, bool], str]


def _two(number: int, *, padded: bool) -> str:
    return f"{number:02d}" if padded else str(number)


def _iso(day: datetime.date, padded: bool) -> str:
    return f"{day.year:04d}-{_two(day.month, padded=padded)}-{_two(day.day, padded=padded)}"


def _day_first(separator: str) -> DateFormatter:
    def formatter(day: datetime.date, padded: bool) -> str:
        parts = (_two(day.day, padded=padded), _two(day.month, padded=padded), f"{day.year:04d}")
        return separator.join(parts)

    return formatter


def _month_first(separator: str) -> DateFormatter:
    def formatter(day: datetime.date, padded: bool) -> str:
        parts = (_two(day.month, padded=padded), _two(day.day, padded=padded), f"{day.year:04d}")
        return separator.join(parts)

    return formatter


#: ``DD/MM/YYYY`` and ``DD-MM-YYYY``.
DAY_FIRST_FORMATS: dict[str, DateFormatter] = {
    "DD/MM/YYYY": _day_first("/"),
    "DD-MM-YYYY": _day_first("-"),
}
#: ``MM/DD/YYYY`` and ``MM-DD-YYYY``.
MONTH_FIRST_FORMATS: dict[str, DateFormatter] = {
    "MM/DD/YYYY": _month_first("/"),
    "MM-DD-YYYY": _month_first("-"),
}
#: Every accepted date format by its name in ``DESIGN.md``.
DATE_FORMATS: dict[str, DateFormatter] = {
    "YYYY-MM-DD": _iso,
    **DAY_FIRST_FORMATS,
    **MONTH_FIRST_FORMATS,
}


def format_date(day: datetime.date, format_name: str, *, padded: bool = True) -> str:
    return DATE_FORMATS[format_name](day, padded)


def four_digit_year_dates() -> st.SearchStrategy[datetime.date]:
    # Up to the last date the service accepts (agent_booking.core.parsing.LAST_DATE).
    return st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9998, 12, 31))


# --- times ----------------------------------------------------------------------------------------


def times_of_day(*, seconds: bool = False) -> st.SearchStrategy[pendulum.Time]:
    """Any wall time, to the minute (or to the second)."""
    second = st.integers(0, 59) if seconds else st.just(0)
    return st.builds(pendulum.Time, st.integers(0, 23), st.integers(0, 59), second)


def _twelve_hour(time: datetime.time, *, space: bool, suffix_case: Sequence[bool]) -> str:
    suffix = "AM" if time.hour < 12 else "PM"
    suffix = "".join(c.lower() if low else c for c, low in zip(suffix, suffix_case, strict=True))
    return f"{time.hour % 12 or 12}:{time.minute:02d}{' ' if space else ''}{suffix}"


@st.composite
def time_texts(draw: st.DrawFn, time: datetime.time) -> str:
    """``time`` written in any accepted format that can express it."""
    if time.second:
        return f"{time.hour:02d}:{time.minute:02d}:{time.second:02d}"
    style = draw(st.sampled_from(("HH:MM", "H:MM", "HH:MM:SS", "12h", "12h-compact")))
    if style == "HH:MM":
        return f"{time.hour:02d}:{time.minute:02d}"
    if style == "H:MM":
        return f"{time.hour}:{time.minute:02d}"
    if style == "HH:MM:SS":
        return f"{time.hour:02d}:{time.minute:02d}:00"
    suffix_case = draw(st.lists(st.booleans(), min_size=2, max_size=2))
    return _twelve_hour(time, space=style == "12h", suffix_case=suffix_case)


# --- business settings ----------------------------------------------------------------------------

#: Zones with and without daylight saving, on both sides of UTC, with odd offsets.
TIME_ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "Pacific/Chatham",
)
#: Days on which one of :data:`TIME_ZONES` changes its clocks (within the booking horizon).
DST_CHANGE_DATES = (
    pendulum.Date(2027, 3, 14),  # America/*
    pendulum.Date(2027, 3, 28),  # Europe/London
    pendulum.Date(2027, 4, 4),  # Australia/Sydney, Pacific/Chatham
    pendulum.Date(2027, 9, 26),  # Pacific/Chatham
    pendulum.Date(2027, 10, 3),  # Australia/Sydney
    pendulum.Date(2027, 10, 31),  # Europe/London
    pendulum.Date(2027, 11, 7),  # America/*
)
_LAST_MINUTE = 23 * 60 + 59


def _clock_time(minute_of_day: int) -> pendulum.Time:
    return pendulum.Time(*divmod(minute_of_day, 60))


@st.composite
def business_settings(draw: st.DrawFn, today: datetime.date) -> BusinessSettings:
    """Any consistent settings: hours, slot length, off days, zone, horizon, closed dates."""
    opens = draw(st.integers(0, 22)) * 60 + draw(st.sampled_from((0, 0, 15, 30, 45)))
    closes = opens + draw(st.integers(1, _LAST_MINUTE - opens))
    working = closes - opens
    common = [length for length in (15, 30, 45, 60, 90, 120) if length <= working]
    slot = draw(st.one_of(st.sampled_from(common or [working]), st.integers(1, working)))
    near = st.integers(0, 14).map(lambda days: today + datetime.timedelta(days=days))
    return BusinessSettings(
        open_time=_clock_time(opens),
        close_time=_clock_time(closes),
        off_days=draw(st.one_of(st.frozensets(st.integers(1, 7), max_size=2), _any_off_days)),
        slot_minutes=slot,
        timezone=draw(st.sampled_from(TIME_ZONES)),
        horizon_days=draw(st.one_of(st.just(365), st.integers(0, 800))),
        closed_dates=draw(st.frozensets(near.map(_pendulum_date), max_size=5)),
    )


_any_off_days = st.frozensets(st.integers(1, 7), max_size=6)


def _pendulum_date(day: datetime.date) -> pendulum.Date:
    return pendulum.Date(day.year, day.month, day.day)


# --- request bodies -------------------------------------------------------------------------------

#: A small pool, so customers repeat; two spellings normalise to the same number.
PHONES = ("1234567890", "+44 20 7946 0958", "(555) 010-0199", "555.010.0199", "+1 234 567 890")
_SERVICES = ("Legal Consultation", "Tax Advice", "Notary")
_NAMES = ("", "John", "Zoë", "Ana María")


def booking_dates(today: datetime.date) -> st.SearchStrategy[datetime.date]:
    """Mostly the coming fortnight (where slots collide), also anywhere within two years."""
    soon = st.integers(-2, 14).map(lambda days: today + datetime.timedelta(days=days))
    anywhere = st.dates(
        min_value=today - datetime.timedelta(days=730),
        max_value=today + datetime.timedelta(days=730),
    )
    return st.one_of(soon, soon, anywhere, st.sampled_from(DST_CHANGE_DATES))


def _booking_times(settings: BusinessSettings) -> st.SearchStrategy[pendulum.Time]:
    on_grid = st.sampled_from(settings.slot_times())
    return st.one_of(on_grid, on_grid, times_of_day(), times_of_day(seconds=True))


@st.composite
def _valid_bodies(
    draw: st.DrawFn, settings: BusinessSettings, today: datetime.date
) -> dict[str, object]:
    day = draw(booking_dates(today))
    date_format = draw(st.sampled_from(sorted(DATE_FORMATS)))
    body: dict[str, object] = {
        "phone": draw(st.sampled_from(PHONES)),
        "service_name": draw(st.sampled_from(_SERVICES)),
        "booking_date": format_date(day, date_format, padded=draw(st.booleans())),
        "booking_time": draw(time_texts(draw(_booking_times(settings)))),
    }
    optional = {
        "first_name": st.sampled_from(_NAMES),
        "last_name": st.sampled_from(_NAMES),
        "email": st.sampled_from(("", "john.doe@example.com")),
        "gender": st.sampled_from(("", "male", "Female", "OTHER")),
        "country": st.sampled_from(("", "USA")),
        "notes": st.text(max_size=20),
        "status": st.sampled_from(("upcoming", "pending", "Pending")),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


@st.composite
def bodies_for_slot(draw: st.DrawFn, day: datetime.date, time: datetime.time) -> dict[str, object]:
    """A valid request for the slot at ``day time``, written in any format, from any phone."""
    date_format = draw(st.sampled_from(sorted(DATE_FORMATS)))
    # Day-first is the default order, so a day-and-month pair must not be written month-first.
    if day.day <= 12 and date_format in MONTH_FIRST_FORMATS:
        date_format = "YYYY-MM-DD"
    return {
        "phone": draw(st.sampled_from(PHONES)),
        "service_name": draw(st.sampled_from(_SERVICES)),
        "booking_date": format_date(day, date_format, padded=draw(st.booleans())),
        "booking_time": draw(time_texts(time)),
    }


#: Bodies that are not a JSON object at all.
INVALID_BODIES: tuple[object, ...] = (None, [], ["phone"], "phone=1234567890", 42)
_REQUIRED = ("phone", "service_name", "booking_date", "booking_time")
_BAD_VALUES: dict[str, tuple[object, ...]] = {
    "phone": ("12345", "call me", "1234567890123456", 1234567890),
    "booking_date": ("31/02/2027", "2027-13-01", "29/02/2027", "tomorrow", "2026/11/26"),
    "booking_time": ("24:00", "13:00 PM", "9", "0:00 AM", "12:60", "14h00"),
    "email": ("not-an-email", "a@b"),
    "gender": ("robot",),
    "status": ("cancelled", "completed", "done"),
    "service_name": ("x" * 101, 7),
}


@st.composite
def _corrupted_bodies(draw: st.DrawFn, settings: BusinessSettings, today: datetime.date) -> object:
    body = draw(_valid_bodies(settings, today))
    damage = draw(st.sampled_from(("drop", "blank", "bad value", "not an object")))
    if damage == "not an object":
        return draw(st.sampled_from(INVALID_BODIES))
    if damage == "bad value":
        name = draw(st.sampled_from(sorted(_BAD_VALUES)))
        body[name] = draw(st.sampled_from(_BAD_VALUES[name]))
        return body
    name = draw(st.sampled_from(_REQUIRED))
    if damage == "drop":
        del body[name]
    else:
        body[name] = draw(st.sampled_from(("", "   ", "\t\n", None)))
    return body


def request_bodies(settings: BusinessSettings, today: datetime.date) -> st.SearchStrategy[object]:
    """Request bodies as agents send them: mostly well-formed, about a quarter malformed."""
    valid = _valid_bodies(settings, today)
    return st.one_of(valid, valid, valid, _corrupted_bodies(settings, today))

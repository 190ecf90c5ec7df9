"""How much one availability answer may hold (issue 13 #11).

31 days of 1-minute slots took 0.44 s and 492 kB to answer. One answer now covers at most
``MAX_AVAILABILITY_SLOTS`` slot starts (the days asked for times the slots of one day): with short
slots a range covers fewer days, and the refusal (400 ``invalid_field`` on ``to``) says how many.
The clock stands still on Wednesday 2026-11-25 at 10:00 UTC (``builders.NOW``).
"""

from __future__ import annotations

import asyncio

import attrs
import httpx
import msgspec
import pendulum
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.core import BusinessSettings, InvalidField, SettingsMissing
from agent_booking.core.check_availability import (
    MAX_AVAILABILITY_DAYS,
    MAX_AVAILABILITY_SLOTS,
    Availability,
    AvailabilityQuery,
    CheckAvailability,
)
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from agent_booking.entrypoints.http.presenters import availability_view
from agent_booking.entrypoints.http.spoken_text import Speech
from tests.unit.builders import NOW, TODAY, TOMORROW, basic_body
from tests.unit.driving import AvailabilityFromQuery, CreateFromBody
from tests.unit.strategies import business_settings

#: The benchmark's settings: open all day, every day, 1-minute slots (1,439 a day).
ALL_DAY_EVERY_MINUTE = BusinessSettings(
    open_time=pendulum.Time(0, 0),
    close_time=pendulum.Time(23, 59),
    off_days=frozenset(),
    slot_minutes=1,
)
#: Encoded as the HTTP layer encodes it: starts are "HH:MM:SS" strings, 11 bytes each with
#: quotes and comma, its resources when free (`[1],` for the one resource here), and again in
#: ``spoken`` as a key with its words (``"12:00:00":"Thursday, November 26, 12:00\u202fPM",``:
#: under 80 bytes in English), plus a little per day; this bounds any answer's body.
MAX_ANSWER_BYTES = (11 + 4 + 80) * MAX_AVAILABILITY_SLOTS + 100 * MAX_AVAILABILITY_DAYS + 100


def checker(settings: BusinessSettings) -> CheckAvailability:
    return AvailabilityFromQuery(InMemoryStore(settings).unit_of_work, FixedClock(NOW))


def days(first: pendulum.Date, count: int) -> dict[str, str]:
    return {"from": first.isoformat(), "to": first.add(days=count - 1).isoformat()}


def listed(availability: Availability) -> int:
    return sum(len(day.free) + len(day.taken) for day in availability.days)


def encoded_size(availability: Availability) -> int:
    speech = Speech(SpokenStarts("en"), FixedClock(NOW))
    return len(msgspec.json.encode(availability_view(availability, speech)))


class TestShortSlots:
    async def test_a_range_of_1_minute_slots_covers_two_days(self) -> None:
        availability = await checker(ALL_DAY_EVERY_MINUTE)(days(TOMORROW, 2))

        assert [len(day.free) for day in availability.days] == [1439, 1439]

    async def test_three_days_of_1_minute_slots_are_refused_saying_how_many_fit(self) -> None:
        with pytest.raises(InvalidField) as refused:
            await checker(ALL_DAY_EVERY_MINUTE)(days(TOMORROW, 3))

        assert refused.value.field == "to"
        assert refused.value.code == "invalid_field"
        assert refused.value.message == (
            "Invalid to: with 1-minute slots (1439 a day) a range covers at most 2 days; "
            "ask for a shorter range"
        )

    async def test_the_month_that_31_days_of_1_minute_slots_was_is_refused(self) -> None:
        with pytest.raises(InvalidField, match="at most 2 days"):
            await checker(ALL_DAY_EVERY_MINUTE)(days(TOMORROW, 31))

    async def test_one_day_of_1_minute_slots_always_fits(self) -> None:
        availability = await checker(ALL_DAY_EVERY_MINUTE)({"date": TOMORROW.isoformat()})

        assert listed(availability) == 1439

    async def test_a_month_of_5_minute_slots_over_8_hours_fits(self) -> None:
        settings = BusinessSettings(
            open_time=pendulum.Time(9), close_time=pendulum.Time(17), slot_minutes=5
        )

        availability = await checker(settings)(days(TOMORROW, 31))

        assert len(availability.days) == 31
        assert len(availability.days[0].free) == 96

    async def test_off_days_count_as_days_of_the_range(self) -> None:
        """The bound is the range's size as asked, so an agent can tell it from the settings'
        slot length and hours alone: Sunday 2026-11-29 lists nothing, yet counts."""
        settings = BusinessSettings(
            open_time=pendulum.Time(0),
            close_time=pendulum.Time(23, 59),
            slot_minutes=1,
            off_days=frozenset({7}),
        )
        with pytest.raises(InvalidField, match="at most 2 days"):
            await checker(settings)(days(pendulum.Date(2026, 11, 28), 3))

    async def test_the_default_settings_answer_31_days_as_before(self) -> None:
        availability = await checker(BusinessSettings())(days(TOMORROW, 31))

        assert listed(availability) < MAX_AVAILABILITY_SLOTS
        assert len(availability.days) == 31

    async def test_the_refusal_comes_after_the_settings_are_known(self) -> None:
        """How many days fit depends on the slots, so an oversized range with no settings is
        the missing settings' 503, like any other query."""
        store = InMemoryStore()
        check = AvailabilityFromQuery(store.unit_of_work, FixedClock(NOW))
        with pytest.raises(SettingsMissing):
            await check(days(TOMORROW, 31))


class TestBookedSlots:
    async def test_taken_starts_count_like_free_ones(self) -> None:
        """The bound is on starts listed, free or taken: a booked day is as long an answer."""
        store = InMemoryStore(ALL_DAY_EVERY_MINUTE)
        create = CreateFromBody(store.unit_of_work, FixedClock(NOW), InMemoryNotifier())
        for minute in range(0, 60, 2):
            await create(basic_body(booking_time=f"12:{minute:02d}"))
        check = AvailabilityFromQuery(store.unit_of_work, FixedClock(NOW))

        availability = await check(days(TOMORROW, 2))

        assert len(availability.days[0].taken) == 30
        assert len(availability.days[0].free) == 1439 - 30
        assert listed(availability) == 2 * 1439


def answer(settings: BusinessSettings, query: dict[str, str]) -> Availability | InvalidField:
    try:
        return asyncio.run(checker(settings)(query))
    except InvalidField as refusal:
        return refusal


def _short_slots(settings: BusinessSettings) -> st.SearchStrategy[BusinessSettings]:
    return st.integers(1, 15).map(
        lambda minutes: attrs.evolve(settings, slot_minutes=min(minutes, settings.working_minutes))
    )


#: Any settings, and as often the same with slots of 1 to 15 minutes, which oversized ranges need.
SETTINGS = st.one_of(business_settings(TODAY), business_settings(TODAY).flatmap(_short_slots))


@given(
    settings=SETTINGS,
    first_offset=st.integers(-3, 400),
    count=st.one_of(st.integers(1, MAX_AVAILABILITY_DAYS), st.just(MAX_AVAILABILITY_DAYS)),
)
def test_every_answer_is_bounded_and_only_oversized_ranges_are_refused(
    settings: BusinessSettings, first_offset: int, count: int
) -> None:
    per_day = len(settings.slot_times())

    outcome = answer(settings, days(TODAY.add(days=first_offset), count))

    event("refused" if isinstance(outcome, InvalidField) else "answered")
    if count * per_day > MAX_AVAILABILITY_SLOTS:
        assert isinstance(outcome, InvalidField), outcome
        assert outcome.field == "to"
        fitting = int(outcome.message.split("at most ")[1].split(" days")[0])
        assert 1 <= fitting < count
        assert fitting * per_day <= MAX_AVAILABILITY_SLOTS < (fitting + 1) * per_day
    else:
        assert isinstance(outcome, Availability), outcome
        assert listed(outcome) <= MAX_AVAILABILITY_SLOTS
        assert encoded_size(outcome) <= MAX_ANSWER_BYTES


def test_the_query_counts_its_days_inclusively() -> None:
    assert AvailabilityQuery(TOMORROW, TOMORROW).days == 1
    assert AvailabilityQuery(TOMORROW, TOMORROW.add(days=30)).days == MAX_AVAILABILITY_DAYS


class TestOverHttp:
    async def test_an_oversized_range_is_a_400_naming_the_days_that_fit(self) -> None:
        app = create_app(
            AppConfig(database_url="sqlite+aiosqlite:///unused.db", rate_limit=None),
            uow_factory=InMemoryStore(ALL_DAY_EVERY_MINUTE).unit_of_work,
            clock=FixedClock(NOW),
            notifier=InMemoryNotifier(),
            ping=_ready,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            month = await http.get("/api/agent/availability/", params=days(TOMORROW, 31))
            two_days = await http.get("/api/agent/availability/", params=days(TOMORROW, 2))

        assert month.status_code == 400
        assert month.json() == {
            "success": False,
            "message": "Invalid to: with 1-minute slots (1439 a day) a range covers at most "
            "2 days; ask for a shorter range",
            "code": "invalid_field",
        }
        assert two_days.status_code == 200
        assert len(two_days.content) <= MAX_ANSWER_BYTES


async def _ready() -> None:
    return None

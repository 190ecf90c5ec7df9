"""``spoken``: starts as a voice agent says them, in ``BOOKING_LOCALE`` and the business zone.

The clock stands at Wednesday 2026-11-25 10:00 UTC (tests/unit/builders.py).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.core import BusinessSettings
from agent_booking.entrypoints.config import AppConfig, ConfigError
from agent_booking.entrypoints.http.app import create_app
from agent_booking.entrypoints.http.spoken_text import Speech
from tests.unit.builders import NOW, TOMORROW, basic_body

NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


class TestSpokenStarts:
    @pytest.mark.parametrize(
        ("locale", "said"),
        [
            ("en", f"Wednesday, October 20, 2:00{NNBSP}PM"),
            ("en_GB", "Wednesday 20 October, 14:00"),
            ("de", "Mittwoch, 20. Oktober, 14:00"),
            ("fr", "mercredi 20 octobre, 14:00"),
        ],
    )
    def test_says_weekday_day_month_and_time_without_this_years_year(
        self, locale: str, said: str
    ) -> None:
        assert SpokenStarts(locale)(dt.date(2027, 10, 20), dt.time(14, 0), 2027) == said

    @pytest.mark.parametrize(
        ("locale", "said"),
        [
            ("en", f"Monday, January 3, 2028, 9:30{NNBSP}AM"),
            ("de", "Montag, 3. Januar 2028, 09:30"),
        ],
    )
    def test_says_the_year_when_it_is_not_this_year(self, locale: str, said: str) -> None:
        assert SpokenStarts(locale)(dt.date(2028, 1, 3), dt.time(9, 30), 2027) == said

    def test_the_weekday_is_said_in_full_whatever_pattern_the_locale_matched(self) -> None:
        for locale in ("en", "de", "es", "it", "nl", "pl"):
            said = SpokenStarts(locale).day(dt.date(2027, 10, 20), 2027)
            weekday = pendulum.Date(2027, 10, 20).format("dddd", locale=locale.split("_")[0])
            assert said.lower().startswith(weekday.lower()), (locale, said, weekday)

    def test_this_year_is_the_business_zones(self) -> None:
        # 2026-12-31 20:00 UTC is already 2027 in Auckland.
        speech = Speech(SpokenStarts("en"), FixedClock(pendulum.datetime(2026, 12, 31, 20)))
        assert speech.this_year("UTC") == 2026
        assert speech.this_year("Pacific/Auckland") == 2027


class TestConfiguration:
    def test_default_is_english(self) -> None:
        assert AppConfig.from_env({}).locale == "en"

    def test_a_locale_babel_knows(self) -> None:
        assert AppConfig.from_env({"BOOKING_LOCALE": "de"}).locale == "de"

    def test_an_unknown_locale_stops_the_service(self) -> None:
        with pytest.raises(ConfigError, match="BOOKING_LOCALE"):
            AppConfig.from_env({"BOOKING_LOCALE": "klingon"})


async def _ready() -> None:
    return None


@pytest.fixture
async def client_for():  # type: ignore[no-untyped-def]
    """Builds a client of an app on a fresh in-memory store speaking ``locale``."""
    clients: list[httpx.AsyncClient] = []

    def build(locale: str) -> httpx.AsyncClient:
        store = InMemoryStore(BusinessSettings())
        app = create_app(
            AppConfig(locale=locale, rate_limit=None, cors_origins=("https://agent.example",)),
            uow_factory=store.unit_of_work,
            clock=FixedClock(NOW),
            notifier=InMemoryNotifier(),
            ping=_ready,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


class TestAnswersThatCarryStarts:
    async def test_availability_says_every_free_and_taken_start(self, client_for) -> None:
        client = client_for("de")
        booked = await client.post("/api/agent/booking/create/", json=basic_body())
        assert booked.status_code == 201
        answer = await client.get("/api/agent/availability/", params={"date": TOMORROW.isoformat()})
        [day] = answer.json()["days"]
        assert day["spoken"] == {
            f"{hour}:00:00": f"Donnerstag, 26. November, {hour}:00" for hour in range(12, 17)
        }
        assert set(day["spoken"]) == set(day["free"]) | set(day["taken"])

    async def test_a_closed_day_says_nothing(self, client_for) -> None:
        answer = await client_for("en").get(
            "/api/agent/availability/", params={"date": "2026-11-29"}
        )
        assert answer.json()["days"][0]["spoken"] == {}

    @pytest.mark.parametrize(
        "headers", [{}, {"Origin": "https://agent.example"}], ids=["lane", "route"]
    )
    async def test_alternatives_of_a_taken_slot_are_spoken(self, client_for, headers) -> None:
        client = client_for("en")
        assert (
            await client.post("/api/agent/booking/create/", json=basic_body())
        ).status_code == 201
        refused = await client.post(
            "/api/agent/booking/create/", json=basic_body(phone="5550100"), headers=headers
        )
        assert refused.status_code == 409
        assert refused.json()["alternatives"][:2] == [
            {
                "booking_date": "2026-11-26",
                "booking_time": "13:00:00",
                "spoken": f"Thursday, November 26, 1:00{NNBSP}PM",
            },
            {
                "booking_date": "2026-11-26",
                "booking_time": "15:00:00",
                "spoken": f"Thursday, November 26, 3:00{NNBSP}PM",
            },
        ]

    async def test_a_success_carries_no_spoken_text(self, client_for) -> None:
        created = await client_for("en").post("/api/agent/booking/create/", json=basic_body())
        assert "spoken" not in created.text

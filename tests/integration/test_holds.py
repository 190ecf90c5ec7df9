"""Holds through a real server on both engines (issue 15): races and expiry.

One server per engine for the whole module, with two worker processes (so requests race across
processes, and both processes sweep), holds of ``HOLD_SECONDS`` and a sweep every second: short
enough for the expiry tests to wait for, long enough that no hold expires in the middle of a race.
What was stored is counted in the database itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.dashboards import Dashboard
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import CREATE_PATH, booking_body, unique_phone, unique_service
from tests.integration.working_days import WorkingDays
from tests.support.server import AGENT_HEADERS, ServerProcess

pytestmark = pytest.mark.slow

HOLDS = "/api/agent/holds/"
WORKERS = 2
HOLD_SECONDS = 6
RACERS = 20


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(
        database_url,
        workers=WORKERS,
        env={
            "BOOKING_HOLD_SECONDS": str(HOLD_SECONDS),
            "BOOKING_HOLD_SWEEP_SECONDS": "1",
            "BOOKING_MAX_ACTIVE_PER_PHONE": "0",
        },
        log_dir=tmp_path_factory.mktemp("server"),
    ) as process:
        yield process


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Sends every request at once: one connection per request."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        headers=AGENT_HEADERS, base_url=server.base_url, timeout=60.0, limits=limits
    ) as http:
        yield http


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def active_at(database_url: str, service: str) -> list[tuple[Any, ...]]:
    """(id, status) of the rows of ``service`` that hold their start."""
    return await run_sql(
        database_url,
        "SELECT id, status FROM bookings WHERE service_name = $1 "
        "AND status NOT IN ('cancelled', 'released', 'expired')",
        service,
    )


class TestHoldRaces:
    async def test_twenty_holds_of_one_start_give_one_hold(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, service = days.take(), unique_service("Hold race")
        responses = await asyncio.gather(
            *(
                client.post(
                    HOLDS,
                    json=booking_body(day, "14:00", service_name=service, phone=unique_phone()),
                )
                for _ in range(RACERS)
            )
        )
        assert statuses(responses) == {201: 1, 409: RACERS - 1}, [r.text for r in responses][:3]
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_taken"}
        (won,) = [r.json() for r in responses if r.status_code == 201]
        assert won["data"]["booking"]["status"] == "held"
        assert await active_at(database_url, service) == [(won["booking_id"], "held")]

    async def test_a_hold_and_a_create_of_one_start_at_once_one_wins(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, service = days.take(), unique_service("Hold or create")
        pairs = []
        for time in ("12:00", "13:00", "14:00", "15:00", "16:00"):
            hold = booking_body(day, time, service_name=service, phone=unique_phone())
            create = booking_body(day, time, service_name=service, phone=unique_phone())
            pairs.append(client.post(HOLDS, json=hold))
            pairs.append(client.post(CREATE_PATH, json=create))
        responses = await asyncio.gather(*pairs)
        for start in range(0, len(responses), 2):
            pair = responses[start : start + 2]
            assert sorted(r.status_code for r in pair) == [201, 409], [r.text for r in pair]
        assert len(await active_at(database_url, service)) == 5

    async def test_a_held_start_is_refused_to_a_second_phone_until_released(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day, phone = days.take(), unique_phone()
        held = await client.post(HOLDS, json=booking_body(day, "14:00", phone=phone))
        assert held.status_code == 201, held.text
        other = booking_body(day, "14:00", phone=unique_phone())
        refused = await client.post(CREATE_PATH, json=other)
        assert (refused.status_code, refused.json()["code"]) == (409, "slot_taken")
        assert refused.json()["alternatives"]
        released = await client.delete(
            f"{HOLDS}{held.json()['booking_id']}/", params={"phone": phone}
        )
        assert released.status_code == 200, released.text
        assert (await client.post(CREATE_PATH, json=other)).status_code == 201

    async def test_confirm_keeps_the_id_and_the_limit_counts_live_holds(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, phone = days.take(), unique_phone()
        first = await client.post(HOLDS, json=booking_body(day, "12:00", phone=phone))
        second = await client.post(HOLDS, json=booking_body(day, "13:00", phone=phone))
        third = await client.post(HOLDS, json=booking_body(day, "14:00", phone=phone))
        assert (first.status_code, second.status_code) == (201, 201)
        assert (third.status_code, third.json()["code"]) == (409, "too_many_holds")
        hold_id = first.json()["booking_id"]
        confirmed = await client.post(f"{HOLDS}{hold_id}/confirm/", json={"phone": phone})
        assert confirmed.status_code == 201, confirmed.text
        assert confirmed.json()["booking_id"] == hold_id
        assert confirmed.json()["data"]["booking"]["status"] == "upcoming"
        rows = await run_sql(
            database_url, "SELECT status, hold_expires_at FROM bookings WHERE id = $1", hold_id
        )
        assert rows == [("upcoming", None)]
        # The confirmed one no longer counts as a hold: a second live hold is allowed again.
        assert (
            await client.post(HOLDS, json=booking_body(day, "14:00", phone=phone))
        ).status_code == 201


async def next_about(dashboard: Dashboard, booking_id: int) -> dict[str, Any]:
    """The next message about ``booking_id`` (other tests' holds expire meanwhile too)."""
    while True:
        message = await dashboard.next_message(within=HOLD_SECONDS + 20)
        if message["data"]["id"] == booking_id:
            return message


class TestExpiry:
    async def test_a_hold_that_expires_frees_the_start_without_any_request_touching_it(
        self, server: ServerProcess, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, phone = days.take(), unique_phone()
        async with Dashboard.open(server) as dashboard:
            held = await client.post(HOLDS, json=booking_body(day, "14:00", phone=phone))
            assert held.status_code == 201, held.text
            hold_id = held.json()["booking_id"]
            seen = await next_about(dashboard, hold_id)
            assert (seen["type"], seen["data"]["status"]) == ("booking_held", "held")
            # Nothing is sent to the server from here on: the sweep alone must release it.
            released = await next_about(dashboard, hold_id)
        assert released["type"] == "hold_released", released
        assert (released["data"]["id"], released["data"]["reason"]) == (hold_id, "expired")
        assert released["data"]["status"] == "expired"
        rows = await run_sql(database_url, "SELECT status FROM bookings WHERE id = $1", hold_id)
        assert rows == [("expired",)]
        # Both workers sweep; the hold was released once.
        events = await count_rows(
            database_url,
            "SELECT count(*) FROM events WHERE type = 'hold_released' AND payload LIKE $1",
            f'{{"id":{hold_id},%',  # the payload starts with the booking's id
        )
        assert events == 1
        free = await client.get("/api/agent/availability/", params={"date": day.isoformat()})
        assert "14:00:00" in free.json()["days"][0]["free"], free.text
        confirm = await client.post(f"{HOLDS}{hold_id}/confirm/", json={"phone": phone})
        assert (confirm.status_code, confirm.json()["code"]) == (409, "booking_not_held")
        booked = await client.post(
            CREATE_PATH, json=booking_body(day, "14:00", phone=unique_phone())
        )
        assert booked.status_code == 201, booked.text

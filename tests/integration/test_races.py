"""Concurrent agents against one real server: the defects the original endpoint had under load.

DESIGN.md: the database, not a check-then-insert, decides who gets a slot (the original created
20 bookings for one slot on PostgreSQL); concurrent writers queue instead of failing (the original
answered ``500 database is locked`` on SQLite); concurrent first bookings for one new phone
create one customer; however many requests for one phone race, it ends with at most
``BOOKING_MAX_ACTIVE_PER_PHONE`` open bookings (issue 13). The servers run two worker processes,
so the requests race across processes as well as inside one, and what was stored is counted in
the database itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import (
    CREATE_PATH,
    assert_created,
    assert_error,
    booking_body,
    unique_phone,
    unique_service,
)
from tests.integration.working_days import SLOT_TIMES, WorkingDays
from tests.support.server import AGENT_HEADERS, ServerProcess

pytestmark = pytest.mark.slow

WORKERS = 2


@dataclass(frozen=True)
class RaceSizes:
    """How hard each engine is pushed: the foundation's figures on the embedded SQLite, the
    production figures (several workers, more agents) on PostgreSQL."""

    same_slot: int
    same_phone: int
    load: int
    load_concurrency: int


SIZES = {
    "sqlite": RaceSizes(same_slot=50, same_phone=20, load=200, load_concurrency=16),
    "postgresql": RaceSizes(same_slot=100, same_phone=30, load=1000, load_concurrency=32),
}


@pytest.fixture(scope="module")
def sizes(database_url: str) -> RaceSizes:
    return SIZES[database_url.split(":", 1)[0].split("+", 1)[0]]


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # The first-bookings race books every one of its slots for one phone, far more than the
    # per-phone limit allows; that limit races on a server of its own (limited_server).
    with ServerProcess(
        database_url,
        workers=WORKERS,
        env={"BOOKING_MAX_ACTIVE_PER_PHONE": "0"},
        log_dir=tmp_path_factory.mktemp("server"),
    ) as process:
        yield process


@pytest.fixture(scope="module")
def limited_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The same database, with the default per-phone limit (5 open bookings)."""
    with ServerProcess(
        database_url, workers=WORKERS, log_dir=tmp_path_factory.mktemp("server")
    ) as process:
        yield process


def _racing_client(process: ServerProcess) -> httpx.AsyncClient:
    """A client that really sends every request at once: one connection per request."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    return httpx.AsyncClient(
        headers=AGENT_HEADERS, base_url=process.base_url, timeout=60.0, limits=limits
    )


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with _racing_client(server) as http:
        yield http


@pytest.fixture
async def limited_client(limited_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with _racing_client(limited_server) as http:
        yield http


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def assert_no_lock_errors(responses: list[httpx.Response], server: ServerProcess) -> None:
    locked = [response.text for response in responses if "locked" in response.text.lower()]
    assert not locked, locked[:3]
    assert "database is locked" not in server.log_text()


async def bookings_of(database_url: str, service_name: str) -> int:
    return await count_rows(
        database_url, "SELECT count(*) FROM bookings WHERE service_name = $1", service_name
    )


class TestCreateBookingUnderConcurrency:
    async def test_many_agents_racing_for_one_slot_get_exactly_one_booking(
        self,
        client: httpx.AsyncClient,
        server: ServerProcess,
        days: WorkingDays,
        sizes: RaceSizes,
        database_url: str,
    ) -> None:
        day = days.take()
        service = unique_service("Race for one slot")
        requests = [
            booking_body(day, "14:00", service_name=service) for _ in range(sizes.same_slot)
        ]

        responses = await asyncio.gather(
            *(client.post(CREATE_PATH, json=request) for request in requests)
        )

        assert statuses(responses) == {201: 1, 409: sizes.same_slot - 1}, [
            response.text for response in responses if response.status_code not in (201, 409)
        ][:3]
        for response in responses:
            if response.status_code == 409:
                assert_error(response, 409, "slot_taken", "This time slot is already reserved")
        assert_no_lock_errors(responses, server)
        assert await bookings_of(database_url, service) == 1
        # Losers' customers were rolled back with their bookings.
        losers_and_winner = [request["phone"] for request in requests]
        placeholders = ", ".join(f"${index}" for index in range(1, len(losers_and_winner) + 1))
        customers = await count_rows(
            database_url,
            f"SELECT count(*) FROM customers WHERE phone IN ({placeholders})",  # noqa: S608
            *losers_and_winner,
        )
        assert customers == 1

    async def test_simultaneous_first_bookings_for_one_phone_create_one_customer(
        self,
        client: httpx.AsyncClient,
        server: ServerProcess,
        days: WorkingDays,
        sizes: RaceSizes,
        database_url: str,
    ) -> None:
        slots = [
            (day, time)
            for day in days.take_many(sizes.same_phone // len(SLOT_TIMES))
            for time in SLOT_TIMES
        ]
        first = booking_body(*slots[0], service_name=unique_service("One new phone"))
        requests = [
            first | {"booking_date": day.isoformat(), "booking_time": time} for day, time in slots
        ]

        responses = await asyncio.gather(
            *(client.post(CREATE_PATH, json=request) for request in requests)
        )

        assert statuses(responses) == {201: sizes.same_phone}, [
            response.text for response in responses if response.status_code != 201
        ][:3]
        bodies: list[dict[str, Any]] = [response.json() for response in responses]
        assert sum(body["user_created"] for body in bodies) == 1
        assert len({body["user_id"] for body in bodies}) == 1
        for response, request, (day, _) in zip(responses, requests, slots, strict=True):
            created = response.json()["user_created"]
            assert_created(
                response,
                request,
                user_created=created,
                booking_date=day,
                booking_time=f"{request['booking_time']}:00",
            )
        assert_no_lock_errors(responses, server)
        phone = first["phone"]
        assert (
            await count_rows(database_url, "SELECT count(*) FROM customers WHERE phone = $1", phone)
            == 1
        )
        assert await bookings_of(database_url, first["service_name"]) == sizes.same_phone

    async def test_sustained_concurrent_load_books_every_slot_without_errors(
        self,
        client: httpx.AsyncClient,
        server: ServerProcess,
        days: WorkingDays,
        sizes: RaceSizes,
        database_url: str,
    ) -> None:
        service = unique_service("Load")
        requests = [
            booking_body(day, time, service_name=service)
            for day in days.take_many(sizes.load // len(SLOT_TIMES))
            for time in SLOT_TIMES
        ]
        gate = asyncio.Semaphore(sizes.load_concurrency)

        async def post(request: dict[str, Any]) -> httpx.Response:
            async with gate:
                return await client.post(CREATE_PATH, json=request)

        responses = await asyncio.gather(*(post(request) for request in requests))

        assert statuses(responses) == {201: sizes.load}, [
            response.text for response in responses if response.status_code != 201
        ][:3]
        assert_no_lock_errors(responses, server)
        assert await bookings_of(database_url, service) == sizes.load


PHONE_LIMIT = 5  # BOOKING_MAX_ACTIVE_PER_PHONE's default
TOO_MANY = "This phone already has 5 upcoming bookings, the most one phone may hold"


async def bookings_of_phone(database_url: str, phone: str) -> int:
    return await count_rows(
        database_url,
        "SELECT count(*) FROM bookings b JOIN customers c ON c.id = b.customer_id "
        "WHERE c.phone = $1",
        phone,
    )


class TestPhoneLimitUnderConcurrency:
    """Issue 13: one client booked every slot of a year from many addresses. Whatever number of
    requests for one phone race, across two worker processes, it ends with the limit."""

    async def test_racing_requests_for_a_phone_one_short_of_the_limit_get_one_booking(
        self,
        limited_client: httpx.AsyncClient,
        limited_server: ServerProcess,
        days: WorkingDays,
        sizes: RaceSizes,
        database_url: str,
    ) -> None:
        slots = [
            (day, time)
            for day in days.take_many(1 + sizes.same_phone // len(SLOT_TIMES))
            for time in SLOT_TIMES
        ]
        first = booking_body(*slots[0], service_name=unique_service("One short of the limit"))
        phone = first["phone"]

        def request(day: dt.date, time: str) -> dict[str, Any]:
            return first | {"booking_date": day.isoformat(), "booking_time": time}

        for day, time in slots[: PHONE_LIMIT - 1]:
            booked = await limited_client.post(CREATE_PATH, json=request(day, time))
            assert booked.status_code == 201, booked.text
        racing = slots[PHONE_LIMIT - 1 :][: sizes.same_phone]

        responses = await asyncio.gather(
            *(limited_client.post(CREATE_PATH, json=request(*slot)) for slot in racing)
        )

        assert statuses(responses) == {201: 1, 422: len(racing) - 1}, [
            response.text for response in responses if response.status_code not in (201, 422)
        ][:3]
        for response in responses:
            if response.status_code == 422:
                assert_error(response, 422, "too_many_bookings", TOO_MANY)
        assert_no_lock_errors(responses, limited_server)
        assert await bookings_of_phone(database_url, phone) == PHONE_LIMIT

    async def test_racing_first_bookings_of_a_new_phone_stop_at_the_limit(
        self,
        limited_client: httpx.AsyncClient,
        limited_server: ServerProcess,
        days: WorkingDays,
        sizes: RaceSizes,
        database_url: str,
    ) -> None:
        slots = [
            (day, time)
            for day in days.take_many(sizes.same_phone // len(SLOT_TIMES))
            for time in SLOT_TIMES
        ]
        first = booking_body(*slots[0], service_name=unique_service("New phone, many agents"))
        requests = [
            first | {"booking_date": day.isoformat(), "booking_time": time} for day, time in slots
        ]

        responses = await asyncio.gather(
            *(limited_client.post(CREATE_PATH, json=request) for request in requests)
        )

        assert statuses(responses) == {201: PHONE_LIMIT, 422: len(requests) - PHONE_LIMIT}, [
            response.text for response in responses if response.status_code not in (201, 422)
        ][:3]
        created = [response.json() for response in responses if response.status_code == 201]
        assert sum(body["user_created"] for body in created) == 1
        assert_no_lock_errors(responses, limited_server)
        phone = first["phone"]
        assert (
            await count_rows(database_url, "SELECT count(*) FROM customers WHERE phone = $1", phone)
            == 1
        )
        assert await bookings_of_phone(database_url, phone) == PHONE_LIMIT


class TestCallerCancelUnderConcurrency:
    async def test_twenty_simultaneous_cancels_cancel_once_with_one_event(
        self,
        client: httpx.AsyncClient,
        days: WorkingDays,
        database_url: str,
    ) -> None:
        phone = unique_phone()
        created = await client.post(
            CREATE_PATH, json=booking_body(days.take(), "13:00", phone=phone)
        )
        assert created.status_code == 201, created.text
        booking_id = created.json()["booking_id"]
        before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")

        responses = await asyncio.gather(
            *(
                client.post(f"/api/agent/bookings/{booking_id}/cancel/", json={"phone": phone})
                for _ in range(20)
            )
        )

        assert statuses(responses) == Counter({200: 1, 409: 19}), [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert_error(response, 409, "booking_not_active")
        events = await run_sql(
            database_url, "SELECT type, payload FROM events WHERE event_id > $1", before
        )
        cancellations = [
            payload
            for kind, payload in events
            if kind == "booking_cancelled" and json.loads(payload)["id"] == booking_id
        ]
        assert len(cancellations) == 1, events


def _reschedule_path(booking_id: int) -> str:
    return f"/api/agent/bookings/{booking_id}/reschedule/"


async def _where(database_url: str, booking_id: int) -> tuple[str, str, str]:
    [(day, time, status)] = await run_sql(
        database_url,
        "SELECT booking_date, booking_time, status FROM bookings WHERE id = $1",
        booking_id,
    )
    return str(day)[:10], str(time)[:8], status


class TestRescheduleUnderConcurrency:
    """Moves race through two worker processes: the database's overlap rule (PostgreSQL's
    exclusion constraint, SQLite's update trigger) lets exactly one booking into a start, and
    a refused move changes nothing: its booking keeps its old start, which stays taken."""

    async def test_two_bookings_moved_into_one_start_at_once_one_moves_the_other_stays(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, target = days.take(), days.take()
        phones = [unique_phone(), unique_phone()]
        ids = []
        for phone, time in zip(phones, ("12:00", "13:00"), strict=True):
            created = await client.post(CREATE_PATH, json=booking_body(day, time, phone=phone))
            assert created.status_code == 201, created.text
            ids.append(created.json()["booking_id"])

        responses = await asyncio.gather(
            *(
                client.post(
                    _reschedule_path(booking_id),
                    json={
                        "phone": phone,
                        "booking_date": target.isoformat(),
                        "booking_time": "14:00",
                    },
                )
                for booking_id, phone in zip(ids, phones, strict=True)
            )
        )

        assert statuses(responses) == Counter({200: 1, 409: 1}), [r.text for r in responses]
        winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
        loser = 1 - winner
        assert_error(responses[loser], 409, "slot_taken")
        assert responses[loser].json()["alternatives"]
        assert await _where(database_url, ids[winner]) == (
            target.isoformat(),
            "14:00:00",
            "upcoming",
        )
        assert await _where(database_url, ids[loser]) == (
            day.isoformat(),
            ("12:00:00", "13:00:00")[loser],
            "upcoming",
        )
        # The winner's old start is free again; the loser's is still taken.
        free_again = await client.post(
            CREATE_PATH,
            json=booking_body(day, ("12:00", "13:00")[winner], phone=unique_phone()),
        )
        still_taken = await client.post(
            CREATE_PATH,
            json=booking_body(day, ("12:00", "13:00")[loser], phone=unique_phone()),
        )
        assert free_again.status_code == 201, free_again.text
        assert_error(still_taken, 409, "slot_taken")

    async def test_twenty_bookings_moved_into_one_start_at_once_move_one(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        target = days.take()
        booked: list[tuple[int, str, dt.date, str]] = []
        for day in days.take_many(4):
            for time in SLOT_TIMES:
                phone = unique_phone()
                created = await client.post(CREATE_PATH, json=booking_body(day, time, phone=phone))
                assert created.status_code == 201, created.text
                booked.append((created.json()["booking_id"], phone, day, time))
        before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")

        responses = await asyncio.gather(
            *(
                client.post(
                    _reschedule_path(booking_id),
                    json={
                        "phone": phone,
                        "booking_date": target.isoformat(),
                        "booking_time": "4:00 PM",
                    },
                )
                for booking_id, phone, _, _ in booked
            )
        )

        assert statuses(responses) == Counter({200: 1, 409: 19}), [r.text for r in responses]
        for response in responses:
            if response.status_code == 409:
                assert_error(response, 409, "slot_taken")
        for (booking_id, _, day, time), response in zip(booked, responses, strict=True):
            expected = (
                (target.isoformat(), "16:00:00")
                if response.status_code == 200
                else (day.isoformat(), f"{time}:00")
            )
            assert (await _where(database_url, booking_id))[:2] == expected
        at_target = await count_rows(
            database_url,
            "SELECT count(*) FROM bookings WHERE booking_date = $1 AND status <> 'cancelled'",
            target.isoformat() if database_url.startswith("sqlite") else target,
        )
        assert at_target == 1
        events = await run_sql(
            database_url, "SELECT type, payload FROM events WHERE event_id > $1", before
        )
        moves = [json.loads(payload) for kind, payload in events if kind == "booking_rescheduled"]
        assert len(moves) == 1, events
        assert moves[0]["booking_time"] == "16:00:00"

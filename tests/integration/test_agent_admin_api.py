"""The agent and admin API (docs/admin-api.md) through a real ``booking serve``, on SQLite and
PostgreSQL (issue 5).

Availability and create agree (every slot listed as free books, and is then taken); refusals of
a time offer the nearest free slots; an Idempotency-Key makes retries, sequential or
simultaneous, one booking with one answer; the admin API lists, shows and cancels bookings
(cancelling frees the slot and tells the dashboards) and reads and changes the settings.
What was stored is counted in the database itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pendulum
import pytest

from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.adapters.sql.postgres_statements import POSTGRES
from agent_booking.adapters.sql.sqlite_statements import SQLITE
from tests.integration.conftest import server_on
from tests.integration.dashboards import Dashboard
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import (
    CREATE_PATH,
    assert_created,
    assert_error,
    booking_body,
    unique_phone,
    unique_service,
)
from tests.integration.working_days import SLOT_TIMES, WorkingDays, today_utc
from tests.support.server import ADMIN_TOKEN, AGENT_HEADERS, ServerProcess

AVAILABILITY_PATH = "/api/agent/availability/"
BOOKINGS_PATH = "/api/admin/bookings/"
SETTINGS_PATH = "/api/admin/settings/"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETRIES = 10
ALL_FREE = [f"{time}:00" for time in SLOT_TIMES]
DEFAULT_SETTINGS_VIEW = {
    "open_time": "12:00",
    "close_time": "17:00",
    "off_days": ["sun"],
    "slot_minutes": 60,
    "timezone": "UTC",
    "horizon_days": 365,
    "closed_dates": [],
    "cancel_notice_minutes": 0,
    "reschedule_notice_minutes": 0,
    "unknown_services": "accept",
}
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
USER_DETAILS = ("id", "username", "first_name", "last_name", "email", "phone")


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
async def fresh_client(fresh_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        headers=AGENT_HEADERS, base_url=fresh_server.base_url, timeout=30.0
    ) as http:
        yield http


@pytest.fixture
async def eager_client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client that really sends every request at once: one connection per request."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        headers=AGENT_HEADERS, base_url=server.base_url, timeout=60.0, limits=limits
    ) as http:
        yield http


# --- helpers --------------------------------------------------------------------------------------


async def availability(client: httpx.AsyncClient, **query: str) -> dict[str, Any]:
    """The availability answer, each day's ``free_resources`` checked and left out: in this
    one-resource business every free start is free on the first resource, and only there."""
    response = await client.get(AVAILABILITY_PATH, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for day in body["days"]:
        assert day.pop("free_resources") == [[1]] * len(day["free"]), day
    return body


async def day_of(client: httpx.AsyncClient, day: dt.date) -> dict[str, Any]:
    body = await availability(client, date=day.isoformat())
    [found] = body["days"]
    assert found["date"] == day.isoformat()
    return found


async def book(client: httpx.AsyncClient, request: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(CREATE_PATH, json=request)
    assert response.status_code == 201, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


def booking_view(created: dict[str, Any], status: str = "upcoming") -> dict[str, Any]:
    """The admin API's booking view of a booking, from its create response."""
    booking, user = created["data"]["booking"], created["data"]["user"]
    return {
        "id": booking["id"],
        "service_name": booking["service_name"],
        "booking_date": booking["booking_date"],
        "booking_time": booking["booking_time"],
        "starts_at": f"{booking['booking_date']}T{booking['booking_time']}Z",
        "status": status,
        "notes": booking["notes"],
        "created_at": booking["created_at"],
        "user_details": {name: user[name] for name in USER_DETAILS},
        "resource": booking["resource"],
        "service": booking["service"],
    }


def alternatives(day: dt.date, *times: str) -> list[dict[str, str]]:
    return [
        {
            "booking_date": day.isoformat(),
            "booking_time": f"{time}:00",
            "spoken": said(day, f"{time}:00")[f"{time}:00"],
        }
        for time in times
    ]


def said(day: dt.date, *times: str) -> dict[str, str]:
    """``spoken`` for starts of ``day`` (``HH:MM:SS``), as the servers say them (``en``)."""
    speak = SpokenStarts("en")
    return {time: speak(day, dt.time.fromisoformat(time), today_utc().year) for time in times}


async def latest_event_id(database_url: str) -> int:
    return await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")


async def events_about(database_url: str, after: int, service_name: str) -> list[str]:
    """The types of the events since ``after`` about bookings of ``service_name``."""
    rows = await run_sql(
        database_url, "SELECT type, payload FROM events WHERE event_id > $1", after
    )
    return [kind for kind, payload in rows if json.loads(payload)["service_name"] == service_name]


async def bookings_of(database_url: str, service_name: str) -> int:
    return await count_rows(
        database_url, "SELECT count(*) FROM bookings WHERE service_name = $1", service_name
    )


def same_answers(responses: list[httpx.Response]) -> None:
    first = responses[0]
    for response in responses[1:]:
        assert (response.status_code, response.json()) == (first.status_code, first.json())
        assert response.content == first.content


# --- availability ---------------------------------------------------------------------------------


class TestAvailability:
    async def test_a_free_working_day_lists_every_slot(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()

        response = await client.get(AVAILABILITY_PATH, params={"date": day.isoformat()})

        assert response.status_code == 200, response.text
        assert response.json() == {
            "success": True,
            "timezone": "UTC",
            "slot_minutes": 60,
            "days": [
                {
                    "date": day.isoformat(),
                    "closed": None,
                    "free": ALL_FREE,
                    "taken": [],
                    "spoken": said(day, *ALL_FREE),
                    "free_resources": [[1]] * len(ALL_FREE),
                }
            ],
        }

    async def test_every_slot_listed_as_free_books_and_is_then_taken(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "14:00"))

        listed = await day_of(client, day)
        assert listed["taken"] == ["14:00:00"]
        assert listed["free"] == ["12:00:00", "13:00:00", "15:00:00", "16:00:00"]
        for time in listed["free"]:
            request = booking_body(day, time)
            response = await client.post(CREATE_PATH, json=request)
            assert_created(
                response, request, user_created=True, booking_date=day, booking_time=time
            )
            assert time not in (await day_of(client, day))["free"]

        assert await day_of(client, day) == {
            "date": day.isoformat(),
            "closed": None,
            "free": [],
            "taken": ALL_FREE,
            "spoken": said(day, *ALL_FREE),
        }
        for time in SLOT_TIMES:
            refused = await client.post(CREATE_PATH, json=booking_body(day, time))
            assert_error(refused, 409, "slot_taken")

    async def test_a_range_lists_each_day_and_marks_the_off_day(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        saturday = days.take(lambda day: day.isoweekday() == 6)
        monday = saturday + dt.timedelta(days=2)
        await book(client, booking_body(saturday, "16:00"))

        body = await availability(
            client, **{"from": saturday.strftime("%d/%m/%Y"), "to": monday.isoformat()}
        )

        assert body["days"] == [
            {
                "date": saturday.isoformat(),
                "closed": None,
                "free": ALL_FREE[:-1],
                "taken": ["16:00:00"],
                "spoken": said(saturday, *ALL_FREE),
            },
            {
                "date": (saturday + dt.timedelta(days=1)).isoformat(),
                "closed": "off_day",
                "free": [],
                "taken": [],
                "spoken": {},
            },
            {
                "date": monday.isoformat(),
                "closed": None,
                "free": ALL_FREE,
                "taken": [],
                "spoken": said(monday, *ALL_FREE),
            },
        ]

    async def test_a_range_covers_up_to_31_days(self, client: httpx.AsyncClient) -> None:
        first = today_utc() + dt.timedelta(days=2)
        last = first + dt.timedelta(days=30)

        body = await availability(client, **{"from": first.isoformat(), "to": last.isoformat()})

        assert [day["date"] for day in body["days"]] == [
            (first + dt.timedelta(days=offset)).isoformat() for offset in range(31)
        ]

    async def test_a_range_of_more_than_31_days_is_refused(self, client: httpx.AsyncClient) -> None:
        first = today_utc() + dt.timedelta(days=2)
        response = await client.get(
            AVAILABILITY_PATH,
            params={"from": first.isoformat(), "to": (first + dt.timedelta(days=31)).isoformat()},
        )
        assert_error(response, 400, "invalid_field", message_prefix="Invalid to")

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ({"date": "2026/11/26"}, "invalid_date"),
            ({"date": "31/02/2027"}, "invalid_date"),
            ({"date": "tomorrow"}, "invalid_date"),
            ({"from": "2027-01-10", "to": "someday"}, "invalid_date"),
            ({"from": "2027-01-10", "to": "2027-01-09"}, "invalid_field"),
            ({}, "missing_field"),
            ({"to": "2027-01-10"}, "missing_field"),
        ],
        ids=["iso-slashes", "impossible", "word", "bad-to", "backwards", "nothing", "only-to"],
    )
    async def test_a_bad_query_is_a_400(
        self, client: httpx.AsyncClient, query: dict[str, str], code: str
    ) -> None:
        response = await client.get(AVAILABILITY_PATH, params=query)
        assert_error(response, 400, code)

    async def test_days_that_have_passed_list_nothing(self, client: httpx.AsyncClient) -> None:
        yesterday = today_utc() - dt.timedelta(days=1)
        listed = await day_of(client, yesterday)
        assert (listed["free"], listed["taken"]) == ([], [])

    async def test_needs_no_token(self, server: ServerProcess, days: WorkingDays) -> None:
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server.base_url, timeout=30.0
        ) as anonymous:
            response = await anonymous.get(
                AVAILABILITY_PATH, params={"date": days.take().isoformat()}
            )
        assert response.status_code == 200, response.text

    async def test_the_dashboard_reads_it_with_the_admin_token_alone(
        self, client: httpx.AsyncClient, server: ServerProcess, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "15:00"))
        async with httpx.AsyncClient(headers=ADMIN, base_url=server.base_url) as dashboard:
            as_admin = await dashboard.get(
                ADMIN_AVAILABILITY_PATH, params={"date": day.isoformat()}
            )
            as_agent_without_key = await dashboard.get(
                AVAILABILITY_PATH, params={"date": day.isoformat()}
            )

        assert as_admin.status_code == 200, as_admin.text
        as_agent = await client.get(AVAILABILITY_PATH, params={"date": day.isoformat()})
        assert as_admin.json() == as_agent.json()
        assert "15:00:00" in as_admin.json()["days"][0]["taken"]
        # The agent endpoint still wants an agent key: the admin token is not one.
        assert as_agent_without_key.status_code == 401, as_agent_without_key.text


# --- alternatives ---------------------------------------------------------------------------------


class TestAlternatives:
    async def test_a_taken_slot_offers_the_nearest_free_slots(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "14:00"))

        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(day, "14:00")),
            409,
            "slot_taken",
            "This time slot is already reserved",
        )

        assert body["alternatives"] == alternatives(day, "13:00", "15:00", "12:00")

    async def test_a_time_before_opening_offers_the_first_free_slots(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "14:00"))

        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(day, "11:00")),
            422,
            "outside_working_hours",
            message_prefix="Booking time is outside working hours",
        )

        assert body["alternatives"] == alternatives(day, "12:00", "13:00", "15:00")

    async def test_a_time_between_slots_offers_its_nearest_neighbours(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "14:00"))

        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(day, "14:30")),
            422,
            "not_slot_start",
        )

        assert body["alternatives"] == alternatives(day, "15:00", "13:00", "16:00")

    async def test_a_full_day_offers_the_next_working_day(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        saturday = days.take(lambda day: day.isoweekday() == 6)
        for time in SLOT_TIMES:
            await book(client, booking_body(saturday, time))

        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(saturday, "16:00")), 409, "slot_taken"
        )

        monday = saturday + dt.timedelta(days=2)
        assert body["alternatives"] == alternatives(monday, "12:00", "13:00", "14:00")

    async def test_every_alternative_books(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "13:00"))
        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(day, "13:00")), 409, "slot_taken"
        )

        for alternative in body["alternatives"]:
            request = booking_body(day) | alternative
            await book(client, request)

    async def test_an_off_day_offers_none(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        body = assert_error(
            await client.post(CREATE_PATH, json=booking_body(days.sunday(), "14:00")),
            422,
            "off_day",
        )
        assert "alternatives" not in body


# --- idempotency keys -----------------------------------------------------------------------------


class TestIdempotencyKey:
    async def test_ten_retries_make_one_booking_one_event_and_one_answer(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        service = unique_service()
        request = booking_body(days.take(), "14:00", service_name=service)
        key = str(uuid.uuid4())
        before = await latest_event_id(database_url)

        responses = [
            await client.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})
            for _ in range(RETRIES)
        ]

        first, replays = responses[0], responses[1:]
        assert first.status_code == 201, first.text
        assert REPLAYED_HEADER.lower() not in first.headers
        for replay in replays:
            assert replay.status_code == 201, replay.text
            assert replay.json() == first.json()
            assert replay.content == first.content
            assert replay.headers.get(REPLAYED_HEADER) == "true"
        assert await bookings_of(database_url, service) == 1
        assert await events_about(database_url, before, service) == ["booking_created"]

    async def test_ten_simultaneous_requests_make_one_booking_one_event_and_one_answer(
        self, eager_client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        service = unique_service()
        request = booking_body(days.take(), "14:00", service_name=service)
        key = str(uuid.uuid4())
        before = await latest_event_id(database_url)

        responses = list(
            await asyncio.gather(
                *(
                    eager_client.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})
                    for _ in range(RETRIES)
                )
            )
        )

        assert [response.status_code for response in responses] == [201] * RETRIES, [
            response.text for response in responses
        ]
        same_answers(responses)
        replayed = [response.headers.get(REPLAYED_HEADER) for response in responses]
        assert sorted(replayed, key=str) == [None] + ["true"] * (RETRIES - 1)
        assert await bookings_of(database_url, service) == 1
        assert await events_about(database_url, before, service) == ["booking_created"]

    async def test_the_same_key_with_another_body_is_refused(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        service = unique_service()
        day = days.take()
        key = str(uuid.uuid4())
        first = booking_body(day, "14:00", service_name=service)
        await book_with_key(client, first, key)

        response = await client.post(
            CREATE_PATH,
            json=first | {"booking_time": "15:00"},
            headers={KEY_HEADER: key},
        )

        assert_error(response, 422, "idempotency_key_reused")
        assert await bookings_of(database_url, service) == 1
        again = await client.post(CREATE_PATH, json=first, headers={KEY_HEADER: key})
        assert (again.status_code, again.headers.get(REPLAYED_HEADER)) == (201, "true")

    async def test_a_slot_taken_outcome_is_replayed_for_the_same_key(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        holder = await book(client, booking_body(day, "14:00"))
        service = unique_service()
        request = booking_body(day, "14:00", service_name=service)
        key = str(uuid.uuid4())
        refused = await client.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})
        assert_error(refused, 409, "slot_taken")
        cancelled = await client.post(
            f"{BOOKINGS_PATH}{holder['booking_id']}/cancel/", headers=ADMIN
        )
        assert cancelled.status_code == 200, cancelled.text

        again = await client.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})

        assert again.status_code == 409, again.text
        assert again.json() == refused.json()
        assert again.headers.get(REPLAYED_HEADER) == "true"
        assert await bookings_of(database_url, service) == 0
        # Without the key it is a new request, and the slot is free now.
        await book(client, request)

    @pytest.mark.parametrize(
        "key",
        [b"", b"two words", b"x" * 256, "clé".encode(), b"tab\there"],
        ids=["empty", "space", "256-chars", "non-ascii", "tab"],
    )
    async def test_an_invalid_key_is_a_400(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str, key: bytes
    ) -> None:
        service = unique_service()
        request = booking_body(days.take(), "14:00", service_name=service)

        response = await client.post(CREATE_PATH, json=request, headers={KEY_HEADER.encode(): key})

        assert_error(response, 400, "invalid_idempotency_key")
        assert await bookings_of(database_url, service) == 0

    async def test_the_longest_key_is_accepted(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        request = booking_body(days.take(), "14:00")
        response = await client.post(CREATE_PATH, json=request, headers={KEY_HEADER: "k" * 255})
        assert response.status_code == 201, response.text


async def book_with_key(client: httpx.AsyncClient, request: dict[str, Any], key: str) -> None:
    response = await client.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})
    assert response.status_code == 201, response.text


# --- admin API: authentication --------------------------------------------------------------------

ADMIN_AVAILABILITY_PATH = "/api/admin/availability/"
ADMIN_ROUTES = [
    ("GET", f"{ADMIN_AVAILABILITY_PATH}?date=2030-01-07", None),
    ("GET", BOOKINGS_PATH, None),
    ("GET", f"{BOOKINGS_PATH}1/", None),
    ("POST", f"{BOOKINGS_PATH}1/cancel/", None),
    ("GET", SETTINGS_PATH, None),
    ("PATCH", SETTINGS_PATH, {"close_time": "18:00"}),
]


class TestAdminAuthentication:
    @pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer", f"{ADMIN_TOKEN}"],
        ids=["none", "wrong-token", "basic", "empty-bearer", "bare-token"],
    )
    async def test_without_the_admin_token_is_a_401(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, str] | None,
        authorization: str | None,
    ) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}

        response = await client.request(method, path, json=body, headers=headers)

        assert_error(response, 401, "unauthorized", "Authentication required")
        assert response.headers.get("www-authenticate") == "Bearer"

    async def test_a_refused_patch_changes_nothing(self, client: httpx.AsyncClient) -> None:
        await client.patch(SETTINGS_PATH, json={"close_time": "18:00"})
        response = await client.get(SETTINGS_PATH, headers=ADMIN)
        assert response.json()["data"] == DEFAULT_SETTINGS_VIEW


# --- admin API: bookings --------------------------------------------------------------------------


class TestAdminBookings:
    async def test_lists_with_filters_and_pages(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        first_day, second_day = days.take(), days.take()
        phone = unique_phone()
        a = await book(client, booking_body(first_day, "12:00", phone=phone))
        b = await book(client, booking_body(first_day, "15:00"))
        c = await book(client, booking_body(second_day, "13:00", phone=phone, status="pending"))
        cancelled = await client.post(f"{BOOKINGS_PATH}{b['booking_id']}/cancel/", headers=ADMIN)
        assert cancelled.status_code == 200, cancelled.text
        views = [booking_view(a), booking_view(b, "cancelled"), booking_view(c, "pending")]
        both_days = {"from": first_day.isoformat(), "to": second_day.strftime("%d/%m/%Y")}

        async def listed(**query: str | int) -> dict[str, Any]:
            response = await client.get(BOOKINGS_PATH, params=query, headers=ADMIN)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            assert body["success"] is True
            return body

        assert await listed(**both_days) == {
            "success": True,
            "data": views,
            "page": 1,
            "page_size": 50,
            "total": 3,
        }
        one_day = first_day.isoformat()
        assert (await listed(**{"from": one_day, "to": one_day}))["data"] == views[:2]
        assert (await listed(**both_days, status="cancelled"))["data"] == [views[1]]
        assert (await listed(**both_days, status="pending"))["data"] == [views[2]]
        assert (await listed(**both_days, status="upcoming"))["data"] == [views[0]]
        assert (await listed(phone=phone))["data"] == [views[0], views[2]]
        formatted = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
        assert (await listed(phone=formatted))["data"] == [views[0], views[2]]

        page_1 = await listed(**both_days, page_size=2)
        page_2 = await listed(**both_days, page_size=2, page=2)
        page_3 = await listed(**both_days, page_size=2, page=3)
        assert (page_1["data"], page_1["page"], page_1["page_size"], page_1["total"]) == (
            views[:2],
            1,
            2,
            3,
        )
        assert (page_2["data"], page_2["page"], page_2["total"]) == (views[2:], 2, 3)
        assert (page_3["data"], page_3["total"]) == ([], 3)

    @pytest.mark.parametrize(
        ("query", "code"),
        [
            ({"status": "done"}, "invalid_field"),
            ({"page": "0"}, "invalid_field"),
            ({"page": "first"}, "invalid_field"),
            ({"page_size": "0"}, "invalid_field"),
            ({"page_size": "201"}, "invalid_field"),
            ({"from": "yesterday"}, "invalid_date"),
            ({"phone": "call me"}, "invalid_field"),
        ],
        ids=["status", "page-0", "page-word", "size-0", "size-201", "from", "phone"],
    )
    async def test_a_bad_filter_is_a_400(
        self, client: httpx.AsyncClient, query: dict[str, str], code: str
    ) -> None:
        response = await client.get(BOOKINGS_PATH, params=query, headers=ADMIN)
        assert_error(response, 400, code)

    async def test_the_largest_page_is_200(self, client: httpx.AsyncClient) -> None:
        response = await client.get(BOOKINGS_PATH, params={"page_size": 200}, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json()["page_size"] == 200

    async def test_shows_one_booking(self, client: httpx.AsyncClient, days: WorkingDays) -> None:
        created = await book(
            client,
            booking_body(
                days.take(),
                "13:00",
                first_name="John",
                last_name="Doe",
                email="john.doe@example.com",
                notes="Agent created booking",
            ),
        )

        response = await client.get(f"{BOOKINGS_PATH}{created['booking_id']}/", headers=ADMIN)

        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "data": booking_view(created)}

    async def test_an_unknown_booking_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"{BOOKINGS_PATH}987654321/", headers=ADMIN)
        assert_error(response, 404, "booking_not_found", "Booking not found")

    async def test_cancel_frees_the_slot_and_tells_the_dashboards(
        self,
        server: ServerProcess,
        client: httpx.AsyncClient,
        days: WorkingDays,
        database_url: str,
    ) -> None:
        day = days.take()
        async with Dashboard.open(server) as dashboard:
            created = await book(client, booking_body(day, "14:00"))
            assert (await dashboard.next_event())["data"]["id"] == created["booking_id"]
            response = await client.post(
                f"{BOOKINGS_PATH}{created['booking_id']}/cancel/", headers=ADMIN
            )
            message = await dashboard.next_message()
            again = await book(client, booking_body(day, "14:00"))
            after = await dashboard.next_message()

        expected = booking_view(created, "cancelled")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "success": True,
            "message": "Booking cancelled",
            "data": expected,
        }
        assert set(message) == {"type", "event_id", "data"}, message
        assert message["type"] == "booking_cancelled"
        assert message["data"] == expected
        assert (after["type"], after["data"]["id"]) == ("booking_created", again["booking_id"])
        assert after["event_id"] > message["event_id"]
        rows = await run_sql(
            database_url, "SELECT status FROM bookings WHERE id = $1", created["booking_id"]
        )
        assert rows == [("cancelled",)]
        assert "14:00:00" in (await day_of(client, day))["taken"]

    async def test_a_cancelled_slot_is_listed_free_again(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        created = await book(client, booking_body(day, "12:00"))
        assert "12:00:00" in (await day_of(client, day))["taken"]

        await client.post(f"{BOOKINGS_PATH}{created['booking_id']}/cancel/", headers=ADMIN)

        assert await day_of(client, day) == {
            "date": day.isoformat(),
            "closed": None,
            "free": ALL_FREE,
            "taken": [],
            "spoken": said(day, *ALL_FREE),
        }

    async def test_cancelling_twice_is_a_409(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        created = await book(client, booking_body(days.take(), "14:00"))
        path = f"{BOOKINGS_PATH}{created['booking_id']}/cancel/"
        assert (await client.post(path, headers=ADMIN)).status_code == 200

        assert_error(await client.post(path, headers=ADMIN), 409, "booking_not_active")

    async def test_a_completed_booking_cannot_be_cancelled(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        created = await book(client, booking_body(days.take(), "14:00"))
        await run_sql(
            database_url,
            "UPDATE bookings SET status = 'completed' WHERE id = $1",
            created["booking_id"],
        )

        response = await client.post(
            f"{BOOKINGS_PATH}{created['booking_id']}/cancel/", headers=ADMIN
        )

        assert_error(response, 409, "booking_not_active")

    async def test_cancelling_an_unknown_booking_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{BOOKINGS_PATH}987654321/cancel/", headers=ADMIN)
        assert_error(response, 404, "booking_not_found")


# --- admin API: settings --------------------------------------------------------------------------


class TestAdminSettings:
    async def test_shows_the_seeded_settings(self, client: httpx.AsyncClient) -> None:
        response = await client.get(SETTINGS_PATH, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "data": DEFAULT_SETTINGS_VIEW}

    async def test_a_partial_update_changes_what_availability_and_create_accept(
        self, fresh_client: httpx.AsyncClient
    ) -> None:
        day = WorkingDays().take()

        response = await fresh_client.patch(
            SETTINGS_PATH, json={"close_time": "18:00"}, headers=ADMIN
        )

        changed = DEFAULT_SETTINGS_VIEW | {"close_time": "18:00"}
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "data": changed, "stranded_bookings": []}
        shown = await fresh_client.get(SETTINGS_PATH, headers=ADMIN)
        assert shown.json()["data"] == changed
        assert (await day_of(fresh_client, day))["free"] == [*ALL_FREE, "17:00:00"]
        await book(fresh_client, booking_body(day, "17:00"))

    async def test_invalid_values_are_a_400_and_change_nothing(
        self, fresh_client: httpx.AsyncClient
    ) -> None:
        day = WorkingDays().take()
        for changes in (
            {"close_time": "11:00"},
            {"slot_minutes": 0},
            {"slot_minutes": "60"},
            {"timezone": "Nowhere/Atlantis"},
            {"off_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            {"closed_dates": ["2026-02-30"]},
            {"close_time": "18:00", "colour": "blue"},
        ):
            response = await fresh_client.patch(SETTINGS_PATH, json=changes, headers=ADMIN)
            assert_error(response, 400, "invalid_settings", message_prefix="Invalid settings")

        for raw in (b"[]", b"not json", b'"close_time"'):
            response = await fresh_client.patch(
                SETTINGS_PATH,
                content=raw,
                headers=ADMIN | {"content-type": "application/json"},
            )
            assert_error(response, 400, "invalid_body")

        shown = await fresh_client.get(SETTINGS_PATH, headers=ADMIN)
        assert shown.json()["data"] == DEFAULT_SETTINGS_VIEW
        assert (await day_of(fresh_client, day))["free"] == ALL_FREE

    async def test_a_new_off_day_lists_the_bookings_it_strands(
        self, fresh_client: httpx.AsyncClient
    ) -> None:
        days = WorkingDays()
        stranded_day = days.take()
        other_day = days.take(lambda day: day.isoweekday() != stranded_day.isoweekday())
        stranded = await book(fresh_client, booking_body(stranded_day, "14:00"))
        kept = await book(fresh_client, booking_body(other_day, "14:00"))
        cancelled = await book(fresh_client, booking_body(stranded_day, "12:00"))
        await fresh_client.post(f"{BOOKINGS_PATH}{cancelled['booking_id']}/cancel/", headers=ADMIN)
        off_day = WEEKDAY_NAMES[stranded_day.isoweekday() - 1]

        response = await fresh_client.patch(
            SETTINGS_PATH, json={"off_days": ["sun", off_day]}, headers=ADMIN
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"]["off_days"] == sorted(["sun", off_day], key=WEEKDAY_NAMES.index)
        assert body["stranded_bookings"] == [booking_view(stranded)]
        # Kept, not cancelled: the operator decides.
        shown = await fresh_client.get(f"{BOOKINGS_PATH}{stranded['booking_id']}/", headers=ADMIN)
        assert shown.json()["data"]["status"] == "upcoming"
        assert (await day_of(fresh_client, stranded_day))["closed"] == "off_day"
        assert (await day_of(fresh_client, other_day))["taken"] == ["14:00:00"]
        assert kept["booking_id"] not in [b["id"] for b in body["stranded_bookings"]]


# --- several worker processes ---------------------------------------------------------------------


@pytest.fixture
def two_workers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    # Keys are shared through the database: on SQLite across processes by its file lock, on
    # PostgreSQL by its unique index. Like every test server, without the rate limit.
    with server_on(database_url, tmp_path_factory, workers=2) as process:
        yield process


class TestIdempotencyAcrossWorkers:
    async def test_ten_simultaneous_requests_through_two_workers_make_one_booking(
        self, two_workers: ServerProcess, days: WorkingDays, database_url: str
    ) -> None:
        service = unique_service()
        request = booking_body(days.take(), "14:00", service_name=service)
        key = str(uuid.uuid4())
        before = await latest_event_id(database_url)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)

        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=two_workers.base_url, timeout=60.0, limits=limits
        ) as http:
            responses = list(
                await asyncio.gather(
                    *(
                        http.post(CREATE_PATH, json=request, headers={KEY_HEADER: key})
                        for _ in range(RETRIES)
                    )
                )
            )

        assert [response.status_code for response in responses] == [201] * RETRIES, [
            response.text for response in responses
        ]
        same_answers(responses)
        assert await bookings_of(database_url, service) == 1
        assert await events_about(database_url, before, service) == ["booking_created"]


# --- the caller's own bookings (issue 15) ---------------------------------------------------------

CALLER_BOOKINGS_PATH = "/api/agent/bookings/"


def cancel_path(booking_id: int) -> str:
    return f"{CALLER_BOOKINGS_PATH}{booking_id}/cancel/"


class TestCallerBookings:
    async def test_find_lists_the_phones_bookings_still_to_come_soonest_first(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        phone, sooner, later = unique_phone(), days.take(), days.take()
        nothing = await client.get(CALLER_BOOKINGS_PATH, params={"phone": phone})
        late = await book(client, booking_body(later, "13:00", phone=phone))
        soon = await book(client, booking_body(sooner, "15:00", phone=phone))
        await book(client, booking_body(sooner, "16:00", phone=unique_phone()))
        dropped = await book(client, booking_body(sooner, "12:00", phone=phone))
        await client.post(cancel_path(dropped["booking_id"]), json={"phone": phone})

        # The phone as written another way is the same caller.
        found = await client.get(
            CALLER_BOOKINGS_PATH, params={"phone": f"({phone[:3]}) {phone[3:]}"}
        )

        assert nothing.status_code == 200, nothing.text
        assert nothing.json() == {"success": True, "data": []}
        assert found.status_code == 200, found.text
        listed = found.json()["data"]
        assert [item["id"] for item in listed] == [soon["booking_id"], late["booking_id"]]
        assert listed[0]["status"] == "upcoming"
        assert listed[0]["booking_time"] == "15:00:00"
        assert listed[0]["starts_at"] == f"{sooner.isoformat()}T15:00:00Z"
        assert listed[0]["spoken"].startswith(f"{sooner:%A}, {sooner:%B} {sooner.day}")
        assert listed[0]["spoken"].endswith("3:00\u202fPM")
        assert listed[0]["resource"] == {"id": 1, "name": "Default"}
        assert listed[0]["service"] == {
            "id": None,
            "name": "Legal Consultation",
            "duration_minutes": 60,
        }

    async def test_cancel_frees_the_slot_and_tells_the_dashboards_why(
        self,
        server: ServerProcess,
        client: httpx.AsyncClient,
        days: WorkingDays,
        database_url: str,
    ) -> None:
        day, phone = days.take(), unique_phone()
        async with Dashboard.open(server) as dashboard:
            created = await book(client, booking_body(day, "14:00", phone=phone))
            await dashboard.next_event()
            response = await client.post(
                cancel_path(created["booking_id"]), json={"phone": phone, "reason": "Flu"}
            )
            message = await dashboard.next_message()

        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["message"] == "Booking cancelled"
        assert (answer["data"]["id"], answer["data"]["status"]) == (
            created["booking_id"],
            "cancelled",
        )
        assert answer["data"]["resource"] == {"id": 1, "name": "Default"}
        assert answer["data"]["service"]["duration_minutes"] == 60
        assert message["type"] == "booking_cancelled"
        assert message["data"]["id"] == created["booking_id"]
        assert message["data"]["cancellation_reason"] == "Flu"
        assert "14:00:00" in (await day_of(client, day))["free"]
        rows = await run_sql(
            database_url, "SELECT status FROM bookings WHERE id = $1", created["booking_id"]
        )
        assert rows == [("cancelled",)]

    async def test_another_phone_is_told_the_booking_does_not_exist(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        created = await book(client, booking_body(days.take(), "14:00", phone=unique_phone()))

        wrong_phone = await client.post(
            cancel_path(created["booking_id"]), json={"phone": unique_phone()}
        )
        missing = await client.post(cancel_path(2**62), json={"phone": unique_phone()})

        assert_error(wrong_phone, 404, "booking_not_found", "Booking not found")
        assert wrong_phone.json() == missing.json()
        rows = await run_sql(
            database_url, "SELECT status FROM bookings WHERE id = $1", created["booking_id"]
        )
        assert rows == [("upcoming",)]

    async def test_a_started_booking_is_too_late_to_cancel(
        self, client: httpx.AsyncClient, database_url: str, days: WorkingDays
    ) -> None:
        phone = unique_phone()
        created = await book(client, booking_body(days.take(), "12:00", phone=phone))
        # Move it into the past behind the service's back, as time passing would.
        await run_sql(
            database_url,
            "UPDATE bookings SET starts_at = $1 WHERE id = $2",
            _db_instant(database_url, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)),
            created["booking_id"],
        )

        response = await client.post(cancel_path(created["booking_id"]), json={"phone": phone})

        assert_error(
            response, 422, "too_late", "Too late to cancel: this booking has already started"
        )

    async def test_a_retried_cancel_with_a_key_gets_the_same_answer(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        phone = unique_phone()
        created = await book(client, booking_body(days.take(), "16:00", phone=phone))
        key = {KEY_HEADER: str(uuid.uuid4())}
        before = await latest_event_id(database_url)

        first = await client.post(
            cancel_path(created["booking_id"]), json={"phone": phone}, headers=key
        )
        again = await client.post(
            cancel_path(created["booking_id"]), json={"phone": phone}, headers=key
        )
        other = await client.post(
            cancel_path(created["booking_id"]), json={"phone": phone, "reason": "x"}, headers=key
        )

        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.json() == first.json()
        assert again.headers[REPLAYED_HEADER] == "true"
        assert_error(other, 422, "idempotency_key_reused")
        rows = await run_sql(database_url, "SELECT type FROM events WHERE event_id > $1", before)
        assert rows == [("booking_cancelled",)]

    async def test_bad_requests_get_the_cores_refusals(self, client: httpx.AsyncClient) -> None:
        no_phone = await client.get(CALLER_BOOKINGS_PATH)
        bad_phone = await client.get(CALLER_BOOKINGS_PATH, params={"phone": "12"})
        not_json = await client.post(cancel_path(1), content=b"[1]")
        blank = await client.post(cancel_path(1), json={"phone": " "})
        long_reason = await client.post(
            cancel_path(1), json={"phone": "1234567", "reason": "x" * 501}
        )

        assert_error(no_phone, 400, "missing_field", "Missing required field: phone")
        assert_error(bad_phone, 400, "invalid_field", message_prefix="Invalid phone: ")
        assert_error(not_json, 400, "invalid_body")
        assert_error(blank, 400, "missing_field", "Missing required field: phone")
        assert_error(long_reason, 400, "invalid_field", message_prefix="Invalid reason: ")

    async def test_only_trusted_agents_may_ask(self, server: ServerProcess) -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as anonymous:
            find = await anonymous.get(CALLER_BOOKINGS_PATH, params={"phone": "1234567"})
        # The test servers require an API key: without one, 401 before anything else.
        assert_error(find, 401, "unauthorized", "API key required")


def _db_instant(database_url: str, instant: dt.datetime) -> Any:
    """``instant`` as the service's own statements store it on that engine."""
    statements = SQLITE if database_url.startswith("sqlite") else POSTGRES
    return statements.instant_to_db(pendulum.instance(instant))


# --- offering slots (issue 15) --------------------------------------------------------------------

SLOTS_PATH = "/api/agent/slots/"


class TestSlotOffer:
    async def test_offers_the_next_free_starts_of_the_policy(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day = days.take()
        await book(client, booking_body(day, "12:00", phone=unique_phone()))
        await book(client, booking_body(day, "14:00", phone=unique_phone()))

        response = await client.get(
            SLOTS_PATH,
            params={"after": day.isoformat(), "limit": "3", "part_of_day": "afternoon"},
        )
        free = (await day_of(client, day))["free"]

        assert response.status_code == 200, response.text
        answer = response.json()
        assert [(item["booking_date"], item["booking_time"]) for item in answer["slots"]] == [
            (day.isoformat(), "13:00:00"),
            (day.isoformat(), "15:00:00"),
            (day.isoformat(), "16:00:00"),
        ]
        assert [item["booking_time"] for item in answer["slots"]] == free
        first = answer["slots"][0]
        assert first["starts_at"] == f"{day.isoformat()}T13:00:00Z"
        assert first["free_resources"] == [1]
        assert first["spoken"] == SpokenStarts("en")(day, dt.time(13), today_utc().year)
        assert answer["service"] == {"id": None, "name": "Any service", "duration_minutes": 60}
        assert answer["searched_until"] == day.isoformat()
        assert answer["timezone"] == "UTC"
        # Offered means granted: the agent books the first one as offered.
        booked = await book(
            client,
            booking_body(day, first["booking_time"][:5], phone=unique_phone()),
        )
        assert booked["booking_id"] > 0

    async def test_bad_requests_get_the_cores_refusals(self, client: httpx.AsyncClient) -> None:
        limit = await client.get(SLOTS_PATH, params={"limit": "99"})
        part = await client.get(SLOTS_PATH, params={"part_of_day": "night"})
        after = await client.get(SLOTS_PATH, params={"after": "soon"})
        service = await client.get(SLOTS_PATH, params={"service_id": "999999"})

        assert_error(limit, 400, "invalid_field", message_prefix="Invalid limit: ")
        assert_error(part, 400, "invalid_field", message_prefix="Invalid part_of_day: ")
        assert_error(after, 400, "invalid_date")
        assert_error(service, 422, "unknown_service")

    async def test_only_trusted_agents_may_ask(self, server: ServerProcess) -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as anonymous:
            refused = await anonymous.get(SLOTS_PATH)
        assert_error(refused, 401, "unauthorized", "API key required")


# --- moving a booking (issue 15) ------------------------------------------------------------------


def reschedule_path(booking_id: int) -> str:
    return f"/api/agent/bookings/{booking_id}/reschedule/"


def move_to(phone: str, day: dt.date, time: str, **fields: Any) -> dict[str, Any]:
    return {"phone": phone, "booking_date": day.isoformat(), "booking_time": time, **fields}


async def start_of(database_url: str, booking_id: int) -> tuple[Any, ...]:
    [row] = await run_sql(
        database_url,
        "SELECT booking_date, booking_time, status FROM bookings WHERE id = $1",
        booking_id,
    )
    day, time, status = row
    return str(day)[:10], str(time)[:8], status


class TestReschedule:
    async def test_moves_the_same_booking_frees_the_old_start_and_tells_the_dashboards(
        self,
        server: ServerProcess,
        client: httpx.AsyncClient,
        days: WorkingDays,
        database_url: str,
    ) -> None:
        day, later, phone = days.take(), days.take(), unique_phone()
        async with Dashboard.open(server) as dashboard:
            created = await book(client, booking_body(day, "14:00", phone=phone))
            await dashboard.next_event()
            response = await client.post(
                reschedule_path(created["booking_id"]), json=move_to(phone, later, "3:00 PM")
            )
            message = await dashboard.next_message()

        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["success"], answer["message"], answer["booking_id"]) == (
            True,
            "Booking rescheduled",
            created["booking_id"],
        )
        moved = answer["data"]["booking"]
        assert (moved["id"], moved["booking_date"], moved["booking_time"]) == (
            created["booking_id"],
            later.isoformat(),
            "15:00:00",
        )
        assert moved["starts_at"] == f"{later.isoformat()}T15:00:00Z"
        assert moved["spoken"] == said(later, "15:00:00")["15:00:00"]
        assert (moved["resource"], moved["service"]) == (
            created["data"]["booking"]["resource"],
            created["data"]["booking"]["service"],
        )
        assert answer["data"]["user"]["phone"] == phone
        previous = {
            "booking_date": day.isoformat(),
            "booking_time": "14:00:00",
            "starts_at": f"{day.isoformat()}T14:00:00Z",
            "resource": {"id": 1, "name": "Default"},
        }
        assert answer["data"]["previous"] == {
            **previous,
            "spoken": said(day, "14:00:00")["14:00:00"],
        }
        assert message["type"] == "booking_rescheduled"
        assert message["data"]["id"] == created["booking_id"]
        assert (message["data"]["booking_date"], message["data"]["booking_time"]) == (
            later.isoformat(),
            "15:00:00",
        )
        assert message["data"]["previous"] == previous
        assert "14:00:00" in (await day_of(client, day))["free"]
        assert "15:00:00" in (await day_of(client, later))["taken"]
        # The old start books again; the row is the same one, moved.
        await book(client, booking_body(day, "14:00", phone=unique_phone()))
        assert (
            await count_rows(
                database_url,
                "SELECT count(*) FROM bookings WHERE id = $1 AND booking_date = $2",
                created["booking_id"],
                _db_date(database_url, later),
            )
            == 1
        )

    async def test_an_occupied_start_offers_alternatives_and_the_booking_stays(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, phone = days.take(), unique_phone()
        mine = await book(client, booking_body(day, "13:00", phone=phone))
        await book(client, booking_body(day, "14:00", phone=unique_phone()))
        await book(client, booking_body(day, "12:00", phone=unique_phone()))
        before = await latest_event_id(database_url)

        refused = await client.post(
            reschedule_path(mine["booking_id"]), json=move_to(phone, day, "14:00")
        )

        body = assert_error(refused, 409, "slot_taken", "This time slot is already reserved")
        # Its own 13:00 is offered: the booking does not stand in its own way.
        assert body["alternatives"] == alternatives(day, "13:00", "15:00", "16:00")
        assert await start_of(database_url, mine["booking_id"]) == (
            day.isoformat(),
            "13:00:00",
            "upcoming",
        )
        assert "13:00:00" in (await day_of(client, day))["taken"]
        assert await latest_event_id(database_url) == before

    async def test_another_phone_is_told_the_booking_does_not_exist(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day = days.take()
        created = await book(client, booking_body(day, "14:00", phone=unique_phone()))

        wrong_phone = await client.post(
            reschedule_path(created["booking_id"]), json=move_to(unique_phone(), day, "15:00")
        )
        missing = await client.post(
            reschedule_path(2**62), json=move_to(unique_phone(), day, "15:00")
        )

        assert_error(wrong_phone, 404, "booking_not_found", "Booking not found")
        assert wrong_phone.json() == missing.json()
        assert await start_of(database_url, created["booking_id"]) == (
            day.isoformat(),
            "14:00:00",
            "upcoming",
        )

    async def test_a_cancelled_booking_is_not_active(
        self, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day, phone = days.take(), unique_phone()
        created = await book(client, booking_body(day, "14:00", phone=phone))
        cancelled = await client.post(cancel_path(created["booking_id"]), json={"phone": phone})
        assert cancelled.status_code == 200, cancelled.text

        response = await client.post(
            reschedule_path(created["booking_id"]), json=move_to(phone, day, "15:00")
        )

        assert_error(response, 409, "booking_not_active", "Booking is cancelled, not movable")
        assert "15:00:00" in (await day_of(client, day))["free"]

    async def test_a_started_booking_is_too_late_to_move(
        self, client: httpx.AsyncClient, database_url: str, days: WorkingDays
    ) -> None:
        phone = unique_phone()
        created = await book(client, booking_body(days.take(), "12:00", phone=phone))
        await run_sql(
            database_url,
            "UPDATE bookings SET starts_at = $1 WHERE id = $2",
            _db_instant(database_url, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)),
            created["booking_id"],
        )

        response = await client.post(
            reschedule_path(created["booking_id"]), json=move_to(phone, days.take(), "14:00")
        )

        assert_error(
            response, 422, "too_late", "Too late to move: this booking has already started"
        )

    async def test_the_new_start_obeys_the_create_rules_and_a_key_replays_them(
        self, client: httpx.AsyncClient, days: WorkingDays, database_url: str
    ) -> None:
        day, phone = days.take(), unique_phone()
        created = await book(client, booking_body(day, "14:00", phone=phone))
        path = reschedule_path(created["booking_id"])
        key = {KEY_HEADER: str(uuid.uuid4())}

        sunday = await client.post(path, json=move_to(phone, days.sunday(), "14:00"))
        late = await client.post(path, json=move_to(phone, day, "18:00"), headers=key)
        again = await client.post(path, json=move_to(phone, day, "18:00"), headers=key)
        bad_date = await client.post(
            path, json=move_to(phone, day, "14:00") | {"booking_date": "31/02/2027"}
        )

        assert_error(sunday, 422, "off_day")
        assert_error(late, 422, "outside_working_hours")
        assert again.json() == late.json()
        assert again.headers[REPLAYED_HEADER] == "true"
        assert_error(bad_date, 400, "invalid_date")
        assert await start_of(database_url, created["booking_id"]) == (
            day.isoformat(),
            "14:00:00",
            "upcoming",
        )

    async def test_only_trusted_agents_may_move(
        self, server: ServerProcess, client: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        day, phone = days.take(), unique_phone()
        created = await book(client, booking_body(day, "14:00", phone=phone))
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as anonymous:
            refused = await anonymous.post(
                reschedule_path(created["booking_id"]), json=move_to(phone, day, "15:00")
            )
        assert_error(refused, 401, "unauthorized", "API key required")


def _db_date(database_url: str, day: dt.date) -> Any:
    statements = SQLITE if database_url.startswith("sqlite") else POSTGRES
    return statements.date_to_db(day)

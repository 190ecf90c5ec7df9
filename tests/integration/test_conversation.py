"""The whole phone conversation of issue 15, scripted through a real server on both engines.

One caller: find (nothing) → offer Tuesday afternoon → hold the first offer → a second caller is
refused the held start → confirm → find (one booking) → move to Thursday → cancel → find
(nothing). A dashboard connected before the call must see exactly one event per step that
changes something, in the order the steps happened, all about the same booking id; the refused
second caller changes nothing and is seen by nobody.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.integration.dashboards import Dashboard
from tests.integration.direct_sql import run_sql
from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body, unique_phone
from tests.integration.working_days import WorkingDays
from tests.support.server import ServerProcess

FIND_PATH = "/api/agent/bookings/"
OFFER_PATH = "/api/agent/slots/"
HOLDS_PATH = "/api/agent/holds/"
TUESDAY, THURSDAY = 2, 4


def confirm_path(hold_id: int) -> str:
    return f"{HOLDS_PATH}{hold_id}/confirm/"


def reschedule_path(booking_id: int) -> str:
    return f"{FIND_PATH}{booking_id}/reschedule/"


def cancel_path(booking_id: int) -> str:
    return f"{FIND_PATH}{booking_id}/cancel/"


async def found(client: httpx.AsyncClient, phone: str) -> list[dict[str, Any]]:
    response = await client.get(FIND_PATH, params={"phone": phone})
    assert response.status_code == 200, response.text
    bookings: list[dict[str, Any]] = response.json()["data"]
    return bookings


async def first_offer(client: httpx.AsyncClient, tuesday: dt.date) -> dict[str, Any]:
    """The first of three afternoon starts offered from ``tuesday`` (a day with all free)."""
    offer = await client.get(
        OFFER_PATH,
        params={"after": tuesday.isoformat(), "part_of_day": "afternoon", "limit": "3"},
    )
    assert offer.status_code == 200, offer.text
    slots: list[dict[str, Any]] = offer.json()["slots"]
    assert len(slots) == 3, slots
    first = slots[0]
    assert first["booking_date"] == tuesday.isoformat(), first
    assert dt.time.fromisoformat(first["booking_time"]) >= dt.time(12), first
    assert first["spoken"].startswith("Tuesday"), first
    return first


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["success"] is True, body
    return body


async def test_find_offer_hold_confirm_move_cancel_with_events_in_order(
    server: ServerProcess, client: httpx.AsyncClient, database_url: str
) -> None:
    days = WorkingDays()
    tuesday = days.take(lambda day: day.isoweekday() == TUESDAY)
    thursday = days.take(lambda day: day.isoweekday() == THURSDAY)
    phone, other_phone = unique_phone(), unique_phone()

    async with Dashboard.open(server) as dashboard:
        # "When is my appointment?" — nothing yet.
        assert await found(client, phone) == []

        # "Anything Tuesday afternoon?"
        first = await first_offer(client, tuesday)

        # "Hold the first one while I check with my wife."
        request = booking_body(
            tuesday, first["booking_time"], phone=phone, first_name="Ada", last_name="Lovelace"
        )
        held = expect(await client.post(HOLDS_PATH, json=request), 201)
        booking_id = held["booking_id"]
        assert held["data"]["booking"]["id"] == booking_id
        assert held["data"]["booking"]["status"] == "held"
        expires = dt.datetime.fromisoformat(held["data"]["booking"]["hold_expires_at"])
        assert held["data"]["booking"]["spoken"] == first["spoken"]
        assert expires > dt.datetime.now(dt.UTC)

        # Meanwhile another caller wants the same start: refused, as a hold and as a booking.
        rival = request | {"phone": other_phone}
        refused_hold = assert_error(await client.post(HOLDS_PATH, json=rival), 409, "slot_taken")
        refused_create = assert_error(await client.post(CREATE_PATH, json=rival), 409, "slot_taken")
        assert refused_hold["alternatives"], refused_hold
        assert refused_create["alternatives"] == refused_hold["alternatives"]

        # "Yes, book it."
        confirmed = expect(await client.post(confirm_path(booking_id), json={"phone": phone}), 201)
        assert confirmed["booking_id"] == booking_id
        assert confirmed["data"]["booking"]["status"] == "upcoming"
        assert confirmed["message"] == "Booking created successfully"
        assert confirmed["data"]["booking"]["spoken"] == first["spoken"]

        listed = await found(client, phone)
        assert [(item["id"], item["status"]) for item in listed] == [(booking_id, "upcoming")]

        # "Actually, move it to Thursday at two."
        moved = expect(
            await client.post(
                reschedule_path(booking_id),
                json={
                    "phone": phone,
                    "booking_date": thursday.isoformat(),
                    "booking_time": "2:00 PM",
                },
            ),
            200,
        )
        assert moved["booking_id"] == booking_id
        assert moved["data"]["booking"]["booking_date"] == thursday.isoformat()
        assert moved["data"]["booking"]["booking_time"] == "14:00:00"
        assert moved["data"]["previous"]["booking_date"] == tuesday.isoformat()
        assert moved["data"]["previous"]["booking_time"] == first["booking_time"]

        # The old start is free again: the rival gets it now.
        rival_booked = expect(await client.post(CREATE_PATH, json=rival), 201)

        # "Cancel it, please."
        cancelled = expect(
            await client.post(cancel_path(booking_id), json={"phone": phone, "reason": "Ill"}),
            200,
        )
        assert cancelled["data"]["status"] == "cancelled"
        assert await found(client, phone) == []

        events = [await dashboard.next_message() for _ in range(5)]

    assert [(event["type"], event["data"]["id"]) for event in events] == [
        ("booking_held", booking_id),
        ("booking_created", booking_id),
        ("booking_rescheduled", booking_id),
        ("booking_created", rival_booked["booking_id"]),
        ("booking_cancelled", booking_id),
    ]
    event_ids = [event["event_id"] for event in events]
    assert event_ids == sorted(set(event_ids))
    rescheduled = events[2]["data"]
    assert rescheduled["booking_date"] == thursday.isoformat()
    assert rescheduled["previous"]["booking_date"] == tuesday.isoformat()
    assert rescheduled["previous"]["booking_time"] == first["booking_time"]
    assert events[4]["data"]["cancellation_reason"] == "Ill"
    stored = await run_sql(
        database_url, "SELECT status, booking_date FROM bookings WHERE id = $1", booking_id
    )
    assert [(status, str(day)) for status, day in stored] == [("cancelled", thursday.isoformat())]

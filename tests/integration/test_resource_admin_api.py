"""The resources admin API on both engines, through a real server: a resource added and given a
plan with a lunch break is bookable in that plan at once (every process reads the changed
catalog), a shortened plan lists the bookings it strands and keeps them, and a deactivated
resource takes no more bookings."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.endpoint import CREATE_PATH, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.server import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RESOURCES = "/api/admin/resources/"


def plan_on(weekday: int, *intervals: tuple[str, str]) -> dict[str, Any]:
    return {"weekly_plan": {str(weekday): [{"opens": o, "closes": c} for o, c in intervals]}}


async def free_on(client: httpx.AsyncClient, day: str, resource_id: int) -> list[str]:
    answer = await client.get(
        "/api/agent/availability/", params={"date": day, "resource_id": str(resource_id)}
    )
    assert answer.status_code == 200, answer.text
    free: list[str] = answer.json()["days"][0]["free"]
    return free


async def test_a_plan_with_a_lunch_break_is_what_gets_booked(
    client: httpx.AsyncClient, days: WorkingDays
) -> None:
    day = days.take()
    added = await client.post(RESOURCES, json={"name": "Room 2"}, headers=ADMIN)
    assert added.status_code == 201, added.text
    room = added.json()["data"]
    assert room["weekly_plan"] == {str(d): [] for d in range(1, 8)}
    assert await free_on(client, day.isoformat(), room["id"]) == []

    lunch = plan_on(day.isoweekday(), ("12:00", "13:00"), ("14:00", "17:00"))
    replaced = await client.put(f"{RESOURCES}{room['id']}/plan/", json=lunch, headers=ADMIN)

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["stranded_bookings"] == []
    assert (
        replaced.json()["data"]["weekly_plan"][str(day.isoweekday())]
        == (lunch["weekly_plan"][str(day.isoweekday())])
    )
    assert await free_on(client, day.isoformat(), room["id"]) == [
        "12:00:00",
        "14:00:00",
        "15:00:00",
        "16:00:00",
    ]
    listed = (await client.get(RESOURCES, headers=ADMIN)).json()["data"]
    assert [r["name"] for r in listed if r["id"] == room["id"]] == ["Room 2"]

    at_lunch = await client.post(
        CREATE_PATH, json=booking_body(day, "13:00", resource_id=room["id"])
    )
    assert at_lunch.status_code == 422, at_lunch.text
    assert at_lunch.json()["code"] == "outside_working_hours"
    booked = await client.post(CREATE_PATH, json=booking_body(day, "15:00", resource_id=room["id"]))
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking_id"]

    shorter = plan_on(day.isoweekday(), ("12:00", "13:00"), ("14:00", "15:00"))
    shortened = await client.put(f"{RESOURCES}{room['id']}/plan/", json=shorter, headers=ADMIN)

    assert shortened.status_code == 200, shortened.text
    assert [b["id"] for b in shortened.json()["stranded_bookings"]] == [booking_id]
    kept = await client.get(f"/api/admin/bookings/{booking_id}/", headers=ADMIN)
    assert kept.json()["data"]["status"] == "upcoming"

    changed = await client.patch(
        f"{RESOURCES}{room['id']}/", json={"name": "Room 2b", "active": False}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["name"], changed.json()["data"]["active"]) == ("Room 2b", False)
    refused = await client.post(
        CREATE_PATH, json=booking_body(day, "12:00", resource_id=room["id"])
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "unknown_resource"


async def test_an_exception_closing_a_date_strands_its_booking_and_availability_shows_it_closed(
    client: httpx.AsyncClient, days: WorkingDays
) -> None:
    day = days.take()
    added = await client.post(RESOURCES, json={"name": "Chair 3"}, headers=ADMIN)
    room = added.json()["data"]["id"]
    plan = plan_on(day.isoweekday(), ("12:00", "15:00"))
    assert (await client.put(f"{RESOURCES}{room}/plan/", json=plan, headers=ADMIN)).is_success
    booked = await client.post(CREATE_PATH, json=booking_body(day, "12:00", resource_id=room))
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking_id"]
    exception = f"{RESOURCES}{room}/exceptions/{day.isoformat()}/"

    closed = await client.put(exception, json={"intervals": []}, headers=ADMIN)

    assert closed.status_code == 200, closed.text
    assert [b["id"] for b in closed.json()["stranded_bookings"]] == [booking_id]
    assert closed.json()["data"]["exceptions"] == [{"date": day.isoformat(), "intervals": []}]
    assert await free_on(client, day.isoformat(), room) == []
    refused = await client.post(CREATE_PATH, json=booking_body(day, "13:00", resource_id=room))
    assert refused.status_code == 422, refused.text
    kept = await client.get(f"/api/admin/bookings/{booking_id}/", headers=ADMIN)
    assert kept.json()["data"]["status"] == "upcoming"

    later = [{"opens": "14:00", "closes": "17:00"}]
    other_hours = await client.put(exception, json={"intervals": later}, headers=ADMIN)

    assert other_hours.status_code == 200, other_hours.text
    assert [b["id"] for b in other_hours.json()["stranded_bookings"]] == [booking_id]
    assert await free_on(client, day.isoformat(), room) == ["14:00:00", "15:00:00", "16:00:00"]

    removed = await client.delete(exception, headers=ADMIN)

    assert removed.status_code == 200, removed.text
    assert removed.json()["stranded_bookings"] == []
    assert removed.json()["data"]["exceptions"] == []
    assert await free_on(client, day.isoformat(), room) == ["13:00:00", "14:00:00"]


async def test_exception_refusals(client: httpx.AsyncClient, days: WorkingDays) -> None:
    day = days.take().isoformat()
    overlapping = {
        "intervals": [{"opens": "12:00", "closes": "14:00"}, {"opens": "13:00", "closes": "15:00"}]
    }
    cases = [
        ("put", f"{RESOURCES}1/exceptions/{day}/", overlapping, 400, "invalid_catalog"),
        ("put", f"{RESOURCES}1/exceptions/2026-02-30/", {"intervals": []}, 400, "invalid_date"),
        ("delete", f"{RESOURCES}1/exceptions/tomorrow/", None, 400, "invalid_date"),
        ("put", f"{RESOURCES}999999/exceptions/{day}/", {"intervals": []}, 404, None),
        ("delete", f"{RESOURCES}999999/exceptions/{day}/", None, 404, None),
    ]
    for method, path, body, status, code in cases:
        extra = {} if body is None else {"json": body}
        answer = await client.request(method.upper(), path, headers=ADMIN, **extra)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["code"] == (code or "resource_not_found"), answer.text
    listed = (await client.get(RESOURCES, headers=ADMIN)).json()["data"]
    assert [r["exceptions"] for r in listed if r["id"] == 1] == [[]]


# --- services ------------------------------------------------------------------------------------

SERVICES = "/api/admin/services/"


async def test_a_service_added_is_booked_for_its_length_and_a_change_reports_what_it_strands(
    client: httpx.AsyncClient, days: WorkingDays
) -> None:
    day = days.take()
    added = await client.post(
        SERVICES, json={"name": "Deep Tissue", "duration_minutes": 90}, headers=ADMIN
    )
    assert added.status_code == 201, added.text
    service = added.json()["data"]
    assert service == {
        "id": service["id"],
        "name": "Deep Tissue",
        "duration_minutes": 90,
        "buffer_before": 0,
        "buffer_after": 0,
        "min_notice_minutes": 0,
        "resource_ids": [],
        "active": True,
    }
    url = f"{SERVICES}{service['id']}/"

    # Every process reads the changed catalog: the name books 90 minutes at once.
    booked = await client.post(
        CREATE_PATH, json=booking_body(day, "15:00", service_name="deep tissue", resource_id=1)
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["data"]["booking"]["service"] == {
        "id": service["id"],
        "name": "Deep Tissue",
        "duration_minutes": 90,
    }
    free = await client.get(
        "/api/agent/availability/",
        params={"date": day.isoformat(), "service_id": str(service["id"]), "resource_id": "1"},
    )
    assert "14:00:00" not in free.json()["days"][0]["free"]  # 14:00-15:30 meets 15:00

    longer = await client.patch(url, json={"duration_minutes": 150}, headers=ADMIN)

    assert longer.status_code == 200, longer.text
    assert longer.json()["data"]["duration_minutes"] == 150
    assert [b["id"] for b in longer.json()["stranded_bookings"]] == [booked.json()["booking_id"]]
    kept = await client.get(f"/api/admin/bookings/{booked.json()['booking_id']}/", headers=ADMIN)
    assert kept.json()["data"]["status"] == "upcoming"

    off = await client.patch(url, json={"active": False}, headers=ADMIN)
    assert off.status_code == 200, off.text
    assert off.json()["data"]["active"] is False
    listed = (await client.get(SERVICES, headers=ADMIN)).json()["data"]
    assert [(s["name"], s["active"]) for s in listed if s["id"] == service["id"]] == [
        ("Deep Tissue", False)
    ]
    one = await client.get(url, headers=ADMIN)
    assert (one.status_code, one.json()["data"]["duration_minutes"]) == (200, 150)
    # No longer offered: the name is free text again (accept), one slot long.
    later = await client.post(
        CREATE_PATH, json=booking_body(day, "12:00", service_name="Deep Tissue")
    )
    assert later.status_code == 201, later.text
    assert later.json()["data"]["booking"]["service"]["id"] is None


async def test_service_refusals(client: httpx.AsyncClient) -> None:
    added = await client.post(
        SERVICES, json={"name": "Check-up", "duration_minutes": 30}, headers=ADMIN
    )
    assert added.status_code == 201, added.text
    url = f"{SERVICES}{added.json()['data']['id']}/"
    cases = [
        ("post", SERVICES, {"name": "CHECK-UP", "duration_minutes": 45}, 409, "service_name_taken"),
        ("post", SERVICES, {"name": "Nap", "duration_minutes": 721}, 400, "invalid_catalog"),
        (
            "post",
            SERVICES,
            {"name": "Nap", "duration_minutes": 30, "buffer_after": 241},
            400,
            "invalid_catalog",
        ),
        (
            "post",
            SERVICES,
            {"name": "Nap", "duration_minutes": 30, "resource_ids": [999999]},
            422,
            "unknown_resource",
        ),
        ("post", SERVICES, {"name": "Nap"}, 400, "invalid_request"),
        (
            "post",
            SERVICES,
            {"name": "Nap", "duration_minutes": 30, "colour": "red"},
            400,
            "invalid_request",
        ),
        ("patch", url, {"min_notice_minutes": 10081}, 400, "invalid_catalog"),
        ("patch", url, {"active": 0}, 400, "invalid_request"),
        ("patch", f"{SERVICES}999999/", {"active": False}, 404, "service_not_found"),
        ("get", f"{SERVICES}999999/", None, 404, "service_not_found"),
        ("delete", url, None, 405, "method_not_allowed"),
    ]
    for method, path, body, status, code in cases:
        extra = {} if body is None else {"json": body}
        answer = await client.request(method.upper(), path, headers=ADMIN, **extra)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (body, answer.text)
    unauthorised = await client.post(SERVICES, json={"name": "Nap", "duration_minutes": 30})
    assert unauthorised.status_code == 401, unauthorised.text
    listed = (await client.get(SERVICES, headers=ADMIN)).json()["data"]
    assert [s for s in listed if s["name"].casefold() in {"check-up", "nap"}] == [
        added.json()["data"]
    ]


async def test_concurrent_adds_of_one_name_store_it_once(client: httpx.AsyncClient) -> None:
    """20 admins add one name (in different cases) at once: exactly one is stored; the others
    get 409 service_name_taken, never a 5xx (on PostgreSQL the unique index decides)."""
    names = [f"Race {'X' if n % 2 else 'x'}" for n in range(20)]
    answers = await asyncio.gather(
        *(
            client.post(SERVICES, json={"name": name, "duration_minutes": 30}, headers=ADMIN)
            for name in names
        )
    )

    assert sorted(a.status_code for a in answers) == [201] + [409] * 19, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"service_name_taken"}
    listed = (await client.get(SERVICES, headers=ADMIN)).json()["data"]
    assert len([s for s in listed if s["name"].casefold() == "race x"]) == 1

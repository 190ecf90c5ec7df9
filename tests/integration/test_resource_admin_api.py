"""The resources admin API on both engines, through a real server: a resource added and given a
plan with a lunch break is bookable in that plan at once (every process reads the changed
catalog), a shortened plan lists the bookings it strands and keeps them, and a deactivated
resource takes no more bookings."""

from __future__ import annotations

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

"""Resources and services under concurrency, through a real server on both engines (issue 14).

One database and one ``booking serve`` with two worker processes per engine, set up behind the
server's back with plain SQL: two rooms (ids 2 and 3) open 09:00-18:00 beside the first
resource, a 30-minute and a 90-minute service that only the rooms perform, 30-minute slots.
Whatever the requests race for, what was stored is checked in the database itself: no two
active bookings of a resource overlap, by a query that does not trust the service.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import SQLITE, engine_of
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.server import ADMIN_TOKEN, AGENT_HEADERS, ServerProcess, run_booking

pytestmark = pytest.mark.slow

WORKERS = 2
ROOMS = (2, 3)
SAME_START = 50
MIXED = 200
OVERLAPS = (
    "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id "
    "AND a.resource_id = b.resource_id AND a.occupied_from < b.occupied_until "
    "AND b.occupied_from < a.occupied_until "
    "WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
)


def _stored(url: str, value: dt.time | dt.datetime) -> Any:
    if engine_of(url) != SQLITE:
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.strftime("%H:%M:%S.%f")


async def _set_up_catalog(url: str) -> dict[str, int]:
    """Two rooms open Monday to Saturday 09:00-18:00 and two services only they perform."""
    now = _stored(url, dt.datetime.now(dt.UTC))
    for room in ROOMS:
        await run_sql(
            url,
            "INSERT INTO resources (id, name, is_active, follows_business_hours, created_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            room,
            f"Room {room}",
            True,
            False,
            now,
        )
        for weekday in range(1, 7):
            await run_sql(
                url,
                "INSERT INTO resource_hours (resource_id, weekday, opens, closes) "
                "VALUES ($1, $2, $3, $4)",
                room,
                weekday,
                _stored(url, dt.time(9)),
                _stored(url, dt.time(18)),
            )
    services = {}
    for name, minutes in (("Check-up", 30), ("Consultation", 90)):
        rows = await run_sql(
            url,
            "INSERT INTO services (name, name_key, duration_minutes, buffer_before, "
            "buffer_after, min_notice_minutes, is_active) VALUES ($1, $2, $3, 0, 0, 0, $4) "
            "RETURNING id",
            name,
            name.casefold(),
            minutes,
            True,
        )
        services[name] = int(rows[0][0])
        for room in ROOMS:
            await run_sql(
                url,
                "INSERT INTO service_resources (service_id, resource_id) VALUES ($1, $2)",
                services[name],
                room,
            )
    await run_sql(
        url,
        "UPDATE business_settings SET slot_minutes = 30, catalog_version = catalog_version + 1 "
        "WHERE is_active",
    )
    return services


@pytest.fixture(scope="module")
def services(database_url: str) -> dict[str, int]:
    if engine_of(database_url) == SQLITE:
        run_booking(["migrate"], database_url)
    return asyncio.run(_set_up_catalog(database_url))


@pytest.fixture(scope="module")
def server(
    database_url: str, services: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with ServerProcess(
        database_url, workers=WORKERS, log_dir=tmp_path_factory.mktemp("server")
    ) as process:
        yield process


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client that really sends every request at once: one connection per request."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        headers=AGENT_HEADERS, base_url=server.base_url, timeout=60.0, limits=limits
    ) as http:
        yield http


async def race(client: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.post(CREATE_PATH, json=body) for body in bodies)))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def test_one_resource_one_start_is_booked_once(
    client: httpx.AsyncClient, services: dict[str, int], days: WorkingDays
) -> None:
    day = days.take()
    body = {"service_name": "Check-up", "resource_id": ROOMS[0]}
    responses = await race(client, [booking_body(day, "10:00", **body) for _ in range(SAME_START)])

    assert statuses(responses) == {201: 1, 409: SAME_START - 1}, statuses(responses)
    for refused in (r for r in responses if r.status_code == 409):
        assert_error(refused, 409, "slot_taken", "This time slot is already reserved")
    [created] = [r.json() for r in responses if r.status_code == 201]
    booking = created["data"]["booking"]
    assert booking["resource"] == {"id": ROOMS[0], "name": f"Room {ROOMS[0]}"}
    assert booking["service"] == {
        "id": services["Check-up"],
        "name": "Check-up",
        "duration_minutes": 30,
    }


async def test_two_free_resources_take_two_bookings_without_a_resource_id(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    day = days.take()
    bodies = [booking_body(day, "11:00", service_name="check-UP") for _ in range(SAME_START)]
    responses = await race(client, bodies)

    assert statuses(responses) == {201: 2, 409: SAME_START - 2}, statuses(responses)
    placed = sorted(
        r.json()["data"]["booking"]["resource"]["id"] for r in responses if r.status_code == 201
    )
    assert placed == list(ROOMS)
    stored = await run_sql(
        database_url,
        "SELECT resource_id FROM bookings WHERE booking_date = $1 AND status <> 'cancelled' "
        "ORDER BY resource_id",
        day if engine_of(database_url) != SQLITE else day.isoformat(),
    )
    assert [row[0] for row in stored] == list(ROOMS)


async def test_mixed_durations_on_overlapping_starts_never_overlap(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    day = days.take()
    chooser = random.Random(14)
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]
    bodies = [
        booking_body(
            day,
            chooser.choice(starts),
            service_name=chooser.choice(["Check-up", "Consultation"]),
            **({"resource_id": chooser.choice(ROOMS)} if chooser.random() < 0.5 else {}),
        )
        for _ in range(MIXED)
    ]
    responses = await race(client, bodies)

    counted = statuses(responses)
    assert set(counted) <= {201, 409}, counted
    assert counted[201] >= len(ROOMS), counted
    stored = await count_rows(
        database_url,
        "SELECT count(*) FROM bookings WHERE booking_date = $1 AND status <> 'cancelled'",
        day if engine_of(database_url) != SQLITE else day.isoformat(),
    )
    assert stored == counted[201]
    assert await count_rows(database_url, OVERLAPS) == 0


async def test_unknown_services_reject_lists_the_catalog_and_accept_books_free_text(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    """The ``unknown_services`` setting, changed through the admin API and the CLI while the
    server (two workers) runs: each change holds for the very next request."""
    day = days.take()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    settings_path = "/api/admin/settings/"
    try:
        changed = await client.patch(
            settings_path, json={"unknown_services": "reject"}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["data"]["unknown_services"] == "reject"
        for _ in range(WORKERS * 2):  # whichever worker answers
            refused = await client.post(
                CREATE_PATH, json=booking_body(day, "13:00", service_name="Massage")
            )
            assert_error(
                refused,
                422,
                "unknown_service",
                "Unknown service; services offered: Check-up, Consultation",
            )
        known = await client.post(
            CREATE_PATH, json=booking_body(day, "13:00", service_name="check-up")
        )
        assert known.status_code == 201, known.text

        shown = run_booking(
            ["settings", "set", "--unknown-services", "accept", "--json"], database_url
        )
        assert json.loads(shown.stdout)["unknown_services"] == "accept"
        read = await client.get(settings_path, headers=admin)
        assert read.json()["data"]["unknown_services"] == "accept"
        free_text = await client.post(
            CREATE_PATH, json=booking_body(day, "14:00", service_name="Massage")
        )
        assert free_text.status_code == 201, free_text.text
        booking = free_text.json()["data"]["booking"]
        # Free text: no catalog id, one slot (30 minutes here) long.
        assert booking["service"] == {"id": None, "name": "Massage", "duration_minutes": 30}
    finally:
        await client.patch(settings_path, json={"unknown_services": "accept"}, headers=admin)


async def test_admin_availability_shows_which_resources_are_free_per_start(
    client: httpx.AsyncClient, services: dict[str, int], days: WorkingDays
) -> None:
    """The dashboard's day view: per free start, the resources free for the whole service;
    ``service_id`` and ``resource_id`` narrow it exactly as the agent availability does."""
    taken_day = days.take()
    day = taken_day.isoformat()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    taken = await client.post(
        CREATE_PATH, json=booking_body(taken_day, "10:00", service_name="Check-up", resource_id=2)
    )
    assert taken.status_code == 201, taken.text

    async def day_view(**query: object) -> dict[str, Any]:
        answer = await client.get(
            "/api/admin/availability/", params={"date": day, **query}, headers=admin
        )
        assert answer.status_code == 200, answer.text
        agent = await client.get("/api/agent/availability/", params={"date": day, **query})
        assert agent.json() == answer.json()  # one policy, two doors
        [only] = answer.json()["days"]
        return dict(zip(only["free"], only["free_resources"], strict=True))

    check_up = await day_view(service_id=services["Check-up"])
    assert check_up["09:30:00"] == [2, 3]
    assert check_up["10:00:00"] == [3]  # room 2 has the booking
    assert check_up["10:30:00"] == [2, 3]
    consultation = await day_view(service_id=services["Consultation"])
    # 90 minutes from 09:00 reaches into room 2's 10:00 booking; 16:30 would end after 18:00.
    assert consultation["09:00:00"] == [3]
    assert consultation["16:30:00"] == [2, 3]
    assert "17:00:00" not in consultation
    only_room_2 = await day_view(service_id=services["Check-up"], resource_id=2)
    assert "10:00:00" not in only_room_2
    assert set(map(tuple, only_room_2.values())) == {(2,)}

    refused = await client.get(
        "/api/admin/availability/",
        params={"date": day, "service_id": "999999"},
        headers=admin,
    )
    assert_error(refused, 422, "unknown_service")


async def test_a_settings_change_reports_stranded_bookings_with_their_resource(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    """Shorter business hours strand the bookings of the resource that follows them (the
    first one), not those of the rooms with plans of their own; each comes with its resource."""
    day = days.take()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    first = await client.post(
        CREATE_PATH, json=booking_body(day, "16:30", service_name="Massage", resource_id=1)
    )
    room = await client.post(
        CREATE_PATH, json=booking_body(day, "16:30", service_name="Check-up", resource_id=2)
    )
    assert (first.status_code, room.status_code) == (201, 201), (first.text, room.text)
    ids = {first.json()["data"]["booking"]["id"], room.json()["data"]["booking"]["id"]}
    first_id = first.json()["data"]["booking"]["id"]
    try:
        changed = await client.patch(
            "/api/admin/settings/", json={"close_time": "16:30"}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        reported = [b for b in changed.json()["stranded_bookings"] if b["id"] in ids]
        assert [(b["id"], b["resource"]["id"]) for b in reported] == [(first_id, 1)]

        shown = run_booking(["settings", "set", "--close", "16:00"], database_url)
        lines = [line for line in shown.stderr.splitlines() if f"booking {first_id} " in line]
        assert len(lines) == 1, shown.stderr
        assert "(resource 1)" in lines[0], lines
        room_id = room.json()["data"]["booking"]["id"]
        assert f"booking {room_id} " not in shown.stderr
    finally:
        await client.patch("/api/admin/settings/", json={"close_time": "17:00"}, headers=admin)


# --- moves between resources (issue 15) -----------------------------------------------------------


async def _book_at(
    client: httpx.AsyncClient, day: dt.date, time: str, **fields: Any
) -> tuple[int, str]:
    body = booking_body(day, time, **fields)
    created = await client.post(CREATE_PATH, json=body)
    assert created.status_code == 201, created.text
    return created.json()["booking_id"], body["phone"]


async def _placed(url: str, booking_id: int) -> tuple[str, str, int]:
    [(day, time, resource_id)] = await run_sql(
        url,
        "SELECT booking_date, booking_time, resource_id FROM bookings WHERE id = $1",
        booking_id,
    )
    return str(day)[:10], str(time)[:5], resource_id


async def test_crossing_moves_between_two_rooms_all_commit(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    """Pairs of bookings swap rooms at once: each move holds both its rooms (lowest id first,
    so the pairs wait for each other instead of deadlocking) and every one commits."""
    day = days.take()
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
    targets = ["13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]
    moves = []
    for start, target in zip(starts, targets, strict=True):
        for room, other in (ROOMS, ROOMS[::-1]):
            booking_id, phone = await _book_at(
                client, day, start, service_name="Check-up", resource_id=room
            )
            moves.append((booking_id, phone, target, other))

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/agent/bookings/{booking_id}/reschedule/",
                json={
                    "phone": phone,
                    "booking_date": day.isoformat(),
                    "booking_time": target,
                    "resource_id": room,
                },
            )
            for booking_id, phone, target, room in moves
        )
    )

    assert statuses(responses) == {200: len(moves)}, [
        r.text for r in responses if r.status_code != 200
    ]
    for booking_id, _, target, room in moves:
        assert await _placed(database_url, booking_id) == (day.isoformat(), target, room)
    assert await count_rows(database_url, OVERLAPS) == 0


async def test_random_concurrent_moves_commit_whole_or_not_at_all(
    client: httpx.AsyncClient, database_url: str, days: WorkingDays
) -> None:
    """Forty moves of twelve bookings at once, to random starts and rooms: no overlap, and each
    booking ends where it was or where one of its accepted moves put it, with one
    ``booking_rescheduled`` per accepted move."""
    day = days.take()
    chooser = random.Random(15)
    booked = []
    for time in ("09:00", "10:30", "12:00", "13:30", "15:00", "16:30"):
        for room in ROOMS:
            service = chooser.choice(["Check-up", "Consultation"])
            booking_id, phone = await _book_at(
                client, day, time, service_name=service, resource_id=room
            )
            booked.append((booking_id, phone))
    original = {booking_id: await _placed(database_url, booking_id) for booking_id, _ in booked}
    before = await count_rows(database_url, "SELECT coalesce(max(event_id), 0) FROM events")
    starts = [f"{hour:02d}:{minute:02d}" for hour in range(9, 17) for minute in (0, 30)]
    wanted = []
    for _ in range(40):
        booking_id, phone = chooser.choice(booked)
        room = chooser.choice([None, *ROOMS])
        wanted.append((booking_id, phone, chooser.choice(starts), room))

    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/agent/bookings/{booking_id}/reschedule/",
                json={"phone": phone, "booking_date": day.isoformat(), "booking_time": time}
                | ({"resource_id": room} if room else {}),
            )
            for booking_id, phone, time, room in wanted
        )
    )

    counted = statuses(responses)
    assert set(counted) <= {200, 409, 422}, [r.text for r in responses if r.status_code >= 500]
    assert counted[200] >= 1, counted
    assert await count_rows(database_url, OVERLAPS) == 0
    for booking_id, _ in booked:
        accepted = {
            (
                day.isoformat(),
                r.json()["data"]["booking"]["booking_time"][:5],
                r.json()["data"]["booking"]["resource"]["id"],
            )
            for (moved_id, _, _, _), r in zip(wanted, responses, strict=True)
            if moved_id == booking_id and r.status_code == 200
        }
        final = await _placed(database_url, booking_id)
        assert final in accepted | {original[booking_id]}, (booking_id, final, accepted)
        if not accepted:
            assert final == original[booking_id]
    events = await run_sql(database_url, "SELECT type FROM events WHERE event_id > $1", before)
    assert [kind for (kind,) in events].count("booking_rescheduled") == counted[200]

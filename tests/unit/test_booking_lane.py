"""The create endpoint's two ways in answer alike: the direct lane and Litestar's route.

With CORS configured, a request carrying ``Origin`` goes through Litestar (its CORS middleware must
see it) and any other through :class:`~agent_booking.entrypoints.http.booking_endpoint.BookingLane`.
Both call the same :class:`~agent_booking.entrypoints.http.booking_endpoint.BookingEndpoint`, so
every outcome (success, each kind of refusal, framework errors the lane renders itself) must come
back with the same status, headers that matter and body, apart from the ids a new booking gets.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore
from agent_booking.core import BusinessSettings
from agent_booking.core.request import BookingRequest
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import create_app
from tests.unit.builders import NOW, basic_body

ORIGIN = "https://dashboard.example"
CREATE = "/api/agent/booking/create/"
MAX_BODY = 2048


def _app(store: InMemoryStore) -> Litestar:
    config = AppConfig(
        database_url="sqlite+aiosqlite:///unused.db",
        cors_origins=(ORIGIN,),
        max_body_bytes=MAX_BODY,
        rate_limit=None,
    )
    return create_app(
        config,
        uow_factory=store.unit_of_work,
        clock=FixedClock(NOW),
        notifier=InMemoryNotifier(),
        ping=_ready,
    )


async def _ready() -> None:
    return None


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = _app(InMemoryStore(BusinessSettings()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _comparable(response: httpx.Response) -> tuple[int, str | None, str | None, Any]:
    body = response.json()
    if response.status_code == 201:  # ids differ between two bookings; the shape may not
        body["user_id"] = body["booking_id"] = 0
        body["data"]["booking"]["id"] = body["data"]["user"]["id"] = 0
        for document in (body["data"]["booking"], body["data"]["user"]):
            document.pop("booking_time", None)
            document.pop("phone", None)
            document.pop("username", None)
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("idempotent-replayed"),
        body,
    )


class TestBothWaysInAnswerAlike:
    @pytest.mark.parametrize(
        ("label", "content", "headers"),
        [
            ("created", None, {}),
            ("invalid json", b"{not json", {}),
            ("not an object", b"[1, 2]", {}),
            ("missing field", b"{}", {}),
            ("bad date", None, {}),
            ("off day", None, {}),
            ("outside hours", None, {}),
            ("form body", b"phone=1", {"Content-Type": "application/x-www-form-urlencoded"}),
            ("too large", b'{"notes": "' + b"x" * MAX_BODY + b'"}', {}),
            ("bad idempotency key", None, {"Idempotency-Key": "has space"}),
        ],
    )
    async def test_same_status_and_body(
        self, http: httpx.AsyncClient, label: str, content: bytes | None, headers: dict[str, str]
    ) -> None:
        answers = []
        for hour, origin in ((13, None), (15, ORIGIN)):
            body = _body_for(label, hour)
            sent = {"Content-Type": "application/json", **headers}
            if origin:
                sent["Origin"] = origin
            payload = content if content is not None else json.dumps(body).encode()
            response = await http.post(CREATE, content=payload, headers=sent)
            if origin:  # went through Litestar and its CORS middleware
                assert response.headers["access-control-allow-origin"] == ORIGIN
            else:
                assert "access-control-allow-origin" not in response.headers
            assert response.headers["x-request-id"]
            assert response.headers["x-content-type-options"] == "nosniff"
            answers.append(_comparable(response))

        assert answers[0] == answers[1]
        assert answers[0][0] == _EXPECTED_STATUS[label]

    async def test_a_slot_taken_through_one_is_taken_through_the_other(
        self, http: httpx.AsyncClient
    ) -> None:
        body = basic_body(booking_time="16:00")
        first = await http.post(CREATE, json=body)
        second = await http.post(CREATE, json=body, headers={"Origin": ORIGIN})

        assert first.status_code == 201
        assert second.status_code == 409
        assert second.json()["code"] == "slot_taken"

    async def test_a_phone_at_its_limit_is_refused_alike(self, http: httpx.AsyncClient) -> None:
        """The default limit (5 open bookings a phone) is the composed use case's."""
        for hour in (12, 13, 14, 15, 16):
            booked = await http.post(CREATE, json=basic_body(booking_time=f"{hour}:00"))
            assert booked.status_code == 201, booked.text
        one_more = basic_body(booking_date="2026-11-27", booking_time="12:00")

        lane = await http.post(CREATE, json=one_more)
        litestar = await http.post(CREATE, json=one_more, headers={"Origin": ORIGIN})

        assert _comparable(lane) == _comparable(litestar)
        assert lane.status_code == 422
        assert lane.json() == {
            "success": False,
            "message": "This phone already has 5 upcoming bookings, the most one phone may hold",
            "code": "too_many_bookings",
        }

    async def test_an_idempotent_replay_is_identical_either_way(
        self, http: httpx.AsyncClient
    ) -> None:
        body = basic_body(booking_time="12:00")
        key = {"Idempotency-Key": "lane-replay-1"}
        first = await http.post(CREATE, json=body, headers=key)
        again = await http.post(CREATE, json=body, headers={**key, "Origin": ORIGIN})

        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()


class TestTheLane:
    async def test_serves_the_path_without_its_trailing_slash_too(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.post(CREATE.rstrip("/"), json=basic_body(booking_time="14:00"))

        assert response.status_code == 201, response.text

    async def test_other_methods_still_get_litestars_405(self, http: httpx.AsyncClient) -> None:
        response = await http.get(CREATE)

        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"

    async def test_a_declared_length_over_the_limit_is_refused_before_reading(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.post(
            CREATE, content=b"{}", headers={"Content-Length": str(MAX_BODY + 1)}
        )

        assert response.status_code == 413
        assert response.json()["code"] == "body_too_large"

    async def test_a_streamed_body_over_the_limit_is_refused(self) -> None:
        store = InMemoryStore(BusinessSettings())
        app = _app(store)
        sent: list[dict[str, Any]] = []
        chunks = [b"{" + b" " * (MAX_BODY // 2), b" " * (MAX_BODY // 2), b"}"]

        async def receive() -> dict[str, Any]:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(), receive, send)

        assert sent[0]["status"] == 413
        assert json.loads(sent[1]["body"])["code"] == "body_too_large"
        assert store.bookings == []

    async def test_a_client_gone_before_its_body_gets_nothing_and_books_nothing(self) -> None:
        store = InMemoryStore(BusinessSettings())
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await _app(store)(_scope(), receive, send)

        assert sent == []
        assert store.bookings == []

    async def test_a_body_in_several_chunks_is_joined(self) -> None:
        store = InMemoryStore(BusinessSettings())
        raw = json.dumps(basic_body(booking_time="13:00")).encode()
        chunks = [raw[:10], raw[10:20], raw[20:]]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await _app(store)(_scope(), receive, send)

        assert sent[0]["status"] == 201
        assert len(store.bookings) == 1


class TestControlCharacters:
    """The validation's pattern is exactly Unicode's category Cc (the old test, per char)."""

    def test_every_control_character_is_below_0xa0(self) -> None:
        controls = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cc"]

        assert max(controls) == 0x9F  # so judging the code points up to 0x2ff covers them all

    def test_each_code_point_up_to_0x2ff_is_judged_as_unicodedata_would(self) -> None:
        for code_point in range(0x300):
            char = chr(code_point)
            is_control = unicodedata.category(char) == "Cc"
            for field, allowed in (("first_name", ""), ("notes", "\n\r\t")):
                refused = _refuses(field, f"a{char}b")
                assert refused == (is_control and char not in allowed), (field, hex(code_point))


def _refuses(field: str, value: str) -> bool:
    try:
        BookingRequest.from_mapping(basic_body(**{field: value}))
    except Exception:
        return True
    return False


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CREATE,
        "raw_path": CREATE.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


_EXPECTED_STATUS = {
    "created": 201,
    "invalid json": 400,
    "not an object": 400,
    "missing field": 400,
    "bad date": 400,
    "off day": 422,
    "outside hours": 422,
    "form body": 415,
    "too large": 413,
    "bad idempotency key": 400,
}


def _body_for(label: str, hour: int) -> dict[str, Any]:
    if label == "bad date":
        return basic_body(booking_date="31/31/2027")
    if label == "off day":
        return basic_body(booking_date="2026-11-29")  # a Sunday
    if label == "outside hours":
        return basic_body(booking_time="09:00")
    # A new phone each time, so both ways create their customer.
    return basic_body(booking_time=f"{hour}:00", phone=f"55500000{hour}")

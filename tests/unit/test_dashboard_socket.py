"""The admin feed's session, driven in-process over ASGI: replies and events through one sender,
each event encoded once for every dashboard, a dashboard dropped (1013) with the ``since`` it
must resume from, and quiet ends when the outbox cannot be read or the connection is gone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar

from agent_booking.adapters.fanout import EventFanout
from agent_booking.core.errors import StorageUnavailable
from agent_booking.core.events import StoredEvent
from agent_booking.entrypoints.http.dashboard_socket import ADMIN_SOCKET_PATH, admin_socket_routes
from tests.unit.test_fanout import Outbox

TOKEN = "unit-admin-token"
RECENT = [{"id": 2}, {"id": 1}]


class FakeDashboard:
    """One connection to the app, seen from the client: what it sends, what it gets."""

    def __init__(self, app: Litestar, query: str) -> None:
        self.inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Cleared to make the server's sends block, as on a client that stopped reading.
        self.reading = asyncio.Event()
        self.reading.set()
        #: Set to make the server's sends fail, as on a connection that was lost.
        self.lost = False
        scope: Any = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": ADMIN_SOCKET_PATH,
            "raw_path": ADMIN_SOCKET_PATH.encode(),
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
            "subprotocols": [],
            "extensions": {},
        }
        receive: Any = self.inbound.get
        send: Any = self._send
        self.task = asyncio.create_task(app(scope, receive, send))

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            if self.lost:
                raise ConnectionResetError("the connection was lost")
            await self.reading.wait()
        await self.outbound.put(message)

    async def open(self) -> None:
        await self.inbound.put({"type": "websocket.connect"})
        assert (await self.next())["type"] == "websocket.accept"

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outbound.get(), 5)

    async def next_json(self) -> dict[str, Any]:
        message = await self.next()
        assert message["type"] == "websocket.send", message
        decoded: dict[str, Any] = json.loads(message["text"])
        return decoded

    async def request(self, body: dict[str, Any]) -> None:
        await self.inbound.put({"type": "websocket.receive", "text": json.dumps(body)})

    async def disconnect(self) -> None:
        await self.inbound.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 5)


@pytest.fixture
async def feed() -> AsyncIterator[tuple[Outbox, EventFanout, Litestar]]:
    outbox = Outbox()
    outbox.commit(3)
    fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30, queue_size=5)

    async def recent_bookings(limit: int) -> list[dict[str, Any]]:
        return RECENT[:limit]

    app = Litestar(route_handlers=admin_socket_routes(fanout, TOKEN, recent_bookings))
    await fanout.start()
    yield outbox, fanout, app
    await fanout.stop()


@contextlib.asynccontextmanager
async def dashboard(app: Litestar, query: str = "") -> AsyncIterator[FakeDashboard]:
    connection = FakeDashboard(app, f"token={TOKEN}" + (f"&{query}" if query else ""))
    await connection.open()
    try:
        yield connection
    finally:
        connection.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connection.task


async def commit(outbox: Outbox, fanout: EventFanout, count: int = 1) -> None:
    outbox.commit(count)
    await fanout.publish([])


class TestDashboardSession:
    async def test_requests_are_answered_and_events_forwarded_in_order(self, feed) -> None:
        outbox, fanout, app = feed
        async with dashboard(app) as client:
            await client.request({"type": "ping"})
            assert await client.next_json() == {"type": "pong"}
            await commit(outbox, fanout, 2)
            first, second = await client.next_json(), await client.next_json()
            await client.request({"type": "get_bookings"})
            assert await client.next_json() == {"type": "bookings_data", "data": RECENT}
            await client.request({"type": "dance"})
            error = await client.next_json()

        assert [first["event_id"], second["event_id"]] == [4, 5]
        assert first == {"type": "booking_created", "event_id": 4, "data": {"n": 4}}
        assert error["type"] == "error"
        assert "get_bookings" in error["message"]
        assert "ping" in error["message"]

    async def test_every_dashboard_is_sent_the_same_encoded_message(self, feed) -> None:
        outbox, fanout, app = feed
        async with dashboard(app) as one, dashboard(app) as other:
            for client in (one, other):  # both subscribed before the booking
                await client.request({"type": "ping"})
                await client.next_json()
            await commit(outbox, fanout)
            sent_to_one, sent_to_other = await one.next(), await other.next()
        assert sent_to_one is sent_to_other
        assert json.loads(sent_to_one["text"])["event_id"] == 4

    async def test_a_dashboard_that_stops_reading_is_dropped_with_where_to_resume(
        self, feed
    ) -> None:
        outbox, fanout, app = feed
        async with dashboard(app) as client:
            await client.request({"type": "ping"})
            await client.next_json()
            await commit(outbox, fanout)
            assert (await client.next_json())["event_id"] == 4
            client.reading.clear()
            await commit(outbox, fanout)  # 5: its send blocks
            await asyncio.sleep(0.05)
            await commit(outbox, fanout, 6)  # more than the 5 it may fall behind
            closed = await client.next()
            while closed["type"] == "websocket.send":  # nothing gets through while blocked
                closed = await client.next()
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1013
        assert "since=4" in closed["reason"]
        assert fanout.subscriber_count == 0

    async def test_a_dashboard_resuming_with_since_gets_what_it_missed_then_live(
        self, feed
    ) -> None:
        outbox, fanout, app = feed
        async with dashboard(app, "since=1") as client:
            replayed = [(await client.next_json())["event_id"] for _ in range(2)]
            await commit(outbox, fanout)
            live = (await client.next_json())["event_id"]
            await client.request({"type": "ping"})
            assert await client.next_json() == {"type": "pong"}  # and nothing else
        assert [*replayed, live] == [2, 3, 4]

    async def test_a_disconnected_dashboard_is_unsubscribed(self, feed) -> None:
        _, fanout, app = feed
        async with dashboard(app) as client:
            await client.request({"type": "ping"})
            await client.next_json()
            assert fanout.subscriber_count == 1
            await client.disconnect()
            assert fanout.subscriber_count == 0

    async def test_a_lost_connection_ends_the_session_quietly(
        self, feed, caplog: pytest.LogCaptureFixture
    ) -> None:
        outbox, fanout, app = feed
        async with dashboard(app) as client:
            await client.request({"type": "ping"})
            await client.next_json()
            client.lost = True
            await commit(outbox, fanout)
            await asyncio.wait_for(client.task, 5)
        assert fanout.subscriber_count == 0
        assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

    async def test_without_the_outbox_the_dashboard_is_told_to_try_again_later(self, feed) -> None:
        outbox, _, app = feed
        outbox.available = False
        async with dashboard(app) as client:
            closed = await client.next()
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1013


class _OutboxThatCannotReplay(Outbox):
    """Knows where it ends, but reading events fails as SQL storage fails when it is away."""

    async def after(self, event_id: int, limit: int) -> list[StoredEvent]:
        raise StorageUnavailable from ConnectionError("the database is away")


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


class TestSince:
    @pytest.mark.parametrize(
        "since",
        ["²", "١٢", "latest", "-1", "1.5", " 1", str(2**63), "9" * 5000],
        ids=["superscript", "arabic", "word", "negative", "fraction", "space", "2^63", "huge"],
    )
    async def test_a_since_that_is_not_an_event_id_is_closed_with_1008_and_why(
        self, feed, since, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Issue 13, #12: accepted, then closed with a reason, so that it cannot be taken for
        the refused handshake (403) of a wrong token; never an error in the log."""
        _, fanout, app = feed
        connection = FakeDashboard(app, f"token={TOKEN}&since={since}")
        await connection.open()
        closed = await connection.next()
        await asyncio.wait_for(connection.task, 5)

        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1008
        assert closed["reason"] == f"since must be an event id from 0 to {2**63 - 1}"
        assert fanout.subscriber_count == 0
        assert not _errors(caplog)

    async def test_the_largest_event_id_is_accepted(self, feed) -> None:
        _, _, app = feed
        async with dashboard(app, f"since={2**63 - 1}") as client:
            await client.request({"type": "ping"})
            assert await client.next_json() == {"type": "pong"}

    async def test_leading_zeros_are_read_past(self, feed) -> None:
        _, _, app = feed
        async with dashboard(app, f"since={'0' * 5000}2") as client:
            assert (await client.next_json())["event_id"] == 3


class TestUnreadableRequests:
    @pytest.mark.parametrize(
        "text",
        ["[" * 100_000, '{"type": ' * 50_000, "", "\ud800"],
        ids=["nested-arrays", "nested-objects", "empty", "lone-surrogate"],
    )
    async def test_are_answered_with_an_error_and_the_session_goes_on(
        self, feed, text: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        _, _, app = feed
        async with dashboard(app) as client:
            await client.inbound.put({"type": "websocket.receive", "text": text})
            error = await client.next_json()
            await client.request({"type": "ping"})
            pong = await client.next_json()

        assert error["type"] == "error"
        assert pong == {"type": "pong"}
        assert not _errors(caplog)


class TestStorageAway:
    async def test_get_bookings_is_answered_with_an_error(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        outbox = Outbox()
        fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30)

        async def recent_bookings(limit: int) -> list[dict[str, Any]]:
            raise StorageUnavailable from ConnectionError("the database is away")

        app = Litestar(route_handlers=admin_socket_routes(fanout, TOKEN, recent_bookings))
        async with dashboard(app) as client:
            await client.request({"type": "get_bookings"})
            error = await client.next_json()
            await client.request({"type": "ping"})
            pong = await client.next_json()

        assert error == {
            "type": "error",
            "message": "Bookings are unavailable right now; try again later",
        }
        assert pong == {"type": "pong"}
        assert not _errors(caplog)

    async def test_a_replay_that_cannot_be_read_is_closed_with_1013_and_where_to_resume(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        outbox = _OutboxThatCannotReplay()
        outbox.commit(3)
        fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30)
        app = Litestar(route_handlers=admin_socket_routes(fanout, TOKEN, _no_bookings))
        async with dashboard(app, "since=1") as client:
            closed = await client.next()

        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1013
        assert closed["reason"] == "events unavailable; reconnect with since=1"
        assert fanout.subscriber_count == 0
        assert not _errors(caplog)


async def _no_bookings(limit: int) -> list[dict[str, Any]]:
    return []

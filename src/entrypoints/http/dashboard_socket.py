"""``/ws/admin/bookings/``: the live feed admin dashboards follow.

The socket only relays the outbox (through the process's :class:`EventFanout`), so what a
dashboard sees is exactly what was committed, in commit order. ``?since=<event_id>`` replays what
a dashboard missed before going live; a dashboard that stops reading is disconnected (close code
1013, "try again later") rather than allowed to slow anyone down, and resumes with ``since``.

Refusals are told apart by how they arrive: without the admin token the handshake is refused
(HTTP 403, nothing accepted); a ``since`` that is not an event id (``0`` to ``2**63 - 1``, ASCII
digits) is accepted and closed at once with 1008 and a reason naming ``since``. A message larger
than :data:`MAX_MESSAGE_BYTES` is closed with 1009 by the server's WebSocket protocol, before
the app reads it; a text that is not a request (not JSON, nested too deep, an unknown type) is
answered with an ``error`` message. When storage is away, replaying events closes with 1013 and
``get_bookings`` answers an ``error``: neither is logged as an error, since neither is a bug.

Every event goes to every dashboard, so the per-message path is kept short: each event's
``websocket.send`` message is encoded once and shared by all dashboards, and one task per
dashboard is its only sender (events and replies alike), so sends need no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers import WebsocketRouteHandler
from litestar.types import WebSocketSendEvent

from agent_booking.adapters.fanout import EventFanout, Subscription, SubscriptionOverflow
from agent_booking.core.errors import ServiceUnavailable
from agent_booking.core.events import StoredEvent

__all__ = [
    "ADMIN_SOCKET_PATH",
    "MAX_EVENT_ID",
    "MAX_MESSAGE_BYTES",
    "RecentBookings",
    "admin_socket_routes",
    "bearer_token",
    "presented_token",
    "token_matches",
]

ADMIN_SOCKET_PATH = "/ws/admin/bookings/"
#: Number of bookings a ``get_bookings`` request answers with (as the original did).
RECENT_BOOKINGS = 50

#: Event ids are 64-bit signed integers in storage (both engines).
MAX_EVENT_ID = 2**63 - 1
#: The largest message a dashboard may send (its requests are a few dozen bytes); enforced by
#: uvicorn (``ws_max_size``, set by ``booking serve``), which closes with 1009.
MAX_MESSAGE_BYTES = 4096

_UNKNOWN_MESSAGE = 'Unknown message; supported: {"type": "get_bookings"}, {"type": "ping"}'
_BOOKINGS_UNAVAILABLE = "Bookings are unavailable right now; try again later"
_BAD_SINCE = f"since must be an event id from 0 to {MAX_EVENT_ID}"
_POLICY_VIOLATION = 1008
_TRY_AGAIN_LATER = 1013
_GOING_AWAY = 1001
_CLOSE_TIMEOUT_SECONDS = 2.0
#: Encoded events kept for dashboards that lag behind the newest (see _EncodedEvents).
_ENCODED_EVENTS_KEPT = 2048

RecentBookings = Callable[[int], Awaitable[Sequence[dict[str, Any]]]]

_log = logging.getLogger(__name__)


def bearer_token(headers: Any) -> str | None:
    """The credentials of ``Authorization: Bearer …``, if that is what was sent."""
    authorization: str = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def presented_token(headers: Any, query: Any) -> str | None:
    """The admin token from ``Authorization: Bearer …`` or ``?token=…`` (browsers cannot set
    headers on a WebSocket)."""
    token: str | None = bearer_token(headers) or query.get("token")
    return token


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no configured token means nobody is let in."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def admin_socket_routes(
    fanout: EventFanout, admin_token: str | None, recent_bookings: RecentBookings
) -> list[WebsocketRouteHandler]:
    encoded = _EncodedEvents()

    @websocket(ADMIN_SOCKET_PATH, name="admin_bookings_socket")
    async def admin_bookings(socket: WebSocket[Any, Any, Any]) -> None:
        if not token_matches(presented_token(socket.headers, socket.query_params), admin_token):
            await socket.close(code=_POLICY_VIOLATION, reason="admin token required")
            return
        since = _since(socket.query_params.get("since"))
        await socket.accept()
        if since is False:
            # Accepted first: a refused handshake (403) is what a wrong token gets.
            await _close(socket, _POLICY_VIOLATION, _BAD_SINCE)
            return
        try:
            subscription = await fanout.subscribe(since)
        except Exception as error:  # the end of the outbox could not be read: the database is away
            _log.warning(
                "cannot follow the event outbox for a dashboard: %r",
                error.__cause__ or error,
                exc_info=not isinstance(error, ServiceUnavailable),
            )
            await _close(socket, _TRY_AGAIN_LATER, "events unavailable; try again later")
            return
        await _DashboardSession(socket, subscription, recent_bookings, encoded).run()

    return [admin_bookings]


def _text_message(text: str) -> WebSocketSendEvent:
    return {"type": "websocket.send", "bytes": None, "text": text}


class _EncodedEvents:
    """Each event's ``websocket.send`` message, built once and shared (nothing on the way to the
    server changes it): every dashboard gets the same event objects from the fan-out, a lagging
    one a little later, so an event is encoded once rather than once per dashboard. Only that
    same object finds its message here; an event read again (a replay) is encoded afresh, so a
    message is never taken for another event with the same id."""

    def __init__(self, capacity: int = _ENCODED_EVENTS_KEPT) -> None:
        self._capacity = capacity
        self._messages: dict[int, tuple[StoredEvent, WebSocketSendEvent]] = {}

    def message(self, event: StoredEvent) -> WebSocketSendEvent:
        cached = self._messages.get(event.event_id)
        if cached is not None and cached[0] is event:
            return cached[1]
        message = _text_message(msgspec.json.encode(event.message()).decode())
        if cached is None and len(self._messages) >= self._capacity:
            del self._messages[next(iter(self._messages))]  # the oldest
        self._messages[event.event_id] = (event, message)
        return message


def _since(raw: str | None) -> int | bool | None:
    """The event id to resume after, None for "from now", False for anything else.

    ``str.isdigit`` alone is not enough: it accepts digits ``int`` refuses (``"²"``), so only
    ASCII digits count; and their number is checked before ``int`` reads them (it refuses more
    than 4300 digits with a ``ValueError``). A larger id than storage holds names no event.
    """
    if raw is None or raw == "":
        return None
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(digits) > len(str(MAX_EVENT_ID)):
        return False
    since = int(digits)
    return since if since <= MAX_EVENT_ID else False


async def _close(socket: WebSocket[Any, Any, Any], code: int, reason: str) -> None:
    """Close, unless the dashboard is gone already or does not read the close frame either."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(socket.close(code=code, reason=reason), _CLOSE_TIMEOUT_SECONDS)


class _DashboardSession:
    """One connected dashboard: forwards events, answers requests, ends cleanly.

    The forwarding task is the socket's only sender: the task reading requests hands it each
    reply and waits until it is sent, so a client that sends requests without reading the
    answers is held back by its own socket, as before, and never buffers replies here.
    """

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        subscription: Subscription,
        recent_bookings: RecentBookings,
        encoded: _EncodedEvents,
    ) -> None:
        self._socket = socket
        self._subscription = subscription
        self._recent_bookings = recent_bookings
        self._encoded = encoded
        #: Replies to send, each with the future its requester waits on.
        self._replies: deque[tuple[WebSocketSendEvent, asyncio.Future[None]]] = deque()
        #: The last event this dashboard was actually sent: where it must resume from.
        self._last_sent = subscription.last_event_id
        #: Storage could not be read to replay what the dashboard missed.
        self._unavailable = False

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._forward()),
            asyncio.create_task(self._answer_requests()),
            asyncio.create_task(self._subscription.ended.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception):
                    _log.error("admin socket session failed", exc_info=outcome)
            self._subscription.end()
        if self._subscription.overflowed:
            await _close(
                self._socket, _TRY_AGAIN_LATER, f"too slow; reconnect with since={self._last_sent}"
            )
        elif self._unavailable:
            await _close(
                self._socket,
                _TRY_AGAIN_LATER,
                f"events unavailable; reconnect with since={self._last_sent}",
            )
        else:
            await _close(self._socket, _GOING_AWAY, "server going away")

    async def _forward(self) -> None:
        """Send replies and events until the subscription ends or the dashboard is gone.

        Events go through the connection's own ``send`` with their shared message: it still
        refuses to send once the dashboard disconnected, and the server raises ``OSError`` for
        a connection lost before that was seen; both end the session quietly.
        """
        send, subscription, replies = self._socket.send, self._subscription, self._replies
        with contextlib.suppress(SubscriptionOverflow, WebSocketDisconnect, OSError):
            while True:
                while replies:
                    reply, sent = replies[0]
                    await send(reply)
                    replies.popleft()
                    if not sent.done():  # its requester may have been cancelled meanwhile
                        sent.set_result(None)
                try:
                    events = await subscription.next_batch()
                except ServiceUnavailable as error:  # replaying: the outbox cannot be read
                    _log.warning("cannot replay events to a dashboard: %r", error.__cause__)
                    self._unavailable = True
                    return
                if events is None:
                    return
                for event in events:
                    await send(self._encoded.message(event))
                    self._last_sent = event.event_id

    async def _reply(self, message: dict[str, Any]) -> None:
        sent = asyncio.get_running_loop().create_future()
        self._replies.append((_text_message(msgspec.json.encode(message).decode()), sent))
        self._subscription.interrupt()
        await sent

    async def _answer_requests(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self._socket.receive_text()
                try:
                    request = msgspec.json.decode(text)
                # Nested deeper than msgspec reads, or a lone surrogate (only an ASGI server that
                # does not check UTF-8 could pass one on).
                except (msgspec.DecodeError, RecursionError, UnicodeError):
                    request = None
                kind = request.get("type") if isinstance(request, dict) else None
                if kind == "get_bookings":
                    await self._reply(await self._bookings_data())
                elif kind == "ping":
                    await self._reply({"type": "pong"})
                else:
                    await self._reply({"type": "error", "message": _UNKNOWN_MESSAGE})

    async def _bookings_data(self) -> dict[str, Any]:
        try:
            bookings = await self._recent_bookings(RECENT_BOOKINGS)
        except ServiceUnavailable as error:
            _log.warning("cannot list bookings for a dashboard: %r", error.__cause__ or error)
            return {"type": "error", "message": _BOOKINGS_UNAVAILABLE}
        return {"type": "bookings_data", "data": list(bookings)}

"""``/ws/admin/bookings/``: the live feed admin dashboards follow.

The socket only relays the outbox (through the process's :class:`EventFanout`), so what a
dashboard sees is exactly what was committed, in commit order. ``?since=<event_id>`` replays what
a dashboard missed before going live; a dashboard that stops reading is disconnected (close code
1013, "try again later") rather than allowed to slow anyone down, and resumes with ``since``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers import WebsocketRouteHandler

from adapters.fanout import EventFanout, Subscription, SubscriptionOverflow
from booking_core.events import StoredEvent

__all__ = [
    "ADMIN_SOCKET_PATH",
    "RecentBookings",
    "admin_socket_routes",
    "bearer_token",
    "presented_token",
    "token_matches",
]

ADMIN_SOCKET_PATH = "/ws/admin/bookings/"
#: Number of bookings a ``get_bookings`` request answers with (as the original did).
RECENT_BOOKINGS = 50

_UNKNOWN_MESSAGE = 'Unknown message; supported: {"type": "get_bookings"}, {"type": "ping"}'
_POLICY_VIOLATION = 1008
_TRY_AGAIN_LATER = 1013
_GOING_AWAY = 1001
_CLOSE_TIMEOUT_SECONDS = 2.0

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
        if since is False:
            await socket.close(code=_POLICY_VIOLATION, reason="since must be an event id")
            return
        await socket.accept()
        subscription = fanout.subscribe(since)
        await _DashboardSession(socket, subscription, recent_bookings, encoded).run()

    return [admin_bookings]


class _EncodedEvents:
    """The last event's message text: every dashboard gets the same event object from the
    fan-out within moments, so it is encoded once rather than once per dashboard."""

    def __init__(self) -> None:
        self._event: StoredEvent | None = None
        self._text = ""

    def text(self, event: StoredEvent) -> str:
        if event is not self._event:
            self._text = msgspec.json.encode(event.message()).decode()
            self._event = event
        return self._text


def _since(raw: str | None) -> int | bool | None:
    if raw is None or raw == "":
        return None
    return int(raw) if raw.isdigit() else False


class _DashboardSession:
    """One connected dashboard: forwards events, answers requests, ends cleanly."""

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
        self._send_lock = asyncio.Lock()
        #: The last event this dashboard was actually sent: where it must resume from.
        self._last_sent = subscription.last_event_id

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._forward_events()),
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
            self._subscription.close()
        await self._close()

    async def _close(self) -> None:
        if self._subscription.overflowed:
            code = _TRY_AGAIN_LATER
            reason = f"too slow; reconnect with since={self._last_sent}"
        else:
            code, reason = _GOING_AWAY, "server going away"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._socket.close(code=code, reason=reason), _CLOSE_TIMEOUT_SECONDS
            )

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(msgspec.json.encode(message).decode())

    async def _send_text(self, text: str) -> None:
        async with self._send_lock:
            await self._socket.send_text(text)

    async def _forward_events(self) -> None:
        with contextlib.suppress(SubscriptionOverflow):
            async for event in self._subscription.events():
                await self._send_text(self._encoded.text(event))
                self._last_sent = event.event_id

    async def _answer_requests(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self._socket.receive_text()
                try:
                    request = msgspec.json.decode(text)
                except msgspec.DecodeError:
                    request = None
                kind = request.get("type") if isinstance(request, dict) else None
                if kind == "get_bookings":
                    bookings = await self._recent_bookings(RECENT_BOOKINGS)
                    await self._send({"type": "bookings_data", "data": list(bookings)})
                elif kind == "ping":
                    await self._send({"type": "pong"})
                else:
                    await self._send(
                        {
                            "type": "error",
                            "message": 'Unknown message; send {"type": "get_bookings"}',
                        }
                    )

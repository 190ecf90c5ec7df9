"""Admin dashboards as the end-to-end tests see them: clients of ``/ws/admin/bookings/``.

:class:`Dashboard` is a well-behaved dashboard on the ``websockets`` client; every wait on it has
a timeout, so a message that never comes fails the test instead of hanging it.
:class:`SilentDashboard` is the misbehaving one: it completes the handshake on a plain blocking
socket with a tiny receive buffer and then never reads, so the kernel, not a client library,
decides how much the server can push to it before its sends block.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any, Self
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from tests.support.server import ADMIN_TOKEN, ServerProcess

__all__ = [
    "BOOKING_CREATED",
    "RECEIVE_TIMEOUT_S",
    "SOCKET_PATH",
    "Dashboard",
    "Silenced",
    "SilentDashboard",
    "socket_url",
]

SOCKET_PATH = "/ws/admin/bookings/"
BOOKING_CREATED = "booking_created"
#: How long a test waits for a message it expects (a generous bound on a loaded 2-core machine).
RECEIVE_TIMEOUT_S = 10.0
_OPEN_TIMEOUT_S = 30.0
_SILENT_RECEIVE_BUFFER = 2048
_READ_CHUNK = 65536


def socket_url(server: ServerProcess, **query: str | int | None) -> str:
    """The feed's URL on ``server``, with the given query parameters (``None`` ones left out)."""
    params = {name: str(value) for name, value in query.items() if value is not None}
    suffix = f"?{urlencode(params)}" if params else ""
    return f"{server.ws_url}{SOCKET_PATH}{suffix}"


class Dashboard:
    """One connected dashboard; read messages with :meth:`next_message` and friends."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        server: ServerProcess,
        *,
        since: int | str | None = None,
        token: str | None = ADMIN_TOKEN,
        token_in_query: bool = False,
    ) -> AsyncIterator[Self]:
        """Connect with the admin token as a Bearer header (or ``?token=``).

        ``since`` is sent as given (a string too, to test refusals). Without ``since`` the
        dashboard follows live events from "now", and "now" is fixed
        server-side only once the session runs, a moment after the handshake; so ``open`` waits
        for the answer to a ``ping`` first, and a booking made afterwards is certain to be seen.
        """
        headers = {}
        query: dict[str, str | int | None] = {"since": since}
        if token is not None and token_in_query:
            query["token"] = token
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with connect(
            socket_url(server, **query),
            additional_headers=headers,
            open_timeout=_OPEN_TIMEOUT_S,
            max_queue=None,  # a test may read late; the client must not push back on the server
        ) as connection:
            dashboard = cls(connection)
            if since is None:
                await dashboard.ping()
            yield dashboard

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def next_message(self, within: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        try:
            text = await asyncio.wait_for(self.connection.recv(), within)
        except TimeoutError:
            raise AssertionError(f"no message from the dashboard feed within {within} s") from None
        message: dict[str, Any] = json.loads(text)
        return message

    async def next_event(self, within: float = RECEIVE_TIMEOUT_S) -> dict[str, Any]:
        """The next message, which must be a ``booking_created`` event."""
        message = await self.next_message(within)
        assert message.get("type") == BOOKING_CREATED, message
        return message

    async def ping(self) -> None:
        """Round trip: the next message after a ``ping`` must be its ``pong``."""
        await self.send({"type": "ping"})
        assert await self.next_message() == {"type": "pong"}

    async def recent_bookings(self) -> list[dict[str, Any]]:
        await self.send({"type": "get_bookings"})
        message = await self.next_message()
        assert message.get("type") == "bookings_data", message
        bookings: list[dict[str, Any]] = message["data"]
        return bookings

    async def collect_events(self, count: int) -> list[dict[str, Any]]:
        """Exactly the next ``count`` messages, each a ``booking_created`` event."""
        return [await self.next_event() for _ in range(count)]

    async def events_through(
        self, booking_id: int
    ) -> tuple[list[dict[str, Any]], ConnectionClosed | None]:
        """Events up to and including the one for ``booking_id``, unless the server closes the
        connection first: then the events until then, and how it closed."""
        events: list[dict[str, Any]] = []
        while not events or events[-1]["data"]["id"] != booking_id:
            try:
                events.append(await self.next_event())
            except ConnectionClosed as closed:
                return events, closed
        return events, None


class Silenced:
    """What a :class:`SilentDashboard` finally read: its events and how the connection ended."""

    def __init__(self, events: list[dict[str, Any]], close: Close | None, eof: bool) -> None:
        self.events = events
        #: The server's close frame, if one arrived before the end of the stream.
        self.close = close
        #: Whether the server ended the TCP stream.
        self.eof = eof


class SilentDashboard:
    """A dashboard that connects and then reads nothing until told to :meth:`read`."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, pending: list[Frame]) -> None:
        self._sock = sock
        self._protocol = protocol
        self._pending = pending

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, server: ServerProcess) -> AsyncIterator[Self]:
        silent = await asyncio.to_thread(cls._open_blocking, server)
        try:
            yield silent
        finally:
            silent.close()

    @classmethod
    def _open_blocking(cls, server: ServerProcess) -> Self:
        # No permessage-deflate offered: the server's messages reach the socket at full size.
        protocol = ClientProtocol(parse_uri(socket_url(server)))
        request = protocol.connect()
        request.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        protocol.send_request(request)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the kernel does not grow it (no receive-buffer autotuning).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SILENT_RECEIVE_BUFFER)
        sock.settimeout(_OPEN_TIMEOUT_S)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"".join(protocol.data_to_send()))
        pending: list[Frame] = []
        response: Response | None = None
        while response is None:
            data = sock.recv(_READ_CHUNK)
            if not data:
                raise AssertionError("the server closed the silent dashboard's handshake")
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Response):
                    response = event
                elif isinstance(event, Frame):
                    pending.append(event)
        assert response.status_code == 101, response
        return cls(sock, protocol, pending)

    async def read(self, events: int, within: float = RECEIVE_TIMEOUT_S) -> Silenced:
        """Start reading at last: until ``events`` events arrived or the server ended the
        connection; ``within`` bounds each wait for more bytes."""
        return await asyncio.to_thread(self._read_blocking, events, within)

    def _read_blocking(self, wanted: int, within: float) -> Silenced:
        self._sock.settimeout(within)
        frames = list(self._pending)
        eof = False

        def done() -> bool:
            texts = sum(frame.opcode == Opcode.TEXT for frame in frames)
            return texts >= wanted or any(frame.opcode == Opcode.CLOSE for frame in frames)

        while not done():
            try:
                data = self._sock.recv(_READ_CHUNK)
            except TimeoutError:
                raise AssertionError(
                    f"the silent dashboard got {len(frames)} frames, then nothing for {within} s"
                ) from None
            if not data:
                eof = True
                self._protocol.receive_eof()
                break
            self._protocol.receive_data(data)
            frames.extend(
                event for event in self._protocol.events_received() if isinstance(event, Frame)
            )
        events = [json.loads(bytes(frame.data)) for frame in frames if frame.opcode == Opcode.TEXT]
        close = next(
            (Close.parse(frame.data) for frame in frames if frame.opcode == Opcode.CLOSE), None
        )
        return Silenced(events, close, eof)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

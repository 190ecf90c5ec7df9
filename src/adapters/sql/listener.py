"""Cross-process wake-ups: PostgreSQL ``LISTEN`` on the outbox channel.

A commit in another server process queues a ``NOTIFY`` (see ``SqlEventOutbox``); this listener
turns it into a wake-up of the local fan-out. If the listening connection is lost, the fan-out's
polling keeps events flowing while this reconnects, and every reconnect wakes the fan-out once in
case a notification was missed in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from agent_booking.adapters.sql.postgres_statements import EVENTS_CHANNEL

__all__ = ["PostgresEventListener"]

_log = logging.getLogger(__name__)
_RETRY_SECONDS = 1.0


class PostgresEventListener:
    def __init__(self, url: str, on_event: Callable[[], None]) -> None:
        self._url = make_url(url)
        self._on_event = on_event
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="postgres-event-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.warning("event listener connection lost; polling until it is back")
            self.connected.clear()
            await asyncio.sleep(_RETRY_SECONDS)

    async def _listen(self) -> None:
        url = self._url
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(EVENTS_CHANNEL, self._notified)
            self.connected.set()
            self._on_event()  # anything committed while we were not listening
            await lost.wait()
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)

    def _notified(self, *_args: Any) -> None:
        self._on_event()

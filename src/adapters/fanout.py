"""Outbox fan-out: every server process tails the event table and pushes to its own listeners.

The outbox is the source of truth; this process only relays it. It is woken at once when a local
transaction commits (it is the core's ``Notifier``), by a database notification when another
process commits (PostgreSQL ``LISTEN``), and otherwise polls, so a lost wake-up costs latency,
never an event. Each listener has a bounded queue: a listener that does not keep up is dropped
(it can resume with ``since``) and never slows booking creation or the other listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from booking_core.events import StoredEvent
from booking_core.ports import UnitOfWorkFactory

__all__ = ["EventFanout", "Subscription", "SubscriptionOverflow"]

_log = logging.getLogger(__name__)

ReadAfter = Callable[[int, int], Awaitable[Sequence[StoredEvent]]]
LatestId = Callable[[], Awaitable[int]]

_BATCH = 500


class SubscriptionOverflow(Exception):
    """The listener fell too far behind and was dropped; reconnect with ``since``."""


class Subscription:
    """One listener: replays what it missed, then follows live events, each exactly once."""

    def __init__(self, fanout: EventFanout, since: int | None, queue_size: int) -> None:
        self._fanout = fanout
        self._since = since
        # One spare place, so the end marker always fits without dropping an event.
        self._limit = queue_size
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(queue_size + 1)
        self.overflowed = False
        #: Set when the subscription ends, so a sender blocked on a dead socket can be cut off.
        self.ended = asyncio.Event()
        self.last_event_id = since if since is not None else (fanout.position or 0)

    def offer(self, event: StoredEvent) -> None:
        """Called by the tailer; never blocks."""
        if self.ended.is_set():
            return
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
            self.end()
            return
        self._queue.put_nowait(event)

    def end(self) -> None:
        """Stop following: queued events are still delivered, then the iterator ends (or
        raises, if this listener overflowed). Nothing queued is dropped, so resuming from the
        last event the listener really got leaves no gap."""
        if self.ended.is_set():
            return
        self._fanout.unsubscribe(self)
        self.ended.set()
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[StoredEvent]:
        """Missed events (``since``) in order, then live ones; ids strictly increase."""
        if self._since is not None:
            while True:
                batch = await self._fanout.read_after(self.last_event_id, _BATCH)
                for event in batch:
                    self.last_event_id = event.event_id
                    yield event
                if len(batch) < _BATCH:
                    break
        while True:
            item = await self._queue.get()
            if item is None:
                if self.overflowed:
                    raise SubscriptionOverflow
                return
            if item.event_id <= self.last_event_id:
                continue  # already replayed from the table
            self.last_event_id = item.event_id
            yield item

    def close(self) -> None:
        self._fanout.unsubscribe(self)
        self.ended.set()


class EventFanout:
    """Relays committed outbox events to in-process subscribers."""

    def __init__(
        self,
        read_after: ReadAfter,
        latest_id: LatestId,
        *,
        poll_interval: float = 1.0,
        queue_size: int = 1000,
    ) -> None:
        self.read_after = read_after
        self._latest_id = latest_id
        self._poll_interval = poll_interval
        self._queue_size = queue_size
        self._wake = asyncio.Event()
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        #: Last event relayed; None until the outbox could be read once.
        self.position: int | None = None
        self.delivered = 0
        #: Age in seconds of the newest event when it was relayed (None before the first one).
        self.relay_lag_seconds: float | None = None

    @classmethod
    def over(cls, reads: UnitOfWorkFactory, **options: Any) -> EventFanout:
        """A fan-out reading the outbox through read-only units of work."""

        async def read_after(event_id: int, limit: int) -> Sequence[StoredEvent]:
            async with reads() as uow:
                return await uow.events.after(event_id, limit)

        async def latest_id() -> int:
            async with reads() as uow:
                return await uow.events.latest_id()

        return cls(read_after, latest_id, **options)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        """Start tailing from the current end of the outbox (live subscribers want new events)."""
        try:
            self.position = await self._latest_id()
        except Exception:  # the database may be down at start; the tailer retries
            _log.warning("cannot read the event outbox yet; will retry", exc_info=True)
        self._task = asyncio.create_task(self._run(), name="event-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for subscription in list(self._subscribers):
            subscription.end()
        self._subscribers.clear()

    def wake(self) -> None:
        """Something was committed (here or, via LISTEN, elsewhere): look now."""
        self._wake.set()

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """The core's ``Notifier`` port: events are committed, so tail the table now."""
        del events  # the table, not this call, decides order and content
        self.wake()

    def subscribe(self, since: int | None = None) -> Subscription:
        subscription = Subscription(self, since, self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()
            try:
                await self._drain()
            except Exception:  # the database may be briefly away; the next round retries
                _log.warning("reading the event outbox failed; retrying", exc_info=True)

    async def _drain(self) -> None:
        if self.position is None:
            self.position = await self._latest_id()
        while True:
            batch = await self.read_after(self.position, _BATCH)
            for event in batch:
                for subscription in list(self._subscribers):
                    subscription.offer(event)
                self.position = event.event_id
                self.delivered += 1
            if batch:
                newest = batch[-1].occurred_at.timestamp()
                self.relay_lag_seconds = max(0.0, time.time() - newest)
            if len(batch) < _BATCH:
                return

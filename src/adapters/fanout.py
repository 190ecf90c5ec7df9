"""Outbox fan-out: every server process tails the event table and pushes to its own listeners.

The outbox is the source of truth; this process only relays it. It is woken at once when a local
transaction commits (it is the core's ``Notifier``), by a database notification when another
process commits (PostgreSQL ``LISTEN``), and otherwise polls, so a lost wake-up costs latency,
never an event. Each listener has a bounded buffer: a listener that does not keep up is dropped
(it can resume with ``since``) and never slows booking creation or the other listeners.

While nobody listens the tailer reads nothing: it forgets its position instead, and the next
listener to subscribe first looks up where the outbox ends (one small read) and becomes the point
from which the tailer relays again. So an idle process costs the database nothing per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from agent_booking.core.errors import ServiceUnavailable
from agent_booking.core.events import StoredEvent
from agent_booking.core.ports import EventOutbox, UnitOfWork

__all__ = [
    "EventFanout",
    "EventLog",
    "OutboxLog",
    "RelayUnitOfWork",
    "RelayUnitOfWorkFactory",
    "Subscription",
    "SubscriptionOverflow",
]

_log = logging.getLogger(__name__)

ReadAfter = Callable[[int, int], Awaitable[Sequence[StoredEvent]]]
LatestId = Callable[[], Awaitable[int]]


class EventLog(Protocol):
    """The outbox read back: what relays such as this fan-out need, and the core never calls."""

    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        """Committed events with a larger id, oldest first."""
        ...

    async def latest_id(self) -> int:
        """The largest committed event id (0 when there is none)."""
        ...


class OutboxLog(EventOutbox, EventLog, Protocol):
    """An outbox that can also be read back (both adapters' outboxes are)."""


class RelayUnitOfWork(UnitOfWork, Protocol):
    """A unit of work whose outbox a relay can read back: what an app's storage must give."""

    @property
    def events(self) -> OutboxLog: ...


class RelayUnitOfWorkFactory(Protocol):
    def __call__(self) -> RelayUnitOfWork: ...


_BATCH = 500


class SubscriptionOverflow(Exception):
    """The listener fell too far behind and was dropped; reconnect with ``since``."""


class Subscription:
    """One listener: replays what it missed, then follows live events, each exactly once.

    It has a single consumer, which calls :meth:`next_batch` (or iterates :meth:`events`): the
    tailer appends what it reads to a buffer here and wakes that consumer, which then takes
    everything buffered at once.
    """

    def __init__(self, fanout: EventFanout, since: int | None, start: int, queue_size: int) -> None:
        self._fanout = fanout
        self._replaying = since is not None
        self._limit = queue_size
        self._pending: deque[StoredEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        #: :meth:`interrupt` was called and :meth:`next_batch` has not returned since: kept, so
        #: that an interruption while the consumer reads the replay is not lost.
        self._interrupted = False
        self._loop = asyncio.get_running_loop()
        self._ended = False
        self.overflowed = False
        #: Set when the subscription ends, so a sender blocked on a dead socket can be cut off.
        self.ended = asyncio.Event()
        #: The last event handed to the consumer (or, before any, where it starts).
        self.last_event_id = since if since is not None else start

    def offer(self, events: Sequence[StoredEvent]) -> None:
        """Called by the tailer with the events it read, in order; never blocks. What does not
        fit in the buffer ends the subscription as overflowed."""
        if self._ended:
            return
        room = self._limit - len(self._pending)
        if len(events) > room:
            self._pending.extend(events[:room])
            self.overflowed = True
            self.end()
            return
        self._pending.extend(events)
        self._wake()

    def interrupt(self) -> None:
        """Wake the consumer waiting in :meth:`next_batch`, which then returns an empty batch
        if there is no event (for a consumer that has other work, such as replies, to do).
        Called while the consumer is not waiting (reading the replay, say), it makes the next
        wait return at once instead."""
        self._interrupted = True
        self._wake()

    def end(self) -> None:
        """Stop following: events already offered are still handed out, then :meth:`next_batch`
        returns ``None`` (or raises, if this listener overflowed). Nothing offered is dropped,
        so resuming from the last event the listener really got leaves no gap."""
        if self._ended:
            return
        self._ended = True
        self._fanout.unsubscribe(self)
        self.ended.set()
        self._wake()

    async def next_batch(self) -> list[StoredEvent] | None:
        """The next events, in order, each once and with strictly increasing ids: first what was
        missed after ``since`` (read from the outbox a batch at a time), then every live event
        offered since the previous call. Waits while there is nothing.

        Returns an empty list when woken with nothing new (see :meth:`interrupt`), and ``None``
        once the subscription has ended and everything offered before was handed out; raises
        :class:`SubscriptionOverflow` instead if it ended because the listener fell behind.
        """
        if self._replaying:
            batch = await self._fanout.read_after(self.last_event_id, _BATCH)
            if len(batch) < _BATCH:
                self._replaying = False
            if batch:
                self.last_event_id = batch[-1].event_id
                return list(batch)
        woken = False
        while True:
            events = self._take_pending()
            if events:
                self._interrupted = False
                return events
            if self._ended:
                if self.overflowed:
                    raise SubscriptionOverflow
                return None
            if woken or self._interrupted:
                self._interrupted = False
                return events
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
            woken = True

    async def events(self) -> AsyncIterator[StoredEvent]:
        """:meth:`next_batch`, one event at a time: ends with the subscription."""
        while (batch := await self.next_batch()) is not None:
            for event in batch:
                yield event

    def _take_pending(self) -> list[StoredEvent]:
        """Everything buffered that is newer than what the consumer has (live events that the
        replay already delivered are skipped)."""
        pending = self._pending
        if not pending:
            return []
        last = self.last_event_id
        if pending[0].event_id > last:  # the usual case: ids increase, so all of them are new
            events = list(pending)
        else:
            events = [event for event in pending if event.event_id > last]
        pending.clear()
        if events:
            self.last_event_id = events[-1].event_id
        return events

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


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
        #: Last event relayed: every subscriber has been offered every event up to it. None
        #: while nobody listens (the tailer does not read then) until the next subscription.
        self.position: int | None = None
        self.delivered = 0
        #: Age in seconds of the newest event when it was relayed (None before the first one).
        self.relay_lag_seconds: float | None = None

    @classmethod
    def over(cls, reads: RelayUnitOfWorkFactory, **options: Any) -> EventFanout:
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
        """Start the tailer; it reads the outbox only once someone subscribes."""
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

    async def subscribe(self, since: int | None = None) -> Subscription:
        """A listener for the events after ``since`` (replayed from the outbox first), or
        without it for those committed from now on.

        If nobody was listening, the tailer's position is unknown: the end of the outbox is
        read first and the tailer relays from there. That read raises if the database is away.
        """
        if self.position is None:
            latest = await self._latest_id()
            if self.position is None:  # no other subscription set it meanwhile
                self.position = latest
        subscription = Subscription(self, since, self.position, self._queue_size)
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
            except Exception as error:  # the database may be briefly away; the next round retries
                # An outage is one line per round (they repeat while it lasts); anything else
                # may be a bug, so its traceback is kept.
                _log.warning(
                    "reading the event outbox failed; retrying: %r",
                    error.__cause__ or error,
                    exc_info=not isinstance(error, ServiceUnavailable),
                )

    async def _drain(self) -> None:
        if not self._subscribers or self.position is None:
            # Nobody to relay to: skip the read and forget the position, which the next
            # subscription re-establishes (events committed until then are nobody's).
            self.position = None
            return
        while True:
            batch = await self.read_after(self.position, _BATCH)
            if batch:
                for subscription in list(self._subscribers):
                    subscription.offer(batch)
                self.position = batch[-1].event_id
                self.delivered += len(batch)
                newest = batch[-1].occurred_at.timestamp()
                self.relay_lag_seconds = max(0.0, time.time() - newest)
            if len(batch) < _BATCH:
                return

"""The delivery worker: one per server process, started and stopped with the app.

Each round it (1) records the outcomes of finished attempts, (2) turns new outbox events into
delivery rows (``ingest``: rows and the cursor move in one transaction, so an event read is
never lost, and two processes never both ingest one batch), and (3) claims due deliveries per
subscription, at most ``concurrency`` in flight per subscription in this process, and sends
them in tasks of their own. A claim leases the row (it is not due again for ``lease`` seconds),
so with several processes each delivery is sent by one at a time, and a process that dies just
leaves its leases to expire: the deliveries are sent again, at least once in all.

Rounds start when a booking commits here (or, on PostgreSQL, anywhere), when an attempt ends,
and every ``poll`` seconds, but at most one per ``min_interval`` seconds (``backlog_interval``
while a round found more due than it could send), so a burst of bookings
costs a handful of small transactions, not several per booking. The enabled subscriptions are
read again every ``poll`` seconds, and at once when this process changed one; with none enabled
a round reads and writes nothing but that (the cursor is moved past the outbox once per read,
and only while the database still has no enabled subscription). Nothing here runs inside a
booking's transaction: a slow or dead receiver costs only its own tasks and lease.

Bookings come first. Sending a webhook costs this process CPU (an HTTP request costs about
what a booking does), so while the process is saturated (it uses most of a CPU, or has many
requests in flight: :class:`LoopLoad`) the worker sends at most ``busy_rate`` webhooks a
second, starts a round at most every ``busy_interval`` seconds and reads at most
``busy_batch`` new events per round; events and deliveries wait in the database meanwhile
(the outbox and the cursor keep them) and are caught up at full speed once the load drops.
``busy_rate`` 0 turns this off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from attrs import frozen

from agent_booking.adapters.fanout import EventLog, RelayUnitOfWorkFactory
from agent_booking.adapters.sql.webhook_store import (
    ClaimedDelivery,
    DeliveryOutcome,
    SqlWebhookStore,
    WebhookSubscription,
)
from agent_booking.adapters.webhooks.sender import AttemptResult, WebhookSender
from agent_booking.core.errors import ServiceUnavailable
from agent_booking.core.events import StoredEvent
from agent_booking.core.webhooks import DISABLE_AFTER_SECONDS, retry_delay

__all__ = ["LoopLoad", "OutboxReader", "WebhookWorker", "WorkerTiming"]

_log = logging.getLogger(__name__)
_BATCH = 500
_EVENT_CACHE = 2000
_GONE = 410


@frozen
class WorkerTiming:
    #: Attempts in flight per subscription in this process.
    concurrency: int = 8
    #: Seconds one attempt may take in all.
    timeout: float = 15.0
    #: Multiplies the retry schedule and the 5-day disable window (tests make it small).
    scale: float = 1.0
    poll: float = 1.0
    #: Seconds between rounds at least (a webhook waits at most this much longer; each round
    #: costs a few small transactions, shared by every event and attempt since the last).
    min_interval: float = 0.05
    #: Seconds between rounds while catching up on a backlog (a round claimed all it could).
    backlog_interval: float = 0.01
    #: Webhooks sent per second by this process while it is saturated (0: no limit).
    busy_rate: float = 20.0
    #: While saturated: seconds between rounds, and events turned into deliveries per round
    #: (no more than can soon be sent: the outbox keeps the rest, read once the load drops).
    busy_interval: float = 1.0
    busy_batch: int = 50

    @property
    def lease(self) -> float:
        """How long a claimed delivery is this process's: longer than any attempt takes."""
        return 2 * self.timeout + 1


class LoopLoad:
    """Whether this process has no time to spare: the share of a CPU it used over the last
    half second, or ``pressed()`` (the server's requests in flight). A server process runs one
    event loop, so when it uses most of a CPU, requests wait for it; on a machine whose other
    processes take the CPU, it may get much less than a CPU while requests queue, and only the
    requests in flight say so.

    (A late timer is no good sign: on a machine whose other processes keep this one waiting,
    timers fire late while it is idle, and webhooks would never be caught up.)
    """

    PERIOD = 0.5
    BUSY_SHARE = 0.6

    def __init__(self, pressed: Callable[[], bool] = lambda: False) -> None:
        self.share = 0.0
        self._pressed = pressed
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.share > self.BUSY_SHARE or self._pressed()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-load")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        while True:
            await asyncio.sleep(self.PERIOD)
            now_wall, now_cpu = time.monotonic(), time.process_time()
            self.share = (now_cpu - cpu) / max(1e-6, now_wall - wall)
            wall, cpu = now_wall, now_cpu


class WebhookWorker:
    def __init__(
        self,
        store: SqlWebhookStore,
        events: EventLog,
        sender: WebhookSender,
        timing: WorkerTiming,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        observe: Callable[[DeliveryOutcome], None] = lambda _outcome: None,
        pressed: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._events = events
        self._sender = sender
        self._timing = timing
        self._clock = clock
        self._jitter = jitter
        self._observe = observe
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[DeliveryOutcome] = []
        self._subscriptions: dict[int, WebhookSubscription] = {}
        #: Whether the last round claimed all it could (more may be due: look again soon).
        self._backlog = False
        #: When the enabled subscriptions were last read (monotonic seconds).
        self._subscriptions_read: float | None = None
        self._cache: OrderedDict[int, StoredEvent] = OrderedDict()
        self.load = LoopLoad(pressed)
        self._tokens = timing.busy_rate
        self._refilled = time.monotonic()
        #: Webhooks this process sent (every attempt, whatever its outcome).
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def events_committed(self) -> None:
        """Events were committed (here, or on PostgreSQL anywhere): a round soon, if the last
        round found a subscription enabled.

        With none, the events are owed to no one (a subscription gets only events after its
        creation), so a round would only move the cursor: a round per wake-up, every
        ``min_interval`` under load, cost about 20 µs of CPU per booking in
        ``bench.inprocess`` (four small transactions a round). Subscriptions made in this
        process wake the worker (:meth:`wake`); those made by another process are found by the
        next ``poll`` round.
        """
        if self._subscriptions:
            self._wake.set()

    def subscriptions_changed(self) -> None:
        """A subscription was made, changed or deleted here: read them again in the next round
        (other processes read them within ``poll`` seconds)."""
        self._subscriptions_read = None
        self.wake()

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """The core's ``Notifier`` port: a booking committed here; look soon."""
        del events
        self.events_committed()

    async def start(self) -> None:
        if self._timing.busy_rate:
            self.load.start()
        self._task = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.load.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._flush()
        await self._sender.aclose()

    async def finish_attempts(self) -> None:
        """Wait for the attempts in flight to end, and record what they gave."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._timing.poll)
            self._wake.clear()
            try:
                await self.run_round()
            except Exception as error:  # the database may be away; the next round retries
                _log.warning(
                    "webhook round failed; retrying: %r",
                    error.__cause__ or error,
                    exc_info=not isinstance(error, ServiceUnavailable),
                )
            # Rounds spaced out (a burst of wake-ups is one round), further while saturated.
            await asyncio.sleep(
                self._timing.busy_interval
                if self.load.busy
                else self._timing.backlog_interval
                if self._backlog
                else self._timing.min_interval
            )

    async def run_round(self) -> None:
        await self._flush()
        await self._ingest()
        await self._dispatch()

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        try:
            await self._store.record(outcomes)
        except BaseException:
            self._outcomes[:0] = outcomes  # kept for the next round (the leases still hold)
            raise
        if any(outcome.disable_reason is not None for outcome in outcomes):
            self._subscriptions_read = None  # one was disabled: send it nothing more

    async def _ingest(self) -> None:
        now = time.monotonic()
        stale = (
            self._subscriptions_read is None or now - self._subscriptions_read >= self._timing.poll
        )
        if stale:
            subscriptions = await self._store.enabled()
            self._subscriptions = {item.id: item for item in subscriptions}
            self._subscriptions_read = now
        if not self._subscriptions:
            if stale:  # nothing is owed: move the cursor to the end (the store checks again)
                position = await self._store.cursor()
                await self._store.skip_to(position, await self._events.latest_id())
            return
        position = await self._store.cursor()
        while True:
            # Asked again for every batch: a backlog caught up between two bursts of bookings
            # yields as soon as requests queue again.
            busy = self._timing.busy_rate and self.load.busy
            batch = await self._events.after(position, self._timing.busy_batch if busy else _BATCH)
            if not batch or not await self._store.ingest(position, batch, self._clock()):
                return
            for event in batch:
                self._remember(event)
            position = batch[-1].event_id
            if busy or len(batch) < _BATCH:
                return

    async def _dispatch(self) -> None:
        self._backlog = False
        if not self._subscriptions:
            return
        now = self._clock()
        for subscription_id in await self._store.due_subscriptions(list(self._subscriptions), now):
            subscription = self._subscriptions.get(subscription_id)
            free = min(
                self._timing.concurrency - self._in_flight.get(subscription_id, 0),
                self._budget(),
            )
            if subscription is None or free <= 0:
                continue
            claimed = await self._store.claim(subscription_id, free, now, now + self._timing.lease)
            self._backlog = self._backlog or len(claimed) == free
            if self._timing.busy_rate and self.load.busy:
                self._tokens -= len(claimed)
            await self._prefetch([delivery.event_id for delivery in claimed])
            for delivery in claimed:
                self._in_flight[subscription_id] = self._in_flight.get(subscription_id, 0) + 1
                task = asyncio.create_task(self._deliver(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _budget(self) -> int:
        """How many more webhooks may be sent now: any number unless the loop is saturated."""
        rate = self._timing.busy_rate
        if not rate:
            return self._timing.concurrency
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if not self.load.busy:
            return self._timing.concurrency
        return int(self._tokens)

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            subscription = self._subscriptions.get(delivery.subscription_id)
            event = await self._event(delivery.event_id)
            if subscription is None:
                return  # disabled or deleted meanwhile: the lease expires, nothing is sent
            started = self._clock()
            if event is None:
                result = AttemptResult(None, "the event is no longer in the outbox", 0.0, None)
                outcome = self._outcome(subscription, delivery, result, started, final=True)
            else:
                result = await self._sender.send(
                    subscription.url, event, subscription.secrets(started)
                )
                self.sent += 1
                outcome = self._outcome(subscription, delivery, result, started)
            self._outcomes.append(outcome)
            self._observe(outcome)
        except Exception:
            _log.exception("webhook delivery %s failed unexpectedly", delivery.id)
        finally:
            self._in_flight[delivery.subscription_id] -= 1
            self.wake()

    def _outcome(
        self,
        subscription: WebhookSubscription,
        delivery: ClaimedDelivery,
        result: AttemptResult,
        started: float,
        *,
        final: bool = False,
    ) -> DeliveryOutcome:
        now = self._clock()
        common = {
            "delivery_id": delivery.id,
            "subscription_id": subscription.id,
            "lease_until": delivery.lease_until,
            "attempted_at": now,
            "started_at": started,
            "status_code": result.status_code,
            "error": result.error,
            "latency_ms": result.latency_ms,
        }
        if result.ok:
            return DeliveryOutcome(status="delivered", next_attempt_at=None, **common)  # type: ignore[arg-type]
        if result.status_code == _GONE:
            reason = "the receiver answered 410 Gone"
            return DeliveryOutcome(
                status="failed",
                next_attempt_at=None,
                disable_reason=reason,
                **common,  # type: ignore[arg-type]
            )
        delay = (
            None
            if final
            else retry_delay(
                delivery.attempts + 1,
                result.retry_after,
                scale=self._timing.scale,
                jitter=self._jitter(),
            )
        )
        failing_since = subscription.failing_since or now
        disable = None
        if now - failing_since >= DISABLE_AFTER_SECONDS * self._timing.scale:
            since = dt.datetime.fromtimestamp(failing_since, dt.UTC).isoformat(timespec="seconds")
            disable = f"every delivery failed since {since} (5 days)"
        return DeliveryOutcome(
            status="failed" if delay is None else "pending",
            next_attempt_at=None if delay is None else now + delay,
            disable_reason=disable,
            **common,  # type: ignore[arg-type]
        )

    async def _prefetch(self, event_ids: list[int]) -> None:
        """Read the claimed deliveries' events not cached, in one read when they are close
        together (a backlog is claimed oldest first, so they usually are)."""
        missing = [event_id for event_id in event_ids if event_id not in self._cache]
        if not missing:
            return
        first, last = min(missing), max(missing)
        if last - first < _BATCH:
            for event in await self._events.after(first - 1, last - first + 1):
                self._remember(event)

    async def _event(self, event_id: int) -> StoredEvent | None:
        cached = self._cache.get(event_id)
        if cached is not None:
            return cached
        found = await self._events.after(event_id - 1, 1)
        if not found or found[0].event_id != event_id:
            return None
        self._remember(found[0])
        return found[0]

    def _remember(self, event: StoredEvent) -> None:
        self._cache[event.event_id] = event
        while len(self._cache) > _EVENT_CACHE:
            self._cache.popitem(last=False)


class OutboxReader:
    """The outbox's read API (:class:`~agent_booking.adapters.fanout.EventLog`) over read-only
    units of work."""

    def __init__(self, reads: RelayUnitOfWorkFactory) -> None:
        self._reads = reads

    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        async with self._reads() as uow:
            return await uow.events.after(event_id, limit)

    async def latest_id(self) -> int:
        async with self._reads() as uow:
            return await uow.events.latest_id()

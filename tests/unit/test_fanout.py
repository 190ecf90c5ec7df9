"""The outbox fan-out: replay then live, each event once, in order; slow listeners dropped."""

from __future__ import annotations

import asyncio

import pendulum
import pytest

from adapters.fanout import EventFanout, SubscriptionOverflow
from booking_core.events import StoredEvent

T0 = pendulum.datetime(2026, 11, 25, 10)


class Outbox:
    """A committed event table, as the fan-out sees it."""

    def __init__(self) -> None:
        self.rows: list[StoredEvent] = []

    def commit(self, count: int = 1) -> list[StoredEvent]:
        new = [
            StoredEvent(
                len(self.rows) + i + 1, "booking_created", {"n": len(self.rows) + i + 1}, T0
            )
            for i in range(count)
        ]
        self.rows.extend(new)
        return new

    async def after(self, event_id: int, limit: int) -> list[StoredEvent]:
        return [e for e in self.rows if e.event_id > event_id][:limit]

    async def latest(self) -> int:
        return self.rows[-1].event_id if self.rows else 0


async def take(iterator, count: int) -> list[int]:
    ids = []
    async for event in iterator:
        ids.append(event.event_id)
        if len(ids) == count:
            break
    return ids


@pytest.fixture
async def outbox_and_fanout():
    outbox = Outbox()
    outbox.commit(3)
    fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30)
    await fanout.start()
    yield outbox, fanout
    await fanout.stop()


class TestEventFanout:
    async def test_live_subscriber_gets_only_new_events_in_order(self, outbox_and_fanout):
        outbox, fanout = outbox_and_fanout
        events = fanout.subscribe().events()
        outbox.commit(2)
        await fanout.publish([])
        assert await asyncio.wait_for(take(events, 2), 5) == [4, 5]

    async def test_since_replays_missed_events_then_continues_live_without_duplicates(
        self, outbox_and_fanout
    ):
        outbox, fanout = outbox_and_fanout
        subscription = fanout.subscribe(since=1)
        events = subscription.events()
        outbox.commit(1)  # committed before the replay reads: seen by both paths
        await fanout.publish([])
        first = await asyncio.wait_for(take(events, 3), 5)
        outbox.commit(2)
        await fanout.publish([])
        rest = await asyncio.wait_for(take(events, 2), 5)
        assert first + rest == [2, 3, 4, 5, 6]

    async def test_polling_finds_events_without_a_wake_up(self):
        outbox = Outbox()
        fanout = EventFanout(outbox.after, outbox.latest, poll_interval=0.05)
        await fanout.start()
        try:
            events = fanout.subscribe().events()
            outbox.commit(1)
            assert await asyncio.wait_for(take(events, 1), 5) == [1]
        finally:
            await fanout.stop()

    async def test_a_listener_that_does_not_read_is_dropped_and_others_are_unaffected(self):
        outbox = Outbox()
        fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30, queue_size=5)
        await fanout.start()
        try:
            slow = fanout.subscribe()
            fast = fanout.subscribe().events()
            received: list[int] = []

            async def read_fast() -> None:
                received.extend(await take(fast, 20))

            reader = asyncio.create_task(read_fast())
            for _ in range(20):
                outbox.commit(1)
                await fanout.publish([])
                await asyncio.sleep(0)  # let the tailer and the fast reader run
            await asyncio.wait_for(reader, 5)
            assert received == list(range(1, 21))
            assert slow.overflowed
            with pytest.raises(SubscriptionOverflow):
                await asyncio.wait_for(take(slow.events(), 100), 5)
            assert fanout.subscriber_count == 1
        finally:
            await fanout.stop()

    async def test_stop_ends_every_subscription(self, outbox_and_fanout):
        _, fanout = outbox_and_fanout
        events = fanout.subscribe().events()
        await fanout.stop()
        assert await asyncio.wait_for(take(events, 1), 5) == []

"""The outbox fan-out: replay then live, each event once, in order; slow listeners dropped; no
outbox reads while nobody listens."""

from __future__ import annotations

import asyncio
import contextlib

import pendulum
import pytest

from agent_booking.adapters.fanout import EventFanout, SubscriptionOverflow
from agent_booking.core.events import StoredEvent

T0 = pendulum.datetime(2026, 11, 25, 10)


class Outbox:
    """A committed event table, as the fan-out sees it; counts the fan-out's reads, and can be
    made unavailable (the database is away)."""

    def __init__(self) -> None:
        self.rows: list[StoredEvent] = []
        self.reads = 0
        self.latest_reads = 0
        self.available = True

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
        self._check()
        self.reads += 1
        return [e for e in self.rows if e.event_id > event_id][:limit]

    async def latest(self) -> int:
        self._check()
        self.latest_reads += 1
        return self.rows[-1].event_id if self.rows else 0

    def _check(self) -> None:
        if not self.available:
            raise ConnectionError("the database is away")


async def take(iterator, count: int) -> list[int]:
    ids = []
    async for event in iterator:
        ids.append(event.event_id)
        if len(ids) == count:
            break
    return ids


@contextlib.asynccontextmanager
async def running_fanout(poll_interval: float):
    """A started fan-out over an outbox of three committed events."""
    outbox = Outbox()
    outbox.commit(3)
    fanout = EventFanout(outbox.after, outbox.latest, poll_interval=poll_interval)
    await fanout.start()
    try:
        yield outbox, fanout
    finally:
        await fanout.stop()


@pytest.fixture
async def outbox_and_fanout():
    async with running_fanout(poll_interval=30) as running:
        yield running


class TestEventFanout:
    async def test_live_subscriber_gets_only_new_events_in_order(self, outbox_and_fanout):
        outbox, fanout = outbox_and_fanout
        events = (await fanout.subscribe()).events()
        outbox.commit(2)
        await fanout.publish([])
        assert await asyncio.wait_for(take(events, 2), 5) == [4, 5]

    async def test_since_replays_missed_events_then_continues_live_without_duplicates(
        self, outbox_and_fanout
    ):
        outbox, fanout = outbox_and_fanout
        subscription = await fanout.subscribe(since=1)
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
            events = (await fanout.subscribe()).events()
            outbox.commit(1)
            assert await asyncio.wait_for(take(events, 1), 5) == [1]
        finally:
            await fanout.stop()

    async def test_a_listener_that_does_not_read_is_dropped_and_others_are_unaffected(self):
        outbox = Outbox()
        fanout = EventFanout(outbox.after, outbox.latest, poll_interval=30, queue_size=5)
        await fanout.start()
        try:
            slow = await fanout.subscribe()
            fast = (await fanout.subscribe()).events()
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
        events = (await fanout.subscribe()).events()
        await fanout.stop()
        assert await asyncio.wait_for(take(events, 1), 5) == []


async def settle() -> None:
    """Give the tailer (polling every 10 ms here) several rounds to act on what was committed."""
    await asyncio.sleep(0.1)


@pytest.fixture
async def idle_fanout():
    """A fan-out over an outbox of three events, polling often, that nobody listens to yet."""
    async with running_fanout(poll_interval=0.01) as running:
        yield running


class TestNobodyListening:
    async def test_the_tailer_reads_nothing_while_nobody_is_subscribed(self, idle_fanout):
        outbox, fanout = idle_fanout
        for _ in range(3):
            outbox.commit(1)
            await fanout.publish([])
            await settle()
        assert (outbox.reads, outbox.latest_reads) == (0, 0)
        assert fanout.position is None

    async def test_a_live_subscriber_gets_exactly_the_events_committed_after_it_subscribed(
        self, idle_fanout
    ):
        outbox, fanout = idle_fanout
        outbox.commit(2)  # 4 and 5: committed, never read, before anyone listens
        await fanout.publish([])
        await settle()
        subscription = await fanout.subscribe()
        assert outbox.latest_reads == 1  # where the outbox ends: one read
        assert subscription.last_event_id == 5
        outbox.commit(2)
        await fanout.publish([])
        assert await asyncio.wait_for(subscription.next_batch(), 5) == outbox.rows[5:7]
        outbox.commit(1)
        await fanout.publish([])
        assert await asyncio.wait_for(take(subscription.events(), 1), 5) == [8]

    async def test_a_subscriber_with_since_replays_exactly_what_it_missed_then_follows_live(
        self, idle_fanout
    ):
        outbox, fanout = idle_fanout
        outbox.commit(2)
        await fanout.publish([])
        await settle()
        events = (await fanout.subscribe(since=2)).events()
        outbox.commit(1)  # 6, committed before the replay reads: seen by both paths
        await fanout.publish([])
        replayed = await asyncio.wait_for(take(events, 4), 5)
        outbox.commit(2)
        await fanout.publish([])
        live = await asyncio.wait_for(take(events, 2), 5)
        assert replayed + live == [3, 4, 5, 6, 7, 8]

    async def test_reading_stops_again_when_the_last_subscriber_leaves(self, idle_fanout):
        outbox, fanout = idle_fanout
        first, second = await fanout.subscribe(), await fanout.subscribe()
        outbox.commit(1)
        await fanout.publish([])
        assert await asyncio.wait_for(take(first.events(), 1), 5) == [4]
        first.end()
        second.end()
        await settle()
        reads = outbox.reads
        outbox.commit(2)
        await fanout.publish([])
        await settle()
        assert outbox.reads == reads
        assert fanout.position is None
        assert fanout.subscriber_count == 0

        again = await fanout.subscribe()  # starts after 6, the end of the outbox now
        outbox.commit(1)
        await fanout.publish([])
        assert await asyncio.wait_for(take(again.events(), 1), 5) == [7]

    async def test_subscribing_fails_while_the_end_of_the_outbox_cannot_be_read(self, idle_fanout):
        outbox, fanout = idle_fanout
        outbox.available = False
        with pytest.raises(ConnectionError):
            await fanout.subscribe()
        assert fanout.subscriber_count == 0
        outbox.available = True
        subscription = await fanout.subscribe()
        outbox.commit(1)
        await fanout.publish([])
        assert await asyncio.wait_for(take(subscription.events(), 1), 5) == [4]


async def relayed(fanout: EventFanout, up_to: int) -> None:
    """Wait, with a timeout, until the tailer has offered every event up to ``up_to``."""
    async with asyncio.timeout(5):
        # The fan-out signals nothing when it relays; its position is what can be watched.
        while fanout.position is None or fanout.position < up_to:  # noqa: ASYNC110
            await asyncio.sleep(0.001)


class TestHandOff:
    async def test_everything_offered_since_the_last_call_comes_as_one_batch(
        self, outbox_and_fanout
    ):
        outbox, fanout = outbox_and_fanout
        subscription = await fanout.subscribe()
        outbox.commit(3)
        await fanout.publish([])
        await relayed(fanout, up_to=6)  # all three are offered before the listener looks
        batch = await asyncio.wait_for(subscription.next_batch(), 5)
        assert [event.event_id for event in batch or []] == [4, 5, 6]

    async def test_interrupt_wakes_the_listener_with_an_empty_batch(self, outbox_and_fanout):
        _, fanout = outbox_and_fanout
        subscription = await fanout.subscribe()
        waiting = asyncio.create_task(subscription.next_batch())
        await asyncio.sleep(0)
        assert not waiting.done()
        subscription.interrupt()
        assert await asyncio.wait_for(waiting, 5) == []

    async def test_an_interrupt_while_the_replay_is_read_is_not_lost(self) -> None:
        """Found by fuzzing the feed: a dashboard resuming with ``since`` sends a ping at once;
        its interrupt came while the replay was being read, and nothing answered the ping until
        the next event."""
        outbox = Outbox()
        outbox.commit(3)
        reading, release = asyncio.Event(), asyncio.Event()

        async def slow_after(event_id: int, limit: int) -> list[StoredEvent]:
            reading.set()
            await release.wait()
            return await outbox.after(event_id, limit)

        fanout = EventFanout(slow_after, outbox.latest, poll_interval=30)
        subscription = await fanout.subscribe(since=3)  # nothing was missed
        batch = asyncio.create_task(subscription.next_batch())
        await asyncio.wait_for(reading.wait(), 5)
        subscription.interrupt()
        release.set()

        assert await asyncio.wait_for(batch, 5) == []

    async def test_events_offered_before_the_end_are_still_handed_out(self, outbox_and_fanout):
        outbox, fanout = outbox_and_fanout
        subscription = await fanout.subscribe()
        outbox.commit(2)
        await fanout.publish([])
        await relayed(fanout, up_to=5)
        subscription.end()
        assert await asyncio.wait_for(take(subscription.events(), 10), 5) == [4, 5]
        assert await subscription.next_batch() is None

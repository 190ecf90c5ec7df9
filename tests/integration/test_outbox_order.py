"""The outbox feed on PostgreSQL: every committed event exactly once, in one order that never
changes, even when transactions commit in another order than they appended.

Bookings no longer take a lock that orders their commits (see ``SqlEventOutbox``), so the first
test makes the case that lock used to prevent: a transaction appends first and commits last,
while a reader reads between the two commits. The second races many appending transactions (some
rolled back) against a reader tailing the feed, on real connections of the real pool.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pendulum
import pytest

from agent_booking.adapters.sql.database import SqlDatabase, SqlUnitOfWork
from agent_booking.core.events import DomainEvent, StoredEvent
from tests.integration.direct_sql import run_sql

pytestmark = pytest.mark.postgres

NOW = pendulum.datetime(2026, 12, 4, 9, tz="UTC")


@pytest.fixture
async def database(postgres_database_url: str) -> AsyncIterator[SqlDatabase]:
    database = SqlDatabase.connect(postgres_database_url, pool_size=20)
    yield database
    await database.dispose()


def marked(mark: str) -> DomainEvent:
    return DomainEvent("outbox.test", {"mark": mark}, NOW)


async def read_after(database: SqlDatabase, event_id: int) -> list[StoredEvent]:
    async with database.read_unit_of_work() as uow:
        return list(await uow.events.after(event_id, 500))


async def latest(database: SqlDatabase) -> int:
    async with database.read_unit_of_work() as uow:
        return await uow.events.latest_id()


class TestCommitsOutOfOrder:
    async def test_a_reader_between_two_commits_skips_nothing_and_repeats_nothing(
        self, database: SqlDatabase, postgres_database_url: str
    ) -> None:
        start = await latest(database)
        first: SqlUnitOfWork = database.unit_of_work()
        second: SqlUnitOfWork = database.unit_of_work()
        async with first, second:
            appended_first = await first.events.append(marked("first"))
            appended_second = await second.events.append(marked("second"))
            # The row ids are drawn in append order: "first" holds the smaller one.
            assert appended_first.event_id < appended_second.event_id

            await second.commit()
            seen = await read_after(database, start)
            assert [event.payload["mark"] for event in seen] == ["second"]

            await first.commit()
            later = await read_after(database, seen[-1].event_id)
            assert [event.payload["mark"] for event in later] == ["first"]

        # The whole feed read again from the start: the same events, ids and order.
        again = await read_after(database, start)
        assert [(e.event_id, e.payload["mark"]) for e in again] == [
            (e.event_id, e.payload["mark"]) for e in seen + later
        ]
        assert seen[-1].event_id < later[0].event_id
        assert await latest(database) == later[-1].event_id
        # Appending took no lock: the first transaction's commit came after the second's, and
        # neither waited for the other (both were open at once in this one task).
        unpositioned = await run_sql(
            postgres_database_url, "SELECT count(*) FROM events WHERE position IS NULL"
        )
        assert unpositioned == [(0,)]

    async def test_a_rolled_back_append_never_reaches_the_feed(self, database: SqlDatabase) -> None:
        start = await latest(database)
        async with database.unit_of_work() as uow:
            await uow.events.append(marked("rolled back"))
        async with database.unit_of_work() as uow:
            await uow.events.append(marked("kept"))
            await uow.commit()
        assert [e.payload["mark"] for e in await read_after(database, start)] == ["kept"]


class TestRacingWriters:
    async def test_a_tailing_reader_sees_every_committed_event_once_in_increasing_order(
        self, database: SqlDatabase
    ) -> None:
        start = await latest(database)
        writers, per_writer = 16, 25
        committed: set[str] = set()
        done = asyncio.Event()
        rng = random.Random(18)

        async def write(writer: int) -> None:
            for n in range(per_writer):
                mark = f"{writer}-{n}"
                async with database.unit_of_work() as uow:
                    await uow.events.append(marked(mark))
                    # Hold some transactions open across others' commits, so that commit
                    # order differs from append order.
                    await asyncio.sleep(rng.random() * 0.004)
                    if rng.random() < 0.2:
                        continue  # rolled back
                    await uow.commit()
                committed.add(mark)

        tailed: list[StoredEvent] = []

        async def tail() -> None:
            position = start
            while True:
                finished = done.is_set()
                batch = await read_after(database, position)
                tailed.extend(batch)
                if batch:
                    position = batch[-1].event_id
                elif finished:
                    return

        reader = asyncio.create_task(tail())
        await asyncio.gather(*(write(writer) for writer in range(writers)))
        done.set()
        await asyncio.wait_for(reader, 30)

        ids = [event.event_id for event in tailed]
        assert ids == sorted(set(ids)), "ids must strictly increase in read order"
        marks = [event.payload["mark"] for event in tailed]
        assert len(marks) == len(set(marks)), "an event was delivered twice"
        assert set(marks) == committed, "a committed event was skipped or a rollback delivered"
        assert len(committed) > writers * per_writer // 2
        # Read again from the start, the feed is the same sequence.
        replay: list[StoredEvent] = []
        position = start
        while batch := await read_after(database, position):
            replay.extend(batch)
            position = batch[-1].event_id
        assert [(e.event_id, e.payload["mark"]) for e in replay] == list(
            zip(ids, marks, strict=True)
        )

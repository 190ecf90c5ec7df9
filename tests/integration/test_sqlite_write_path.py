"""SQLite's write path, on a real database file: the lean driver and the group commit.

The end-to-end tests show what an agent sees (no double booking, nothing lost under kill -9);
these pin down the parts underneath that they rely on: ``BEGIN IMMEDIATE`` takes a free lock
without a thread hand-off and waits for a taken one without stalling the event loop, each unit
of work in a shared batch stays atomic on its own, and the one writer connection is reused
across batches but never after it failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.sql import sqlite_driver
from adapters.sql.database import SqlDatabase
from adapters.sql.group_commit import GroupCommit, WriteTurn
from adapters.sql.sqlite_driver import InlineSqliteConnection

#: How long another process holds SQLite's write lock in the lock tests.
HOLD_SECONDS = 0.3


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    path = tmp_path / "writes.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")
    connection.close()
    return path


@pytest.fixture
async def database(database_file: Path) -> AsyncIterator[SqlDatabase]:
    database = SqlDatabase.connect(f"sqlite+aiosqlite:///{database_file}")
    yield database
    await database.dispose()


@pytest.fixture
async def group(database: SqlDatabase) -> AsyncIterator[GroupCommit]:
    group = GroupCommit(database.engine)
    yield group
    await group.wait_idle()


def stored(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [body for (body,) in connection.execute("SELECT body FROM notes ORDER BY id")]
    finally:
        connection.close()


async def insert(turn: WriteTurn, body: str) -> None:
    await turn.connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})


class HeldWriteLock:
    """Another process's write transaction, as seen by this one: a second connection."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def __enter__(self) -> HeldWriteLock:
        self._connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        self._connection.close()

    def release(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")


@pytest.fixture
async def driver(database_file: Path) -> AsyncIterator[InlineSqliteConnection]:
    driver = await sqlite_driver.connect(str(database_file), busy_timeout=10)
    yield driver
    await driver.rollback()
    await driver.close()


class TestBeginWrite:
    async def test_a_free_lock_is_taken_inline(self, driver: InlineSqliteConnection) -> None:
        await driver.begin_write()
        assert driver.writing
        assert driver.can_run_inline()  # no thread call was needed, none is in flight
        assert driver.run_inline("SELECT count(*) FROM notes") == [(0,)]

    async def test_a_taken_lock_is_waited_for_on_the_thread_while_the_loop_runs(
        self, driver: InlineSqliteConnection, database_file: Path
    ) -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        with HeldWriteLock(database_file) as held:
            ticker = asyncio.create_task(tick())
            asyncio.get_running_loop().call_later(HOLD_SECONDS, held.release)
            started = time.monotonic()
            await asyncio.wait_for(driver.begin_write(), 10)
            waited = time.monotonic() - started
            ticker.cancel()
        assert driver.writing
        assert waited >= HOLD_SECONDS * 0.9
        assert ticks >= 10  # the event loop kept running while it waited

    async def test_the_busy_timeout_is_restored_after_the_attempt(
        self, driver: InlineSqliteConnection, database_file: Path
    ) -> None:
        with HeldWriteLock(database_file) as held:
            asyncio.get_running_loop().call_later(HOLD_SECONDS, held.release)
            await asyncio.wait_for(driver.begin_write(), 10)
        await driver.rollback()
        assert driver._conn.execute("PRAGMA busy_timeout").fetchone() == (10_000,)


class TestGroupCommit:
    async def test_units_in_one_batch_commit_or_roll_back_each_on_its_own(
        self, group: GroupCommit, database_file: Path
    ) -> None:
        first = await group.turn()
        await insert(first, "kept")
        # Queue two more turns before the first ends, so all three share the batch.
        second_turn = asyncio.create_task(group.turn())
        third_turn = asyncio.create_task(group.turn())
        await asyncio.sleep(0)
        committing = asyncio.create_task(first.commit())

        second = await asyncio.wait_for(second_turn, 5)
        await insert(second, "rolled back")
        await second.close()  # fails: only its own insert is undone

        third = await asyncio.wait_for(third_turn, 5)
        assert third.connection is first.connection  # the same batch
        await insert(third, "also kept")
        await asyncio.wait_for(asyncio.gather(committing, third.commit()), 5)

        assert stored(database_file) == ["kept", "also kept"]

    async def test_commit_returns_once_the_batch_is_committed(
        self, group: GroupCommit, database_file: Path
    ) -> None:
        turn = await group.turn()
        await insert(turn, "durable")
        assert stored(database_file) == []  # not visible before the commit
        await asyncio.wait_for(turn.commit(), 5)
        assert stored(database_file) == ["durable"]

    async def test_the_writer_connection_serves_batch_after_batch(self, group: GroupCommit) -> None:
        connections = []
        for index in range(3):
            turn = await group.turn()
            connections.append(turn.connection)
            await insert(turn, f"note {index}")
            await turn.commit()
        assert connections[0] is connections[1] is connections[2]

    async def test_a_writer_whose_commit_failed_is_replaced(
        self, group: GroupCommit, database_file: Path
    ) -> None:
        turn = await group.turn()
        await insert(turn, "lost")
        assert turn.driver is not None
        broken = turn.connection
        turn.driver._conn.close()  # the connection dies under the batch
        try:
            with pytest.raises(Exception, match="closed"):
                await asyncio.wait_for(turn.commit(), 5)
        finally:
            await turn.close()  # as the unit of work always does, on its way out

        again = await group.turn()
        assert again.connection is not broken
        await insert(again, "stored")
        await again.commit()
        assert stored(database_file) == ["stored"]

"""SQLite's write path, on a real database file: the writer connection and the group commit.

The end-to-end tests show what an agent sees (no double booking, nothing lost under kill -9);
these pin down the parts underneath that they rely on: ``BEGIN IMMEDIATE`` takes a free lock
without a thread hand-off and waits for a taken one on the writer's thread without stalling the
event loop, each unit of work in a shared batch stays atomic on its own, a batch whose commit
fails fails every unit in it, and the one writer connection is reused across batches but never
after it failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_booking.adapters.sql.group_commit import GroupCommit, WriteTurn
from agent_booking.adapters.sql.sqlite_writer import SqliteWriter

#: How long another process holds SQLite's write lock in the lock tests.
HOLD_SECONDS = 0.3
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000")


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    path = tmp_path / "writes.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")
    connection.close()
    return path


class Writers:
    """Opens writers for a GroupCommit and remembers each one it opened."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.opened: list[SqliteWriter] = []

    async def open(self) -> SqliteWriter:
        writer = await SqliteWriter.open(str(self._path), busy_timeout_ms=10_000, pragmas=PRAGMAS)
        self.opened.append(writer)
        return writer


@pytest.fixture
def writers(database_file: Path) -> Writers:
    return Writers(database_file)


@pytest.fixture
async def group(writers: Writers) -> AsyncIterator[GroupCommit]:
    group = GroupCommit(writers.open)
    yield group
    await group.wait_idle()


@pytest.fixture
async def writer(writers: Writers) -> AsyncIterator[SqliteWriter]:
    writer = await writers.open()
    yield writer
    await writer.rollback()
    await writer.close()


def stored(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [body for (body,) in connection.execute("SELECT body FROM notes ORDER BY id")]
    finally:
        connection.close()


async def insert(turn: WriteTurn, body: str) -> None:
    await turn.fetch("INSERT INTO notes (body) VALUES (?)", (body,))


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


class TestBeginWrite:
    async def test_a_free_lock_is_taken_inline(self, writer: SqliteWriter) -> None:
        await writer.begin()
        assert writer.in_transaction
        # Statements run inline only with no thread call in flight: none was needed.
        assert writer.execute("SELECT count(*) FROM notes") == [(0,)]

    async def test_a_taken_lock_is_waited_for_on_the_thread_while_the_loop_runs(
        self, writer: SqliteWriter, database_file: Path
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
            await asyncio.wait_for(writer.begin(), 10)
            waited = time.monotonic() - started
            ticker.cancel()
        assert writer.in_transaction
        assert waited >= HOLD_SECONDS * 0.9
        assert ticks >= 10  # the event loop kept running while it waited

    async def test_the_busy_timeout_is_restored_after_the_attempt(
        self, writer: SqliteWriter, database_file: Path
    ) -> None:
        with HeldWriteLock(database_file) as held:
            asyncio.get_running_loop().call_later(HOLD_SECONDS, held.release)
            await asyncio.wait_for(writer.begin(), 10)
        await writer.rollback()
        assert writer.execute("PRAGMA busy_timeout") == [(10_000,)]

    async def test_the_writer_pragmas_are_applied(self, writer: SqliteWriter) -> None:
        assert writer.execute("PRAGMA journal_mode") == [("wal",)]
        assert writer.execute("PRAGMA synchronous") == [(2,)]  # FULL


class TestGroupCommit:
    async def test_units_in_one_batch_commit_or_roll_back_each_on_its_own(
        self, group: GroupCommit, writers: Writers, database_file: Path
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
        await insert(third, "also kept")
        await asyncio.wait_for(asyncio.gather(committing, third.commit()), 5)

        assert stored(database_file) == ["kept", "also kept"]
        assert len(writers.opened) == 1  # one batch, one writer

    async def test_a_failed_statement_leaves_the_rest_of_its_unit_to_the_unit(
        self, group: GroupCommit, database_file: Path
    ) -> None:
        turn = await group.turn()
        await insert(turn, "duplicate")
        with pytest.raises(sqlite3.IntegrityError):
            await insert(turn, "duplicate")
        await turn.commit()  # the unit decides: the first insert is kept
        assert stored(database_file) == ["duplicate"]

    async def test_commit_returns_once_the_batch_is_committed(
        self, group: GroupCommit, database_file: Path
    ) -> None:
        turn = await group.turn()
        await insert(turn, "durable")
        assert stored(database_file) == []  # not visible before the commit
        await asyncio.wait_for(turn.commit(), 5)
        assert stored(database_file) == ["durable"]

    async def test_the_writer_connection_serves_batch_after_batch(
        self, group: GroupCommit, writers: Writers
    ) -> None:
        for index in range(3):
            turn = await group.turn()
            await insert(turn, f"note {index}")
            await turn.commit()
        assert len(writers.opened) == 1

    async def test_a_failed_batch_commit_fails_every_member_and_the_writer_is_replaced(
        self, group: GroupCommit, writers: Writers, database_file: Path
    ) -> None:
        first = await group.turn()
        await insert(first, "lost 1")
        second_turn = asyncio.create_task(group.turn())
        await asyncio.sleep(0)
        first_commit = asyncio.create_task(first.commit())
        second = await asyncio.wait_for(second_turn, 5)
        await insert(second, "lost 2")
        await writers.opened[0].close()  # the connection dies under the batch
        try:
            outcomes = await asyncio.wait_for(
                asyncio.gather(first_commit, second.commit(), return_exceptions=True), 5
            )
        finally:
            await second.close()  # as the unit of work always does, on its way out
        assert all(isinstance(outcome, sqlite3.Error) for outcome in outcomes), outcomes

        again = await group.turn()
        await insert(again, "stored")
        await again.commit()
        assert stored(database_file) == ["stored"]
        assert len(writers.opened) == 2

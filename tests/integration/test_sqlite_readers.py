"""SQLite's read units on a real database file: plain ``sqlite3`` connections run inline.

What the agents' reads rely on: a read unit sees one snapshot from its first statement to its
end, whatever commits meanwhile; overlapping units each keep their own; a read unit can never
write (nor take the write lock on the event loop); and a unit's connection is reused by the
next unit once it ended, never while a transaction is still open on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from agent_booking.adapters.sql.sqlite_readers import SqliteReaders
from tests.integration.conftest import server_on
from tests.integration.dashboards import Dashboard
from tests.support.server import AGENT_HEADERS, run_booking


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    path = tmp_path / "reads.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    connection.execute("INSERT INTO notes (body) VALUES ('first')")
    connection.commit()
    connection.close()
    return path


def _write(path: Path, body: str) -> None:
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO notes (body) VALUES (?)", (body,))
    connection.commit()
    connection.close()


async def _count(session: object) -> int:
    rows = await session.fetch("SELECT count(*) FROM notes")  # type: ignore[attr-defined]
    return int(rows[0][0])


class TestSqliteReadUnits:
    async def test_a_unit_keeps_its_snapshot_while_others_commit(self, database_file: Path) -> None:
        readers = SqliteReaders(str(database_file))
        try:
            first = readers.begin()
            assert await _count(first) == 1
            _write(database_file, "second")
            assert await _count(first) == 1  # the unit's snapshot
            later = readers.begin()
            assert await _count(later) == 2  # a unit begun after the commit sees it
            assert await _count(first) == 1
            await first.close()
            await later.close()
        finally:
            readers.close()

    async def test_a_unit_cannot_write(self, database_file: Path) -> None:
        readers = SqliteReaders(str(database_file))
        try:
            session = readers.begin()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await session.fetch("INSERT INTO notes (body) VALUES ('nope')")
            await session.close()
            check = readers.begin()
            assert await _count(check) == 1
            await check.close()
        finally:
            readers.close()

    async def test_an_ended_units_connection_serves_the_next_without_its_snapshot(
        self, database_file: Path
    ) -> None:
        readers = SqliteReaders(str(database_file))
        try:
            session = readers.begin()
            assert await _count(session) == 1
            await session.close()
            _write(database_file, "second")
            # The next unit gets the same (reused) connection, in a new transaction.
            again = readers.begin()
            assert await _count(again) == 2
            await again.close()
            with pytest.raises(sqlite3.ProgrammingError):
                await session.fetch("SELECT 1")  # an ended unit has no connection any more
        finally:
            readers.close()

    async def test_a_locked_database_fails_the_read_within_its_busy_timeout(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "locked.db"  # rollback journal: EXCLUSIVE keeps readers out
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        readers = SqliteReaders(str(path), busy_timeout_ms=50)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            session = readers.begin()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await session.fetch("SELECT count(*) FROM notes")
            await session.close()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            readers.close()


class TestFreshDatabase:
    async def test_reads_first_on_a_file_fresh_from_migrate_are_answered(
        self, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        """``booking migrate`` leaves the file in rollback-journal mode; the server switches it
        to WAL before its read units open it. Reads coming first (a dashboard, a find) once met
        the writer's switch and answered ``database is locked`` for as long as it waited."""
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"
        run_booking(["migrate"], url)
        with server_on(url, tmp_path_factory) as server:
            async with (
                Dashboard.open(server),
                httpx.AsyncClient(
                    base_url=server.base_url, timeout=30.0, headers=AGENT_HEADERS
                ) as client,
            ):
                answers = [
                    await client.get("/api/agent/bookings/", params={"phone": "5551234567"})
                    for _ in range(3)
                ]
                await asyncio.sleep(6)  # past the first hold sweep, the first write
                answers.append(
                    await client.get("/api/agent/bookings/", params={"phone": "5551234567"})
                )
        assert [answer.status_code for answer in answers] == [200] * 4, [a.text for a in answers]
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            connection.close()

"""Reading and changing a test database directly, behind the server's back.

Assertions about what was stored (how many bookings, how many customers) must not trust the
service under test, so they ask the database itself: ``sqlite3`` for SQLite, ``asyncpg`` for
PostgreSQL. Statements use PostgreSQL's ``$1, $2, ...`` placeholders, in order; for SQLite they
become ``?``.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = ["count_rows", "run_sql", "terminate_backend"]

_SQLITE_PREFIX = "sqlite+aiosqlite:///"
_POSTGRES_PREFIX = "postgresql+asyncpg://"
_PLACEHOLDER = re.compile(r"\$\d+")


async def run_sql(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement in its own committed transaction; return the rows it produced."""
    if database_url.startswith(_SQLITE_PREFIX):
        path = database_url.removeprefix(_SQLITE_PREFIX)
        return await asyncio.to_thread(_run_sqlite, path, _PLACEHOLDER.sub("?", sql), params)
    if database_url.startswith(_POSTGRES_PREFIX):
        dsn = "postgresql://" + database_url.removeprefix(_POSTGRES_PREFIX)
        connection = await asyncpg.connect(dsn)
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params)]
        finally:
            await connection.close()
    raise ValueError(f"not a test database URL: {database_url!r}")


async def count_rows(database_url: str, sql: str, *params: Any) -> int:
    """The single integer a ``SELECT count(*) ...`` returns."""
    rows = await run_sql(database_url, sql, *params)
    assert len(rows) == 1, rows
    return int(rows[0][0])


def _run_sqlite(path: str, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    # The server may be writing at the same moment: wait for its lock rather than fail.
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:  # commits on success
            return [tuple(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


async def terminate_backend(database_url: str, pid: int) -> None:
    """Kill one PostgreSQL server process (a connection), as an operator or a crash would."""
    connection = await asyncpg.connect(
        "postgresql://" + database_url.removeprefix(_POSTGRES_PREFIX)
    )
    try:
        # With a timeout (ms), PostgreSQL 14+ answers only once the process has exited.
        assert await connection.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
    finally:
        await connection.close()

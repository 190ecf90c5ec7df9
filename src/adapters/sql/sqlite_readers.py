"""SQLite read units on plain ``sqlite3`` connections, run inline on the event loop.

A read unit of work on the aiosqlite engine crossed to aiosqlite's thread and back for every
step (connect from the pool, ``BEGIN``, each statement, its rows, the rollback, the return to
the pool): about a dozen thread hops for an offer of three free starts, more CPU than the reads
themselves. A WAL reader never waits for the writer (it reads the last commit), and the
agents' reads are a handful of indexed statements of a fraction of a millisecond, so running
them inline on the loop costs less than handing them to a thread: ``python -m bench.read_cpu``
(scenario v's shape, two interleaved A/B pairs on this shared machine, load average 3.5-4)
measured an offer of 3 starts at 1.95 and 2.30 ms of CPU on aiosqlite, 0.90 and 0.82 ms here.

The connections are ``query_only`` (a read unit that tried to write would fail loudly rather
than take the write lock on the loop) and wait at most :data:`READ_BUSY_TIMEOUT_MS` for a lock
(only WAL recovery or an exclusive-mode connection can make a WAL reader wait; a wait that long
answers ``StorageUnavailable`` rather than stall every request on the loop). Reads that may be
large (dashboards, lists) keep using :meth:`SqlDatabase.reader`, the aiosqlite engine.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from agent_booking.adapters.sql.statements import Row, StatementRunner

__all__ = ["READ_BUSY_TIMEOUT_MS", "SqliteReadSession", "SqliteReaders"]

_log = logging.getLogger(__name__)

#: How long an inline read may wait for a lock before it fails (it blocks the event loop).
READ_BUSY_TIMEOUT_MS = 200
#: Idle connections kept for the next units (more are opened when units overlap, then closed).
_IDLE = 8


class SqliteReaders:
    """A small pool of read-only ``sqlite3`` connections to one database file."""

    def __init__(self, path: str, *, busy_timeout_ms: int = READ_BUSY_TIMEOUT_MS) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: list[sqlite3.Connection] = []
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,  # no implicit transactions: the session's BEGIN is explicit
            check_same_thread=False,
        )
        try:
            connection.execute("PRAGMA query_only=ON")
        except BaseException:
            connection.close()
            raise
        return connection

    def begin(self) -> SqliteReadSession:
        """A session in a deferred transaction (one snapshot for the whole unit)."""
        connection = self._idle.pop() if self._idle else self._connect()
        try:
            connection.execute("BEGIN")
        except BaseException:
            connection.close()
            raise
        return SqliteReadSession(self, connection)

    def release(self, connection: sqlite3.Connection) -> None:
        if self._closed or len(self._idle) >= _IDLE or connection.in_transaction:
            connection.close()
        else:
            self._idle.append(connection)

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()


class SqliteReadSession:
    """A unit of reads on one connection of :class:`SqliteReaders`; statements run inline."""

    def __init__(self, readers: SqliteReaders, connection: sqlite3.Connection) -> None:
        self._readers = readers
        self._connection: sqlite3.Connection | None = connection

    @property
    def runner(self) -> StatementRunner:
        return self

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            msg = "the read session is closed"
            raise sqlite3.ProgrammingError(msg)
        return self._connection

    async def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        rows: list[Row] = self._open().execute(sql, tuple(parameters)).fetchall()
        return rows

    async def commit(self) -> None:
        self._open().execute("COMMIT")

    async def rollback(self) -> None:
        connection = self._open()
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:  # the connection is broken: close it instead of keeping it
            _log.warning("ending a read transaction failed", exc_info=True)
            connection.close()
            return
        self._readers.release(connection)

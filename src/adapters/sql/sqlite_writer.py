"""The process's one SQLite write connection: a plain ``sqlite3`` connection, with waits on a
thread of its own and everything else inline.

Which call runs where is decided by the caller's situation, never by reading the SQL:

* **Inline, on the event loop**: the statements of a write transaction (:meth:`execute`). The
  transaction holds SQLite's write lock (``BEGIN IMMEDIATE``), so in WAL mode nothing can make
  them wait, and they are the booking path's few index lookups and inserts, microseconds each.
  Sending each to a thread and back cost about 100 µs of CPU per statement (a futex wake-up,
  an event-loop wake-up and a GIL hand-over each way), more than the statements themselves,
  and all of it while every other booking waited for the lock (docs/performance.md, first
  round: 39 % + 16 % of the server's samples under aiosqlite).
* **On the connection's thread**: whatever can wait. ``BEGIN IMMEDIATE`` when another process
  (a second worker, the CLI) holds the lock: :meth:`begin` first tries it inline with
  ``busy_timeout`` 0, and only if the lock is taken waits for it on the thread, up to the busy
  timeout. ``COMMIT`` (the ``fsync`` that makes a 201 durable). Opening and closing.

Calls never overlap: a thread call still running (even one whose caller was cancelled) is
waited for before the next starts, and :meth:`execute` refuses to run while one is in flight.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["SqliteWriter"]

_T = TypeVar("_T")


class SqliteWriter:
    """One ``sqlite3`` connection in autocommit mode: transactions are begun explicitly."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, *, busy_timeout_ms: int
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._executor = executor
        self._busy_timeout_ms = busy_timeout_ms
        self._pending: asyncio.Future[Any] | None = None

    @classmethod
    async def open(cls, path: str, *, busy_timeout_ms: int, pragmas: Sequence[str]) -> SqliteWriter:
        """Connect (on the thread: opening touches the file system) and apply ``pragmas``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(
                path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # no implicit transactions: BEGIN IMMEDIATE is ours
                check_same_thread=False,
            )
            try:
                for pragma in pragmas:
                    connection.execute(f"PRAGMA {pragma}").fetchall()
            except BaseException:
                connection.close()
                raise
            return connection

        try:
            connection = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor, busy_timeout_ms=busy_timeout_ms)

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            msg = "the SQLite writer is closed"
            raise sqlite3.ProgrammingError(msg)
        return self._connection

    @property
    def in_transaction(self) -> bool:
        return self._connection is not None and self._connection.in_transaction

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one statement now, on the event loop; return its rows."""
        pending = self._pending
        if pending is not None and not pending.done():
            msg = "a call on the writer's thread is still running"
            raise RuntimeError(msg)
        return self._open.execute(sql, parameters).fetchall()

    async def begin(self) -> None:
        """``BEGIN IMMEDIATE``: inline if SQLite's write lock is free, else on the thread.

        In this process writers take turns before they begin
        (:mod:`agent_booking.adapters.sql.group_commit`), so the lock is nearly always free and a
        thread hand-off would be pure cost; only another process can hold it.
        """
        await self._settled()
        connection = self._open
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        else:
            return
        finally:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        await self._on_thread(lambda: connection.execute("BEGIN IMMEDIATE"))

    async def commit(self) -> None:
        """``COMMIT``, on the thread: with ``synchronous=FULL`` it waits for the disk."""
        connection = self._open
        await self._on_thread(lambda: connection.execute("COMMIT"))

    async def rollback(self) -> None:
        """End the transaction without keeping anything (inline: it only drops locks)."""
        await self._settled()
        connection = self._open
        if connection.in_transaction:
            connection.execute("ROLLBACK")

    async def close(self) -> None:
        """Close, on the thread (closing the last connection may checkpoint the WAL)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await self._on_thread(connection.close)
        finally:
            self._executor.shutdown(wait=False)

    async def _settled(self) -> None:
        """Wait for a thread call still in flight (its caller may have been cancelled)."""
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.wait([pending])

    async def _on_thread(self, function: Callable[[], _T]) -> _T:
        await self._settled()
        future = asyncio.get_running_loop().run_in_executor(self._executor, function)
        self._pending = future
        return await future

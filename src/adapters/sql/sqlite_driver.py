"""A lean asyncio SQLite driver for SQLAlchemy: short statements inline, waits on a thread.

SQLAlchemy's ``aiosqlite`` dialect sends every call (cursor, execute, fetch, close) to a
per-connection thread and back: four thread hand-offs per statement, each a futex wake-up, an
event-loop wake-up and a GIL hand-over. Profiled under load that cost dwarfed the statements
themselves (a booking's eight statements took about 30 hand-offs), and while the write lock is
held every other booking waits for them.

This driver speaks the same interface to the same dialect (``async_creator``) but decides per
call where it runs:

* **On the connection's thread**, exactly as with ``aiosqlite``: whatever can *wait*. That is
  ``BEGIN IMMEDIATE`` when another process holds the write lock (it waits up to the busy
  timeout; :meth:`InlineSqliteConnection.begin_write` first tries the lock without waiting,
  inline), ``COMMIT`` (the ``fsync`` that makes a 201 durable), closing, and every statement
  run outside a write transaction (reads such as the admin listings may scan many rows, and
  the event loop must not stall on them).
* **Inline, on the event loop**: statements inside a write transaction. The transaction holds
  SQLite's write lock (``BEGIN IMMEDIATE``), so in WAL mode nothing can make them wait, and
  they are the booking path's few index lookups and inserts: microseconds each.

Same ``sqlite3`` connection, same pragmas, same transactions and durability: only where the
calls run changes. Calls on one connection never overlap: a call waits for a thread call still
running (even one whose caller was cancelled) before it starts. Result rows are fetched with
the statement, in the same call, so a read costs one hand-off.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["InlineSqliteConnection", "connect"]

_T = TypeVar("_T")
#: Statements that may wait (for another process's lock, or for the disk).
_WAITING_PREFIXES = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "COMMIT", "END")
#: Statements that never touch the file: a deferred BEGIN takes no lock until the first read,
#: and ending a transaction without committing only drops locks and cached pages.
_INSTANT_PREFIXES = ("BEGIN DEFERRED", "ROLLBACK")
_WRITE_BEGIN_PREFIXES = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
_TRANSACTION_END_PREFIXES = ("COMMIT", "END", "ROLLBACK")


def _keyword(sql: str) -> str:
    return sql.lstrip()[:16].upper()


async def connect(database: str, *, busy_timeout: float) -> InlineSqliteConnection:
    """Open ``database`` (on a thread: opening touches the file system); ``busy_timeout`` in
    seconds is how long a statement waits for another process's lock."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
    loop = asyncio.get_running_loop()
    raw = await loop.run_in_executor(
        executor,
        lambda: sqlite3.connect(database, timeout=busy_timeout, check_same_thread=False),
    )
    return InlineSqliteConnection(raw, executor, busy_timeout_ms=round(busy_timeout * 1000))


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set the isolation
    level: the call is made at once (setting an attribute waits for nothing)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as error:  # handed to the waiter, as aiosqlite does
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class InlineSqliteConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, *, busy_timeout_ms: int
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._executor = executor
        self._busy_timeout_ms = busy_timeout_ms
        self._tx = _ImmediateQueue()
        self._pending: asyncio.Future[Any] | None = None
        #: Inside ``BEGIN IMMEDIATE`` … ``COMMIT``/``ROLLBACK``: statements run inline.
        self.writing = False

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def _call(self, function: Callable[[], _T], *, on_thread: bool) -> _T:
        pending = self._pending
        if pending is not None and not pending.done():
            await asyncio.wait([pending])  # a cancelled caller's call is still running
        if not on_thread:
            return function()
        future = asyncio.get_running_loop().run_in_executor(self._executor, function)
        self._pending = future
        return await future

    async def _statement(self, sql: str, function: Callable[[], _T]) -> _T:
        keyword = _keyword(sql)
        if keyword.startswith(_WAITING_PREFIXES):
            on_thread = True
        elif keyword.startswith(_INSTANT_PREFIXES) or keyword.rstrip() in ("BEGIN", "BEGIN;"):
            on_thread = False
        else:
            on_thread = not self.writing
        result = await self._call(function, on_thread=on_thread)
        if keyword.startswith(_WRITE_BEGIN_PREFIXES):
            self.writing = True
        elif keyword.startswith(_TRANSACTION_END_PREFIXES) and not keyword.startswith(
            "ROLLBACK TO"  # back to a savepoint: the transaction goes on
        ):
            self.writing = False
        return result

    async def begin_write(self) -> None:
        """``BEGIN IMMEDIATE``: inline if SQLite's write lock is free, else on the thread.

        In this process writers take turns before they begin (:mod:`adapters.sql.group_commit`),
        so the lock is nearly always free and a thread hand-off (about 100 µs of CPU) would be
        pure cost; only another process (a second worker, the CLI) can hold it. So the lock is
        tried once without waiting, and only if it is taken does the statement go to the thread,
        where it waits up to the busy timeout as before.
        """
        connection = self._conn

        def begin() -> Any:
            return connection.execute("BEGIN IMMEDIATE")

        def try_without_waiting() -> bool:
            connection.execute("PRAGMA busy_timeout = 0")
            try:
                begin()
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                return False
            finally:
                connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            return True

        if not await self._call(try_without_waiting, on_thread=False):
            await self._call(begin, on_thread=True)
        self.writing = True

    def cursor(self) -> _CursorContext:
        return _CursorContext(self)

    def can_run_inline(self) -> bool:
        """Inside a write transaction with no thread call in flight: statements may run now."""
        pending = self._pending
        return self.writing and self._connection is not None and (pending is None or pending.done())

    def run_inline(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one statement at once and return its rows, for callers that compiled it
        themselves (``fast_path``, ``group_commit``); only when :meth:`can_run_inline`."""
        if not self.can_run_inline():
            msg = "only inside a write transaction, with no call in flight"
            raise RuntimeError(msg)
        cursor = self._conn.execute(sql, parameters)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def commit(self) -> None:
        try:
            await self._call(self._conn.commit, on_thread=True)
        finally:
            self.writing = False

    async def rollback(self) -> None:
        try:
            # Also called by the pool on every check-in, usually with nothing to roll back.
            if self._conn.in_transaction:
                await self._call(self._conn.rollback, on_thread=False)
        finally:
            self.writing = False

    async def close(self) -> None:
        if self._connection is None:
            return
        connection = self._connection
        try:
            # Closing the last connection checkpoints the WAL: a wait.
            await self._call(connection.close, on_thread=True)
        finally:
            self._connection = None
            self._executor.shutdown(wait=False)

    def stop(self) -> None:
        """Terminate without waiting (SQLAlchemy's force close)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._executor.submit(connection.close)
            self._executor.shutdown(wait=False)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class _CursorContext:
    """What ``connection.cursor()`` returns: SQLAlchemy enters it to get the cursor."""

    def __init__(self, connection: InlineSqliteConnection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineSqliteCursor:
        return InlineSqliteCursor(self._connection, self._connection._conn.cursor())

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class InlineSqliteCursor:
    """A ``sqlite3`` cursor whose rows are fetched in the same call as the statement."""

    arraysize = 1

    def __init__(self, connection: InlineSqliteConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor
        self._rows: deque[Any] = deque()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> None:
        cursor = self._cursor

        def run() -> list[Any]:
            cursor.execute(sql, () if parameters is None else parameters)
            return cursor.fetchall() if cursor.description else []

        self._rows = deque(await self._connection._statement(sql, run))

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> None:
        cursor = self._cursor
        await self._connection._statement(sql, lambda: cursor.executemany(sql, parameters))
        self._rows = deque()

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._cursor.close()

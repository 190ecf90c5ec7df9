"""Group commit for SQLite: one durable ``COMMIT`` (one ``fsync``) for the writes of many units
of work, each still atomic on its own.

With ``synchronous=FULL`` every commit waits for the disk, and SQLite has one writer at a time,
so committing each booking on its own caps the service at one booking per ``fsync`` however
fast everything else is (a few hundred a second on a typical virtual disk), with every other
booking queued behind that wait. Databases that serve many writers group their commits; this
does the same inside one process:

* Units of work still take turns (the process's write lock): one at a time runs its statements,
  on the process's one writer connection
  (:class:`~agent_booking.adapters.sql.sqlite_writer.SqliteWriter`, a plain ``sqlite3`` connection),
  in the current *batch* (a transaction opened with ``BEGIN IMMEDIATE``), inside its own
  ``SAVEPOINT``. A unit of work that fails rolls back to its savepoint: the batch keeps only what
  the units that committed wrote.
* A unit of work that commits hands the turn on and waits until the batch is durably
  committed; only then does its ``commit()`` return (so a ``201`` still means "on disk", and
  notifications still follow the commit). Its savepoint simply stays: the next unit's nests
  inside it, ``ROLLBACK TO`` undoes the most recent one (the failing unit's own), and the
  batch's ``COMMIT`` ends them all, so no ``RELEASE`` statement is needed per unit.
* When a turn ends and nobody is waiting for the next one (or the batch is full), the batch is
  committed while the next turns wait, and they start the next batch.

So under no load a unit of work commits alone, exactly as before; under load, the units that
queued during one ``fsync`` share the next. If a batch's ``COMMIT`` fails, every unit of work in
it gets the error: none of them answers as if it were stored. Readers use other connections
and, in WAL mode, see only committed batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent_booking.adapters.sql.failures import sqlite_failure
from agent_booking.adapters.sql.sqlite_writer import SqliteWriter
from agent_booking.adapters.sql.statements import Row
from agent_booking.adapters.sql.wal_checkpoint import WalCheckpointer

__all__ = ["MAX_BATCH", "BatchAbandoned", "GroupCommit", "WriteTurn"]

_log = logging.getLogger(__name__)

#: Units of work committed together at most; bounds how long the first of them waits.
MAX_BATCH = 64
# Turns never overlap, so one savepoint name serves them all.
_SAVEPOINT = "SAVEPOINT unit_of_work"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT unit_of_work"


class _Batch:
    """One ``BEGIN IMMEDIATE`` transaction shared by consecutive turns."""

    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer
        #: Resolved when the batch is durably committed (or has failed), one per committed turn.
        self.members: list[asyncio.Future[None]] = []
        #: A turn could not undo its own writes: nothing of this batch may be committed.
        self.broken: BaseException | None = None


class GroupCommit:
    """The write side of one SQLite database in this process.

    ``open_writer`` connects the writer; it is called again whenever the writer may have been
    left in an unknown state (a failed ``BEGIN``, ``COMMIT`` or ``ROLLBACK``): one writer
    connection serves batch after batch otherwise, because opening one per batch cost more CPU
    than the batch's statements.
    """

    def __init__(
        self,
        open_writer: Callable[[], Awaitable[SqliteWriter]],
        *,
        max_batch: int = MAX_BATCH,
        checkpointer: WalCheckpointer | None = None,
    ) -> None:
        self._open_writer = open_writer
        self._max_batch = max_batch
        #: Told of every durable commit, to checkpoint outside the write path.
        self._checkpointer = checkpointer
        self._lock = asyncio.Lock()
        #: Turns asked for and not yet ended (the one running and those queued for the lock).
        self._pending = 0
        self._batch: _Batch | None = None
        self._writer: SqliteWriter | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def turn(self) -> WriteTurn:
        """Wait for this unit of work's turn; it runs inside a fresh savepoint of the batch."""
        self._pending += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._pending -= 1
            raise
        try:
            if self._batch is None:
                writer = await self._usable_writer()
                try:
                    await writer.begin()
                except BaseException:
                    await self._discard_writer()  # whether it began is unknown: start afresh
                    raise
                self._batch = _Batch(writer)
            batch = self._batch
            batch.writer.execute(_SAVEPOINT)
        except BaseException as error:
            if self._batch is not None:
                self._batch.broken = self._batch.broken or error
            self.end_turn()
            raise
        return WriteTurn(self, batch)

    async def _usable_writer(self) -> SqliteWriter:
        if self._writer is None:
            self._writer = await self._open_writer()
        return self._writer

    async def _discard_writer(self) -> None:
        """After a failed begin, commit or rollback the connection's state is unknown: never
        reuse it."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer.close()

    def end_turn(self) -> None:
        """Hand the turn on, or commit the batch if nobody is waiting to join it."""
        self._pending -= 1
        batch = self._batch
        if batch is None:
            self._lock.release()
            return
        if self._pending > 0 and len(batch.members) < self._max_batch and batch.broken is None:
            self._lock.release()  # the next turn joins this batch
            return
        self._batch = None
        # A task of its own, so that no caller's cancellation can leave members waiting; it
        # releases the lock when the batch is over.
        task = asyncio.get_running_loop().create_task(self._finish(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _finish(self, batch: _Batch) -> None:
        failure: BaseException | None = None
        try:
            if batch.members and batch.broken is None:
                await batch.writer.commit()
                if self._checkpointer is not None:
                    self._checkpointer.after_commit()
            else:
                await batch.writer.rollback()
                if batch.broken is not None:
                    failure = BatchAbandoned()
                    failure.__cause__ = batch.broken
        except BaseException as error:
            failure = error
            await self._discard_writer()
        finally:
            self._lock.release()
        for member in batch.members:
            if member.done():
                continue
            if failure is None:
                member.set_result(None)
            elif isinstance(failure, Exception):
                member.set_exception(failure)
            else:  # cancelled (shutdown): whether it committed is unknown, so no one says it did
                member.cancel()
        if failure is not None and not isinstance(failure, Exception):
            raise failure

    async def wait_idle(self) -> None:
        """Wait for batches being committed, then close the writer (for shutdown)."""
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        async with self._lock:  # a batch that opened meanwhile ends first
            await self._discard_writer()


class BatchAbandoned(Exception):
    """The batch was rolled back because one of its units of work could not be undone."""


class WriteTurn:
    """One unit of work's turn: its statements (inline on the writer), its savepoint, its
    commit. It is the unit's :class:`~agent_booking.adapters.sql.statements.StatementRunner`."""

    def __init__(self, group: GroupCommit, batch: _Batch) -> None:
        self._group = group
        self._batch = batch
        self._writer = batch.writer
        self._ended = False

    async def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        if self._ended:
            msg = "this unit of work has already ended"
            raise RuntimeError(msg)
        try:
            rows: list[Row] = self._writer.execute(sql, parameters)
        except sqlite3.Error as error:
            failure = sqlite_failure(error)
            if failure is error:
                raise
            raise failure from error
        return rows

    async def commit(self) -> None:
        """Keep this unit's writes in the batch and wait until the batch is on disk."""
        if self._ended:
            msg = "this unit of work has already ended"
            raise RuntimeError(msg)
        durable = asyncio.get_running_loop().create_future()
        self._batch.members.append(durable)
        self._ended = True
        self._group.end_turn()
        await durable

    async def close(self) -> None:
        """End the turn; roll this unit's writes back unless it committed. Safe to repeat."""
        if self._ended:
            return
        self._ended = True
        try:
            self._writer.execute(_ROLLBACK_TO)
        except BaseException as error:
            _log.warning("rolling back a unit of work failed; its batch is abandoned")
            self._batch.broken = self._batch.broken or error
            raise
        finally:
            self._group.end_turn()

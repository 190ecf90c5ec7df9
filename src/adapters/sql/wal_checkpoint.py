"""WAL checkpoints in the background, instead of inside a commit.

By default SQLite checkpoints automatically: the commit that takes the write-ahead log past
1000 pages also copies the log into the database file and ``fsync``s it, before it returns. On
a large database those pages are scattered, the copy takes tens of milliseconds, and under
load every booking queued behind that commit waits for it (the benchmark's p99 on a database
with a million bookings). Here the service's write connections turn automatic checkpoints off
and a thread of their own runs a ``PASSIVE`` checkpoint (which never blocks readers or the
writer) a short while after commits. If the process stops, the log simply stays until the next
checkpoint or the next open: nothing committed is at risk either way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

__all__ = ["CHECKPOINT_INTERVAL_SECONDS", "WalCheckpointer"]

_log = logging.getLogger(__name__)

#: At most one checkpoint per interval: ~1000 log pages at a few hundred bookings a second.
CHECKPOINT_INTERVAL_SECONDS = 0.25


class WalCheckpointer:
    """Checkpoints one database file, from a thread of its own, after commits."""

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float,
        interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._interval = interval
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._running: asyncio.Future[None] | None = None
        self._last = 0.0

    def after_commit(self) -> None:
        """Something was committed: checkpoint soon, unless one ran or runs already."""
        now = time.monotonic()
        if (self._running is not None and not self._running.done()) or (
            now - self._last < self._interval
        ):
            return
        self._last = now
        self._running = asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self._path, timeout=self._busy_timeout, check_same_thread=False
                )
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # the next one tries again; the log is safe meanwhile
            _log.warning("background WAL checkpoint failed", exc_info=True)

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.wait([self._running])
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, connection.close)
        self._executor.shutdown(wait=False)

"""Runs the hold sweep (:class:`~agent_booking.core.sweep_expired_holds.SweepExpiredHolds`)
every few seconds in each server process, for the app's lifetime.

Every worker process runs one; the sweep's status change happens once per hold whichever
process gets there first, so several of them only make a hold's release come sooner, never
twice. A failing run (the database away for a moment) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["HoldSweeper"]

_log = logging.getLogger(__name__)


class HoldSweeper:
    def __init__(self, sweep: Callable[[], Awaitable[int]], *, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            msg = f"the sweep interval must be positive, got {interval_seconds}"
            raise ValueError(msg)
        self._sweep = sweep
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hold-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                released = await self._sweep()
            except Exception as error:  # logged; the next run tries again
                _log.warning("hold sweep failed: %r", error.__cause__ or error)
            else:
                if released:
                    _log.info("released %d expired hold(s)", released)

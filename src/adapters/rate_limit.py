"""Per-client request counting in fixed windows, and the in-process counter store.

The limiter uses a **fixed window**: time is cut into windows aligned to the epoch (each clock
second, minute or hour) and a client may make ``limit`` requests per window; the count starts
again at the next boundary. It needs one counter per client and window, which a database can
increment atomically in one statement, so every worker process shares it. The price is that a
client can spend one window's allowance at its very end and the next one's at the very start
(up to twice the limit in a short burst); for abuse protection that is an accepted trade.

:class:`InMemoryRateCounterStore` keeps the counters in this process: right for the embedded
SQLite set-up, which is one process. Several processes need a shared store
(``agent_booking.adapters.sql.rate_limit.SqlRateCounterStore``), or each would allow the full limit.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from typing import Protocol

from attrs import frozen

__all__ = [
    "FixedWindowRateLimiter",
    "InMemoryRateCounterStore",
    "RateCounterStore",
    "RateLimit",
    "RateLimitDecision",
]

_log = logging.getLogger(__name__)

_WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour)\s*", re.IGNORECASE)
#: Old windows are deleted at most this often (and at least once per window).
_MIN_PURGE_INTERVAL_S = 60


@frozen
class RateLimit:
    """``limit`` requests per ``window_seconds``; written ``120/minute``."""

    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``120/minute``, ``10/second``, ``1000/hour``; ``0`` means no limit (None).

        Raises ``ValueError`` with a message for anything else.
        """
        if text.strip() == "0":
            return None
        match = _SPEC.fullmatch(text)
        if match is None or int(match[1]) < 1:
            msg = (
                f"expected N/second, N/minute or N/hour with N >= 1, or 0 to disable; got {text!r}"
            )
            raise ValueError(msg)
        return cls(int(match[1]), _WINDOW_SECONDS[match[2].lower()])

    def __str__(self) -> str:
        unit = next(
            name for name, seconds in _WINDOW_SECONDS.items() if seconds == self.window_seconds
        )
        return f"{self.limit}/{unit}"


@frozen
class RateLimitDecision:
    """The outcome of one request: allowed or not, and what the client has left."""

    allowed: bool
    limit: int
    remaining: int
    #: Whole seconds until the window ends and the count starts again (at least 1).
    reset_seconds: int


class RateCounterStore(Protocol):
    """Counters keyed by client bucket and window start (UNIX seconds)."""

    async def increment(self, bucket_key: str, window_start: int) -> int:
        """Add one to the counter, creating it at 1; return the new count. Must be atomic."""
        ...

    async def purge_before(self, window_start: int) -> None:
        """Forget the counters of windows that started before ``window_start``."""
        ...


class InMemoryRateCounterStore:
    """Counters in a dict. Atomic because nothing awaits between read and write."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}

    async def increment(self, bucket_key: str, window_start: int) -> int:
        key = (bucket_key, window_start)
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        return count

    async def purge_before(self, window_start: int) -> None:
        self.counts = {key: n for key, n in self.counts.items() if key[1] >= window_start}


class FixedWindowRateLimiter:
    """Counts each request in its client's current window and says whether it may go on."""

    def __init__(
        self, rate: RateLimit, store: RateCounterStore, *, now: Callable[[], float] = time.time
    ) -> None:
        self.rate = rate
        self._store = store
        self._now = now
        self._purged_at: int | None = None

    async def hit(self, bucket_key: str) -> RateLimitDecision:
        """Count one request of ``bucket_key``; store errors propagate (the caller decides)."""
        now = self._now()
        window = self.rate.window_seconds
        window_start = int(now // window) * window
        count = await self._store.increment(bucket_key, window_start)
        await self._purge_old_windows(window_start)
        return RateLimitDecision(
            allowed=count <= self.rate.limit,
            limit=self.rate.limit,
            remaining=max(0, self.rate.limit - count),
            reset_seconds=max(1, math.ceil(window_start + window - now)),
        )

    async def _purge_old_windows(self, window_start: int) -> None:
        interval = max(self.rate.window_seconds, _MIN_PURGE_INTERVAL_S)
        if self._purged_at is not None and window_start - self._purged_at < interval:
            return
        self._purged_at = window_start
        try:
            await self._store.purge_before(window_start)
        except Exception as error:  # counting worked; stale rows only cost space until next time
            _log.warning("purging old rate-limit windows failed: %r", error)

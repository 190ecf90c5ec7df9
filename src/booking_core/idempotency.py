"""Idempotency keys: an agent may retry a create safely (IETF idempotency-key draft, Stripe).

The first request with a key *claims* it; its outcome is recorded under the key (a success in
the booking's own transaction, an error right after), and a retry with the same key and body
gets that outcome again instead of a second booking. The same key with another body is refused
(422). A retry that arrives while the first request is still running waits briefly for it to
finish, then gets its outcome; if it is still running after that, 409. A claim whose request died
without an outcome (a crash) can be taken over once its lease has run out: nothing was committed
for it, because a success is recorded atomically with the booking.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

from agent_booking.core.errors import (
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidIdempotencyKey,
)
from agent_booking.core.events import JsonObject
from agent_booking.core.ports import ClaimOutcome, Clock, IdempotencyClaim, UnitOfWorkFactory

__all__ = ["ClaimOutcome", "IdempotencyClaim", "IdempotencyKeys", "request_fingerprint"]

_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def request_fingerprint(body: object) -> str:
    """A digest of the request's meaning: key order and whitespace do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    """Claims, records and releases keys; each step is its own short transaction."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        lease_seconds: int = 60,
        retention_hours: int = 48,
        wait_seconds: float = 5.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lease_seconds = lease_seconds
        self._retention_hours = retention_hours
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds

    @staticmethod
    def validate_key(key: str) -> str:
        if not _KEY.fullmatch(key):
            raise InvalidIdempotencyKey
        return key

    async def begin(self, key: str, body: object) -> IdempotencyClaim:
        """Claim ``key`` for this request, or return the recorded outcome to replay.

        Raises :class:`IdempotencyKeyReused` for another body and
        :class:`IdempotencyRequestInProgress` if the first request does not finish in time.
        """
        fingerprint = request_fingerprint(body)
        waited = 0.0
        while True:
            claim = await self._claim(key, fingerprint)
            if claim.outcome is ClaimOutcome.MISMATCH:
                raise IdempotencyKeyReused
            if claim.outcome is not ClaimOutcome.IN_PROGRESS:
                return claim
            if waited >= self._wait_seconds:
                raise IdempotencyRequestInProgress
            await asyncio.sleep(self._poll_seconds)
            waited += self._poll_seconds

    async def record(self, key: str, status_code: int, body: JsonObject) -> None:
        """Record the outcome of a request that failed without booking (e.g. 409, 422)."""
        async with self._uow() as uow:
            await uow.idempotency.complete(key, status_code, body)
            await uow.commit()

    async def release(self, key: str) -> None:
        """Forget a claim whose request failed for reasons a retry may fix (5xx)."""
        async with self._uow() as uow:
            await uow.idempotency.release(key)
            await uow.commit()

    async def _claim(self, key: str, fingerprint: str) -> IdempotencyClaim:
        now = self._clock.now()
        async with self._uow() as uow:
            claim = await uow.idempotency.claim(
                key,
                fingerprint,
                now=now,
                lease_until=now.add(seconds=self._lease_seconds),
                expired_before=now.subtract(hours=self._retention_hours),
            )
            await uow.commit()
        return claim

"""Idempotency keys in SQL: claims that stay correct across workers and processes.

A claim is an ``INSERT … ON CONFLICT DO NOTHING``: on PostgreSQL a racing claim for the same key
waits for the first to commit and then sees its row, so exactly one claim wins; on SQLite writes
are serialised anyway. Take-overs of dead claims are conditional updates for the same reason.
"""

from __future__ import annotations

import json

import pendulum

from agent_booking.adapters.sql.statements import EngineStatements, StatementRunner
from agent_booking.core.events import JsonObject
from agent_booking.core.ports import ClaimOutcome, IdempotencyClaim

__all__ = ["SqlIdempotencyStore"]

_COMPLETED = "completed"


class SqlIdempotencyStore:
    def __init__(self, run: StatementRunner, sql: EngineStatements) -> None:
        self._run = run
        self._sql = sql

    async def claim(
        self,
        key: str,
        fingerprint: str,
        *,
        now: pendulum.DateTime,
        lease_until: pendulum.DateTime,
        expired_before: pendulum.DateTime,
    ) -> IdempotencyClaim:
        run, sql = self._run, self._sql
        await run.fetch(sql.delete_expired_keys, (sql.instant_to_db(expired_before),))
        inserted = await run.fetch(
            sql.claim_key,
            (key, fingerprint, sql.instant_to_db(lease_until), sql.instant_to_db(now)),
        )
        if inserted:
            return IdempotencyClaim(ClaimOutcome.NEW)
        stored_fingerprint, state, status_code, body, locked_until = (
            await run.fetch(sql.key_record, (key,))
        )[0]
        if stored_fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if state == _COMPLETED:
            return IdempotencyClaim(ClaimOutcome.REPLAY, status_code, json.loads(body))
        if sql.instant_from_db(locked_until) < now:
            # Conditional on the lease as read, so of racing take-overs exactly one wins.
            taken_over = await run.fetch(
                sql.take_over_key, (sql.instant_to_db(lease_until), key, locked_until)
            )
            if taken_over:
                return IdempotencyClaim(ClaimOutcome.NEW)
        return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)

    async def complete(self, key: str, status_code: int, body: JsonObject) -> None:
        await self._run.fetch(
            self._sql.complete_key, (status_code, json.dumps(body, separators=(",", ":")), key)
        )

    async def release(self, key: str) -> None:
        await self._run.fetch(self._sql.release_key, (key,))

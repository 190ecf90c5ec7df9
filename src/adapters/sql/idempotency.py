"""Idempotency keys in SQL: claims that stay correct across workers and processes.

A claim is an ``INSERT … ON CONFLICT DO NOTHING``: on PostgreSQL a racing claim for the same key
waits for the first to commit and then sees its row, so exactly one claim wins; on SQLite writes
are serialised anyway. Take-overs of dead claims are conditional updates for the same reason.
"""

from __future__ import annotations

import json
from typing import Any

import pendulum
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables
from adapters.sql.convert import instant_from_db, instant_to_db
from booking_core.events import JsonObject
from booking_core.ports import ClaimOutcome, IdempotencyClaim

__all__ = ["SqlIdempotencyStore"]

_IN_PROGRESS = "in_progress"
_COMPLETED = "completed"


class SqlIdempotencyStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(
        self,
        key: str,
        fingerprint: str,
        *,
        now: pendulum.DateTime,
        lease_until: pendulum.DateTime,
        expired_before: pendulum.DateTime,
    ) -> IdempotencyClaim:
        keys = tables.idempotency_keys
        await self._connection.execute(
            delete(keys).where(keys.c.created_at < instant_to_db(expired_before))
        )
        insert: Any = (
            postgresql.insert(keys)
            if self._connection.dialect.name == "postgresql"
            else sqlite.insert(keys)
        )
        inserted = await self._connection.execute(
            insert.values(
                key=key,
                fingerprint=fingerprint,
                state=_IN_PROGRESS,
                locked_until=instant_to_db(lease_until),
                created_at=instant_to_db(now),
            )
            .on_conflict_do_nothing(index_elements=[keys.c.key])
            .returning(keys.c.key)
        )
        if inserted.first() is not None:
            return IdempotencyClaim(ClaimOutcome.NEW)
        row = (await self._connection.execute(select(keys).where(keys.c.key == key))).one()
        if row.fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if row.state == _COMPLETED:
            return IdempotencyClaim(
                ClaimOutcome.REPLAY, row.status_code, json.loads(row.response_body)
            )
        if instant_from_db(row.locked_until) < now:
            taken_over = await self._connection.execute(
                update(keys)
                .where(
                    keys.c.key == key,
                    keys.c.state == _IN_PROGRESS,
                    keys.c.locked_until == row.locked_until,
                )
                .values(locked_until=instant_to_db(lease_until))
            )
            if taken_over.rowcount == 1:
                return IdempotencyClaim(ClaimOutcome.NEW)
        return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)

    async def complete(self, key: str, status_code: int, body: JsonObject) -> None:
        keys = tables.idempotency_keys
        await self._connection.execute(
            update(keys)
            .where(keys.c.key == key)
            .values(
                state=_COMPLETED,
                status_code=status_code,
                response_body=json.dumps(body, separators=(",", ":")),
            )
        )

    async def release(self, key: str) -> None:
        keys = tables.idempotency_keys
        await self._connection.execute(
            delete(keys).where(keys.c.key == key, keys.c.state == _IN_PROGRESS)
        )

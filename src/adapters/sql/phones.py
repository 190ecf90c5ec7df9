"""Stored phones read and rewritten for ``booking phones normalise`` (one transaction)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_booking.adapters.sql.tables import customers
from agent_booking.core.phone_identity import PhoneChange

__all__ = ["apply_phone_changes", "stored_phones"]


async def stored_phones(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(customers.c.id, customers.c.phone).order_by(customers.c.id)
        )
        return [(int(row.id), str(row.phone)) for row in result]


async def apply_phone_changes(engine: AsyncEngine, changes: Sequence[PhoneChange]) -> int:
    """Rewrite each phone only if it is still what was planned from; return how many were.
    A customer whose phone changed meanwhile (or a phone taken meanwhile: the unique index
    refuses it and nothing is written) is left to the next run."""
    written = 0
    async with engine.begin() as connection:
        for change in changes:
            result = await connection.execute(
                sa.update(customers)
                .where(customers.c.id == change.customer_id, customers.c.phone == change.old)
                .values(phone=change.new)
            )
            written += result.rowcount
    return written

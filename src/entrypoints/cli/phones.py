"""``booking phones normalise``: re-read stored phones after ``BOOKING_DEFAULT_REGION`` is set.

Every change is printed; customers whose phones turn out to be one number are listed and left
as they are (merging two customers moves bookings between people: an operator's decision), and
so are stored phones the region's rules refuse.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from sqlalchemy.ext.asyncio import create_async_engine

from agent_booking.adapters.phones import RegionalPhones
from agent_booking.adapters.sql.migrate import migrate
from agent_booking.adapters.sql.phones import apply_phone_changes, stored_phones
from agent_booking.core.phone_identity import PhonePlan, plan_phone_changes
from agent_booking.entrypoints.cli.parser import EXIT_OK, UsageError
from agent_booking.entrypoints.config import AppConfig

__all__ = ["normalise_phones"]


def normalise_phones(args: argparse.Namespace, config: AppConfig) -> int:
    if config.default_region is None:
        raise UsageError("set BOOKING_DEFAULT_REGION (e.g. GB) first: it says how to read phones")
    if config.uses_embedded_database:
        migrate(
            config.database_url,
            seed_timezone=config.timezone,
            sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
        )
    reader = RegionalPhones(config.default_region)

    async def run() -> tuple[PhonePlan, int]:
        engine = create_async_engine(config.database_url)
        try:
            plan = plan_phone_changes(await stored_phones(engine), reader)
            written = 0 if args.dry_run else await apply_phone_changes(engine, plan.changes)
        finally:
            await engine.dispose()
        return plan, written

    plan, written = asyncio.run(run())
    if args.json:
        print(json.dumps(_document(plan, written, config.default_region, dry_run=args.dry_run)))
        return EXIT_OK
    verb = "would change" if args.dry_run else "changed"
    for change in plan.changes:
        print(f"{verb} customer {change.customer_id}: {change.old} -> {change.new}")
    for collision in plan.collisions:
        ids = ", ".join(str(customer_id) for customer_id in collision.customer_ids)
        print(f"collision, left as they are: customers {ids} are all {collision.phone}")
    for item in plan.unreadable:
        print(f"kept customer {item.customer_id}: {item.phone} ({item.reason})")
    count = len(plan.changes) if args.dry_run else written
    print(
        f"{count} {verb}, {len(plan.collisions)} collisions, {len(plan.unreadable)} unreadable, "
        f"{plan.unchanged} already normalised"
    )
    return EXIT_OK


def _document(plan: PhonePlan, written: int, region: str, *, dry_run: bool) -> dict[str, object]:
    return {
        "region": region,
        "dry_run": dry_run,
        "changed": written,
        "changes": [
            {"customer_id": change.customer_id, "old": change.old, "new": change.new}
            for change in plan.changes
        ],
        "collisions": [
            {"phone": collision.phone, "customer_ids": list(collision.customer_ids)}
            for collision in plan.collisions
        ],
        "unreadable": [
            {"customer_id": item.customer_id, "phone": item.phone, "reason": item.reason}
            for item in plan.unreadable
        ],
        "unchanged": plan.unchanged,
    }

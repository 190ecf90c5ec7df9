"""Outbox order by commit (PostgreSQL): events get their feed position after they commit.

The position is a column of its own, ``events.position``, drawn from ``events_position_seq`` by
``booking_position_events(batch)`` under a lock that only that function takes (see
``SqlEventOutbox`` for why this replaces the advisory lock every booking took). Existing events
keep their id as their position, so a dashboard's ``since`` stays valid across the upgrade.
SQLite has one writer at a time: its ``event_id`` already commits in order, nothing changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The advisory lock key the function takes (the former per-booking lock's key; only the
#: positioning function takes it now).
_LOCK_KEY = 0x0B00C1E7
_CHANNEL = "booking_events"

_FUNCTION = f"""
CREATE FUNCTION booking_position_events(batch integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    positioned bigint;
BEGIN
    -- One positioner at a time, until its transaction has committed: positions then become
    -- visible in increasing order. Each statement below takes a new snapshot (a VOLATILE
    -- function under READ COMMITTED), so it sees what the previous holder committed.
    PERFORM pg_advisory_xact_lock({_LOCK_KEY});
    UPDATE events AS e SET position = nextval('events_position_seq')
    FROM (
        SELECT event_id FROM events WHERE position IS NULL
        ORDER BY event_id LIMIT batch FOR UPDATE
    ) AS todo
    WHERE e.event_id = todo.event_id;
    GET DIAGNOSTICS positioned = ROW_COUNT;
    IF positioned > 0 THEN
        PERFORM pg_notify('{_CHANNEL}', '');
    END IF;
    RETURN positioned;
END
$$
"""  # noqa: S608 - built from this module's constants, no input


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events ADD COLUMN position bigint")
    op.execute("CREATE SEQUENCE events_position_seq AS bigint OWNED BY events.position")
    op.execute("UPDATE events SET position = event_id")
    op.execute(
        "SELECT setval('events_position_seq', "
        "(SELECT coalesce(max(event_id), 0) + 1 FROM events), false)"
    )
    op.execute("CREATE UNIQUE INDEX uq_events_position ON events (position)")
    op.execute("CREATE INDEX ix_events_unpositioned ON events (event_id) WHERE position IS NULL")
    op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION booking_position_events(integer)")
    op.execute("DROP INDEX ix_events_unpositioned")
    op.execute("DROP INDEX uq_events_position")
    op.execute("ALTER TABLE events DROP COLUMN position")  # drops its sequence too

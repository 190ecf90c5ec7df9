"""Holds: bookings in status ``held`` until ``hold_expires_at``, then ``released`` or ``expired``.

A hold occupies its interval like any active booking, so the active condition of the no-overlap
rule (PostgreSQL's exclusion constraint, SQLite's triggers) and of the partial indexes becomes
"not cancelled, released or expired". A small partial index on the holds' expiry serves the
sweep.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Instant = sa.DateTime(timezone=True)
NO_OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
NO_OVERLAP_MESSAGE = "slot_taken: overlapping active booking of this resource"
RESOURCE_OCCUPIED_INDEX = "ix_bookings_resource_occupied"
ACTIVE_STARTS_INDEX = "ix_bookings_active_starts"
HOLD_EXPIRY_INDEX = "ix_bookings_hold_expiry"

_STATUSES_BEFORE = "status IN ('upcoming', 'pending', 'completed', 'cancelled')"
_STATUSES = (
    "status IN ('upcoming', 'pending', 'completed', 'cancelled', 'held', 'released', 'expired')"
)
_ACTIVE_BEFORE = "status <> 'cancelled'"
#: The status CHECK's name on SQLite, where migration 0004 re-created the table without the
#: naming convention; on PostgreSQL the convention's ``ck_bookings_status_known`` (from 0001).
_STATUS_CHECK = op.f("status_known")
_ACTIVE = "status NOT IN ('cancelled', 'released', 'expired')"


def _sqlite_triggers(active: str) -> dict[str, str]:
    """Migration 0004's overlap triggers, for the given active condition."""
    overlapping = (
        "SELECT RAISE(ABORT, '{message}') WHERE (SELECT occupied_until FROM bookings "
        "WHERE resource_id = NEW.resource_id AND {active} {not_self}"
        "AND occupied_from < NEW.occupied_until ORDER BY occupied_from DESC LIMIT 1) "
        "> NEW.occupied_from"
    )
    new_active = active.replace("status", "NEW.status", 1)
    return {
        "bookings_no_overlap_insert": (
            "CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
            f"WHEN {new_active} BEGIN "
            + overlapping.format(message=NO_OVERLAP_MESSAGE, active=active, not_self="")
            + "; END"
        ),
        "bookings_no_overlap_update": (
            "CREATE TRIGGER bookings_no_overlap_update "
            "BEFORE UPDATE OF resource_id, occupied_from, occupied_until, status ON bookings "
            f"WHEN {new_active} BEGIN "
            + overlapping.format(
                message=NO_OVERLAP_MESSAGE, active=active, not_self="AND id <> NEW.id "
            )
            + "; END"
        ),
    }


def _sqlite_bookings(*, statuses: str, with_hold: bool) -> sa.Table:
    """The bookings table as SQLite holds it (it cannot reflect its CHECKs)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("booking_time", sa.Time, nullable=False),
        sa.Column("starts_at", Instant, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column(
            "resource_id",
            Id,
            sa.ForeignKey("resources.id", name="fk_bookings_resource_id_resources"),
            nullable=False,
        ),
        sa.Column(
            "service_id",
            Id,
            sa.ForeignKey("services.id", name="fk_bookings_service_id_services"),
            nullable=True,
        ),
        sa.Column("occupied_from", Instant, nullable=False),
        sa.Column("occupied_until", Instant, nullable=False),
    ]
    if with_hold:
        columns.append(sa.Column("hold_expires_at", Instant, nullable=True))
    return sa.Table(
        "bookings",
        sa.MetaData(),
        *columns,
        sa.CheckConstraint(statuses, name=_STATUS_CHECK),
        sa.CheckConstraint("occupied_until > occupied_from", name="ck_bookings_occupied_ordered"),
        sa.CheckConstraint(
            "julianday(occupied_until) - julianday(occupied_from) <= 1.0000001",
            name="ck_bookings_occupied_span",
        ),
        sa.Index("ix_bookings_customer_id", "customer_id"),
        sa.Index("ix_bookings_booking_date", "booking_date"),
    )


def _drop_active_rules(sqlite: bool) -> None:
    if sqlite:
        for name in _sqlite_triggers(_ACTIVE):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute(f"ALTER TABLE bookings DROP CONSTRAINT {NO_OVERLAP_CONSTRAINT}")
    op.drop_index(ACTIVE_STARTS_INDEX, table_name="bookings")
    op.drop_index(RESOURCE_OCCUPIED_INDEX, table_name="bookings")


def _create_active_rules(sqlite: bool, active: str) -> None:
    op.create_index(
        RESOURCE_OCCUPIED_INDEX,
        "bookings",
        ["resource_id", "occupied_from", "occupied_until"],
        sqlite_where=sa.text(active),
        postgresql_where=sa.text(active),
    )
    op.create_index(
        ACTIVE_STARTS_INDEX,
        "bookings",
        ["starts_at"],
        sqlite_where=sa.text(active),
        postgresql_where=sa.text(active),
    )
    if sqlite:
        for statement in _sqlite_triggers(active).values():
            op.execute(statement)
    else:
        op.execute(
            f"ALTER TABLE bookings ADD CONSTRAINT {NO_OVERLAP_CONSTRAINT} EXCLUDE USING gist "
            "(resource_id WITH =, tstzrange(occupied_from, occupied_until, '[)') WITH &&) "
            f"WHERE ({active})"
        )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _drop_active_rules(sqlite)
    if sqlite:
        with op.batch_alter_table(
            "bookings",
            copy_from=_sqlite_bookings(statuses=_STATUSES_BEFORE, with_hold=False),
            recreate="always",
        ) as batch:
            batch.add_column(sa.Column("hold_expires_at", Instant, nullable=True))
            batch.drop_constraint(_STATUS_CHECK, type_="check")
            batch.create_check_constraint(_STATUS_CHECK, _STATUSES)
    else:
        op.add_column("bookings", sa.Column("hold_expires_at", Instant, nullable=True))
        op.drop_constraint("status_known", "bookings", type_="check")
        op.create_check_constraint("status_known", "bookings", _STATUSES)
    _create_active_rules(sqlite, _ACTIVE)
    op.create_index(
        HOLD_EXPIRY_INDEX,
        "bookings",
        ["hold_expires_at"],
        sqlite_where=sa.text("status = 'held'"),
        postgresql_where=sa.text("status = 'held'"),
    )


def downgrade() -> None:
    """Back to 0007: holds become cancelled bookings (0007 knows no other inactive status)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index(HOLD_EXPIRY_INDEX, table_name="bookings")
    _drop_active_rules(sqlite)
    op.execute(
        "UPDATE bookings SET status = 'cancelled' WHERE status IN ('held', 'released', 'expired')"
    )
    if sqlite:
        with op.batch_alter_table(
            "bookings",
            copy_from=_sqlite_bookings(statuses=_STATUSES, with_hold=True),
            recreate="always",
        ) as batch:
            batch.drop_constraint(_STATUS_CHECK, type_="check")
            batch.create_check_constraint(_STATUS_CHECK, _STATUSES_BEFORE)
            batch.drop_column("hold_expires_at")
    else:
        op.drop_constraint("status_known", "bookings", type_="check")
        op.create_check_constraint("status_known", "bookings", _STATUSES_BEFORE)
        op.drop_column("bookings", "hold_expires_at")
    _create_active_rules(sqlite, _ACTIVE_BEFORE)

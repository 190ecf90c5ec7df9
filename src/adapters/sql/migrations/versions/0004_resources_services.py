"""Resources, weekly plans, exceptions and services; bookings occupy an interval of a resource.

Every existing booking is kept: it goes to the first resource (created here, working the
settings' hours and off days, so settings changes still move it as before), with the slot
length as its duration. An active booking whose slot would reach into the next active booking
(slots made shorter by a settings change since) occupies only up to that booking's start, so
the no-overlap rule holds for the data already there.

The active-slot unique index gives way to the no-overlap rule per resource: on PostgreSQL an
exclusion constraint (btree_gist), on SQLite triggers that abort an overlapping insert or update
(writes are serialised by ``BEGIN IMMEDIATE``, so their check cannot race).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Instant = sa.DateTime(timezone=True)
ACTIVE = "status <> 'cancelled'"
NO_OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
NO_OVERLAP_MESSAGE = "slot_taken: overlapping active booking of this resource"
#: The active intervals of one resource never overlap (these triggers see to it), so they are
#: ordered by start and by end alike: the only one that can overlap the new interval is the
#: last one starting before it ends, found by one step of a backward index scan.
_OVERLAPPING = (
    "SELECT RAISE(ABORT, '{message}') WHERE (SELECT occupied_until FROM bookings "
    "WHERE resource_id = NEW.resource_id AND status <> 'cancelled' {not_self}"
    "AND occupied_from < NEW.occupied_until ORDER BY occupied_from DESC LIMIT 1) "
    "> NEW.occupied_from"
)
SQLITE_TRIGGERS = {
    "bookings_no_overlap_insert": (
        "CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings "
        "WHEN NEW.status <> 'cancelled' BEGIN "
        + _OVERLAPPING.format(message=NO_OVERLAP_MESSAGE, not_self="")
        + "; END"
    ),
    "bookings_no_overlap_update": (
        "CREATE TRIGGER bookings_no_overlap_update "
        "BEFORE UPDATE OF resource_id, occupied_from, occupied_until, status ON bookings "
        "WHEN NEW.status <> 'cancelled' BEGIN "
        + _OVERLAPPING.format(message=NO_OVERLAP_MESSAGE, not_self="AND id <> NEW.id ")
        + "; END"
    ),
}


def _bookings_before(*, with_new_columns: bool) -> sa.Table:
    """The bookings table as revision 0003 left it (SQLite cannot reflect its CHECK)."""
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
    ]
    if with_new_columns:
        columns += [
            sa.Column("resource_id", Id, nullable=True),
            sa.Column("service_id", Id, nullable=True),
            sa.Column("occupied_from", Instant, nullable=True),
            sa.Column("occupied_until", Instant, nullable=True),
        ]
    return sa.Table(
        "bookings",
        sa.MetaData(),
        *columns,
        sa.CheckConstraint(
            "status IN ('upcoming', 'pending', 'completed', 'cancelled')", name="status_known"
        ),
        sa.Index("ix_bookings_customer_id", "customer_id"),
        sa.Index("ix_bookings_booking_date", "booking_date"),
    )


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _create_catalog_tables()
    op.add_column(
        "business_settings",
        sa.Column("unknown_services", sa.String(10), nullable=False, server_default="accept"),
    )
    op.add_column(
        "business_settings",
        sa.Column("catalog_version", sa.Integer, nullable=False, server_default="0"),
    )
    if not sqlite:
        # (SQLite would rebuild the table for a CHECK, from a reflection that loses the partial
        # one-active-row index's condition; the service writes only the two values anyway.)
        op.create_check_constraint(
            "unknown_services_known",
            "business_settings",
            "unknown_services IN ('accept', 'reject')",
        )
    first = _create_first_resource(bind)
    for name in ("resource_id", "service_id", "occupied_from", "occupied_until"):
        kind = Instant if name.startswith("occupied") else Id
        op.add_column("bookings", sa.Column(name, kind, nullable=True))
    _place_existing_bookings(bind, first)
    op.drop_index("uq_bookings_active_slot", table_name="bookings")
    with op.batch_alter_table(
        "bookings",
        copy_from=_bookings_before(with_new_columns=True),
        recreate="always" if sqlite else "auto",
    ) as batch:
        batch.alter_column("resource_id", existing_type=Id, nullable=False)
        batch.alter_column("occupied_from", existing_type=Instant, nullable=False)
        batch.alter_column("occupied_until", existing_type=Instant, nullable=False)
        batch.create_foreign_key(
            "fk_bookings_resource_id_resources", "resources", ["resource_id"], ["id"]
        )
        batch.create_foreign_key(
            "fk_bookings_service_id_services", "services", ["service_id"], ["id"]
        )
        batch.create_check_constraint("occupied_ordered", "occupied_until > occupied_from")
        batch.create_check_constraint(
            "occupied_span",
            "julianday(occupied_until) - julianday(occupied_from) <= 1.0000001"
            if sqlite
            else "occupied_until - occupied_from <= interval '1 day'",
        )
    op.create_index(
        "ix_bookings_resource_occupied",
        "bookings",
        ["resource_id", "occupied_from", "occupied_until"],
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_bookings_active_starts",
        "bookings",
        ["starts_at"],
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    if sqlite:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE bookings ADD CONSTRAINT {NO_OVERLAP_CONSTRAINT} EXCLUDE USING gist "
            "(resource_id WITH =, tstzrange(occupied_from, occupied_until, '[)') WITH &&) "
            f"WHERE ({ACTIVE})"
        )


def _create_catalog_tables() -> None:
    op.create_table(
        "resources",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("follows_business_hours", sa.Boolean, nullable=False),
        sa.Column("created_at", Instant, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
    )
    op.create_table(
        "resource_hours",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("resource_id", Id, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("opens", sa.Time, nullable=False),
        sa.Column("closes", sa.Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resource_hours"),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_resource_hours_resource_id_resources"
        ),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
        sa.CheckConstraint("closes > opens", name="interval_ordered"),
    )
    op.create_index("ix_resource_hours_resource_id", "resource_hours", ["resource_id"])
    op.create_table(
        "resource_exceptions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("resource_id", Id, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("opens", sa.Time, nullable=True),
        sa.Column("closes", sa.Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_resource_exceptions"),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_resource_exceptions_resource_id_resources"
        ),
        sa.CheckConstraint(
            "(opens IS NULL AND closes IS NULL) OR closes > opens", name="interval_ordered"
        ),
    )
    op.create_index(
        "ix_resource_exceptions_resource_id", "resource_exceptions", ["resource_id", "day"]
    )
    op.create_table(
        "services",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_before", sa.Integer, nullable=False),
        sa.Column("buffer_after", sa.Integer, nullable=False),
        sa.Column("min_notice_minutes", sa.Integer, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("name_key", name="uq_services_name_key"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="duration_range"),
        sa.CheckConstraint(
            "buffer_before BETWEEN 0 AND 240 AND buffer_after BETWEEN 0 AND 240",
            name="buffer_range",
        ),
        sa.CheckConstraint("min_notice_minutes BETWEEN 0 AND 10080", name="notice_range"),
    )
    op.create_table(
        "service_resources",
        sa.Column("service_id", Id, nullable=False),
        sa.Column("resource_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("service_id", "resource_id", name="pk_service_resources"),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name="fk_service_resources_service_id_services"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name="fk_service_resources_resource_id_resources"
        ),
    )


def _create_first_resource(bind: sa.Connection) -> int:
    resources = sa.table(
        "resources",
        sa.column("id", Id),
        sa.column("name", sa.String),
        sa.column("is_active", sa.Boolean),
        sa.column("follows_business_hours", sa.Boolean),
        sa.column("created_at", Instant),
    )
    inserted = bind.execute(
        resources.insert()
        .values(
            name="Default",
            is_active=True,
            follows_business_hours=True,
            created_at=dt.datetime.now(dt.UTC),
        )
        .returning(resources.c.id)
    )
    return int(inserted.scalar_one())


def _place_existing_bookings(bind: sa.Connection, resource_id: int) -> None:
    """Every booking on the first resource, occupying its slot (clipped at the next one)."""
    settings = sa.table(
        "business_settings", sa.column("slot_minutes", sa.Integer), sa.column("is_active")
    )
    slot = bind.execute(
        sa.select(settings.c.slot_minutes).where(settings.c.is_active == sa.true())
    ).scalar()
    length = dt.timedelta(minutes=slot or 60)
    bookings = _bookings_before(with_new_columns=True)
    rows = bind.execute(
        sa.select(bookings.c.id, bookings.c.starts_at, bookings.c.status).order_by(
            bookings.c.starts_at, bookings.c.id
        )
    ).all()
    active = [row for row in rows if row.status != "cancelled"]
    next_start = {row.id: following.starts_at for row, following in itertools.pairwise(active)}
    for row in rows:
        until = row.starts_at + length
        if row.id in next_start:
            until = min(until, next_start[row.id])
        bind.execute(
            bookings.update()
            .where(bookings.c.id == row.id)
            .values(resource_id=resource_id, occupied_from=row.starts_at, occupied_until=until)
        )


def downgrade() -> None:
    """Back to one calendar. Fails (on the restored unique index) if two active bookings of
    different resources start at the same instant: remove or cancel one first."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute(f"ALTER TABLE bookings DROP CONSTRAINT {NO_OVERLAP_CONSTRAINT}")
    op.drop_index("ix_bookings_active_starts", table_name="bookings")
    op.drop_index("ix_bookings_resource_occupied", table_name="bookings")
    with op.batch_alter_table(
        "bookings",
        copy_from=_bookings_before(with_new_columns=True),
        recreate="always" if sqlite else "auto",
    ) as batch:
        if not sqlite:
            batch.drop_constraint("occupied_span", type_="check")
            batch.drop_constraint("occupied_ordered", type_="check")
            batch.drop_constraint("fk_bookings_service_id_services", type_="foreignkey")
            batch.drop_constraint("fk_bookings_resource_id_resources", type_="foreignkey")
        for name in ("occupied_until", "occupied_from", "service_id", "resource_id"):
            batch.drop_column(name)
    op.create_index(
        "uq_bookings_active_slot",
        "bookings",
        ["starts_at"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    if not sqlite:
        op.drop_constraint("unknown_services_known", "business_settings", type_="check")
    op.drop_column("business_settings", "catalog_version")
    op.drop_column("business_settings", "unknown_services")
    op.drop_table("service_resources")
    op.drop_table("services")
    op.drop_index("ix_resource_exceptions_resource_id", table_name="resource_exceptions")
    op.drop_table("resource_exceptions")
    op.drop_index("ix_resource_hours_resource_id", table_name="resource_hours")
    op.drop_table("resource_hours")
    op.drop_table("resources")

"""Initial schema: settings (seeded), customers, bookings, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("status <> 'cancelled'")


def upgrade() -> None:
    settings = op.create_table(
        "business_settings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("open_time", sa.Time, nullable=False),
        sa.Column("close_time", sa.Time, nullable=False),
        sa.Column("off_days", sa.String(20), nullable=False),
        sa.Column("slot_minutes", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("horizon_days", sa.Integer, nullable=False),
        sa.Column("closed_dates", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_business_settings"),
    )
    op.create_index(
        "uq_business_settings_one_active",
        "business_settings",
        ["is_active"],
        unique=True,
        sqlite_where=sa.text("is_active"),
        postgresql_where=sa.text("is_active"),
    )
    op.create_table(
        "customers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("first_name", sa.String(150), nullable=False),
        sa.Column("last_name", sa.String(150), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("gender", sa.String(10), nullable=False),
        sa.Column("country", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("phone", name="uq_customers_phone"),
    )
    op.create_table(
        "bookings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("service_name", sa.String(100), nullable=False),
        sa.Column("booking_date", sa.Date, nullable=False),
        sa.Column("booking_time", sa.Time, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_bookings_customer_id_customers"
        ),
        sa.CheckConstraint(
            "status IN ('upcoming', 'pending', 'completed', 'cancelled')",
            name="status_known",
        ),
    )
    op.create_index("ix_bookings_customer_id", "bookings", ["customer_id"])
    op.create_index("ix_bookings_booking_date", "bookings", ["booking_date"])
    op.create_index(
        "uq_bookings_active_slot",
        "bookings",
        ["starts_at"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "events",
        sa.Column("event_id", Id, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.bulk_insert(
        settings,
        [
            {
                "is_active": True,
                "open_time": dt.time(12, 0),
                "close_time": dt.time(17, 0),
                "off_days": "7",
                "slot_minutes": 60,
                "timezone": context.config.attributes.get("seed_timezone", "UTC"),
                "horizon_days": 365,
                "closed_dates": "",
                "updated_at": dt.datetime.now(dt.UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_index("uq_bookings_active_slot", table_name="bookings")
    op.drop_index("ix_bookings_booking_date", table_name="bookings")
    op.drop_index("ix_bookings_customer_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("customers")
    op.drop_index("uq_business_settings_one_active", table_name="business_settings")
    op.drop_table("business_settings")

"""The schema, as SQLAlchemy Core tables (the domain classes are mapped by hand, not by the ORM).

Double booking is made impossible by the database itself: a partial unique index allows one
*active* (not cancelled) booking per slot start instant. Instants are stored in UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)

__all__ = [
    "ACTIVE_BOOKING",
    "ACTIVE_SLOT_INDEX",
    "OPEN_BOOKING",
    "bookings",
    "business_settings",
    "customers",
    "events",
    "idempotency_keys",
    "metadata",
    "rate_limit_counters",
    "webhook_cursor",
    "webhook_deliveries",
    "webhook_subscriptions",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: SQLite only auto-increments ``INTEGER PRIMARY KEY``; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")

ACTIVE_SLOT_INDEX = "uq_bookings_active_slot"
#: The active-slot index's condition. Queries for active bookings use this very text: both
#: engines use a partial index only when the query's condition implies the index's, which they
#: cannot prove for a bound parameter (``status <> ?``, ``status IN (?, ?, ?)``). SQLite then
#: scans the table, or re-plans the statement on every execution; PostgreSQL's generic plans
#: cannot use the index at all. The CHECK below makes it equal to "status in ACTIVE_STATUSES".
ACTIVE_BOOKING = text("status <> 'cancelled'")
#: A booking still to happen (``OPEN_STATUSES``), as literal text for the same reason.
OPEN_BOOKING = text("status IN ('upcoming', 'pending')")

business_settings = Table(
    "business_settings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("is_active", Boolean, nullable=False),
    Column("open_time", Time, nullable=False),
    Column("close_time", Time, nullable=False),
    Column("off_days", String(20), nullable=False),  # ISO weekdays, "6,7"
    Column("slot_minutes", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("closed_dates", Text, nullable=False),  # ISO dates, comma separated
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(
        "uq_business_settings_one_active",
        "is_active",
        unique=True,
        sqlite_where=text("is_active"),
        postgresql_where=text("is_active"),
    ),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("phone", String(16), nullable=False, unique=True),
    Column("first_name", String(150), nullable=False),
    Column("last_name", String(150), nullable=False),
    Column("email", String(254), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("country", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("service_name", String(100), nullable=False),
    Column("booking_date", Date, nullable=False, index=True),
    Column("booking_time", Time, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("notes", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        "status IN ('upcoming', 'pending', 'completed', 'cancelled')", name="status_known"
    ),
    Index(
        ACTIVE_SLOT_INDEX,
        "starts_at",
        unique=True,
        sqlite_where=ACTIVE_BOOKING,
        postgresql_where=ACTIVE_BOOKING,
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # in_progress | completed
    Column("status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),  # JSON
    Column("locked_until", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    CheckConstraint("state IN ('in_progress', 'completed')", name="state_known"),
)

#: Requests per client bucket and fixed window (see agent_booking.adapters.sql.rate_limit);
#: PostgreSQL only.
rate_limit_counters = Table(
    "rate_limit_counters",
    metadata,
    Column("bucket_key", String(100), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True, index=True),
    Column("count", Integer, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", Id, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

#: Webhooks (migration 0006; see agent_booking.adapters.webhooks). Instants are Unix seconds.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=False),
    Column("event_types", String(1000), nullable=False),
    Column("enabled", Integer, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100)),
    Column("previous_secret_until", Float),
    Column("after_event_id", BigInteger, nullable=False),
    Column("failing_since", Float),
    Column("disabled_reason", String(500)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        BigInteger,
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float),
    Column("last_attempt_at", Float),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("last_latency_ms", Float),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery"),
    CheckConstraint(
        "status IN ('pending', 'delivered', 'failed', 'cancelled')",
        name="ck_webhook_delivery_status",
    ),
    Index(
        "ix_webhook_deliveries_due",
        "subscription_id",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

webhook_cursor = Table(
    "webhook_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
)

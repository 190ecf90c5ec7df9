"""The schema, as SQLAlchemy Core tables (the domain classes are mapped by hand, not by the ORM).

Double booking is made impossible by the database itself: no two *active* (not cancelled,
released or expired) bookings of one resource may have overlapping occupied intervals.
PostgreSQL enforces it with an exclusion constraint (``NO_OVERLAP_CONSTRAINT``, btree_gist),
SQLite with triggers that abort an overlapping insert or update (``NO_OVERLAP_MESSAGE``); both
are created by migration 0004 (and re-created for holds' statuses by 0008), and
``tests/integration/test_resource_storage.py`` proves them with plain SQL. Instants are stored
in UTC; plans and exceptions in local wall-clock time.
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
    "ACTIVE_STARTS_INDEX",
    "HELD_BOOKING",
    "HOLD_EXPIRY_INDEX",
    "NO_OVERLAP_CONSTRAINT",
    "NO_OVERLAP_MESSAGE",
    "OPEN_BOOKING",
    "RESOURCE_OCCUPIED_INDEX",
    "SERVICE_NAME_INDEX",
    "bookings",
    "business_settings",
    "customers",
    "events",
    "idempotency_keys",
    "metadata",
    "rate_limit_counters",
    "resource_exceptions",
    "resource_hours",
    "resources",
    "service_resources",
    "services",
    "webhook_attempts",
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

#: PostgreSQL's exclusion constraint on overlapping active bookings of one resource.
NO_OVERLAP_CONSTRAINT = "ex_bookings_no_overlap"
#: What SQLite's overlap triggers abort with (the error's whole text).
NO_OVERLAP_MESSAGE = "slot_taken: overlapping active booking of this resource"
#: The index the overlap checks (and SQLite's triggers) read: active bookings by resource.
RESOURCE_OCCUPIED_INDEX = "ix_bookings_resource_occupied"
#: The unique index on the services' case-folded names (migration 0004's constraint).
SERVICE_NAME_INDEX = "uq_services_name_key"
#: The index availability's range reads use: active bookings by start.
ACTIVE_STARTS_INDEX = "ix_bookings_active_starts"
#: The active bookings' condition. Queries for active bookings use this very text: both
#: engines use a partial index only when the query's condition implies the index's, which they
#: cannot prove for a bound parameter (``status <> ?``, ``status IN (?, ?, ?)``). SQLite then
#: scans the table, or re-plans the statement on every execution; PostgreSQL's generic plans
#: cannot use the index at all. The CHECK below makes it equal to "status in ACTIVE_STATUSES".
ACTIVE_BOOKING = text("status NOT IN ('cancelled', 'released', 'expired')")
#: The index the sweep and the per-phone hold count read: live holds by expiry (migration 0008).
HOLD_EXPIRY_INDEX = "ix_bookings_hold_expiry"
#: A hold (live or with its time up, until marked ``expired``), as literal text (see above).
HELD_BOOKING = text("status = 'held'")
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
    # Migration 0007: how long before a start an agent may still cancel or move it.
    Column("cancel_notice_minutes", Integer, nullable=False, server_default="0"),
    Column("reschedule_notice_minutes", Integer, nullable=False, server_default="0"),
    Column("unknown_services", String(10), nullable=False, server_default="accept"),
    #: Grows with every change of resources, plans, exceptions or services: read with the
    #: settings on every booking, it says whether a process's cached catalog is current.
    Column("catalog_version", Integer, nullable=False, server_default="0"),
    CheckConstraint("unknown_services IN ('accept', 'reject')", name="unknown_services_known"),
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
    Column("resource_id", Id, ForeignKey("resources.id"), nullable=False),
    Column("service_id", Id, ForeignKey("services.id"), nullable=True),
    Column("occupied_from", DateTime(timezone=True), nullable=False),
    Column("occupied_until", DateTime(timezone=True), nullable=False),
    # Migration 0008: until when a hold (status ``held``) keeps its start; NULL otherwise.
    Column("hold_expires_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(
        "status IN ('upcoming', 'pending', 'completed', 'cancelled', 'held', 'released', "
        "'expired')",
        name="status_known",
    ),
    CheckConstraint("occupied_until > occupied_from", name="occupied_ordered"),
    # (and at most a day long: "occupied_span", written per engine by migration 0004)
    Index(
        RESOURCE_OCCUPIED_INDEX,
        "resource_id",
        "occupied_from",
        "occupied_until",
        sqlite_where=ACTIVE_BOOKING,
        postgresql_where=ACTIVE_BOOKING,
    ),
    Index(
        ACTIVE_STARTS_INDEX,
        "starts_at",
        sqlite_where=ACTIVE_BOOKING,
        postgresql_where=ACTIVE_BOOKING,
    ),
    Index(
        HOLD_EXPIRY_INDEX,
        "hold_expires_at",
        sqlite_where=HELD_BOOKING,
        postgresql_where=HELD_BOOKING,
    ),
)

resources = Table(
    "resources",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("is_active", Boolean, nullable=False),
    #: True while the resource has no plan of its own: it works the settings' hours and off
    #: days (the first resource after migration 0004, so settings changes still move it).
    Column("follows_business_hours", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: A resource's weekly plan: open intervals per ISO weekday, local wall-clock time.
resource_hours = Table(
    "resource_hours",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("resource_id", Id, ForeignKey("resources.id"), nullable=False, index=True),
    Column("weekday", Integer, nullable=False),
    Column("opens", Time, nullable=False),
    Column("closes", Time, nullable=False),
    CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
    CheckConstraint("closes > opens", name="interval_ordered"),
)

#: Date exceptions: the intervals of that date (a row without times: closed that date).
resource_exceptions = Table(
    "resource_exceptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("resource_id", Id, ForeignKey("resources.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("opens", Time, nullable=True),
    Column("closes", Time, nullable=True),
    CheckConstraint(
        "(opens IS NULL AND closes IS NULL) OR closes > opens", name="interval_ordered"
    ),
    Index("ix_resource_exceptions_resource_id", "resource_id", "day"),
)

services = Table(
    "services",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    #: The name case-folded: names are unique case-insensitively.
    Column("name_key", String(100), nullable=False, unique=True),
    Column("duration_minutes", Integer, nullable=False),
    Column("buffer_before", Integer, nullable=False),
    Column("buffer_after", Integer, nullable=False),
    Column("min_notice_minutes", Integer, nullable=False),
    Column("is_active", Boolean, nullable=False),
    CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="duration_range"),
    CheckConstraint(
        "buffer_before BETWEEN 0 AND 240 AND buffer_after BETWEEN 0 AND 240", name="buffer_range"
    ),
    CheckConstraint("min_notice_minutes BETWEEN 0 AND 10080", name="notice_range"),
)

#: Which resources perform a service; none listed: every resource does.
service_resources = Table(
    "service_resources",
    metadata,
    Column("service_id", Id, ForeignKey("services.id"), primary_key=True),
    Column("resource_id", Id, ForeignKey("resources.id"), primary_key=True),
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

#: On PostgreSQL migration 0005 adds ``position`` (the feed's id, given after commit; see
#: ``SqlEventOutbox``): only the plain SQL of ``postgres_statements`` reads it, so it is not
#: declared here, where the table must describe SQLite too.
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

#: One row per attempt of a delivery (migration 0009): the delivery log's history.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        BigInteger,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempt", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("status_code", Integer),
    Column("error", String(500)),
    Column("latency_ms", Float),
    Column("next_attempt_at", Float),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

webhook_cursor = Table(
    "webhook_cursor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False),
)

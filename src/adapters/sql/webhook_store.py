"""Webhook subscriptions and deliveries in SQL, on the database's own units of work.

Writes go where every other write goes (SQLite: the group-commit writer, so a delivery's
bookkeeping shares an fsync with bookings instead of competing for the file lock; PostgreSQL:
the asyncpg pool). The statements are written once with ``?`` placeholders and numbered for
PostgreSQL; the only other difference is the claim's ``FOR UPDATE SKIP LOCKED``, which lets
several processes claim due deliveries at once without taking the same row (SQLite runs one
write transaction at a time, which is the same guarantee).

Instants are Unix seconds: the worker only compares them and adds delays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from attrs import evolve, frozen

from agent_booking.core.events import StoredEvent
from agent_booking.core.webhooks import SubscriptionChanges, wants

if TYPE_CHECKING:
    from agent_booking.adapters.sql.database import SqlDatabase
    from agent_booking.adapters.sql.sessions import Session

__all__ = [
    "MAX_ATTEMPTS_SHOWN",
    "AttemptRecord",
    "ClaimedDelivery",
    "DeliveryOutcome",
    "DeliveryRecord",
    "SqlWebhookStore",
    "WebhookSubscription",
]

_SUBSCRIPTION_COLUMNS = (
    "id, url, description, event_types, enabled, secret, previous_secret, "
    "previous_secret_until, after_event_id, failing_since, disabled_reason, created_at, updated_at"
)
_DELIVERY_COLUMNS = (
    "id, subscription_id, event_id, status, attempts, next_attempt_at, last_attempt_at, "
    "last_status_code, last_error, last_latency_ms, created_at"
)
_ATTEMPT_COLUMNS = (
    "delivery_id, attempt, started_at, status_code, error, latency_ms, next_attempt_at"
)
_PLACEHOLDER = re.compile(r"\?")
#: Attempts shown per delivery in the log (the latest ones): a schedule makes at most nine,
#: only replays add more.
MAX_ATTEMPTS_SHOWN = 20


@frozen
class WebhookSubscription:
    id: int
    url: str
    description: str
    event_types: tuple[str, ...]
    enabled: bool
    secret: str
    previous_secret: str | None
    previous_secret_until: float | None
    after_event_id: int
    failing_since: float | None
    disabled_reason: str | None
    created_at: float
    updated_at: float

    def secrets(self, now: float) -> tuple[str, ...]:
        """The secrets to sign with now: the current one, and the previous one while valid."""
        if self.previous_secret and (self.previous_secret_until or 0) > now:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@frozen
class AttemptRecord:
    """One attempt of a delivery, as ``webhook_attempts`` keeps it."""

    delivery_id: int
    #: Its number in the delivery's current schedule (1 first; a replay starts again at 1).
    attempt: int
    started_at: float
    status_code: int | None
    error: str | None
    latency_ms: float | None
    #: When the next attempt was due after this one (None: delivered, or given up).
    next_attempt_at: float | None


@frozen
class DeliveryRecord:
    id: int
    subscription_id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: float | None
    last_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: float | None
    created_at: float
    #: The latest attempts (at most :data:`MAX_ATTEMPTS_SHOWN`), oldest first.
    history: tuple[AttemptRecord, ...] = ()


@frozen
class ClaimedDelivery:
    id: int
    subscription_id: int
    event_id: int
    #: Attempts made before this one.
    attempts: int
    #: The lease's end, which is also the claim's mark: an outcome is recorded only while
    #: the row still carries it (a replay meanwhile makes the row due again, and wins).
    lease_until: float


def _subscription(row: Sequence[Any]) -> WebhookSubscription:
    values = list(row)
    values[3] = tuple(item for item in str(values[3]).split(",") if item)
    values[4] = bool(values[4])
    return WebhookSubscription(*values)


class SqlWebhookStore:
    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._postgres = not database.is_sqlite

    # --- plumbing -------------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        if not self._postgres:
            return text
        numbers = iter(range(1, 10_000))
        return _PLACEHOLDER.sub(lambda _match: f"${next(numbers)}", text)

    async def _run(self, session: Session, text: str, *values: Any) -> Sequence[Sequence[Any]]:
        return await session.runner.fetch(self._sql(text), values)

    async def _read(self, text: str, *values: Any) -> Sequence[Sequence[Any]]:
        async with self._database.transaction(read_only=True) as session:
            return await self._run(session, text, *values)

    # --- subscriptions --------------------------------------------------------------------------

    async def create(
        self, changes: SubscriptionChanges, secret: str, after_event_id: int, now: float
    ) -> WebhookSubscription:
        async with self._database.transaction(read_only=False) as session:
            rows = await self._run(
                session,
                "INSERT INTO webhook_subscriptions (url, description, event_types, enabled, "
                "secret, after_event_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"RETURNING {_SUBSCRIPTION_COLUMNS}",
                changes.url,
                changes.description or "",
                ",".join(changes.event_types or ()),
                1 if changes.enabled is not False else 0,
                secret,
                after_event_id,
                now,
                now,
            )
            await session.commit()
        return _subscription(rows[0])

    async def all(self) -> list[WebhookSubscription]:
        rows = await self._read(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ORDER BY id"
        )
        return [_subscription(row) for row in rows]

    async def get(self, subscription_id: int) -> WebhookSubscription | None:
        rows = await self._read(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = ?",
            subscription_id,
        )
        return _subscription(rows[0]) if rows else None

    async def update(
        self, subscription_id: int, changes: SubscriptionChanges, now: float
    ) -> WebhookSubscription | None:
        """Change what is given; enabling again clears why it was disabled and its failures."""
        enabled = None if changes.enabled is None else (1 if changes.enabled else 0)
        async with self._database.transaction(read_only=False) as session:
            rows = await self._run(
                session,
                "UPDATE webhook_subscriptions SET url = coalesce(?, url), "
                "description = coalesce(?, description), "
                "event_types = coalesce(?, event_types), enabled = coalesce(?, enabled), "
                "disabled_reason = CASE WHEN ? = 1 THEN NULL ELSE disabled_reason END, "
                "failing_since = CASE WHEN ? = 1 THEN NULL ELSE failing_since END, "
                f"updated_at = ? WHERE id = ? RETURNING {_SUBSCRIPTION_COLUMNS}",
                changes.url,
                changes.description,
                None if changes.event_types is None else ",".join(changes.event_types),
                enabled,
                enabled,
                enabled,
                now,
                subscription_id,
            )
            await session.commit()
        return _subscription(rows[0]) if rows else None

    async def rotate(
        self, subscription_id: int, secret: str, previous_until: float, now: float
    ) -> WebhookSubscription | None:
        async with self._database.transaction(read_only=False) as session:
            rows = await self._run(
                session,
                "UPDATE webhook_subscriptions SET previous_secret = secret, secret = ?, "
                "previous_secret_until = ?, updated_at = ? WHERE id = ? "
                f"RETURNING {_SUBSCRIPTION_COLUMNS}",
                secret,
                previous_until,
                now,
                subscription_id,
            )
            await session.commit()
        return _subscription(rows[0]) if rows else None

    async def delete(self, subscription_id: int) -> bool:
        async with self._database.transaction(read_only=False) as session:
            await self._run(
                session,
                "DELETE FROM webhook_attempts WHERE delivery_id IN "
                "(SELECT id FROM webhook_deliveries WHERE subscription_id = ?)",
                subscription_id,
            )
            await self._run(
                session, "DELETE FROM webhook_deliveries WHERE subscription_id = ?", subscription_id
            )
            rows = await self._run(
                session,
                "DELETE FROM webhook_subscriptions WHERE id = ? RETURNING id",
                subscription_id,
            )
            await session.commit()
        return bool(rows)

    # --- the delivery log -----------------------------------------------------------------------

    async def deliveries(
        self, subscription_id: int, limit: int, before_id: int | None = None
    ) -> list[DeliveryRecord]:
        """Newest first (by delivery row), ``limit`` at most, below ``before_id`` when given;
        each with its latest attempts (two reads in one read transaction)."""
        async with self._database.transaction(read_only=True) as session:
            rows = await self._run(
                session,
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = ? "
                "AND id < ? ORDER BY id DESC LIMIT ?",
                subscription_id,
                before_id if before_id is not None else 2**63 - 1,
                limit,
            )
            if not rows:
                return []
            # The page's ids are a contiguous range of this subscription's rows: one range read.
            attempts = await self._run(
                session,
                f"SELECT {_ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_id IN ("
                "SELECT id FROM webhook_deliveries WHERE subscription_id = ? AND id BETWEEN ? AND ?"
                ") ORDER BY delivery_id, id",
                subscription_id,
                rows[-1][0],
                rows[0][0],
            )
        history: dict[int, list[AttemptRecord]] = {}
        for attempt in attempts:
            history.setdefault(int(attempt[0]), []).append(AttemptRecord(*attempt))
        return [
            evolve(
                DeliveryRecord(*row),
                history=tuple(history.get(int(row[0]), [])[-MAX_ATTEMPTS_SHOWN:]),
            )
            for row in rows
        ]

    async def schedule(
        self, subscription: WebhookSubscription, events: Sequence[StoredEvent], now: float
    ) -> int:
        """(Re)queue these events for one subscription, now, with a fresh schedule (replay):
        a delivered or failed delivery is sent again, a pending one is made due now."""
        wanted = [event.event_id for event in events if wants(subscription.event_types, event.type)]
        if not wanted:
            return 0
        async with self._database.transaction(read_only=False) as session:
            for event_id in wanted:
                await self._run(
                    session,
                    "INSERT INTO webhook_deliveries (subscription_id, event_id, status, attempts, "
                    "next_attempt_at, created_at) VALUES (?, ?, 'pending', 0, ?, ?) "
                    "ON CONFLICT (subscription_id, event_id) DO UPDATE SET status = 'pending', "
                    "attempts = 0, next_attempt_at = excluded.next_attempt_at",
                    subscription.id,
                    event_id,
                    now,
                    now,
                )
            await session.commit()
        return len(wanted)

    async def pending_count(self) -> int:
        """Deliveries not yet delivered or given up, in the whole database (the partial
        index of due deliveries holds exactly these)."""
        rows = await self._read("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        return int(rows[0][0])

    # --- the worker's side ----------------------------------------------------------------------

    async def cursor(self) -> int:
        rows = await self._read("SELECT position FROM webhook_cursor WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    async def ingest(self, position: int, events: Sequence[StoredEvent], now: float) -> bool:
        """Turn events read after ``position`` into deliveries and move the cursor past them,
        in one transaction, if the cursor is still at ``position`` (else another process did
        it first, and nothing is written). True when this call moved the cursor."""
        if not events:
            return False
        async with self._database.transaction(read_only=False) as session:
            moved = await self._run(
                session,
                "UPDATE webhook_cursor SET position = ? WHERE id = 1 AND position = ? "
                "RETURNING position",
                events[-1].event_id,
                position,
            )
            if not moved:
                return False
            rows = await self._run(
                session,
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE enabled = 1",
            )
            for subscription in map(_subscription, rows):
                wanted = [
                    event.event_id
                    for event in events
                    if event.event_id > subscription.after_event_id
                    and wants(subscription.event_types, event.type)
                ]
                if wanted:
                    # One statement for the batch: the SQLite writer's turn stays short.
                    rows_sql = ", ".join(["(?, ?, 'pending', 0, ?, ?)"] * len(wanted))
                    values = [
                        value
                        for event_id in wanted
                        for value in (subscription.id, event_id, now, now)
                    ]
                    await self._run(
                        session,
                        "INSERT INTO webhook_deliveries (subscription_id, event_id, status, "
                        f"attempts, next_attempt_at, created_at) VALUES {rows_sql} "
                        "ON CONFLICT (subscription_id, event_id) DO NOTHING",
                        *values,
                    )
            await session.commit()
        return True

    async def skip_to(self, position: int, latest: int) -> None:
        """With no subscription enabled, nothing is owed: move the cursor to the end (if the
        database still has none enabled: the caller's list may be a moment old)."""
        if latest <= position:
            return
        async with self._database.transaction(read_only=False) as session:
            await self._run(
                session,
                "UPDATE webhook_cursor SET position = ? WHERE id = 1 AND position = ? "
                "AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled = 1)",
                latest,
                position,
            )
            await session.commit()

    async def enabled(self) -> list[WebhookSubscription]:
        rows = await self._read(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE enabled = 1 "
            "ORDER BY id"
        )
        return [_subscription(row) for row in rows]

    async def due_subscriptions(self, subscription_ids: Sequence[int], now: float) -> list[int]:
        """Those of the subscriptions with a delivery due (a read, one index probe each:
        claims are writes, made only for these)."""
        due = []
        async with self._database.transaction(read_only=True) as session:
            for subscription_id in subscription_ids:
                if await self._run(
                    session,
                    "SELECT 1 FROM webhook_deliveries WHERE subscription_id = ? "
                    "AND status = 'pending' AND next_attempt_at <= ? LIMIT 1",
                    subscription_id,
                    now,
                ):
                    due.append(subscription_id)  # noqa: PERF401 - an await per item
        return due

    async def claim(
        self, subscription_id: int, limit: int, now: float, lease_until: float
    ) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of one subscription, oldest event first: they
        are not due again until ``lease_until``, so no other process sends them meanwhile (and
        if this one dies, they are due again then)."""
        lock = " FOR UPDATE SKIP LOCKED" if self._postgres else ""
        async with self._database.transaction(read_only=False) as session:
            rows = await self._run(
                session,
                "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN ("
                "SELECT id FROM webhook_deliveries WHERE subscription_id = ? "
                "AND status = 'pending' AND next_attempt_at <= ? "
                f"ORDER BY next_attempt_at LIMIT ?{lock}) "
                "RETURNING id, subscription_id, event_id, attempts",
                lease_until,
                subscription_id,
                now,
                limit,
            )
            await session.commit()
        claimed = (
            ClaimedDelivery(int(row[0]), int(row[1]), int(row[2]), int(row[3]), lease_until)
            for row in rows
        )
        return sorted(claimed, key=lambda delivery: delivery.event_id)

    async def record(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Write what the attempts gave, and a ``webhook_attempts`` row for each, in one
        transaction. An outcome whose claim was overtaken (a replay made the delivery due again
        meanwhile) is not recorded: the replay's own attempt will be."""
        if not outcomes:
            return
        async with self._database.transaction(read_only=False) as session:
            history: list[Any] = []
            for outcome in outcomes:
                updated = await self._run(
                    session,
                    "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
                    "next_attempt_at = ?, last_attempt_at = ?, last_status_code = ?, "
                    "last_error = ?, last_latency_ms = ? "
                    "WHERE id = ? AND status = 'pending' AND next_attempt_at = ? "
                    "RETURNING attempts",
                    outcome.status,
                    outcome.next_attempt_at,
                    outcome.attempted_at,
                    outcome.status_code,
                    outcome.error,
                    outcome.latency_ms,
                    outcome.delivery_id,
                    outcome.lease_until,
                )
                if updated:
                    history += (
                        outcome.delivery_id,
                        int(updated[0][0]),
                        outcome.started_at,
                        outcome.status_code,
                        outcome.error,
                        outcome.latency_ms,
                        outcome.next_attempt_at,
                    )
            if history:
                # One statement for the batch's attempt rows.
                rows_sql = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * (len(history) // 7))
                await self._run(
                    session,
                    f"INSERT INTO webhook_attempts ({_ATTEMPT_COLUMNS}) VALUES {rows_sql}",
                    *history,
                )
            # Per subscription, its latest outcome says whether it is failing (one statement
            # each, however many deliveries the batch holds).
            latest = {outcome.subscription_id: outcome for outcome in outcomes}
            for subscription_id, outcome in latest.items():
                delivered = outcome.status == "delivered"
                await self._run(
                    session,
                    "UPDATE webhook_subscriptions SET failing_since = CASE WHEN ? = 1 THEN NULL "
                    "ELSE coalesce(failing_since, ?) END WHERE id = ?",
                    1 if delivered else 0,
                    outcome.attempted_at,
                    subscription_id,
                )
            for outcome in outcomes:
                if outcome.disable_reason is not None:
                    await self._run(
                        session,
                        "UPDATE webhook_subscriptions SET enabled = 0, disabled_reason = ?, "
                        "updated_at = ? WHERE id = ? AND enabled = 1",
                        outcome.disable_reason,
                        outcome.attempted_at,
                        outcome.subscription_id,
                    )
            await session.commit()


@frozen
class DeliveryOutcome:
    """One attempt's result, to be recorded."""

    delivery_id: int
    subscription_id: int
    lease_until: float
    #: ``delivered``, ``pending`` (to be retried at ``next_attempt_at``) or ``failed``.
    status: str
    next_attempt_at: float | None
    attempted_at: float
    status_code: int | None
    error: str | None
    latency_ms: float | None
    #: When the attempt started (``attempted_at`` is when its outcome was known).
    started_at: float
    disable_reason: str | None = None

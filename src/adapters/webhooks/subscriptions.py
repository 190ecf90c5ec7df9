"""Managing webhook subscriptions: what the admin API calls.

Secrets are made here (``whsec_`` and 32 random bytes in base64, the form the
``standardwebhooks`` libraries read) and returned only by :meth:`create` and :meth:`rotate`.
A rotated-out secret keeps signing for :data:`ROTATION_OVERLAP_SECONDS`, so receivers can
switch without losing a delivery.

A URL is checked when it is given, on its text (the core) and on its host: it must be in the
operator's host list, if there is one, and, unless private addresses are allowed, resolve to
public addresses only. Delivery checks the address it connects to again
(:mod:`agent_booking.adapters.webhooks.addresses`), since DNS answers change.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from agent_booking.adapters.fanout import EventLog
from agent_booking.adapters.sql.webhook_store import (
    DeliveryRecord,
    SqlWebhookStore,
    WebhookSubscription,
)
from agent_booking.adapters.webhooks.addresses import Resolver, host_allowed, is_public, resolve
from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import InvalidField, WebhookNotFound, WebhookUrlRefused
from agent_booking.core.webhooks import SubscriptionChanges

__all__ = ["ROTATION_OVERLAP_SECONDS", "WebhookSubscriptions"]

ROTATION_OVERLAP_SECONDS = 24 * 3600
_RESOLVE_SECONDS = 5.0
_REPLAY_BATCH = 500


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscriptions:
    def __init__(
        self,
        store: SqlWebhookStore,
        outbox: EventLog,
        resolver: Resolver,
        *,
        allow_http: bool,
        allow_private: bool,
        allowed_hosts: tuple[str, ...],
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._resolver = resolver
        self._allow_http = allow_http
        self._allow_private = allow_private
        self._allowed_hosts = allowed_hosts
        self._clock = clock
        self._on_change = on_change

    async def create(self, body: Mapping[str, Any]) -> tuple[WebhookSubscription, str]:
        changes = SubscriptionChanges.parse(body, allow_http=self._allow_http, creating=True)
        await self._check_host(changes.url or "")
        secret = new_secret()
        after = await self._outbox.latest_id()
        created = await self._store.create(changes, secret, after, self._clock())
        self._on_change()
        return created, secret

    async def all(self) -> list[WebhookSubscription]:
        return await self._store.all()

    async def get(self, subscription_id: int) -> WebhookSubscription:
        found = await self._store.get(subscription_id) if 0 < subscription_id <= MAX_ID else None
        if found is None:
            raise WebhookNotFound
        return found

    async def update(self, subscription_id: int, body: Mapping[str, Any]) -> WebhookSubscription:
        await self.get(subscription_id)
        changes = SubscriptionChanges.parse(body, allow_http=self._allow_http, creating=False)
        if changes.url is not None:
            await self._check_host(changes.url)
        updated = await self._store.update(subscription_id, changes, self._clock())
        if updated is None:
            raise WebhookNotFound
        self._on_change()
        return updated

    async def delete(self, subscription_id: int) -> None:
        await self.get(subscription_id)
        if not await self._store.delete(subscription_id):
            raise WebhookNotFound
        self._on_change()

    async def rotate(self, subscription_id: int) -> tuple[WebhookSubscription, str]:
        await self.get(subscription_id)
        secret = new_secret()
        now = self._clock()
        rotated = await self._store.rotate(
            subscription_id, secret, now + ROTATION_OVERLAP_SECONDS, now
        )
        if rotated is None:
            raise WebhookNotFound
        self._on_change()  # this process signs with the new secret from its next round on
        return rotated, secret

    async def deliveries(
        self, subscription_id: int, limit: int, before_id: int | None
    ) -> list[DeliveryRecord]:
        await self.get(subscription_id)
        return await self._store.deliveries(subscription_id, limit, before_id)

    async def replay(self, subscription_id: int, body: Mapping[str, Any]) -> int:
        """Send again one event (``{"event_id": n}``) or every event after one
        (``{"since": n}``; ``0`` is the whole outbox) that the subscription wants. Only events
        already turned into deliveries count; later ones are on their way anyway."""
        subscription = await self.get(subscription_id)
        if set(body) not in ({"event_id"}, {"since"}):
            raise InvalidField("body", 'must be {"event_id": <id>} or {"since": <id>}')
        ((name, value),) = body.items()
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
            raise InvalidField(name, f"must be a whole number from 0 to {MAX_ID}")
        cursor = await self._store.cursor()
        now = self._clock()
        if name == "event_id":
            found = await self._outbox.after(value - 1, 1) if value > 0 else []
            if not found or found[0].event_id != value or value > cursor:
                raise InvalidField("event_id", "no such event has been delivered yet")
            scheduled = await self._store.schedule(subscription, found, now)
        else:
            scheduled, position = 0, value
            while position < cursor:
                read = await self._outbox.after(position, _REPLAY_BATCH)
                batch = [event for event in read if event.event_id <= cursor]
                if not batch:
                    break
                scheduled += await self._store.schedule(subscription, batch, now)
                position = batch[-1].event_id
        self._on_change()
        return scheduled

    async def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host_allowed(host, self._allowed_hosts):
            raise WebhookUrlRefused(f"{host} is not in BOOKING_WEBHOOK_ALLOWED_HOSTS")
        if self._allow_private:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(_RESOLVE_SECONDS):
                addresses = await resolve(self._resolver, host, port)
        except (OSError, TimeoutError):
            raise WebhookUrlRefused(f"{host} does not resolve") from None
        private = [address for address in addresses if not is_public(address)]
        if private or not addresses:
            raise WebhookUrlRefused(
                f"{host} resolves to {private[0] if private else 'nothing'}, which is not a "
                "public address (BOOKING_WEBHOOK_ALLOW_PRIVATE)"
            )

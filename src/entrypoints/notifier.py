"""The default notifier until WebSocket fan-out exists: it records committed events in the log.

The booking is already committed and its event is already in the outbox when ``publish`` is
called, so a notifier that only logs loses nothing: dashboards will read the outbox. Keeping this
honest (it announces nothing to anyone) is better than pretending to notify.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from booking_core.events import StoredEvent

__all__ = ["LoggingNotifier"]

_log = logging.getLogger(__name__)


class LoggingNotifier:
    """Satisfies :class:`booking_core.ports.Notifier` by logging each event at INFO."""

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        for event in events:
            _log.info("event %s #%d committed", event.type, event.event_id)

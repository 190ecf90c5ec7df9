"""``GET /metrics``: this process's counters in the Prometheus text format (version 0.0.4).

Metrics are **per process**. With ``--workers N`` each worker keeps its own and a scrape reaches
whichever worker accepts it, so scrape each worker (or sum over a ``rate()`` and accept the
sampling) rather than reading one answer as the service's total.

- ``booking_bookings_created_total``: bookings this process committed (counted on the event it
  publishes after the commit, so an idempotent replay is not counted twice).
- ``booking_rejections_total{code}``: requests refused with a client error (4xx) by the booking
  rules or validation (``slot_taken``, ``off_day``, ``invalid_body``…, and the admin API's own);
  outages (5xx) and the HTTP layer's refusals (401, 403, 415, 429) are not counted here.
- ``booking_http_request_duration_seconds{route,method,status_class}``: a histogram; ``route``
  is the matched route template (``unmatched`` for 404/405), so its labels stay bounded.
- ``booking_client_disconnects_total{route,method}``: requests whose client went away before
  they were answered (mid-body, or cut off by the body deadline). They are not in the
  histogram: no answer was sent, and the client's leaving is no server error (no ``5xx``).
- ``booking_websocket_clients``: dashboards connected to this process now.
- ``booking_event_lag_seconds``: how old the newest outbox event was when this process relayed
  it to its dashboards (commit-to-relay latency). Absent until this process first relays an
  event: with no dashboard connected it reads no events, so there is nothing to measure.
- ``booking_webhook_deliveries_total{outcome}``: webhook attempts this process made, by what
  they gave: ``succeeded`` (a 2xx), ``retried`` (failed, another attempt is scheduled) or
  ``failed`` (failed for good: the schedule ran out, or 410 Gone).
- ``booking_webhook_delivery_duration_seconds``: a histogram of those attempts' latency.
- ``booking_webhook_pending_deliveries``: deliveries waiting to be sent or retried, in the
  whole database (every process answers the same; not per process). Absent when the database
  cannot be read, and on an app without the SQL database (no webhooks).
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.types import Scope

from agent_booking.adapters.fanout import EventFanout
from agent_booking.core.errors import BookingError
from agent_booking.core.events import BOOKING_CREATED, StoredEvent
from agent_booking.core.ports import Notifier
from agent_booking.entrypoints.http.errors import status_for
from agent_booking.entrypoints.http.openapi import DocumentedOperation, refusals

if TYPE_CHECKING:
    from agent_booking.adapters.sql.webhook_store import DeliveryOutcome

__all__ = ["METRICS_PATH", "CountingNotifier", "Metrics", "metrics_routes"]

METRICS_PATH = "/metrics"
#: Litestar appends the charset to text/* media types itself.
_CONTENT_TYPE = "text/plain; version=0.0.4"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: A delivery outcome's status, as the webhook counter names it.
_WEBHOOK_OUTCOMES = {"delivered": "succeeded", "pending": "retried", "failed": "failed"}
_log = logging.getLogger(__name__)


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(_BUCKETS, value)] += 1
        self.total += value


class Metrics:
    """The counters of one process; updated in the event loop, so no locking is needed."""

    def __init__(self) -> None:
        self.bookings_created = 0
        self.rejections: Counter[str] = Counter()
        self.client_disconnects: Counter[tuple[str, str]] = Counter()
        self._durations: dict[tuple[str, str, str], _Histogram] = {}
        #: HTTP requests this process is serving now (the webhook worker yields to many).
        self.requests_in_flight = 0
        self.webhook_outcomes: Counter[str] = Counter()
        self._webhook_latency = _Histogram()

    def observe_webhook(self, outcome: DeliveryOutcome) -> None:
        """One webhook attempt's outcome (the delivery worker's ``observe`` hook)."""
        self.webhook_outcomes[_WEBHOOK_OUTCOMES.get(outcome.status, outcome.status)] += 1
        if outcome.latency_ms is not None:
            self._webhook_latency.observe(outcome.latency_ms / 1000)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else "other"
        key = (route, method, f"{status // 100}xx")
        self._durations.setdefault(key, _Histogram()).observe(seconds)

    def count_client_disconnect(self, route: str, method: str) -> None:
        """A request whose client went away before it was answered."""
        self.client_disconnects[route, method if method in _KNOWN_METHODS else "other"] += 1

    async def after_exception(self, error: BaseException, scope: Scope) -> None:
        """A Litestar ``after_exception`` hook: counts client-error refusals by code."""
        del scope
        if isinstance(error, BookingError):
            status = status_for(error)
            if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                self.count_refusal(error.code)

    def count_refusal(self, code: str) -> None:
        """A request refused with a client error (4xx) of this code."""
        self.rejections[code] += 1

    def exposition(
        self,
        *,
        websocket_clients: int,
        event_lag_seconds: float | None,
        webhook_pending: int | None = None,
    ) -> str:
        lines = [
            *_header("booking_bookings_created_total", "counter", "Bookings committed."),
            f"booking_bookings_created_total {self.bookings_created}",
            *_header("booking_rejections_total", "counter", "Booking requests refused, by code."),
            *(
                f"booking_rejections_total{_labels(code=code)} {count}"
                for code, count in sorted(self.rejections.items())
            ),
            *_header(
                "booking_http_request_duration_seconds", "histogram", "HTTP request duration."
            ),
        ]
        for (route, method, status_class), histogram in sorted(self._durations.items()):
            lines.extend(_histogram_lines(route, method, status_class, histogram))
        lines += [
            *_header(
                "booking_client_disconnects_total",
                "counter",
                "Requests whose client went away before they were answered.",
            ),
            *(
                f"booking_client_disconnects_total{_labels(route=route, method=method)} {count}"
                for (route, method), count in sorted(self.client_disconnects.items())
            ),
        ]
        lines += [
            *_header("booking_websocket_clients", "gauge", "Dashboards connected now."),
            f"booking_websocket_clients {websocket_clients}",
            *_header("booking_event_lag_seconds", "gauge", "Age of the newest event when relayed."),
        ]
        if event_lag_seconds is not None:
            lines.append(f"booking_event_lag_seconds {event_lag_seconds:.6f}")
        lines += [
            *_header(
                "booking_webhook_deliveries_total",
                "counter",
                "Webhook attempts by outcome (succeeded, retried, failed).",
            ),
            *(
                f"booking_webhook_deliveries_total{_labels(outcome=outcome)} "
                f"{self.webhook_outcomes[outcome]}"
                for outcome in sorted(_WEBHOOK_OUTCOMES.values())
            ),
            *_header(
                "booking_webhook_delivery_duration_seconds",
                "histogram",
                "Webhook attempt latency.",
            ),
            *_histogram_series(
                "booking_webhook_delivery_duration_seconds", {}, self._webhook_latency
            ),
            *_header(
                "booking_webhook_pending_deliveries",
                "gauge",
                "Webhook deliveries waiting to be sent or retried (whole database).",
            ),
        ]
        if webhook_pending is not None:
            lines.append(f"booking_webhook_pending_deliveries {webhook_pending}")
        return "\n".join(lines) + "\n"


class CountingNotifier:
    """Wraps the core's notifier: counts created bookings as their events are published."""

    def __init__(self, inner: Notifier, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        self._metrics.bookings_created += sum(event.type == BOOKING_CREATED for event in events)
        await self._inner.publish(events)


def metrics_routes(
    metrics: Metrics,
    fanout: EventFanout,
    webhook_pending: Callable[[], Awaitable[int]] | None = None,
) -> list[HTTPRouteHandler]:
    @get(
        METRICS_PATH,
        name="metrics",
        media_type=MediaType.TEXT,  # documented as text/plain; answered with its version below
        operation_id="metrics",
        tags=["operations"],
        summary="This process's metrics, Prometheus text format 0.0.4",
        description=(
            "Per process: with several workers each keeps its own, and a scrape reaches "
            "whichever worker accepts it. Counters: `booking_bookings_created_total`, "
            "`booking_rejections_total{code}`, "
            "`booking_http_request_duration_seconds{route,method,status_class}` (histogram), "
            "`booking_client_disconnects_total{route,method}`, "
            "`booking_websocket_clients`, `booking_event_lag_seconds`, "
            "`booking_webhook_deliveries_total{outcome}`, "
            "`booking_webhook_delivery_duration_seconds` (histogram), "
            "`booking_webhook_pending_deliveries` (whole database)."
        ),
        responses=refusals(),
        operation_class=DocumentedOperation,
    )
    async def scrape() -> Response[str]:
        pending = None
        if webhook_pending is not None:
            try:
                pending = await webhook_pending()
            except Exception as error:  # a scrape still answers without it
                _log.warning("webhook backlog unreadable for /metrics: %r", error)
        text = metrics.exposition(
            websocket_clients=fanout.subscriber_count,
            event_lag_seconds=fanout.relay_lag_seconds,
            webhook_pending=pending,
        )
        return Response(text, media_type=_CONTENT_TYPE)

    return [scrape]


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")

    return "{" + ",".join(f'{name}="{escape(value)}"' for name, value in labels.items()) + "}"


def _histogram_lines(
    route: str, method: str, status_class: str, histogram: _Histogram
) -> list[str]:
    labels = {"route": route, "method": method, "status_class": status_class}
    return _histogram_series("booking_http_request_duration_seconds", labels, histogram)


def _histogram_series(name: str, labels: dict[str, str], histogram: _Histogram) -> list[str]:
    lines = []
    cumulative = 0
    for bound, count in zip((*map(str, _BUCKETS), "+Inf"), histogram.counts, strict=True):
        cumulative += count
        lines.append(f"{name}_bucket{_labels(**labels, le=bound)} {cumulative}")
    suffix = _labels(**labels) if labels else ""
    lines.append(f"{name}_sum{suffix} {histogram.total:.6f}")
    lines.append(f"{name}_count{suffix} {cumulative}")
    return lines

"""The webhook lines of ``/metrics``: attempts by outcome, their latency, the backlog."""

from __future__ import annotations

from agent_booking.adapters.sql.webhook_store import DeliveryOutcome
from agent_booking.entrypoints.http.metrics import Metrics


def _outcome(status: str, latency_ms: float | None) -> DeliveryOutcome:
    return DeliveryOutcome(
        delivery_id=1,
        subscription_id=1,
        lease_until=10.0,
        status=status,
        next_attempt_at=None,
        attempted_at=5.0,
        status_code=None,
        error="refused",
        latency_ms=latency_ms,
        started_at=4.0,
    )


def _samples(text: str) -> dict[str, str]:
    return dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("booking_webhook_")
    )


class TestWebhookMetrics:
    def test_each_outcome_is_counted_under_its_name(self) -> None:
        metrics = Metrics()
        for status in ("delivered", "pending", "pending", "failed"):
            metrics.observe_webhook(_outcome(status, 20.0))

        samples = _samples(metrics.exposition(websocket_clients=0, event_lag_seconds=None))

        assert samples['booking_webhook_deliveries_total{outcome="succeeded"}'] == "1"
        assert samples['booking_webhook_deliveries_total{outcome="retried"}'] == "2"
        assert samples['booking_webhook_deliveries_total{outcome="failed"}'] == "1"

    def test_latency_is_a_histogram_in_seconds(self) -> None:
        metrics = Metrics()
        metrics.observe_webhook(_outcome("delivered", 3.0))  # 0.003 s
        metrics.observe_webhook(_outcome("pending", 700.0))  # 0.7 s
        metrics.observe_webhook(_outcome("failed", None))  # no attempt made: no latency

        samples = _samples(metrics.exposition(websocket_clients=0, event_lag_seconds=None))

        name = "booking_webhook_delivery_duration_seconds"
        assert samples[f'{name}_bucket{{le="0.005"}}'] == "1"
        assert samples[f'{name}_bucket{{le="0.5"}}'] == "1"
        assert samples[f'{name}_bucket{{le="1.0"}}'] == "2"
        assert samples[f'{name}_bucket{{le="+Inf"}}'] == "2"
        assert samples[f"{name}_count"] == "2"
        assert float(samples[f"{name}_sum"]) == 0.703

    def test_the_backlog_is_shown_when_known(self) -> None:
        metrics = Metrics()
        known = metrics.exposition(websocket_clients=0, event_lag_seconds=None, webhook_pending=7)
        unknown = metrics.exposition(websocket_clients=0, event_lag_seconds=None)

        assert _samples(known)["booking_webhook_pending_deliveries"] == "7"
        assert "booking_webhook_pending_deliveries" not in _samples(unknown)
        assert "# TYPE booking_webhook_pending_deliveries gauge" in unknown

"""Ceiling: the service's HTTP stack answering the create request with no database work.

Same Litestar app shell and the same direct lane in front of it that serves the create path in the
service (``agent_booking.entrypoints.http.booking_endpoint.BookingLane``, with nothing configured
for agent access), same uvicorn with the options ``booking serve`` uses (one worker, access log
off), same path and method, the body read and decoded the way the real endpoint does (the same
``json_object``: msgspec, must be a JSON object), and a ``201`` with a body of the real response's
shape and size. What the real server does on top of this is the booking itself: validation, policy,
storage and the outbox, plus the request-id/metrics edge.

    python -m bench.ceiling_app --port 8001
"""

from __future__ import annotations

import argparse
import gc

import msgspec
import uvicorn
from litestar import Litestar, get

from agent_booking.entrypoints.cli.server import uvicorn_options
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.connection_limits import ConnectionLimits
from agent_booking.entrypoints.http.agent_access import AgentAccess
from agent_booking.entrypoints.http.booking_endpoint import Answer, BookingLane, json_object

__all__ = ["create_app"]

_CANNED = msgspec.json.encode(
    {
        "success": True,
        "message": "Booking created successfully",
        "user_created": None,
        "user_id": None,
        "booking_id": 424242,
        "data": {
            "booking": {
                "id": 424242,
                "service_name": "Consultation",
                "booking_date": "2027-01-05",
                "booking_time": "10:01:00",
                "status": "upcoming",
                "notes": "",
                "created_at": "2026-11-25T11:07:40Z",
            },
            "user": {  # as the service answers a caller without an API key: the request's
                "id": None,
                "username": "+10000004242",
                "first_name": "Bench",
                "last_name": "Load",
                "email": "bench@example.com",
                "phone": "+10000004242",
                "is_active": None,
                "created": None,
            },
        },
    }
)


class CannedEndpoint:
    """Decodes the body as the real endpoint does, then answers the canned 201."""

    async def answer(
        self,
        *,
        content_type: str | None,
        idempotency_key: str | None,
        raw_body: bytes,
        trusted: bool,
    ) -> Answer:
        del content_type, idempotency_key, trusted
        json_object(raw_body)  # the benchmark only sends valid bodies
        return Answer(201, _CANNED)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    app = Litestar(route_handlers=[health], debug=False, logging_config=None, openapi_config=None)
    open_access = AgentAccess(limiter=None, api_keys=(), allowed_networks=(), trusted_proxies=())
    app.asgi_handler = BookingLane(
        app.asgi_handler,
        CannedEndpoint(),
        open_access,
        max_body_bytes=64 * 1024,
        cors_enabled=False,
    )
    gc.collect()
    gc.freeze()  # as agent_booking.entrypoints.asgi does for the service
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="The HTTP-only ceiling server.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bench.ceiling_app:create_app",
        factory=True,
        **uvicorn_options(
            host="127.0.0.1",
            port=args.port,
            workers=1,
            level="WARNING",
            limits=ConnectionLimits.from_config(AppConfig()),
        ),
    )


if __name__ == "__main__":
    main()

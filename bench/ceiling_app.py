"""Ceiling: the service's HTTP stack answering the create request with no database work.

Same Litestar, same uvicorn with the options ``booking serve`` uses (one worker, access log
off), same route path and method, the body read and decoded the way the real handler does
(``msgspec``, must be a JSON object), and a ``201`` with a body of the real response's shape
and size. What the real server does on top of this is the booking itself: validation, policy,
storage and the outbox, plus the project's own middleware.

    python -m bench.ceiling_app --port 8001
"""

from __future__ import annotations

import argparse
import gc
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, Request, Response, get, post

from entrypoints.cli.server import uvicorn_options
from entrypoints.http.routes import BOOKING_CREATE_PATH

__all__ = ["create_app"]

_UTF8_BOM = b"\xef\xbb\xbf"
_CANNED = msgspec.json.encode(
    {
        "success": True,
        "message": "Booking created successfully",
        "user_created": False,
        "user_id": 4242,
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
            "user": {
                "id": 4242,
                "username": "+10000004242",
                "first_name": "Known",
                "last_name": "Customer4242",
                "email": "customer4242@example.com",
                "phone": "+10000004242",
                "is_active": True,
                "created": False,
            },
        },
    }
)


@post(BOOKING_CREATE_PATH, status_code=201)
async def create_booking(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = msgspec.json.decode((await request.body()).removeprefix(_UTF8_BOM))
    if not isinstance(body, dict):
        return Response(b'{"success":false}', status_code=400, media_type="application/json")
    return Response(_CANNED, status_code=201, media_type="application/json")


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    app = Litestar(
        route_handlers=[create_booking, health], debug=False, logging_config=None,
        openapi_config=None,
    )  # fmt: skip
    gc.collect()
    gc.freeze()  # as entrypoints.asgi does for the service
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="The HTTP-only ceiling server.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        "bench.ceiling_app:create_app",
        factory=True,
        **uvicorn_options(host="127.0.0.1", port=args.port, workers=1, level="WARNING"),
    )


if __name__ == "__main__":
    main()

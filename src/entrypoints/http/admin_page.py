"""``/admin/``: the admin dashboard, plain HTML, CSS and JavaScript modules served as files.

There is no front-end build step: the files under ``static/admin`` are what the browser runs, and
they ship inside the package (``package-data``), so an installed service serves the same page as
a checkout. The page holds no secret; it asks for the admin token and talks to the admin API and
the WebSocket feed like any other client.

Assets are served with ``Cache-Control: no-cache``: browsers may keep them but revalidate, so an
upgraded service never runs against a stale ``app.js``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from agent_booking.entrypoints.http.errors import framework_error

__all__ = ["ADMIN_PAGE_PATH", "STATIC_DIRECTORY", "admin_page_routes"]

#: The dashboard's address; the bare ``/admin`` redirects here so relative asset URLs resolve.
ADMIN_PAGE_PATH = "/admin/"
#: The page's files, resolved from this module so an installed package finds its own copy.
STATIC_DIRECTORY = Path(__file__).resolve().parent / "static" / "admin"

_BARE_PATH = ADMIN_PAGE_PATH.rstrip("/")


def _page_files() -> frozenset[str]:
    """The paths below ``/admin/`` that name a file of the page ("" is the page itself)."""
    files = {path.relative_to(STATIC_DIRECTORY).as_posix() for path in STATIC_DIRECTORY.rglob("*")}
    return frozenset({"", *files})


def _before_request(
    files: frozenset[str],
) -> Callable[[Request[Any, Any, Any]], Awaitable[Response[Any] | None]]:
    async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
        """Redirect ``/admin`` to ``/admin/``, and answer 404 for anything but the page's files.

        Litestar routes ``/admin`` and ``/admin/`` alike; only the latter is the page's URL, so
        the check reads the path as the client sent it (``raw_path``, which ASGI servers set;
        Litestar strips the trailing slash from ``scope["path"]``). Only the known files are
        handed to the file system: a NUL or an over-long name in the URL would otherwise reach
        ``open()`` and fail as a server error.
        """
        raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
        if raw_path.rstrip(b"/") == _BARE_PATH.encode() and not raw_path.endswith(b"/"):
            return Redirect(ADMIN_PAGE_PATH)
        if request.scope["path"].removeprefix(_BARE_PATH).strip("/") not in files:
            return framework_error(HTTPStatus.NOT_FOUND)
        return None

    return before_request


def admin_page_routes() -> list[Router]:
    return [
        create_static_files_router(
            path=_BARE_PATH,
            directories=[STATIC_DIRECTORY],
            html_mode=True,
            name="admin_page",
            before_request=_before_request(_page_files()),
            cache_control=CacheControlHeader(no_cache=True),
        )
    ]

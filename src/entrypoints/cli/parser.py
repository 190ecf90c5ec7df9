"""The ``booking`` command line: sub-commands, options and their value types.

Option values are parsed here with the core's own parsers, so a bad ``--open 25:00`` is refused
by argparse with the core's message before anything touches the database.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pendulum

from agent_booking.core.errors import BookingError
from agent_booking.core.parsing import parse_time
from agent_booking.core.settings import parse_closed_dates, parse_off_days

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_T = TypeVar("_T")
_raw = argparse.RawDescriptionHelpFormatter

_EPILOG = """\
exit codes:
  0  success
  1  the command failed (database unreachable, no booking settings, migration failed, ...)
  2  invalid command line, configuration (BOOKING_* variables) or setting values,
     or a backup that cannot be made as asked (PATH exists, PostgreSQL URL)

Configuration comes from BOOKING_* environment variables; see entrypoints/config.py.
The embedded SQLite database is migrated by 'serve' and 'settings'; PostgreSQL only by 'migrate'.
"""


class UsageError(Exception):
    """The command line asks for something that cannot be done as asked (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line (plus a hint), like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _core_value(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """Adapt a core parser to argparse, turning its error into argparse's message."""

    def convert(text: str) -> _T:
        try:
            return parse(text)
        except BookingError as error:
            raise argparse.ArgumentTypeError(error.message) from None

    return convert


def _clock_time(text: str) -> pendulum.Time:
    try:
        return parse_time(text)
    except BookingError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (use HH:MM)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="booking",
        description=(
            "Agent booking service: run the server, migrate, back up the database, edit settings."
        ),
        epilog=_EPILOG,
        formatter_class=_raw,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the HTTP server", epilog=_EPILOG, formatter_class=_raw
    )
    serve.add_argument("--host", default="localhost", help="interface to bind (%(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (%(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (%(default)s)")
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        help="overrides BOOKING_LOG_LEVEL",
    )

    mcp = commands.add_parser(
        "mcp",
        help="serve the agent tools over MCP on stdin/stdout (for local MCP clients)",
        epilog=_EPILOG,
        formatter_class=_raw,
    )
    mcp.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        help="overrides BOOKING_LOG_LEVEL (logs go to stderr)",
    )

    commands.add_parser(
        "migrate",
        help="upgrade the database schema to the latest version",
        epilog=_EPILOG,
        formatter_class=_raw,
    )

    backup = commands.add_parser(
        "backup",
        help="copy the embedded SQLite database to PATH while the server runs",
        epilog=_EPILOG,
        formatter_class=_raw,
    )
    backup.add_argument("path", metavar="PATH", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")

    settings = commands.add_parser("settings", help="show or change the business settings")
    settings_commands = settings.add_subparsers(
        dest="settings_command", required=True, metavar="ACTION"
    )
    show = settings_commands.add_parser(
        "show", help="print the active settings", epilog=_EPILOG, formatter_class=_raw
    )
    show.add_argument("--json", action="store_true", help="print them as one JSON object")

    change = settings_commands.add_parser(
        "set",
        help="change some settings (the others keep their value)",
        epilog=_EPILOG,
        formatter_class=_raw,
    )
    change.add_argument("--open", dest="open_time", type=_clock_time, metavar="HH:MM")
    change.add_argument("--close", dest="close_time", type=_clock_time, metavar="HH:MM")
    change.add_argument(
        "--off-days",
        type=_core_value(parse_off_days),
        metavar="DAYS",
        help="closed weekdays, e.g. sun,sat, or none",
    )
    change.add_argument("--slot-minutes", type=int, metavar="N", help="length of one slot")
    change.add_argument("--timezone", metavar="ZONE", help="e.g. Europe/Berlin")
    change.add_argument(
        "--horizon-days", type=int, metavar="N", help="how many days ahead one can book"
    )
    change.add_argument(
        "--closed-dates",
        type=_core_value(parse_closed_dates),
        metavar="DATES",
        help="holidays, e.g. 2026-12-25,2027-01-01, or none (replaces the list)",
    )
    change.add_argument(
        "--cancel-notice-minutes",
        type=int,
        metavar="N",
        help="callers may cancel a booking only N minutes or more before it starts",
    )
    change.add_argument(
        "--reschedule-notice-minutes",
        type=int,
        metavar="N",
        help="callers may move a booking only N minutes or more before it starts",
    )
    change.add_argument(
        "--unknown-services",
        choices=("accept", "reject"),
        help="a service name the catalog does not know: book it as free text (accept) or "
        "refuse it with unknown_service (reject)",
    )
    change.add_argument("--json", action="store_true", help="print the result as JSON")

    phones = commands.add_parser("phones", help="re-read stored phones (BOOKING_DEFAULT_REGION)")
    phones_commands = phones.add_subparsers(dest="phones_command", required=True, metavar="ACTION")
    normalise = phones_commands.add_parser(
        "normalise",
        help="store every phone in E.164 as BOOKING_DEFAULT_REGION reads it; report collisions",
        epilog=_EPILOG,
        formatter_class=_raw,
    )
    normalise.add_argument("--dry-run", action="store_true", help="only report, change nothing")
    normalise.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser

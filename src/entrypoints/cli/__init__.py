"""The ``booking`` command: ``serve``, ``mcp``, ``migrate``, ``backup``, ``settings show|set``,
``phones normalise``.

Every failure ends as one line on stderr and a documented exit code (see ``booking --help``);
tracebacks go to the log at DEBUG level only, because operators need the cause, not our stack.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from agent_booking.core.errors import BookingError, InvalidSettings
from agent_booking.entrypoints.cli.parser import EXIT_FAILURE, EXIT_USAGE, UsageError, build_parser
from agent_booking.entrypoints.config import AppConfig, ConfigError
from agent_booking.entrypoints.logging_setup import configure_logging

__all__ = ["main"]

_log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace, AppConfig], int]


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (the ``booking`` console script)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported by argparse
        return _exit_code(stop)
    try:
        config = AppConfig.from_env()
    except ConfigError as error:
        return _fail(f"invalid configuration: {error}", EXIT_USAGE)
    configure_logging(
        getattr(args, "log_level", None) or config.log_level, access_log=config.access_log
    )
    try:
        return _command(args)(args, config)
    except (UsageError, InvalidSettings) as error:
        return _fail(str(error), EXIT_USAGE)
    except BookingError as error:
        cause = f" ({_one_line(error.__cause__)})" if error.__cause__ else ""
        return _fail(error.message + cause, EXIT_FAILURE)
    except SystemExit as stop:  # uvicorn's way to fail start-up (e.g. port taken); it logged why
        if _exit_code(stop) == 0:
            return 0
        return _fail("the server could not start (see the log above)", EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_FAILURE)
    except Exception as error:
        _log.debug("command failed", exc_info=True)
        return _fail(_one_line(error), EXIT_FAILURE)


def _command(args: argparse.Namespace) -> Command:
    # Imported on use: 'settings' and 'migrate' need not load uvicorn, nor 'serve' the rest.
    if args.command == "serve":
        from agent_booking.entrypoints.cli.server import serve  # noqa: PLC0415

        return serve
    if args.command == "mcp":
        from agent_booking.entrypoints.cli.mcp_stdio import serve_mcp_stdio  # noqa: PLC0415

        return serve_mcp_stdio
    if args.command == "migrate":
        from agent_booking.entrypoints.cli.server import migrate_database  # noqa: PLC0415

        return migrate_database
    if args.command == "backup":
        from agent_booking.entrypoints.cli.backup import backup  # noqa: PLC0415

        return backup
    if args.command == "phones":
        from agent_booking.entrypoints.cli.phones import normalise_phones  # noqa: PLC0415

        return normalise_phones
    from agent_booking.entrypoints.cli.settings import set_settings, show_settings  # noqa: PLC0415

    return show_settings if args.settings_command == "show" else set_settings


def _one_line(error: BaseException) -> str:
    """The first line of an error's text (database errors append SQL and links below it)."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _fail(message: str, code: int) -> int:
    print(f"booking: error: {message}", file=sys.stderr)
    return code


def _exit_code(stop: SystemExit) -> int:
    if stop.code is None or isinstance(stop.code, int):
        return stop.code or 0
    print(stop.code, file=sys.stderr)  # sys.exit("message") convention
    return EXIT_FAILURE

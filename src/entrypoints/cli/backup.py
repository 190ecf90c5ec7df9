"""``booking backup PATH``: a consistent copy of the embedded SQLite database, server running.

How the copy stays consistent without stopping writers is explained in
``agent_booking.adapters.sql.backup``. A target that exists, or a PostgreSQL URL (``pg_dump`` does
that job), is a usage error (exit 2); a copy that fails is exit 1, and leaves nothing at the target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent_booking.adapters.sql.backup import (
    BackupError,
    BackupRefused,
    backup_sqlite,
    sqlite_database_path,
)
from agent_booking.entrypoints.cli.parser import EXIT_FAILURE, EXIT_OK, UsageError
from agent_booking.entrypoints.config import AppConfig

__all__ = ["backup"]


def backup(args: argparse.Namespace, config: AppConfig) -> int:
    try:
        source = sqlite_database_path(config.database_url)
        written = backup_sqlite(source, Path(args.path), force=args.force)
    except BackupRefused as error:
        raise UsageError(str(error)) from error
    except BackupError as error:
        print(f"booking: error: backup failed: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(
        f"Backed up {written.source} to {written.path}: "
        f"{written.size_bytes} bytes, {written.bookings} bookings."
    )
    return EXIT_OK

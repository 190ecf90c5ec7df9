"""Online backups of the embedded SQLite database, taken while the server keeps writing.

The copy uses SQLite's backup API from a connection that first opens a read transaction and keeps
it until the copy is done. In WAL mode that pins one snapshot: the pages are copied in steps, but
all from the same committed state, so the copy is consistent (every booking with its outbox
event) and writers never wait for it. Without the pinned snapshot, every commit by the server
between two steps would make SQLite restart the copy from the first page, and a busy server could
keep a backup from ever finishing.

The copy goes to a temporary file next to the target, is checked (``PRAGMA quick_check``),
switched to a rollback journal so it is one self-contained file, flushed to disk, and only then
renamed into place, so the target path holds either nothing or a complete backup.

PostgreSQL has its own tools (``pg_dump``); this module refuses PostgreSQL URLs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from attrs import frozen
from sqlalchemy.engine import make_url

__all__ = [
    "BackupError",
    "BackupRefused",
    "SqliteBackup",
    "backup_sqlite",
    "sqlite_database_path",
]

#: Pages copied per step (4 MiB with SQLite's default 4 KiB pages).
PAGES_PER_STEP = 1024
_BUSY_TIMEOUT_S = 30.0
#: Files SQLite may keep next to a database while it is open.
_SIDE_FILES = ("-journal", "-wal", "-shm")
_PG_DUMP_HINT = (
    "booking backup copies the embedded SQLite database only; back up PostgreSQL with "
    "pg_dump -Fc (see README, Backups)"
)


class BackupError(Exception):
    """The backup could not be made; nothing was written at the target path."""


class BackupRefused(BackupError):
    """The backup cannot be made as asked (a PostgreSQL URL, an existing target, ...)."""


@frozen
class SqliteBackup:
    """What a backup wrote."""

    source: Path
    path: Path
    size_bytes: int
    bookings: int


def sqlite_database_path(database_url: str) -> Path:
    """The file behind a ``sqlite+aiosqlite:///...`` URL (relative paths: from the cwd)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(_PG_DUMP_HINT)
    if not url.database or url.database == ":memory:":
        raise BackupRefused("the database URL names no SQLite file to back up")
    return Path(url.database)


def backup_sqlite(
    source: Path, target: Path, *, force: bool = False, pages_per_step: int = PAGES_PER_STEP
) -> SqliteBackup:
    """Copy the live database ``source`` to ``target``; raise :class:`BackupError`."""
    source, target = source.absolute(), target.absolute()
    _check_paths(source, target, force=force)
    handle, temp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    os.close(handle)
    temp = Path(temp_name)
    try:
        bookings = _copy(source, temp, pages_per_step)
        _fsync(temp)
        _move_into_place(temp, target, force=force)
    finally:
        for leftover in (temp, *(Path(f"{temp}{suffix}") for suffix in _SIDE_FILES)):
            leftover.unlink(missing_ok=True)
    _fsync(target.parent)
    return SqliteBackup(source, target, target.stat().st_size, bookings)


def _check_paths(source: Path, target: Path, *, force: bool) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database file at {source}")
    if target.is_dir():
        raise BackupRefused(f"{target} is a directory; give the backup file's path")
    if not target.parent.is_dir():
        raise BackupRefused(f"the directory {target.parent} does not exist")
    if target.exists():
        if target.samefile(source):
            raise BackupRefused(f"{target} is the live database itself")
        if not force:
            raise BackupRefused(f"{target} already exists (use --force to replace it)")


def _copy(source: Path, temp: Path, pages_per_step: int) -> int:
    """Copy one snapshot of ``source`` into ``temp``; return its number of bookings."""
    try:
        reader = sqlite3.connect(
            f"{source.as_uri()}?mode=rw", uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None
        )
    except sqlite3.Error as error:
        raise BackupError(f"cannot open {source}: {error}") from error
    try:
        copy = sqlite3.connect(temp, isolation_level=None)
        try:
            reader.execute("BEGIN")  # pin one snapshot for every step (see the module docstring)
            bookings = _count_bookings(reader, source)
            reader.backup(copy, pages=pages_per_step)
            reader.execute("COMMIT")
            copy.execute("PRAGMA journal_mode=DELETE")  # one file; the server turns WAL back on
            if (check := copy.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"copying {source} failed: {error}") from error
    finally:
        reader.close()
    return bookings


def _count_bookings(reader: sqlite3.Connection, source: Path) -> int:
    """Also starts the read transaction (a plain ``BEGIN`` takes no snapshot until a read)."""
    try:
        return int(reader.execute("SELECT count(*) FROM bookings").fetchone()[0])
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            raise BackupError(f"{source} is not a migrated booking database") from error
        raise


def _move_into_place(temp: Path, target: Path, *, force: bool) -> None:
    if force:
        temp.replace(target)
        return
    try:  # a hard link fails if the target appeared meanwhile, where a rename would replace it
        os.link(temp, target)
    except FileExistsError:
        raise BackupRefused(f"{target} already exists (use --force to replace it)") from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise BackupRefused(f"{target} already exists (use --force to replace it)") from None
        temp.replace(target)


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries (so a rename survives a crash), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot sync directories
            os.fsync(descriptor)
    finally:
        os.close(descriptor)

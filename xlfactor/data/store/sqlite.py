"""The cache file as SQLite sees it: connections, schema, errors and quarantine.

Several Excel instances (each its own Python process) share one cache file and any of
them may be killed at any moment. This module opens and configures connections, runs
write transactions, tells "locked" from "corrupt" among SQLite's errors, checks that a
file is our healthy database, and moves a file that is not aside so that a fresh one can
take its place. Retrying and connection ownership are the :class:`Store`'s business.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xlfactor.data.store.common import CacheWarning
from xlfactor.domain.errors import CacheError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "connect",
    "diagnose",
    "fetch_one",
    "file_size",
    "initialise_schema",
    "is_busy",
    "is_corruption",
    "prepare_file",
    "quarantine",
    "vacuum_quietly",
    "write_transaction",
]

#: ``PRAGMA application_id`` of our files: ASCII "XLFC".
APPLICATION_ID = 0x584C4643
#: ``PRAGMA user_version`` of the layout below; a file with a higher one fails
#: :func:`diagnose` and is moved aside.
SCHEMA_VERSION = 1

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS frames (
    key TEXT PRIMARY KEY,
    meta TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    digest TEXT NOT NULL,
    payload BLOB NOT NULL
)
"""

# Primary SQLite result codes (extended codes carry them in the low byte).
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26

_JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024
# A file moved aside is replaced by a new one, which is checked in turn; another process
# may be doing the same at once, so allow a few rounds, but never loop forever.
_PREPARE_ROUNDS = 3


# ------------------------------------------------------------------- error classification


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else code & 0xFF


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock (worth retrying)."""
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means the file is damaged or not a database at all."""
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


# --------------------------------------------------------------------- statements


def fetch_one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """First row of ``sql`` (a tuple), or None when it returns no rows."""
    # fetchall() steps the statement to completion, so no read snapshot is left open
    # to hold back checkpoints.
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

    IMMEDIATE takes the write lock up front: a deferred transaction that reads first and
    then writes can fail with SQLITE_BUSY without the busy handler ever being called.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original exception is the one worth reporting
        raise


def vacuum_quietly(conn: sqlite3.Connection) -> None:
    """``VACUUM``, skipped without complaint when the database is busy."""
    try:
        conn.execute("VACUUM")
    except sqlite3.OperationalError:
        pass  # a busy database stays its current size; nothing is lost


# ------------------------------------------------------------------ schema and pragmas


def initialise_schema(conn: sqlite3.Connection) -> None:
    """Mark a new file as ours, switch it to WAL and create the table (idempotent)."""
    current = (fetch_one(conn, "PRAGMA application_id")[0],
               fetch_one(conn, "PRAGMA user_version")[0])
    if current == (APPLICATION_ID, SCHEMA_VERSION):
        return  # the usual case; skip a write transaction at every process start
    # The journal mode is stored in the file, so every later connection inherits WAL.
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    with write_transaction(conn):
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(_CREATE_TABLE)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _configure(conn: sqlite3.Connection) -> None:
    """Per-connection settings; they read the file header, so only for checked files."""
    # WAL with synchronous=NORMAL survives a killed process (committed frames are in the
    # WAL file, which the OS keeps) but may lose the last commits on power loss or an OS
    # crash, because the WAL is only fsynced at checkpoints. FULL fsyncs the WAL at every
    # commit, making commits durable too; puts follow network downloads, so that is noise.
    conn.execute("PRAGMA synchronous = FULL")
    # Without a limit the WAL file keeps its high-water size after checkpoints.
    conn.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}").fetchall()


def connect(path: Path, busy_timeout: float, *, configure: bool = True) -> sqlite3.Connection:
    """A new autocommit connection to ``path``.

    Parameters
    ----------
    path : Path
        The database file.
    busy_timeout : float
        Seconds SQLite waits for another connection's lock before failing with
        SQLITE_BUSY (set both on the connection and as ``PRAGMA busy_timeout`` in ms).
    configure : bool, default True
        Apply the per-connection pragmas; False leaves the file unread, for a file that
        has not been checked yet.

    Raises
    ------
    CacheError
        If SQLite cannot open the file.
    sqlite3.Error
        If a pragma fails; the connection is closed first.
    """
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout,
                               isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CacheError(f"cannot open the xlfactor cache {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if configure:
            _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


# ------------------------------------------------------------------ checking the file


def diagnose(conn: sqlite3.Connection) -> str | None:
    """Why the open database is not a usable cache of ours, or None when it is.

    Busy and I/O errors propagate; only "this is not our healthy database" is answered.

    Returns
    -------
    str or None
        A phrase completing "the xlfactor cache <path> ...", e.g. "failed the integrity
        check (...)"; None for a healthy or brand-new file.
    """
    try:
        app_id = fetch_one(conn, "PRAGMA application_id")[0]
        version = fetch_one(conn, "PRAGMA user_version")[0]
        objects = fetch_one(conn, "SELECT count(*) FROM sqlite_master")[0]
        if app_id == 0 and objects == 0:
            return None  # brand new (or empty) file: ours to initialise
        if app_id != APPLICATION_ID:
            return f"is a SQLite database of another application (application_id={app_id:#x})"
        if version > SCHEMA_VERSION:
            return f"was written by a newer xlfactor (schema {version} > {SCHEMA_VERSION})"
        check = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return f"is not a readable SQLite database ({exc})"
        raise
    if check != [("ok",)]:
        return f"failed the integrity check ({_first_finding(check)})"
    return None


def _first_finding(check: list[tuple[Any, ...]]) -> str:
    """First line of a ``PRAGMA quick_check`` report, short enough for a warning."""
    lines = [line for row in check for line in str(row[0]).splitlines()
             if line and not line.startswith("***")]
    first = lines[0] if lines else "unknown problem"
    return first if len(first) <= 160 else first[:157] + "..."


def prepare_file(directory: Path, path: Path, busy_timeout: float) -> None:
    """Make sure ``path`` is our healthy database, replacing it if it is not.

    Parameters
    ----------
    directory : Path
        The cache directory, created if missing; it must be writable.
    path : Path
        The database file inside ``directory``.
    busy_timeout : float
        Seconds each check waits for another process's lock, as in :func:`connect`.

    Raises
    ------
    CacheError
        If the directory is unusable, or the file keeps failing its checks.
    sqlite3.Error
        Busy and I/O errors met while checking, for the caller to retry.
    """
    _make_directory(directory)
    for _ in range(_PREPARE_ROUNDS):
        before = _stat_or_none(path)
        conn = connect(path, busy_timeout, configure=False)
        try:
            problem = diagnose(conn)
            if problem is None:
                initialise_schema(conn)
                return
        finally:
            conn.close()
        quarantine(path, problem, before)
    raise CacheError(f"the xlfactor cache {path} keeps failing its checks; "
                     "delete it or set XLFACTOR_CACHE_DIR to another directory")


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the cache directory {directory}: "
                         f"{exc.strerror or exc}") from exc
    if not os.access(directory, os.W_OK):
        raise CacheError(f"the cache directory {directory} is not writable")


# ------------------------------------------------------------------------- quarantine


def quarantine(path: Path, problem: str, before: os.stat_result | None) -> None:
    """Rename the unusable file and its companions to ``*.corrupt-<UTC timestamp>``.

    The companions must go too: SQLite would replay a stale -wal or hot -journal
    left beside the fresh file into it.

    Parameters
    ----------
    path : Path
        The database file.
    problem : str
        What :func:`diagnose` found, used in the :class:`CacheWarning`.
    before : os.stat_result or None
        ``path``'s status when it was diagnosed; if the file has changed since, another
        process replaced it and nothing is moved.

    Raises
    ------
    CacheError
        If a file cannot be renamed (e.g. another program holds it open on Windows).
    """
    if not _same_file(before, _stat_or_none(path)):
        return  # another process replaced it meanwhile; just check the new file
    target = _unused_name(path)
    try:
        for suffix in ("", "-wal", "-shm", "-journal"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                os.rename(source, f"{target}{suffix}")
    except OSError as exc:
        raise CacheError(f"the xlfactor cache {path} {problem} and could not be moved "
                         f"aside ({exc}); close other programs using it or delete it") from exc
    # stacklevel=2 names prepare_file, the one place that quarantines.
    warnings.warn(f"the xlfactor cache {path} {problem}; it was moved to {target.name} "
                  "and an empty cache was created", CacheWarning, stacklevel=2)


def file_size(path: Path) -> int:
    """Size of ``path`` in bytes; 0 when it does not exist or cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _stat_or_none(path: Path) -> os.stat_result | None:
    """``path.stat()``, or None when it fails."""
    try:
        return path.stat()
    except OSError:
        return None


def _same_file(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    """Whether two stats (None: no file) describe the same, unmodified file."""
    if a is None or b is None:
        return a is b
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size,
                                                             b.st_mtime_ns)


def _unused_name(path: Path) -> Path:
    """``<path>.corrupt-<UTC timestamp>``, with a counter appended if that exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    return target

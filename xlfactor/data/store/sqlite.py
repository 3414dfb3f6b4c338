"""The cache file as SQLite sees it: connections, schema, errors and quarantine.

Several Excel instances (each its own Python process) share one cache file and any of
them may be killed at any moment. This module opens and configures connections, runs
write transactions, tells "locked" from "corrupt" among SQLite's errors, and checks that a
file is our healthy database. What it does with one that is not:

* **damaged** (integrity check failed, unreadable pages): the verifiable entries are
  salvaged page by page (:mod:`~xlfactor.data.store.salvage`), the file is moved aside and
  the salvaged entries are written into a fresh one;
* **written by a newer xlfactor** (higher ``user_version``): used read-only, never moved;
* **another application's database**: moved aside, kept intact for its owner;
* **in a folder (or a file) we may not write**: used read-only, as it is.

Retrying and connection ownership are the :class:`Store`'s business.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from xlfactor.data.store.common import report
from xlfactor.data.store.salvage import Salvage, salvage
from xlfactor.domain.errors import CacheError, shorten

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "Access",
    "Finding",
    "connect",
    "examine",
    "fetch_one",
    "file_size",
    "initialise_schema",
    "is_busy",
    "is_corruption",
    "moved_aside_files",
    "prepare_file",
    "quarantine",
    "vacuum_quietly",
    "write_transaction",
]

#: ``PRAGMA application_id`` of our files: ASCII "XLFC".
APPLICATION_ID = 0x584C4643
#: ``PRAGMA user_version`` of the layout below; a file with a higher one is used read-only.
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


def connect(path: Path, busy_timeout: float, *, configure: bool = True,
            access: Access | None = None) -> sqlite3.Connection:
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
    access : Access, optional
        How the file may be used (default: read and written). A read-only access opens
        it with ``mode=ro`` (or ``immutable=1``, see :class:`Access`).

    Raises
    ------
    CacheError
        If SQLite cannot open the file.
    sqlite3.Error
        If a pragma fails; the connection is closed first.
    """
    read_only = access is not None and not access.writable
    try:
        if read_only:
            flag = "immutable=1" if access.immutable else "mode=ro"  # type: ignore[union-attr]
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{flag}", uri=True,
                                   timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), timeout=busy_timeout,
                                   isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CacheError(f"cannot open the xlfactor cache {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if configure and not read_only:
            _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class Access:
    """How a checked cache file may be used.

    Attributes
    ----------
    writable : bool
        Whether entries may be written (and damaged ones deleted).
    reason : str or None
        Why not, completing "the xlfactor cache <path> ..." (None when writable).
    immutable : bool
        Read with ``immutable=1``: SQLite takes no lock and ignores the -wal file. Only
        for a read-only folder where ``mode=ro`` cannot open the file (a WAL database
        needs its -shm file, which cannot be created there).
    """

    writable: bool
    reason: str | None = None
    immutable: bool = False


WRITABLE = Access(True)


# ------------------------------------------------------------------ checking the file


@dataclass(frozen=True)
class Finding:
    """Why an open database is not a usable cache of ours.

    Attributes
    ----------
    kind : str
        ``"damaged"`` (unreadable or failing the integrity check), ``"newer"`` (our file,
        a later schema) or ``"foreign"`` (another application's database).
    text : str
        A phrase completing "the xlfactor cache <path> ...".
    """

    kind: str
    text: str


_HEADER_SNAPSHOT = ("SELECT (SELECT application_id FROM pragma_application_id()), "
                    "(SELECT user_version FROM pragma_user_version()), "
                    "(SELECT count(*) FROM sqlite_master)")


def examine(conn: sqlite3.Connection) -> Finding | None:
    """Why the open database is not a usable cache of ours, or None when it is.

    Busy and I/O errors propagate; only "this is not our healthy database" is answered.

    Returns
    -------
    Finding or None
        None for a healthy or brand-new file.
    """
    try:
        # One statement, one snapshot: read one by one, a file another process is
        # initialising at that moment looked like a foreign database with tables.
        app_id, version, objects = fetch_one(conn, _HEADER_SNAPSHOT)
        if app_id == 0 and objects == 0:
            return None  # brand new (or empty) file: ours to initialise
        if app_id != APPLICATION_ID:
            return Finding("foreign", "is a SQLite database of another application "
                                      f"(application_id={app_id:#x})")
        if version > SCHEMA_VERSION:
            return Finding("newer", "was written by a newer xlfactor "
                                    f"(schema {version} > {SCHEMA_VERSION})")
        check = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return Finding("damaged", f"is not a readable SQLite database ({exc})")
        raise
    if check != [("ok",)]:
        return Finding("damaged", f"failed the integrity check ({_first_finding(check)})")
    return None


def _first_finding(check: list[tuple[Any, ...]]) -> str:
    """First line of a ``PRAGMA quick_check`` report, short enough for a warning."""
    lines = [line for row in check for line in str(row[0]).splitlines()
             if line and not line.startswith("***")]
    first = lines[0] if lines else "unknown problem"
    return shorten(first, 160)


def prepare_file(directory: Path, path: Path, busy_timeout: float) -> Access:
    """Make ``path`` a usable cache and say how it may be used.

    A healthy file (or a new one) is used as it is; a damaged one is replaced by a fresh
    file holding the entries that could be salvaged; a file of another application is
    moved aside; a file written by a newer xlfactor, or one in a folder that cannot be
    written, is used read-only. Each of these is reported (:func:`~xlfactor.data.store.
    common.report`).

    Parameters
    ----------
    directory : Path
        The cache directory, created if missing.
    path : Path
        The database file inside ``directory``.
    busy_timeout : float
        Seconds each check waits for another process's lock, as in :func:`connect`.

    Returns
    -------
    Access
        Read-write, or read-only with the reason.

    Raises
    ------
    CacheError
        If the directory is unusable, a read-only folder holds no usable cache, or the
        file keeps failing its checks.
    sqlite3.Error
        Busy and I/O errors met while checking, for the caller to retry.
    """
    _make_directory(directory)
    if not _writable(directory, path):
        return _read_only(directory, path, busy_timeout)
    rescued: tuple[str, Path, Salvage] | None = None
    for _ in range(_PREPARE_ROUNDS):
        before = _stat_or_none(path)
        conn = connect(path, busy_timeout, configure=False)
        try:
            finding = examine(conn)
            if finding is None:
                initialise_schema(conn)
                if rescued is not None:
                    _restore(conn, path, *rescued)
                return WRITABLE
        finally:
            conn.close()
        if finding.kind == "newer":
            _require_known_layout(path, busy_timeout, finding)
            reason = f"{finding.text}: it is used read-only"
            report(path, f"the xlfactor cache {path} {reason}; its entries are served but "
                   "new downloads are kept in memory only (upgrade xlfactor, or set "
                   "XLFACTOR_CACHE_DIR to another folder)", stacklevel=3)
            return Access(False, reason)
        found = _salvage_safely(path) if finding.kind == "damaged" else None
        target = quarantine(path, finding.text, before, announce=found is None)
        if target is not None and found is not None:
            rescued = (finding.text, target, found)
    raise CacheError(f"the xlfactor cache {path} keeps failing its checks; "
                     "delete it or set XLFACTOR_CACHE_DIR to another directory")


def _salvage_safely(path: Path) -> Salvage:
    """:func:`salvage`, or nothing salvaged if reading the damaged file fails in any way:
    a salvage must never leave the cache worse off than moving the file aside would."""
    try:
        return salvage(path)
    except Exception:  # noqa: BLE001 - the damaged file is still moved aside intact
        return Salvage([], None)


_COLUMNS = ("key", "meta", "fetched_at", "digest", "payload")


def _require_known_layout(path: Path, busy_timeout: float, finding: Finding,
                          access: Access = Access(False)) -> None:
    """Raise unless a newer file still has the ``frames`` table this version reads."""
    conn = connect(path, busy_timeout, configure=False, access=access)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(frames)")}
    finally:
        conn.close()
    if not set(_COLUMNS) <= columns:
        raise CacheError(f"the xlfactor cache {path} {finding.text} in a layout this version "
                         "cannot read; it was left as it is (upgrade xlfactor, or set "
                         "XLFACTOR_CACHE_DIR to another folder)")


def _restore(conn: sqlite3.Connection, path: Path, problem: str, target: Path,
             found: Salvage) -> None:
    """Write the salvaged rows into the fresh file and report what was kept and lost."""
    with write_transaction(conn):
        # OR IGNORE: another process may already have written a newer copy of a key.
        conn.executemany(
            "INSERT OR IGNORE INTO frames (key, meta, fetched_at, digest, payload) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r.key, r.meta, r.fetched_at, r.digest, r.payload) for r in found.rows])
    lost = found.lost
    kept = len(found.rows)
    if lost is None and kept == 0:
        outcome = "an empty cache was created (no entry could be salvaged)"
    elif lost is None:
        outcome = (f"{kept} entr{'y was' if kept == 1 else 'ies were'} salvaged into a fresh "
                   "cache (how many were lost is unknown: the list of entries was unreadable)")
    else:
        total = kept + len(lost)
        outcome = f"{kept} of {total} entries were salvaged into a fresh cache"
        if lost:
            shown = ", ".join(lost[:5]) + (", ..." if len(lost) > 5 else "")
            outcome += f"; {len(lost)} lost ({shown}) will be fetched again"
    report(path, f"the xlfactor cache {path} {problem}; it was moved to {target.name} and "
           f"{outcome}", stacklevel=4)


def _writable(directory: Path, path: Path) -> bool:
    """Whether the cache can be written: the folder (new files, -wal, -shm) and the file."""
    if not os.access(directory, os.W_OK):
        return False
    return all(not Path(f"{path}{suffix}").exists() or os.access(f"{path}{suffix}", os.W_OK)
               for suffix in ("", "-wal", "-shm"))


def _read_only(directory: Path, path: Path, busy_timeout: float) -> Access:
    """The access to a cache in a folder (or a file) that cannot be written."""
    where = "folder" if not os.access(directory, os.W_OK) else "file"
    if not path.exists():
        raise CacheError(f"the cache directory {directory} is not writable and holds no "
                         "cache yet; set XLFACTOR_CACHE_DIR to a folder you can write")
    for immutable in (False, True):
        access = Access(False, f"is in a read-only {where}: it is used read-only", immutable)
        try:
            conn = connect(path, busy_timeout, configure=False, access=access)
        except CacheError:
            continue
        try:
            finding = examine(conn)
        except sqlite3.OperationalError:
            continue  # mode=ro could not open a WAL file without its -shm: try immutable
        finally:
            conn.close()
        return _read_only_access(path, busy_timeout, access, finding)
    raise CacheError(f"the xlfactor cache {path} is in a read-only {where} and SQLite "
                     "cannot open it there")


def _read_only_access(path: Path, busy_timeout: float, access: Access,
                      finding: Finding | None) -> Access:
    """The read-only access to a checked file in a read-only place, reported."""
    where = access.reason or ""
    if finding is None:
        reason = where
    elif finding.kind == "foreign":
        raise CacheError(f"the xlfactor cache {path} {finding.text}, and {where}; it was "
                         "left as it is")
    elif finding.kind == "newer":
        _require_known_layout(path, busy_timeout, finding, access)
        reason = f"{finding.text} and {where}"
    else:
        reason = (f"{finding.text} and {where}; it cannot be repaired there, so only its "
                  "readable entries are served")
    if access.immutable:
        reason += " (entries written since its last checkpoint, in its -wal file, are not seen)"
    report(path, f"the xlfactor cache {path} {reason}; new downloads are kept in memory only",
           stacklevel=4)
    return Access(False, reason, access.immutable)


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot create the cache directory {directory}: "
                         f"{exc.strerror or exc}") from exc


# ------------------------------------------------------------------------- quarantine


def quarantine(path: Path, problem: str, before: os.stat_result | None, *,
               announce: bool = True) -> Path | None:
    """Rename the unusable file and its companions to ``*.corrupt-<UTC timestamp>``.

    The companions must go too: SQLite would replay a stale -wal or hot -journal
    left beside the fresh file into it.

    Parameters
    ----------
    path : Path
        The database file.
    problem : str
        What :func:`examine` found, used in the report.
    before : os.stat_result or None
        ``path``'s status when it was examined; if the file has changed since, another
        process replaced it and nothing is moved.
    announce : bool, default True
        Report the move (as "an empty cache was created"); False when the caller reports
        it with what it salvaged.

    Returns
    -------
    Path or None
        The new name of the file, or None when nothing was moved.

    Raises
    ------
    CacheError
        If a file cannot be renamed (e.g. another program holds it open on Windows).
    """
    if not _same_file(before, _stat_or_none(path)):
        return None  # another process replaced it meanwhile; just check the new file
    target = _unused_name(path)
    try:
        for suffix in ("", "-wal", "-shm", "-journal"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                os.rename(source, f"{target}{suffix}")
    except OSError as exc:
        raise CacheError(f"the xlfactor cache {path} {problem} and could not be moved "
                         f"aside ({exc}); close other programs using it or delete it") from exc
    if announce:
        # stacklevel=3 names the caller of prepare_file.
        report(path, f"the xlfactor cache {path} {problem}; it was moved to {target.name} "
               "and an empty cache was created", stacklevel=3)
    return target


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


def moved_aside_files(path: Path) -> list[Path]:
    """The files :func:`_unused_name` named beside ``path`` (damaged or foreign caches
    moved aside), newest first; their ``-wal``/``-shm``/``-journal`` companions left out."""
    try:
        found = [p for p in path.parent.glob(f"{path.name}.corrupt-*")
                 if not p.name.endswith(("-wal", "-shm", "-journal"))]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def _unused_name(path: Path) -> Path:
    """``<path>.corrupt-<UTC timestamp>``, with a counter appended if that exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    return target

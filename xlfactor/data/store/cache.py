"""The :class:`Store`: frames by key in one SQLite file shared between processes.

A frame is written as one row in one transaction, so a crash leaves either the old row
or the new one; the row's SHA-256 digest is checked on read, so a damaged row is dropped
(with a :class:`CacheWarning`) instead of served. SQLite's busy timeout is backed by an
application-level retry with jittered backoff; only after that is exhausted does a
:class:`~xlfactor.domain.errors.CacheError` surface. Decoded frames are memoised in
process, keyed by digest, so a warm read costs one small query.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

# Reached through the module, not by name, so that patching a codec function (as tests
# do) changes what the store calls.
from xlfactor.data.memo import Memo
from xlfactor.data.store import codec
from xlfactor.data.store.common import (
    CACHE_FILENAME,
    CachedFrame,
    default_cache_dir,
    report,
)
from xlfactor.data.store.sqlite import (
    Access,
    connect,
    fetch_one,
    file_size,
    is_busy,
    is_corruption,
    prepare_file,
    vacuum_quietly,
    write_transaction,
)
from xlfactor.domain.errors import CacheError, shorten

__all__ = ["Store"]

_T = TypeVar("_T")

#: Damaged rows kept in the ``quarantined`` table (the latest ones).
QUARANTINE_ROWS = 20

_CREATE_QUARANTINE = """
CREATE TABLE IF NOT EXISTS quarantined (
    key TEXT NOT NULL,
    reason TEXT NOT NULL,
    moved_at REAL NOT NULL,
    meta TEXT,
    fetched_at REAL,
    digest TEXT,
    payload BLOB
)
"""

_FIRST_BACKOFF = 0.05  # seconds
_MAX_BACKOFF = 1.0  # seconds
_DEFAULT_MEMO_BYTES = 256 * 1024 * 1024

# Connections inherited through fork() are parked here for good: closing them in the child
# would drop POSIX locks that the child's own connection holds on the same file.
_INHERITED_CONNECTIONS: list[sqlite3.Connection] = []


def _frame_memo(max_bytes: int) -> Memo:
    """Decoded frames by key, valid while the row's digest is unchanged (the token), LRU
    within ``max_bytes`` counted as :func:`~xlfactor.data.store.codec.frame_nbytes`; a
    frame larger than the whole budget is not kept. Memo frames sit on read-only arrays
    and are never handed out; readers get copies."""
    return Memo("decoded cache frames", 1 << 20, max_weight=max_bytes,
                weigh=lambda frame: codec.frame_nbytes(frame))


class Store:
    """A cache of time-series frames in one SQLite file, shared between processes.

    Parameters
    ----------
    path : str or Path, optional
        Cache directory; the database is ``cache.sqlite3`` inside it. Defaults to
        :func:`default_cache_dir`. Nothing touches the disk until the first operation.
    busy_timeout : float, default 5.0
        Seconds SQLite itself waits for another process's lock before giving up.
    max_attempts : int, default 5
        How many times an operation is tried when the database stays locked; attempts
        are separated by jittered exponential backoff (50 ms doubling up to 1 s).
    memo_bytes : int, default 256 MiB
        Budget, in bytes, of the in-process memo of decoded frames.

    Notes
    -----
    Each thread uses its own connection, and a process created by ``fork()`` opens its
    own instead of reusing the parent's. All SQLite failures surface as
    :class:`~xlfactor.domain.errors.CacheError`; damaged data surfaces as a
    :class:`CacheWarning` (also listed by :func:`~xlfactor.data.store.common.cache_events`)
    and is dropped. A cache that may only be read (a read-only folder, a file written by a
    newer xlfactor: see :attr:`read_only`) serves its entries; writing to it raises
    :class:`~xlfactor.domain.errors.CacheError`, and a damaged entry in it is skipped for
    the life of the process instead of deleted.
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = 5.0,
                 max_attempts: int = 5, memo_bytes: int = _DEFAULT_MEMO_BYTES) -> None:
        self.directory = Path(path) if path is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILENAME
        self._busy_timeout = float(busy_timeout)
        self._max_attempts = max(1, int(max_attempts))
        self._memo = _frame_memo(memo_bytes)
        self._local = threading.local()
        self._open_lock = threading.Lock()
        self._access: Access | None = None  # set once the file has been checked
        # Damaged rows of a read-only cache, by key, with their digest: skipped, not deleted.
        self._skipped: dict[str, str] = {}
        self._generation = 0  # bumped by close() so other threads reconnect
        self._connections: list[tuple[int, sqlite3.Connection]] = []

    def __repr__(self) -> str:
        return f"Store({str(self.directory)!r})"

    @property
    def read_only(self) -> str | None:
        """Why the cache may only be read (completing "the xlfactor cache <path> ..."), or
        None when it can be written. Checks the file on first use."""
        self._run(lambda conn: None)
        access = self._access
        return None if access is None or access.writable else access.reason

    # ---------------------------------------------------------------- public API

    def put_frame(self, key: str, frame: pd.DataFrame, meta: dict[str, Any] | None = None) -> None:
        """Store ``frame`` under ``key``, replacing any previous entry atomically.

        Parameters
        ----------
        key : str
            Opaque caller-chosen key, e.g. ``"yahoo:AAPL"``.
        frame : DataFrame
            tz-naive ``DatetimeIndex``, ``str`` column names, ``float64`` columns.
        meta : dict, optional
            JSON-serialisable metadata returned by :meth:`get_frame`.

        Raises
        ------
        TypeError, ValueError
            If ``frame`` or ``meta`` does not meet the requirements above.
        CacheError
            If the database cannot be written.
        """
        codec.check_key(key)
        header, ticks, values = codec.frame_parts(frame)
        payload = codec.encode_payload(header, ticks, values)
        digest = codec.payload_digest(payload)
        meta_text = _dump_meta(meta)
        row = (key, meta_text, time.time(), digest, payload)

        def write(conn: sqlite3.Connection) -> None:
            self._require_writable()
            with write_transaction(conn):
                conn.execute("INSERT OR REPLACE INTO frames (key, meta, fetched_at, digest, "
                             "payload) VALUES (?, ?, ?, ?, ?)", row)

        self._run(write)
        # The writer is usually the next reader: spare it a decode.
        self._memo.put(key, codec.build_frame(header, ticks, values), digest)

    def get_frame(self, key: str) -> CachedFrame | None:
        """The entry stored under ``key``, or None when absent or damaged.

        A warm read costs one small query: the payload is read and decoded only when
        its digest differs from the one memoised in this process. A damaged entry is
        deleted and reported with a :class:`CacheWarning`.

        Returns
        -------
        CachedFrame or None
            The frame is a private copy; ``meta`` is a fresh dict.

        Raises
        ------
        CacheError
            If the database cannot be read.
        """
        codec.check_key(key)
        row = self._run(lambda conn: fetch_one(
            conn, "SELECT digest, fetched_at, meta FROM frames WHERE key = ?", (key,)))
        if row is None:
            self._memo.discard(key)
            return None
        if self._skipped.get(key) == row[0]:
            return None  # damaged, in a cache that cannot be repaired: fetched again
        frame = self._memo.get(key, row[0])
        if frame is None:
            loaded = self._load(key)
            if loaded is None:
                return None
            row, frame = loaded
        return self._cached_frame(key, row, frame)

    def version(self, key: str) -> str | None:
        """The digest of the entry ``key`` (None if absent): one small query, no payload.

        Callers memoising something derived from an entry compare versions to know
        whether it changed, possibly in another process.

        Returns
        -------
        str or None
            64 lowercase hex digits (SHA-256 of the stored payload).
        """
        codec.check_key(key)
        row = self._run(lambda conn: fetch_one(
            conn, "SELECT digest FROM frames WHERE key = ?", (key,)))
        return None if row is None else row[0]

    def delete(self, key: str) -> None:
        """Remove the entry ``key`` if present."""
        codec.check_key(key)
        self._run(lambda conn: self._execute_write(
            conn, "DELETE FROM frames WHERE key = ?", (key,)))
        self._memo.discard(key)

    def keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``.

        Parameters
        ----------
        prefix : str, default ""
            Literal, case-sensitive prefix (``%`` and ``_`` are ordinary characters).

        Returns
        -------
        list of str
            Matching keys in code-point order.
        """
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be str, not {type(prefix).__name__}")
        # substr() rather than LIKE: LIKE is case-insensitive and treats % and _ as wildcards.
        rows = self._run(lambda conn: conn.execute(
            "SELECT key FROM frames WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix)).fetchall())
        return [key for (key,) in rows]

    def info(self) -> dict[str, Any]:
        """Summary of the cache.

        Returns
        -------
        dict
            ``path`` (str, the database file), ``size_bytes`` (int, bytes of the database
            plus its WAL), ``entries`` (int) and ``newest_fetched_at`` (UTC datetime or
            None).
        """
        count, newest = self._run(lambda conn: fetch_one(
            conn, "SELECT count(*), max(fetched_at) FROM frames"))
        return {
            "path": str(self.path),
            "size_bytes": sum(file_size(Path(f"{self.path}{suffix}")) for suffix in ("", "-wal")),
            "entries": int(count),
            "newest_fetched_at": None if newest is None else _utc(float(newest)),
            "read_only": self.read_only,
        }

    def clear(self) -> None:
        """Remove every entry (quarantined ones too) and give the space back to the file
        system (best effort)."""
        def delete_all(conn: sqlite3.Connection) -> None:
            self._require_writable()
            with write_transaction(conn):
                conn.execute("DELETE FROM frames")
                conn.execute("DROP TABLE IF EXISTS quarantined")

        self._run(delete_all)
        self._memo.clear()
        self._run(vacuum_quietly)

    def close(self) -> None:
        """Close the connections this process opened; the store reopens on next use."""
        pid = os.getpid()
        with self._open_lock:
            self._generation += 1
            mine = [conn for owner, conn in self._connections if owner == pid]
            # Connections inherited through fork() stay referenced, see _INHERITED_CONNECTIONS.
            self._connections = [(owner, c) for owner, c in self._connections if owner != pid]
        for conn in mine:
            conn.close()

    # ------------------------------------------------------------ reading rows

    def _load(self, key: str) -> tuple[tuple[Any, ...], pd.DataFrame] | None:
        """Read, verify and decode the full row; memoise the frame."""
        row = self._run(lambda conn: fetch_one(
            conn, "SELECT digest, fetched_at, meta, payload FROM frames WHERE key = ?", (key,)))
        if row is None:
            self._memo.discard(key)
            return None
        digest, payload = row[0], row[3]
        if not isinstance(payload, bytes) or codec.payload_digest(payload) != digest:
            self._drop_damaged(key, digest, "its checksum does not match")
            return None
        try:
            frame = codec.decode_payload(payload)
        except codec.CorruptPayload as exc:
            self._drop_damaged(key, digest, f"it cannot be decoded: {exc}")
            return None
        self._memo.put(key, frame, digest)
        return row[:3], frame

    def _cached_frame(self, key: str, row: tuple[Any, ...], frame: pd.DataFrame
                      ) -> CachedFrame | None:
        """The caller's copy of ``frame`` with the row's metadata; None if those are damaged."""
        digest, fetched_at, meta_text = row
        try:
            meta = json.loads(meta_text)
            fetched = _utc(float(fetched_at))
        except (TypeError, ValueError, OverflowError, OSError, RecursionError,
                MemoryError) as exc:
            # (RecursionError: a JSON object nested deeper than the parser goes)
            self._drop_damaged(key, digest, f"its metadata is unreadable: "
                                            f"{type(exc).__name__}: {shorten(str(exc))}")
            return None
        if not isinstance(meta, dict):
            self._drop_damaged(key, digest, "its metadata is not a JSON object")
            return None
        # A deep copy (~55 us for 26k x 5) gives the caller a frame it fully owns; the
        # memo copy stays on read-only arrays as a second line of defence.
        return CachedFrame(frame=frame.copy(deep=True), meta=meta, fetched_at=fetched)

    def _drop_damaged(self, key: str, digest: Any, reason: str) -> None:
        self._memo.discard(key)
        if self.read_only is not None:
            self._skipped[key] = digest
            done = "the cache is read-only, so it is skipped"
        else:
            self._run(lambda conn: self._quarantine_row(conn, key, digest, reason))
            done = "it has been moved to the cache's quarantine table"
        # stacklevel=3 skips this method, _load or _cached_frame, and names get_frame.
        report(self.path, f"xlfactor cache entry {key!r} in {self.path} was damaged ({reason}); "
               f"{done} and will be fetched again", stacklevel=3)

    def _quarantine_row(self, conn: sqlite3.Connection, key: str, digest: Any,
                        reason: str) -> None:
        """Move the damaged row out of ``frames`` into ``quarantined``, kept for a look.

        The digest is matched, so a sound row written meanwhile by another process stays.
        Only the latest :data:`QUARANTINE_ROWS` quarantined rows are kept.
        """
        self._require_writable()
        with write_transaction(conn):
            # Created here, not with the schema: files of schema 1 without it stay valid.
            conn.execute(_CREATE_QUARANTINE)
            conn.execute("INSERT INTO quarantined (key, reason, moved_at, meta, fetched_at, "
                         "digest, payload) SELECT key, ?, ?, meta, fetched_at, digest, payload "
                         "FROM frames WHERE key = ? AND digest IS ?",
                         (reason, time.time(), key, digest))
            conn.execute("DELETE FROM frames WHERE key = ? AND digest IS ?", (key, digest))
            conn.execute("DELETE FROM quarantined WHERE rowid NOT IN (SELECT rowid FROM "
                         "quarantined ORDER BY moved_at DESC LIMIT ?)", (QUARANTINE_ROWS,))

    def quarantined(self) -> list[dict[str, Any]]:
        """The damaged entries moved out of service, newest first.

        Returns
        -------
        list of dict
            ``key``, ``reason`` and ``moved_at`` (UTC datetime) of each; empty when none.
        """
        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            exists = fetch_one(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                     "name = 'quarantined'")
            if exists is None:
                return []
            return conn.execute("SELECT key, reason, moved_at FROM quarantined "
                                "ORDER BY moved_at DESC").fetchall()

        return [{"key": key, "reason": reason, "moved_at": _utc(float(moved))}
                for key, reason, moved in self._run(read)]

    def _require_writable(self) -> None:
        """Raise :class:`CacheError` when the checked file may only be read."""
        access = self._access
        if access is not None and not access.writable:
            raise CacheError(f"the xlfactor cache {self.path} {access.reason}; nothing was "
                             "written to it")

    def _execute_write(self, conn: sqlite3.Connection, sql: str,
                       params: tuple[Any, ...] = ()) -> None:
        self._require_writable()
        with write_transaction(conn):
            conn.execute(sql, params)

    # --------------------------------------------------------- retry and errors

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` on this thread's connection, retrying while the file is locked."""
        backoff = _FIRST_BACKOFF
        repaired = False
        for attempt in range(1, self._max_attempts + 1):
            try:
                return operation(self._connection())
            except sqlite3.Error as exc:
                if is_corruption(exc) and not repaired:
                    # Reopening re-runs the integrity check, which moves a damaged file aside.
                    repaired = True
                    self._invalidate()
                    continue
                if not is_busy(exc):
                    self._forget_connection()
                    raise CacheError(f"xlfactor cache {self.path} failed: {exc}") from exc
            if attempt < self._max_attempts:
                time.sleep(backoff / 2 + random.uniform(0, backoff / 2))
                backoff = min(2 * backoff, _MAX_BACKOFF)
        raise CacheError(f"xlfactor cache {self.path} is locked by another process and stayed "
                         f"locked through {self._max_attempts} attempts; try again later")

    def _invalidate(self) -> None:
        """Check the file again at the next operation; every thread then reconnects, since
        the check may have replaced the file its connection still points to."""
        with self._open_lock:
            self._access = None
            self._generation += 1
        self._forget_connection()

    # -------------------------------------------------------------- connections

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the file checked) on first use."""
        local, pid = self._local, os.getpid()
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == pid and local.generation == self._generation:
            return conn
        if conn is not None and local.pid != pid:
            _INHERITED_CONNECTIONS.append(conn)
        elif conn is not None:
            self._forget_connection()  # an older generation's: close() or _invalidate()
        local.conn = None
        with self._open_lock:
            if self._access is None:
                self._access = prepare_file(self.directory, self.path, self._busy_timeout)
            conn = connect(self.path, self._busy_timeout, access=self._access)
            self._connections.append((pid, conn))
            local.conn, local.pid, local.generation = conn, pid, self._generation
        return conn

    def _forget_connection(self) -> None:
        """Close this thread's connection so the next operation starts afresh."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            return
        self._local.conn = None
        with self._open_lock:
            self._connections = [(p, c) for p, c in self._connections if c is not conn]
        try:
            conn.close()
        except sqlite3.Error:
            pass  # already unusable; closing is only tidying up


def _dump_meta(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "{}"
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    return json.dumps(meta)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)

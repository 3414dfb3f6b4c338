"""Persistent local cache of time-series frames in SQLite.

Several Excel instances (each its own Python process) share one cache file, and any of
them may be killed at any moment, so the store is built around three guarantees:

* **Atomic rows.** A frame is written as one row in one transaction; a crash leaves
  either the old row or the new one. Every payload carries a SHA-256 digest that is
  checked on read, so a damaged row is dropped (with a :class:`CacheWarning`) instead of
  served.
* **No code execution from the cache.** Frames are serialised as a JSON header plus raw
  little-endian ``int64`` / ``float64`` bytes, never pickled, so a foreign or tampered
  cache file can at worst be rejected.
* **Locks never reach the user.** SQLite's busy timeout is backed by an application-level
  retry with jittered backoff; only after that is exhausted does a
  :class:`~xlfactor.domain.errors.CacheError` surface.

Payload layout (before zlib compression)::

    b"XLF1" | uint32 LE header length | header JSON (UTF-8)
    | nrows x int64 LE index ticks | nrows x ncols float64 LE values, C order

The index ticks are in the index's own resolution (``header["index_unit"]``): pandas 3
creates microsecond indexes by default, and keeping the unit makes the round trip exact,
dtype included. The index ``freq`` is not stored.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import struct
import threading
import time
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from xlfactor.domain.errors import CacheError

__all__ = [
    "APPLICATION_ID",
    "CACHE_ENV_VAR",
    "CACHE_FILENAME",
    "SCHEMA_VERSION",
    "CacheWarning",
    "CachedFrame",
    "Store",
    "TolerantStore",
    "default_cache_dir",
]

CACHE_ENV_VAR = "XLFACTOR_CACHE_DIR"
CACHE_FILENAME = "cache.sqlite3"
#: A cached frame may not expand beyond this when decompressed (a damaged or hostile
#: row must not exhaust memory); the largest frames xlfactor writes are a few hundred MB.
MAX_PAYLOAD_BYTES = 1 << 30
#: An entry stamped this far in the future is suspect (see :attr:`CachedFrame.age_seconds`).
FUTURE_SLACK_SECONDS = 300.0
#: ``PRAGMA application_id`` of our files: ASCII "XLFC".
APPLICATION_ID = 0x584C4643
SCHEMA_VERSION = 1

_T = TypeVar("_T")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS frames (
    key TEXT PRIMARY KEY,
    meta TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    digest TEXT NOT NULL,
    payload BLOB NOT NULL
)
"""

_MAGIC = b"XLF1"
_PREFIX = struct.Struct("<4sI")
# Level 1: on a 26k x 5 frame of returns it compresses in ~15 ms instead of ~70 ms (level
# 6) for a file only ~15 % larger; float mantissas are close to incompressible anyway.
_ZLIB_LEVEL = 1
_INDEX_UNITS = frozenset({"s", "ms", "us", "ns"})

# Primary SQLite result codes (extended codes carry them in the low byte).
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26

_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 1.0
_JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024
_DEFAULT_MEMO_BYTES = 256 * 1024 * 1024

# Connections inherited through fork() are parked here for good: closing them in the child
# would drop POSIX locks that the child's own connection holds on the same file.
_INHERITED_CONNECTIONS: list[sqlite3.Connection] = []


class CacheWarning(UserWarning):
    """The cache found damaged or foreign data, dropped it and carried on."""


class _CorruptPayload(ValueError):
    """A payload that does not decode to a frame."""


def default_cache_dir() -> Path:
    """Directory of the shared cache.

    Returns
    -------
    Path
        ``$XLFACTOR_CACHE_DIR`` when set and non-empty, else the per-user cache
        directory from ``platformdirs.user_cache_dir("xlfactor")``.
    """
    configured = os.environ.get(CACHE_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # only needed when no directory is configured

    return Path(platformdirs.user_cache_dir("xlfactor"))


@dataclass(frozen=True, eq=False)
class CachedFrame:
    """A frame read from the cache.

    Attributes
    ----------
    frame : DataFrame
        The caller's own copy; mutating it does not affect the cache.
    meta : dict
        The JSON metadata stored with the frame (a fresh dict on every read).
    fetched_at : datetime
        When the frame was stored, timezone-aware UTC.
    """

    frame: pd.DataFrame
    meta: dict[str, Any]
    fetched_at: datetime

    @property
    def age_seconds(self) -> float:
        """Seconds elapsed since :attr:`fetched_at`; infinite for an entry stamped more
        than :data:`FUTURE_SLACK_SECONDS` in the future (a clock that was wrong when it was
        written): such an entry is suspect and refreshed, never fresh forever."""
        age = (datetime.now(timezone.utc) - self.fetched_at).total_seconds()
        return math.inf if age < -FUTURE_SLACK_SECONDS else age


# --------------------------------------------------------------------------- encoding


def _check_key(key: str) -> None:
    if not isinstance(key, str):
        raise TypeError(f"cache keys are str, not {type(key).__name__}")


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(frame).__name__}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TypeError(f"frame index must be a DatetimeIndex, not {type(frame.index).__name__}")
    if frame.index.tz is not None:
        raise ValueError(f"frame index must be tz-naive, got tz={frame.index.tz}")
    for label, name in (("index", frame.index.name), ("columns", frame.columns.name)):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"the {label} name must be str or None, got {name!r}")
    bad_names = [name for name in frame.columns if not isinstance(name, str)]
    if bad_names:
        raise TypeError(f"column names must be str, got {bad_names[:3]!r}")
    bad_dtypes = {str(name): str(dtype) for name, dtype in frame.dtypes.items()
                  if dtype != np.float64}
    if bad_dtypes:
        raise TypeError(f"columns must be float64, got {bad_dtypes}")


def _frame_parts(frame: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Validate ``frame`` and split it into header, index ticks and values.

    The arrays are fresh read-only copies, so they can back a memo frame that later
    changes to the caller's frame cannot reach.
    """
    _check_frame(frame)
    header = {
        "columns": list(frame.columns),
        "nrows": len(frame),
        "dtype": "<f8",
        "index_name": frame.index.name,
        "index_unit": np.datetime_data(frame.index.dtype)[0],
        "columns_name": frame.columns.name,
    }
    ticks = np.array(frame.index.to_numpy().view(np.int64), dtype="<i8", copy=True)
    values = np.array(frame.to_numpy(dtype=np.float64), dtype="<f8", order="C", copy=True)
    ticks.setflags(write=False)
    values.setflags(write=False)
    return header, ticks, values


def _encode_payload(header: dict[str, Any], ticks: np.ndarray, values: np.ndarray) -> bytes:
    try:
        header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    except TypeError as exc:  # e.g. a non-str index name
        raise TypeError(f"frame header is not JSON-serialisable: {exc}") from exc
    raw = b"".join((_PREFIX.pack(_MAGIC, len(header_bytes)), header_bytes,
                    ticks.tobytes(), values.tobytes()))
    return zlib.compress(raw, _ZLIB_LEVEL)


def _build_frame(header: dict[str, Any], ticks: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Frame over the given arrays without copying them (they are read-only)."""
    index = pd.DatetimeIndex(ticks.view(f"M8[{header['index_unit']}]"), name=header["index_name"])
    columns = pd.Index(header["columns"], name=header["columns_name"])
    return pd.DataFrame(values, index=index, columns=columns, copy=False)


def _parse_header(raw: bytes) -> tuple[dict[str, Any], int]:
    """Header dict and the offset where the index bytes start."""
    magic, length = _PREFIX.unpack_from(raw)
    if magic != _MAGIC:
        raise _CorruptPayload(f"unknown payload format {magic!r}")
    header = json.loads(raw[_PREFIX.size:_PREFIX.size + length].decode("utf-8"))
    columns = header.get("columns") if isinstance(header, dict) else None
    if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
            or type(header.get("nrows")) is not int or header["nrows"] < 0
            or header.get("dtype") != "<f8" or header.get("index_unit") not in _INDEX_UNITS):
        raise _CorruptPayload("payload header is malformed")
    return header, _PREFIX.size + length


def _decode_payload(payload: bytes) -> pd.DataFrame:
    """Inverse of :func:`_encode_payload`.

    Raises
    ------
    _CorruptPayload
        If the bytes are not a well-formed payload.
    """
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(payload, MAX_PAYLOAD_BYTES)
        if inflater.unconsumed_tail:
            raise _CorruptPayload(f"payload expands beyond {MAX_PAYLOAD_BYTES} bytes")
        header, offset = _parse_header(raw)
        nrows, ncols = header["nrows"], len(header["columns"])
        if len(raw) != offset + 8 * nrows * (1 + ncols):
            raise _CorruptPayload("payload length does not match its header")
        ticks = np.frombuffer(raw, dtype="<i8", count=nrows, offset=offset)
        values = np.frombuffer(raw, dtype="<f8", count=nrows * ncols, offset=offset + 8 * nrows)
        return _build_frame(header, ticks, values.reshape(nrows, ncols))
    except (zlib.error, struct.error, ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, _CorruptPayload):
            raise
        raise _CorruptPayload(f"{type(exc).__name__}: {exc}") from exc


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _frame_nbytes(frame: pd.DataFrame) -> int:
    return 8 * len(frame) * (frame.shape[1] + 1)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


# ---------------------------------------------------------------------------- SQLite


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else code & 0xFF


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _fetch_one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    # fetchall() steps the statement to completion, so no read snapshot is left open
    # to hold back checkpoints.
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


@contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
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


def _initialise_schema(conn: sqlite3.Connection) -> None:
    """Mark a new file as ours, switch it to WAL and create the table (idempotent)."""
    current = (_fetch_one(conn, "PRAGMA application_id")[0], _fetch_one(conn, "PRAGMA user_version")[0])
    if current == (APPLICATION_ID, SCHEMA_VERSION):
        return  # the usual case; skip a write transaction at every process start
    # The journal mode is stored in the file, so every later connection inherits WAL.
    conn.execute("PRAGMA journal_mode=WAL").fetchall()
    with _write_transaction(conn):
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


def _diagnose(conn: sqlite3.Connection) -> str | None:
    """Why the open database is not a usable cache of ours, or None when it is.

    Busy and I/O errors propagate; only "this is not our healthy database" is answered.
    """
    try:
        app_id = _fetch_one(conn, "PRAGMA application_id")[0]
        version = _fetch_one(conn, "PRAGMA user_version")[0]
        objects = _fetch_one(conn, "SELECT count(*) FROM sqlite_master")[0]
        if app_id == 0 and objects == 0:
            return None  # brand new (or empty) file: ours to initialise
        if app_id != APPLICATION_ID:
            return f"is a SQLite database of another application (application_id={app_id:#x})"
        if version > SCHEMA_VERSION:
            return f"was written by a newer xlfactor (schema {version} > {SCHEMA_VERSION})"
        check = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if _is_corruption(exc):
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


# ------------------------------------------------------------------------------ memo


class _Memo:
    """Decoded frames by key, valid while the row's digest is unchanged (LRU, byte-bounded).

    Memo frames sit on read-only arrays and are never handed out; readers get copies.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[str, pd.DataFrame]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, digest: str) -> pd.DataFrame | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != digest:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, digest: str, frame: pd.DataFrame) -> None:
        size = _frame_nbytes(frame)
        with self._lock:
            self._pop(key)
            if size > self._max_bytes:
                return
            self._entries[key] = (digest, frame)
            self._bytes += size
            while self._bytes > self._max_bytes:
                self._pop(next(iter(self._entries)))

    def discard(self, key: str) -> None:
        with self._lock:
            self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= _frame_nbytes(entry[1])


# ----------------------------------------------------------------------------- store


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
        Budget of the in-process memo of decoded frames.

    Notes
    -----
    Each thread uses its own connection, and a process created by ``fork()`` opens its
    own instead of reusing the parent's. All SQLite failures surface as
    :class:`~xlfactor.domain.errors.CacheError`; damaged data surfaces as a
    :class:`CacheWarning` and is dropped.
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = 5.0,
                 max_attempts: int = 5, memo_bytes: int = _DEFAULT_MEMO_BYTES) -> None:
        self.directory = Path(path) if path is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILENAME
        self._busy_timeout = float(busy_timeout)
        self._max_attempts = max(1, int(max_attempts))
        self._memo = _Memo(memo_bytes)
        self._local = threading.local()
        self._open_lock = threading.Lock()
        self._ready = False  # the file has been checked and initialised
        self._generation = 0  # bumped by close() so other threads reconnect
        self._connections: list[tuple[int, sqlite3.Connection]] = []

    def __repr__(self) -> str:
        return f"Store({str(self.directory)!r})"

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
        _check_key(key)
        header, ticks, values = _frame_parts(frame)
        payload = _encode_payload(header, ticks, values)
        digest = _digest(payload)
        meta_text = _dump_meta(meta)
        row = (key, meta_text, time.time(), digest, payload)

        def write(conn: sqlite3.Connection) -> None:
            with _write_transaction(conn):
                conn.execute("INSERT OR REPLACE INTO frames (key, meta, fetched_at, digest, "
                             "payload) VALUES (?, ?, ?, ?, ?)", row)

        self._run(write)
        # The writer is usually the next reader: spare it a decode.
        self._memo.put(key, digest, _build_frame(header, ticks, values))

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
        _check_key(key)
        row = self._run(lambda conn: _fetch_one(
            conn, "SELECT digest, fetched_at, meta FROM frames WHERE key = ?", (key,)))
        if row is None:
            self._memo.discard(key)
            return None
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
        """
        _check_key(key)
        row = self._run(lambda conn: _fetch_one(
            conn, "SELECT digest FROM frames WHERE key = ?", (key,)))
        return None if row is None else row[0]

    def delete(self, key: str) -> None:
        """Remove the entry ``key`` if present."""
        _check_key(key)
        self._run(lambda conn: self._execute_write(conn, "DELETE FROM frames WHERE key = ?", (key,)))
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
            ``path`` (str, the database file), ``size_bytes`` (database plus WAL),
            ``entries`` (int) and ``newest_fetched_at`` (UTC datetime or None).
        """
        count, newest = self._run(lambda conn: _fetch_one(
            conn, "SELECT count(*), max(fetched_at) FROM frames"))
        return {
            "path": str(self.path),
            "size_bytes": sum(_file_size(Path(f"{self.path}{suffix}")) for suffix in ("", "-wal")),
            "entries": int(count),
            "newest_fetched_at": None if newest is None else _utc(float(newest)),
        }

    def clear(self) -> None:
        """Remove every entry and give the space back to the file system (best effort)."""
        self._run(lambda conn: self._execute_write(conn, "DELETE FROM frames"))
        self._memo.clear()
        self._run(_vacuum_quietly)

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
        row = self._run(lambda conn: _fetch_one(
            conn, "SELECT digest, fetched_at, meta, payload FROM frames WHERE key = ?", (key,)))
        if row is None:
            self._memo.discard(key)
            return None
        digest, payload = row[0], row[3]
        if not isinstance(payload, bytes) or _digest(payload) != digest:
            self._drop_damaged(key, digest, "its checksum does not match")
            return None
        try:
            frame = _decode_payload(payload)
        except _CorruptPayload as exc:
            self._drop_damaged(key, digest, f"it cannot be decoded: {exc}")
            return None
        self._memo.put(key, digest, frame)
        return row[:3], frame

    def _cached_frame(self, key: str, row: tuple[Any, ...], frame: pd.DataFrame) -> CachedFrame | None:
        digest, fetched_at, meta_text = row
        try:
            meta = json.loads(meta_text)
            fetched = _utc(float(fetched_at))
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            self._drop_damaged(key, digest, f"its metadata is unreadable: {exc}")
            return None
        if not isinstance(meta, dict):
            self._drop_damaged(key, digest, "its metadata is not a JSON object")
            return None
        # A deep copy (~55 us for 26k x 5) gives the caller a frame it fully owns; the
        # memo copy stays on read-only arrays as a second line of defence.
        return CachedFrame(frame=frame.copy(deep=True), meta=meta, fetched_at=fetched)

    def _drop_damaged(self, key: str, digest: Any, reason: str) -> None:
        # Match the digest too, so a sound row written meanwhile by another process survives.
        self._run(lambda conn: self._execute_write(
            conn, "DELETE FROM frames WHERE key = ? AND digest IS ?", (key, digest)))
        self._memo.discard(key)
        warnings.warn(f"xlfactor cache entry {key!r} in {self.path} was damaged ({reason}); "
                      "it has been removed and will be fetched again", CacheWarning, stacklevel=4)

    @staticmethod
    def _execute_write(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> None:
        with _write_transaction(conn):
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
                if _is_corruption(exc) and not repaired:
                    # Reopening re-runs the integrity check, which moves a damaged file aside.
                    repaired = True
                    self._invalidate()
                    continue
                if not _is_busy(exc):
                    self._forget_connection()
                    raise CacheError(f"xlfactor cache {self.path} failed: {exc}") from exc
            if attempt < self._max_attempts:
                time.sleep(backoff / 2 + random.uniform(0, backoff / 2))
                backoff = min(2 * backoff, _MAX_BACKOFF)
        raise CacheError(f"xlfactor cache {self.path} is locked by another process and stayed "
                         f"locked through {self._max_attempts} attempts; try again later")

    def _invalidate(self) -> None:
        with self._open_lock:
            self._ready = False
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
        local.conn = None
        with self._open_lock:
            if not self._ready:
                self._prepare_file()
                self._ready = True
            conn = self._open()
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

    def _open(self, *, configure: bool = True) -> sqlite3.Connection:
        """A new autocommit connection; ``configure=False`` leaves the file unread."""
        try:
            conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise CacheError(f"cannot open the xlfactor cache {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            if configure:
                _configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    # ---------------------------------------------------------- file checking

    def _prepare_file(self) -> None:
        """Make sure the file is our healthy database, replacing it if it is not."""
        self._make_directory()
        for _ in range(3):
            before = _stat_or_none(self.path)
            conn = self._open(configure=False)
            try:
                problem = _diagnose(conn)
                if problem is None:
                    _initialise_schema(conn)
                    return
            finally:
                conn.close()
            self._move_aside(problem, before)
        raise CacheError(f"the xlfactor cache {self.path} keeps failing its checks; "
                         "delete it or set XLFACTOR_CACHE_DIR to another directory")

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create the cache directory {self.directory}: "
                             f"{exc.strerror or exc}") from exc
        if not os.access(self.directory, os.W_OK):
            raise CacheError(f"the cache directory {self.directory} is not writable")

    def _move_aside(self, problem: str, before: os.stat_result | None) -> None:
        """Rename the unusable file and its companions to ``*.corrupt-<UTC timestamp>``.

        The companions must go too: SQLite would replay a stale -wal or hot -journal
        left beside the fresh file into it.
        """
        if not _same_file(before, _stat_or_none(self.path)):
            return  # another process replaced it meanwhile; just check the new file
        target = _unused_name(self.path)
        try:
            for suffix in ("", "-wal", "-shm", "-journal"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    os.rename(source, f"{target}{suffix}")
        except OSError as exc:
            raise CacheError(f"the xlfactor cache {self.path} {problem} and could not be moved "
                             f"aside ({exc}); close other programs using it or delete it") from exc
        warnings.warn(f"the xlfactor cache {self.path} {problem}; it was moved to {target.name} "
                      "and an empty cache was created", CacheWarning, stacklevel=2)


# --------------------------------------------------------------------------- helpers


def _dump_meta(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "{}"
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    return json.dumps(meta)


def _vacuum_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("VACUUM")
    except sqlite3.OperationalError:
        pass  # a busy database stays its current size; nothing is lost


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _same_file(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size,
                                                             b.st_mtime_ns)


def _unused_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    return target


class TolerantStore:
    """The cache as the data sources use it: a cache that fails never costs the data.

    Wraps a :class:`Store`. A read that fails (an unreadable file, a folder that cannot be
    created) answers "not cached"; a write that fails (a read-only file or folder, a full
    disk) keeps the freshly downloaded data in memory only. Either way :attr:`problem`
    says what happened, in words the sources pass on as a warning, until the operation
    that failed succeeds again.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.problem: str | None = None

    def _failed(self, what: str, exc: CacheError) -> None:
        self.problem = (f"the cache could not be {what} ({exc}); data are served from memory "
                        "and downloaded again next time")

    def get_frame(self, key: str) -> CachedFrame | None:
        try:
            hit = self.store.get_frame(key)
        except CacheError as exc:
            self._failed("read", exc)
            return None
        if self.problem and "read" in self.problem.split("(")[0]:
            self.problem = None  # reading works again: a past read failure is history
        return hit

    def version(self, key: str) -> str | None:
        try:
            return self.store.version(key)
        except CacheError as exc:
            self._failed("read", exc)
            return None

    def put_frame(self, key: str, frame: pd.DataFrame, meta: dict[str, Any] | None = None
                  ) -> None:
        try:
            self.store.put_frame(key, frame, meta)
        except CacheError as exc:
            self._failed("written", exc)
        else:
            self.problem = None

    def __getattr__(self, name: str) -> Any:  # info(), keys(), clear()... as the store has them
        return getattr(self.store, name)

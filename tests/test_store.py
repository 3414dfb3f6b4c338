"""Tests of the SQLite frame cache (:mod:`xlfactor.data.store`).

Frames used for crash and concurrency checks are deterministic functions of a string
seed, so any process can rebuild the expected content independently of the cache.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import traceback
import warnings
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xlfactor.data.store.codec as store_codec
from xlfactor.data.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    CachedFrame,
    CacheWarning,
    Store,
    default_cache_dir,
)
from xlfactor.domain.errors import CacheError

HAS_FORK = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


# ------------------------------------------------------------------------- helpers


def seeded_frame(seed: str, nrows: int, ncols: int = 4) -> pd.DataFrame:
    """Return-like values (two decimals, some NaN) fully determined by ``seed``."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little"))
    values = rng.integers(-5000, 5000, size=(nrows, ncols)) / 100.0
    values[rng.random((nrows, ncols)) < 0.01] = np.nan
    index = pd.DatetimeIndex(pd.date_range("1990-01-01", periods=nrows, freq="D"), freq=None,
                             name="date")
    return pd.DataFrame(values, index=index, columns=[f"c{i}" for i in range(ncols)])


def assert_identical(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same labels and dtypes, bit-identical values (so -0.0, NaN payloads and inf count).

    Plain numpy comparisons: ``assert_frame_equal`` boxes every timestamp and takes
    seconds on the 200k-row frames of the crash test.
    """
    assert isinstance(got, pd.DataFrame)
    assert got.shape == expected.shape
    assert list(got.columns) == list(expected.columns)
    assert got.columns.name == expected.columns.name
    assert got.index.name == expected.index.name
    assert got.index.dtype == expected.index.dtype
    assert list(got.dtypes) == list(expected.dtypes)
    assert np.array_equal(got.index.to_numpy().view(np.int64), expected.index.to_numpy().view(np.int64))
    assert np.array_equal(got.to_numpy().view(np.uint64), expected.to_numpy().view(np.uint64))


def reread(directory: Path, key: str) -> CachedFrame | None:
    """Read through a new Store, so the payload is decoded rather than memoised."""
    store = Store(directory)
    try:
        return store.get_frame(key)
    finally:
        store.close()


def raw_connect(directory: Path) -> closing[sqlite3.Connection]:
    """An autocommit connection that bypasses Store, closed on leaving the ``with`` block."""
    return closing(sqlite3.connect(directory / "cache.sqlite3", isolation_level=None))


def row_count(directory: Path, key: str) -> int:
    with raw_connect(directory) as conn:
        return conn.execute("SELECT count(*) FROM frames WHERE key = ?", (key,)).fetchone()[0]


def corrupt_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("cache.sqlite3.corrupt-*"))


# ------------------------------------------------------------------ default path


def test_default_cache_dir_uses_environment(tmp_cache: Path) -> None:
    assert default_cache_dir() == tmp_cache
    assert Store().path == tmp_cache / "cache.sqlite3"


def test_default_cache_dir_falls_back_to_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("XLFACTOR_CACHE_DIR", raising=False)
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("xlfactor"))


def test_store_touches_disk_only_on_first_use(tmp_cache: Path) -> None:
    store = Store()
    assert not tmp_cache.exists()
    assert store.keys() == []
    assert (tmp_cache / "cache.sqlite3").is_file()
    with raw_connect(tmp_cache) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --------------------------------------------------------------------- round trip


def test_roundtrip_is_bit_exact_for_special_values(tmp_cache: Path) -> None:
    odd_nan = np.array([0x7FF8_0000_0000_0123, 0xFFF8_0000_0000_0000], dtype=np.uint64).view(np.float64)
    column = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, odd_nan[0], odd_nan[1],
                       5e-324, np.finfo(float).max, 0.1])
    frame = pd.DataFrame({"Mkt-RF": column, "RF": column[::-1].copy()},
                         index=pd.DatetimeIndex(pd.date_range("2024-01-01", periods=10), freq=None,
                                                name="date"))
    Store().put_frame("french:special", frame)
    cached = reread(tmp_cache, "french:special")
    assert cached is not None
    assert_identical(cached.frame, frame)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_roundtrip_keeps_index_resolution_and_nat(tmp_cache: Path, unit: str) -> None:
    index = pd.DatetimeIndex(["1926-07-01", "2262-04-11", None, "1677-09-22"], name="when").as_unit(unit)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=index)
    Store().put_frame("k", frame)
    cached = reread(tmp_cache, "k")
    assert cached is not None
    assert cached.frame.index.dtype == np.dtype(f"M8[{unit}]")
    assert_identical(cached.frame, frame)


@pytest.mark.parametrize("shape", [(0, 3), (5, 0), (0, 0)])
def test_roundtrip_of_empty_frames(tmp_cache: Path, shape: tuple[int, int]) -> None:
    nrows, ncols = shape
    frame = pd.DataFrame(np.empty(shape), columns=[f"c{i}" for i in range(ncols)],
                         index=pd.DatetimeIndex(pd.date_range("2000-01-01", periods=nrows), freq=None))
    Store().put_frame("empty", frame)
    cached = reread(tmp_cache, "empty")
    assert cached is not None
    assert cached.frame.shape == shape
    assert_identical(cached.frame, frame)


def test_roundtrip_of_a_long_daily_history(tmp_cache: Path) -> None:
    frame = seeded_frame("french:F-F_Research_Data_Factors_daily", 26_000, 5)
    frame.columns = pd.Index(["Mkt-RF", "SMB", "HML", "RF", "Mom   "], name="factor")
    Store().put_frame("french:F-F_Research_Data_Factors_daily", frame)
    cached = reread(tmp_cache, "french:F-F_Research_Data_Factors_daily")
    assert cached is not None
    assert cached.frame.columns.name == "factor"
    assert_identical(cached.frame, frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12),
                         elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)),
       names=st.lists(st.text(max_size=8), min_size=12, max_size=12, unique=True))
def test_roundtrip_property(tmp_cache: Path, values: np.ndarray, names: list[str]) -> None:
    index = pd.DatetimeIndex(pd.date_range("2001-01-01", periods=values.shape[0]), freq=None)
    frame = pd.DataFrame(values, index=index, columns=names[: values.shape[1]])
    Store(tmp_cache).put_frame("prop", frame)
    cached = reread(tmp_cache, "prop")
    assert cached is not None
    assert_identical(cached.frame, frame)


# ------------------------------------------------------------------- meta, keys


def test_meta_roundtrip_and_fetched_at(tmp_cache: Path) -> None:
    store = Store()
    meta = {"source": "Kenneth French", "release": "202510 CRSP", "rows": 26_000,
            "nested": {"tickers": ["AAPL", "MSFT"], "ok": True, "none": None}, "µ": "ü"}
    before = time.time()
    store.put_frame("french:meta", seeded_frame("m", 3), meta)
    cached = reread(tmp_cache, "french:meta")
    assert cached is not None
    assert cached.meta == meta
    assert cached.fetched_at.tzinfo is not None and cached.fetched_at.utcoffset().total_seconds() == 0
    assert before - 1 <= cached.fetched_at.timestamp() <= time.time() + 1
    assert 0 <= cached.age_seconds < 60
    store.put_frame("no-meta", seeded_frame("m", 3))
    assert store.get_frame("no-meta").meta == {}


def test_meta_must_be_a_json_object(tmp_cache: Path) -> None:
    store = Store()
    with pytest.raises(TypeError):
        store.put_frame("k", seeded_frame("m", 3), ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.put_frame("k", seeded_frame("m", 3), {"when": object()})
    assert store.keys() == []


def test_put_replaces_the_previous_entry(tmp_cache: Path) -> None:
    store = Store()
    first, second = seeded_frame("v1", 10), seeded_frame("v2", 20, 2)
    store.put_frame("yahoo:AAPL", first, {"v": 1})
    store.put_frame("yahoo:AAPL", second, {"v": 2})
    for cached in (store.get_frame("yahoo:AAPL"), reread(tmp_cache, "yahoo:AAPL")):
        assert cached is not None
        assert cached.meta == {"v": 2}
        assert_identical(cached.frame, second)
    assert store.keys() == ["yahoo:AAPL"]


def test_keys_filter_by_literal_case_sensitive_prefix(tmp_cache: Path) -> None:
    store = Store()
    names = ["yahoo:AAPL", "yahoo:MSFT", "YAHOO:IBM", "french:F-F_Research_Data_Factors",
             "french%x", "frenchXx", "yahoo_x", "µ:1"]
    for name in names:
        store.put_frame(name, seeded_frame(name, 2))
    assert store.keys() == sorted(names)
    assert store.keys("yahoo:") == ["yahoo:AAPL", "yahoo:MSFT"]
    assert store.keys("french%") == ["french%x"]
    assert store.keys("yahoo_") == ["yahoo_x"]
    assert store.keys("µ") == ["µ:1"]
    assert store.keys("nothing") == []


def test_keys_are_never_used_as_paths(tmp_cache: Path) -> None:
    store = Store()
    nasty = ["../../escape", "a/b\\c:*?<>|", "", "CON", "/abs/path"]
    for name in nasty:
        store.put_frame(name, seeded_frame(name, 2))
    assert sorted(p.name for p in tmp_cache.iterdir() if not p.name.startswith("cache.sqlite3")) == []
    assert not (tmp_cache.parent / "escape").exists()
    assert store.keys() == sorted(nasty)


def test_delete_info_and_clear(tmp_cache: Path) -> None:
    store = Store()
    assert store.info()["entries"] == 0 and store.info()["newest_fetched_at"] is None
    for i in range(3):
        store.put_frame(f"k{i}", seeded_frame(f"k{i}", 1000))
    info = store.info()
    assert info["path"] == str(tmp_cache / "cache.sqlite3")
    assert info["entries"] == 3 and info["size_bytes"] > 0
    assert abs(info["newest_fetched_at"].timestamp() - time.time()) < 60
    store.delete("k1")
    store.delete("never-there")
    assert store.keys() == ["k0", "k2"]
    assert store.get_frame("k1") is None
    store.clear()
    assert store.keys() == [] and store.info()["entries"] == 0
    assert store.get_frame("k0") is None


def test_callers_cannot_change_cached_frames(tmp_cache: Path) -> None:
    store = Store()
    original = seeded_frame("mut", 50)
    frame = original.copy()
    store.put_frame("k", frame)
    frame.iloc[0, 0] = 999.0  # the caller keeps using its own frame
    got = store.get_frame("k")
    assert got is not None
    got.frame.iloc[:, :] = -1.0
    got.frame.index.name = "changed"
    got.frame.columns = ["w", "x", "y", "z"]
    again = store.get_frame("k")
    assert again is not None
    assert_identical(again.frame, original)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (pd.DataFrame({"x": [1.0]}, index=[0]), TypeError),
        (pd.DataFrame({"x": [1]}, index=pd.DatetimeIndex(["2020-01-01"])), TypeError),
        (pd.DataFrame({1: [1.0]}, index=pd.DatetimeIndex(["2020-01-01"])), TypeError),
        (pd.DataFrame({"x": [1.0]}, index=pd.DatetimeIndex(["2020-01-01"], tz="UTC")), ValueError),
        (pd.Series([1.0], index=pd.DatetimeIndex(["2020-01-01"])), TypeError),
        (pd.DataFrame({"x": [1.0]}, index=pd.DatetimeIndex(["2020-01-01"], name=("a", 1))), TypeError),
    ],
)
def test_put_rejects_frames_it_cannot_store_exactly(tmp_cache: Path, frame: Any, error: type) -> None:
    with pytest.raises(error):
        Store().put_frame("bad", frame)


# ------------------------------------------------------------ damaged entries


def _damage_row(directory: Path, key: str, **columns: Any) -> None:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with raw_connect(directory) as conn:
        conn.execute(f"UPDATE frames SET {assignments} WHERE key = ?", (*columns.values(), key))


def test_payload_with_wrong_digest_is_dropped_with_a_warning(tmp_cache: Path) -> None:
    Store().put_frame("yahoo:AAPL", seeded_frame("a", 500))
    Store().put_frame("yahoo:MSFT", seeded_frame("b", 500))
    with raw_connect(tmp_cache) as conn:
        payload = bytearray(conn.execute("SELECT payload FROM frames WHERE key = 'yahoo:AAPL'").fetchone()[0])
    payload[len(payload) // 2] ^= 0xFF
    _damage_row(tmp_cache, "yahoo:AAPL", payload=bytes(payload))
    store = Store()
    with pytest.warns(CacheWarning, match="yahoo:AAPL.*checksum"):
        assert store.get_frame("yahoo:AAPL") is None
    assert row_count(tmp_cache, "yahoo:AAPL") == 0
    assert_identical(store.get_frame("yahoo:MSFT").frame, seeded_frame("b", 500))


@pytest.mark.parametrize(
    "payload",
    [zlib.compress(b"not a frame"), b"not even zlib",
     zlib.compress(b"XLF1\x02\x00\x00\x00{}"), zlib.compress(b"XLF1\xff\x00\x00\x00{")],
)
def test_undecodable_payload_is_dropped_with_a_warning(tmp_cache: Path, payload: bytes) -> None:
    Store().put_frame("k", seeded_frame("a", 5))
    _damage_row(tmp_cache, "k", payload=payload, digest=hashlib.sha256(payload).hexdigest())
    with pytest.warns(CacheWarning, match="decoded"):
        assert Store().get_frame("k") is None
    assert row_count(tmp_cache, "k") == 0


def test_payload_length_not_matching_header_is_rejected(tmp_cache: Path) -> None:
    Store().put_frame("k", seeded_frame("a", 5))
    with raw_connect(tmp_cache) as conn:
        raw = zlib.decompress(conn.execute("SELECT payload FROM frames").fetchone()[0])
    truncated = zlib.compress(raw[:-8])
    _damage_row(tmp_cache, "k", payload=truncated, digest=hashlib.sha256(truncated).hexdigest())
    with pytest.warns(CacheWarning, match="length"):
        assert Store().get_frame("k") is None


def test_unreadable_meta_is_dropped_with_a_warning(tmp_cache: Path) -> None:
    Store().put_frame("k", seeded_frame("a", 5), {"a": 1})
    _damage_row(tmp_cache, "k", meta="{not json")
    with pytest.warns(CacheWarning, match="metadata"):
        assert Store().get_frame("k") is None
    assert row_count(tmp_cache, "k") == 0


# ---------------------------------------------------------------- damaged files


def test_garbage_file_is_moved_aside_and_rebuilt(tmp_cache: Path) -> None:
    tmp_cache.mkdir()
    garbage = b"this is not a database\n" * 500
    (tmp_cache / "cache.sqlite3").write_bytes(garbage)
    (tmp_cache / "cache.sqlite3-shm").write_bytes(b"stale shm")
    store = Store()
    with pytest.warns(CacheWarning, match="not a readable SQLite database.*moved"):
        store.put_frame("k", seeded_frame("a", 5))
    aside, aside_shm = corrupt_files(tmp_cache)
    assert aside.read_bytes() == garbage
    assert aside_shm.name == aside.name + "-shm" and aside_shm.read_bytes() == b"stale shm"
    assert_identical(reread(tmp_cache, "k").frame, seeded_frame("a", 5))


def _foreign_with_table(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
        conn.execute("INSERT INTO accounts (owner) VALUES ('someone')")


def _foreign_application_id(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA application_id = 1234")


@pytest.mark.parametrize(
    ("make", "reason"),
    [(_foreign_with_table, "another application"), (_foreign_application_id, "another application")],
)
def test_foreign_database_is_moved_aside(tmp_cache: Path, make: Any, reason: str) -> None:
    tmp_cache.mkdir()
    make(tmp_cache / "cache.sqlite3")
    original = (tmp_cache / "cache.sqlite3").read_bytes()
    with pytest.warns(CacheWarning, match=reason):
        assert Store().keys() == []
    (aside,) = corrupt_files(tmp_cache)
    assert aside.read_bytes() == original  # kept intact for whoever owns it
    Store().put_frame("k", seeded_frame("a", 5))
    assert reread(tmp_cache, "k") is not None


def test_database_failing_integrity_check_is_moved_aside(tmp_cache: Path) -> None:
    store = Store()
    for i in range(30):
        store.put_frame(f"k{i:02d}", seeded_frame(f"k{i}", 2000, 3))
    store.close()  # the last connection checkpoints the WAL into the main file
    path = tmp_cache / "cache.sqlite3"
    data = bytearray(path.read_bytes())
    page = 4096
    for number in (2, 3):  # table and primary-key b-tree roots: scramble their cell pointers
        start = (number - 1) * page
        data[start + 8:start + page] = b"\x5a" * (page - 8)
    path.write_bytes(bytes(data))
    # Both roots gone: SQLite reads no row, but every row is still on its leaf pages.
    with pytest.warns(CacheWarning, match=r"integrity check.*moved to .*30 entries were "
                                          r"salvaged.*unknown"):
        assert Store().keys() == [f"k{i:02d}" for i in range(30)]
    assert len([f for f in corrupt_files(tmp_cache) if not f.name.endswith(("-wal", "-shm"))]) == 1
    for i in (0, 17, 29):
        assert_identical(reread(tmp_cache, f"k{i:02d}").frame, seeded_frame(f"k{i}", 2000, 3))


def test_unusable_directory_raises_cache_error_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store = Store(blocker / "cache")
    with pytest.raises(CacheError, match="not-a-dir"):
        store.get_frame("k")


# ------------------------------------------------------------------ locking


def test_write_lock_held_elsewhere_ends_in_cache_error(tmp_cache: Path) -> None:
    Store().put_frame("k", seeded_frame("a", 5))
    blocker = sqlite3.connect(tmp_cache / "cache.sqlite3", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        store = Store(busy_timeout=0.05, max_attempts=3)
        assert store.get_frame("k") is not None  # WAL readers are not blocked by a writer
        started = time.monotonic()
        with pytest.raises(CacheError, match="locked"):
            store.put_frame("k", seeded_frame("b", 5))
        assert time.monotonic() - started < 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert_identical(reread(tmp_cache, "k").frame, seeded_frame("a", 5))


def test_write_lock_released_during_retries_is_waited_out(tmp_cache: Path) -> None:
    Store().put_frame("k", seeded_frame("a", 5))
    blocker = sqlite3.connect(tmp_cache / "cache.sqlite3", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.3, blocker.execute, args=("ROLLBACK",))
    released.start()
    try:
        Store(busy_timeout=0.05, max_attempts=20).put_frame("k", seeded_frame("b", 5))
    finally:
        released.join()
        blocker.close()
    assert_identical(reread(tmp_cache, "k").frame, seeded_frame("b", 5))


def test_threads_share_a_store(tmp_cache: Path) -> None:
    store = Store()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                key = f"t{worker}:{i % 3}"
                store.put_frame(key, seeded_frame(f"{key}/{i}", 200))
                assert_identical(store.get_frame(key).frame, seeded_frame(f"{key}/{i}", 200))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.keys("t")) == 12


def _forked_put(store: Store, queue: Any) -> None:
    try:
        store.put_frame("from-child", seeded_frame("child", 50))
        queue.put(("ok", store.get_frame("parent").meta))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))


@pytest.mark.skipif(not HAS_FORK, reason="needs the fork start method")
def test_forked_child_opens_its_own_connection(tmp_cache: Path) -> None:
    store = Store()
    store.put_frame("parent", seeded_frame("parent", 50), {"who": "parent"})
    parent_connection = store._connection()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_forked_put, args=(store, queue))
    child.start()
    result = queue.get(timeout=30)
    child.join(30)
    assert result == ("ok", {"who": "parent"})
    assert store._connection() is parent_connection
    assert_identical(store.get_frame("from-child").frame, seeded_frame("child", 50))


# --------------------------------------------------------------------- memo


def _spawned_put(directory: str, key: str, seed: str) -> None:
    Store(directory).put_frame(key, seeded_frame(seed, 3000), {"seed": seed})


def test_memo_skips_decoding_until_another_process_writes(
        tmp_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes: list[int] = []
    real_decode = store_codec.decode_payload

    def counting_decode(payload: bytes) -> pd.DataFrame:
        decodes.append(len(payload))
        return real_decode(payload)

    monkeypatch.setattr(store_codec, "decode_payload", counting_decode)
    Store().put_frame("yahoo:AAPL", seeded_frame("v1", 3000), {"seed": "v1"})
    reader = Store()
    for _ in range(50):
        cached = reader.get_frame("yahoo:AAPL")
        assert cached is not None and cached.meta == {"seed": "v1"}
    assert len(decodes) == 1
    assert_identical(cached.frame, seeded_frame("v1", 3000))

    child = multiprocessing.get_context("spawn").Process(
        target=_spawned_put, args=(str(tmp_cache), "yahoo:AAPL", "v2"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    for _ in range(5):
        cached = reader.get_frame("yahoo:AAPL")
        assert cached is not None and cached.meta == {"seed": "v2"}
    assert len(decodes) == 2
    assert_identical(cached.frame, seeded_frame("v2", 3000))


def test_writer_reads_its_own_put_without_decoding(tmp_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes: list[bytes] = []
    monkeypatch.setattr(store_codec, "decode_payload", lambda payload: decodes.append(payload))
    store = Store()
    store.put_frame("k", seeded_frame("a", 100))
    assert_identical(store.get_frame("k").frame, seeded_frame("a", 100))
    store.delete("k")
    assert store.get_frame("k") is None
    assert decodes == []


# ------------------------------------------------------------- crash safety

CRASH_ROWS = 200_000
CRASH_COLUMNS = 6


def _crash_writer(directory: str, log_path: str) -> None:
    """Write large frames forever; log each key once its put has returned (committed)."""
    store = Store(directory)
    store.keys()  # open and check the file before announcing readiness
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("ready\n")
        log.flush()
        for i in range(200):
            key = f"crash:{os.getpid()}:{i}"
            store.put_frame(key, seeded_frame(key, CRASH_ROWS, CRASH_COLUMNS), {"i": i})
            log.write(key + "\n")
            log.flush()
    os._exit(0)


def _complete_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.split("\n")
    return lines[:-1]  # the last piece is "" or a line cut short by the kill


def _run_and_kill(context: Any, directory: Path, log_path: Path, rng: random.Random) -> tuple[int, list[str]]:
    child = context.Process(target=_crash_writer, args=(str(directory), str(log_path)))
    child.start()
    deadline = time.monotonic() + 30
    while not _complete_lines(log_path) and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.6))
    if hasattr(signal, "SIGKILL"):
        os.kill(child.pid, signal.SIGKILL)
    else:
        child.kill()
    child.join(10)
    return child.pid, [line for line in _complete_lines(log_path) if line != "ready"]


def _check_after_crash(directory: Path, pid: int, committed: list[str]) -> None:
    store = Store(directory)
    in_flight = f"crash:{pid}:{len(committed)}"  # may or may not have committed
    present = store.keys()
    assert set(committed) <= set(present)
    assert set(present) <= set(committed) | {in_flight}
    for key in present:
        cached = store.get_frame(key)
        assert cached is not None, key
        assert_identical(cached.frame, seeded_frame(key, CRASH_ROWS, CRASH_COLUMNS))
    for key in present:  # keep the file small for the next round
        store.delete(key)
    store.close()


def test_killed_writer_never_leaves_a_half_written_frame(tmp_cache: Path, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork" if HAS_FORK else "spawn")
    rng = random.Random(20240601)
    total_committed = 0
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # any repair would mean damage
        for round_number in range(20):
            log_path = tmp_path / f"round{round_number}.log"
            pid, committed = _run_and_kill(context, tmp_cache, log_path, rng)
            _check_after_crash(tmp_cache, pid, committed)
            total_committed += len(committed)
    assert total_committed >= 3, "the writer was killed too early to test anything"
    assert time.monotonic() - started < 60


# -------------------------------------------------------------- concurrency

CONCURRENT_KEYS = [f"yahoo:T{i}" for i in range(5)]


def _value_frame(key: str, writer: int, seq: int) -> pd.DataFrame:
    seed = f"{key}|{writer}|{seq}"
    nrows = 500 + int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) % 8000
    return seeded_frame(seed, nrows, 3)


def _concurrent_worker(directory: str, writer: int, start: Any, seconds: float, results: Any) -> None:
    """Mix puts, gets and listings on shared keys; report what was written or the failure."""
    written: list[tuple[str, int, int]] = []
    counts = {"put": 0, "get": 0, "other": 0}
    try:
        warnings.simplefilter("error", CacheWarning)
        rng = random.Random(writer)
        # Odd workers barely wait inside SQLite, so lock conflicts go through the retry loop.
        store = Store(directory, busy_timeout=0.01, max_attempts=40) if writer % 2 else Store(directory)
        results.put(("ready", writer))
        start.wait(60)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            key, roll = rng.choice(CONCURRENT_KEYS), rng.random()
            if roll < 0.45:
                seq = counts["put"]
                store.put_frame(key, _value_frame(key, writer, seq), {"writer": writer, "seq": seq})
                written.append((key, writer, seq))
                counts["put"] += 1
            elif roll < 0.9:
                cached = store.get_frame(key)
                if cached is not None:
                    expected = _value_frame(key, cached.meta["writer"], cached.meta["seq"])
                    assert_identical(cached.frame, expected)
                counts["get"] += 1
            else:
                store.keys("yahoo:")
                store.info()
                counts["other"] += 1
        results.put((writer, counts, written, None))
    except BaseException:  # noqa: BLE001 - everything is reported to the parent
        results.put((writer, counts, written, traceback.format_exc()))


def test_processes_share_the_cache_without_errors(tmp_cache: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_concurrent_worker,
                               args=(str(tmp_cache), n, start, 3.0, results)) for n in range(4)]
    for worker in workers:
        worker.start()
    assert sorted(results.get(timeout=90) for _ in workers) == [("ready", n) for n in range(4)]
    start.set()  # all four open the (not yet existing) file at about the same time
    reports = [results.get(timeout=90) for _ in workers]
    print("operations per worker:", [counts for _, counts, _, _ in reports])
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert [error for *_, error in reports if error] == []
    assert all(counts["put"] > 0 and counts["get"] > 0 for _, counts, _, _ in reports)

    written = {triple for *_, triples, _ in reports for triple in triples}
    store = Store(tmp_cache)
    for key in CONCURRENT_KEYS:
        cached = store.get_frame(key)
        assert cached is not None
        writer, seq = cached.meta["writer"], cached.meta["seq"]
        assert (key, writer, seq) in written
        assert_identical(cached.frame, _value_frame(key, writer, seq))


class _InterleavedConnection(sqlite3.Connection):
    """A connection that lets another process's first start land between two of its
    statements: after its first statement, ``hook`` runs once."""

    hook: Any = None

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:  # type: ignore[override]
        cursor = super().execute(*args, **kwargs)
        hook, type(self).hook = type(self).hook, None
        if hook is not None:
            cursor = _Rows(cursor.fetchall())
            hook()
        return cursor  # type: ignore[return-value]


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Any]:
        return self.rows


def test_a_file_initialised_by_another_process_while_examined_is_not_foreign(tmp_path):
    """Four processes opening a new cache at once: one examines the empty file while
    another marks it as ours and creates the table; the examiner must see one state."""
    from xlfactor.data.store import sqlite as store_sqlite

    path = tmp_path / "cache.sqlite3"
    sqlite3.connect(path).close()  # the empty file the first process created

    def other_process_initialises() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            store_sqlite.initialise_schema(other)

    with closing(sqlite3.connect(path, isolation_level=None,
                                 factory=_InterleavedConnection)) as conn:
        _InterleavedConnection.hook = other_process_initialises
        finding = store_sqlite.examine(conn)
        _InterleavedConnection.hook = None
    assert finding is None

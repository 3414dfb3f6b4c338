"""The cache heals instead of forgetting: damaged rows, damaged pages, newer files.

The cache under test holds what YahooPrices really stores: the adjusted closes of six
recorded yfinance files (``tests/data/yahoo_csv``), under ``yahoo:<TICKER>`` keys with the
same metadata. Damage is done to the file's bytes, as a disk or a crashed copy would.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import struct
import warnings
import zlib
from contextlib import closing
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from xlfactor.data.store import SCHEMA_VERSION, CacheWarning, Store, TolerantStore
from xlfactor.data.store.common import cache_events, clear_cache_events
from xlfactor.data.store.salvage import salvage
from xlfactor.data.yahoo import YahooPrices
from xlfactor.domain.errors import CacheError

TICKERS = ["AAPL", "AMZN", "JPM", "MSFT", "SPY", "XOM"]
CSV_DIR = "yahoo_csv/yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
PAGE = 4096


def recorded_closes(shared_data: Path, ticker: str) -> pd.Series:
    frame = pd.read_csv(shared_data / CSV_DIR / f"{ticker}.csv", index_col="Date",
                        parse_dates=True)
    closes = frame["Close"].astype("float64").rename(ticker)
    closes.index = pd.DatetimeIndex(closes.index, name="date").as_unit("ns")
    return closes


def fill_cache(directory: Path, shared_data: Path) -> dict[str, pd.Series]:
    """The six recorded series, stored as YahooPrices stores them; the store closed."""
    store = Store(directory)
    series = {}
    for ticker in TICKERS:
        closes = recorded_closes(shared_data, ticker)
        series[ticker] = closes
        store.put_frame(f"yahoo:{ticker}", closes.to_frame("close"),
                        {"start": "2005-10-10", "end": "2025-10-08", "source": "Yahoo"})
    store.close()  # the last connection checkpoints the WAL into the main file
    return series


@pytest.fixture(autouse=True)
def _fresh_events() -> None:
    clear_cache_events()


def moved_aside(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("cache.sqlite3.corrupt-*")
                  if not p.name.endswith(("-wal", "-shm")))


def offline_prices(directory: Path, tickers: list[str]) -> pd.DataFrame:
    source = YahooPrices(store=TolerantStore(Store(directory)), offline=True)
    return source.get_prices(tickers, date(2024, 1, 1), date(2024, 12, 31)).prices


# ------------------------------------------------------------------ undecodable rows


def _deep_header_payload(depth: int) -> bytes:
    header = (b"[" * depth) + (b"]" * depth)
    return zlib.compress(struct.pack("<4sI", b"XLF1", len(header)) + header)


@pytest.mark.parametrize("column", ["payload", "meta"])
def test_a_row_too_deep_to_decode_is_quarantined_and_refetched(
        tmp_cache: Path, shared_data: Path, column: str, monkeypatch) -> None:
    series = fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        if column == "payload":  # a valid digest over a 200k-deep JSON header
            payload = _deep_header_payload(200_000)
            conn.execute("UPDATE frames SET payload = ?, digest = ? WHERE key = 'yahoo:MSFT'",
                         (payload, hashlib.sha256(payload).hexdigest()))
        else:
            conn.execute("UPDATE frames SET meta = ? WHERE key = 'yahoo:MSFT'",
                         ("[" * 200_000 + "]" * 200_000,))
    store = Store(tmp_cache)
    with pytest.warns(CacheWarning, match=r"'yahoo:MSFT'.*RecursionError.*quarantine"):
        assert store.get_frame("yahoo:MSFT") is None  # not a RecursionError
    assert store.get_frame("yahoo:MSFT") is None  # and not at the next read either
    assert "yahoo:MSFT" not in store.keys()
    (entry,) = store.quarantined()
    assert entry["key"] == "yahoo:MSFT" and "RecursionError" in entry["reason"]
    assert store.get_frame("yahoo:AAPL").frame["close"].equals(series["AAPL"])
    assert any("yahoo:MSFT" in e.text for e in cache_events())

    # The source asks for MSFT again, and that download replaces the quarantined row.
    fetched: list[list[str]] = []

    def fake_download(symbols, first, last, wait=4.0, **bounds):
        from xlfactor.data.yahoo_download import Download

        fetched.append(list(symbols))
        closes = series["MSFT"].loc[first:last]
        frame = pd.concat({("Close", "MSFT"): closes}, axis=1)
        return Download(frame, {})

    monkeypatch.setattr("xlfactor.data.yahoo.download", fake_download)
    prices = YahooPrices(store=TolerantStore(store))
    got = prices.get_prices(["AAPL", "MSFT"], date(2024, 1, 2), date(2024, 6, 28)).prices
    assert fetched == [["MSFT"]]  # AAPL came from the cache, MSFT from the network
    assert got["MSFT"].dropna().equals(series["MSFT"].loc["2024-01-02":"2024-06-28"])
    assert store.get_frame("yahoo:MSFT") is not None


def test_every_decoding_failure_is_a_damaged_row_not_an_exception(tmp_cache: Path) -> None:
    import xlfactor.data.store.codec as codec

    for payload in [_deep_header_payload(5000),
                    zlib.compress(struct.pack("<4sI", b"XLF1", 10) + b'{"columns"'),
                    zlib.compress(struct.pack("<4sI", b"XLF1", 4) + b"\xff\xfe\xfd\xfc"),
                    zlib.compress(struct.pack("<4sI", b"XLF1", 2) + b"{}"),
                    zlib.compress(b"XLF1")]:
        with pytest.raises(codec.CorruptPayload):
            codec.decode_payload(payload)


# ------------------------------------------------------------------ damaged pages


def _page_map(path: Path) -> dict[int, tuple[str, int]]:
    """Page number -> (type, cells) of the ``frames`` table's pages, from SQLite's dbstat."""
    with closing(sqlite3.connect(path)) as conn:
        try:
            rows = conn.execute("SELECT pageno, pagetype, ncell FROM dbstat "
                                "WHERE name = 'frames'").fetchall()
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
    return {page: (kind, cells) for page, kind, cells in rows}


def _leaf_pages(path: Path) -> list[int]:
    return sorted(p for p, (kind, _) in _page_map(path).items() if kind == "leaf")


def _garbage_over(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    start = (page - 1) * PAGE
    data[start:start + PAGE] = hashlib.sha256(b"%d" % page).digest() * (PAGE // 32)
    path.write_bytes(bytes(data))


def test_one_damaged_leaf_page_costs_only_its_own_entries(tmp_cache: Path,
                                                          shared_data: Path) -> None:
    series = fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    leaf = _leaf_pages(path)[0]
    cells = _page_map(path)[leaf][1]
    _garbage_over(path, leaf)
    damaged = path.read_bytes()
    with pytest.warns(CacheWarning, match=r"moved to cache\.sqlite3\.corrupt-.* and "
                                          r"(\d) of 6 entries were salvaged") as record:
        keys = Store(tmp_cache).keys()
    message = str(record[-1].message)
    assert len(keys) == 6 - cells and f"{len(keys)} of 6 entries were salvaged" in message
    lost = sorted(set(TICKERS) - {k.split(":")[1] for k in keys})
    assert f"{6 - len(keys)} lost (" + ", ".join(f"yahoo:{t}" for t in lost) in message
    (aside,) = moved_aside(tmp_cache)
    assert aside.read_bytes() == damaged  # kept as it was
    store = Store(tmp_cache)
    for key in keys:  # every salvaged entry is exactly what was stored
        assert store.get_frame(key).frame["close"].equals(series[key.split(":")[1]])
    # offline, the salvaged tickers are served; the lost ones say "not cached"
    kept = [k.split(":")[1] for k in keys]
    assert list(offline_prices(tmp_cache, kept).columns) == kept


@pytest.mark.parametrize("where", ["header page", "table root", "every page"])
def test_garbage_over_any_one_page_never_loses_more_than_that_page_held(
        tmp_cache: Path, shared_data: Path, tmp_path: Path, where: str) -> None:
    series = fill_cache(tmp_cache, shared_data)
    original = (tmp_cache / "cache.sqlite3").read_bytes()
    layout = _page_map(tmp_cache / "cache.sqlite3")
    pages = {"header page": [1], "table root": [2],
             "every page": range(1, len(original) // PAGE + 1)}[where]
    for page in pages:
        directory = tmp_path / f"p{page}"
        directory.mkdir()
        (directory / "cache.sqlite3").write_bytes(original)
        _garbage_over(directory / "cache.sqlite3", page)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CacheWarning)
            store = Store(directory)
            keys = store.keys()
        # what the page held: its cells (a leaf), part of one row (an overflow page),
        # or no row at all (the header and schema page, the table root, the key index)
        kind, cells = layout.get(page, ("other", 0))
        held = {"leaf": cells, "overflow": 1}.get(kind, 0)
        assert len(keys) == 6 - held, (page, kind, keys)
        for key in keys:
            assert store.get_frame(key).frame["close"].equals(series[key.split(":")[1]])
        store.close()


def test_salvage_reads_rows_still_in_the_wal(tmp_cache: Path, shared_data: Path,
                                             tmp_path: Path) -> None:
    """Entries committed to the -wal but not yet checkpointed are salvaged too."""
    series = fill_cache(tmp_cache, shared_data)
    store = Store(tmp_cache)
    store.get_frame("yahoo:AAPL")  # hold a connection: no checkpoint on close of others
    writer = Store(tmp_cache)
    extra = series["XOM"] * 2.0
    writer.put_frame("yahoo:XOM2", extra.to_frame("close"), {"start": "2005-10-10",
                                                             "end": "2025-10-08"})
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{tmp_cache}/cache.sqlite3{suffix}", f"{copy}/cache.sqlite3{suffix}")
    writer.close()
    store.close()
    wal = (copy / "cache.sqlite3-wal").read_bytes()
    in_wal = {struct.unpack_from(">I", wal, offset)[0]
              for offset in range(32, len(wal) - 24 - PAGE + 1, 24 + PAGE)}
    assert in_wal
    # damage a leaf page the WAL does not replace, so SQLite itself sees the damage
    damaged = next(p for p in _leaf_pages(tmp_cache / "cache.sqlite3") if p not in in_wal)
    _garbage_over(copy / "cache.sqlite3", damaged)
    with pytest.warns(CacheWarning, match="salvaged"):
        keys = Store(copy).keys()
    assert "yahoo:XOM2" in keys
    assert Store(copy).get_frame("yahoo:XOM2").frame["close"].equals(extra)


# ------------------------------------------------------------ a newer xlfactor's file


def _make_newer(path: Path, *, keep_frames: bool = True) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, note TEXT)")
        if not keep_frames:
            conn.execute("ALTER TABLE frames RENAME TO frames_v1")


def test_a_newer_versions_cache_is_used_read_only_never_moved(tmp_cache: Path,
                                                              shared_data: Path) -> None:
    series = fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    _make_newer(path)
    before = path.read_bytes()
    store = Store(tmp_cache)
    with pytest.warns(CacheWarning, match=r"newer xlfactor \(schema 2 > 1\).*read-only"):
        assert store.keys() == [f"yahoo:{t}" for t in TICKERS]
    assert store.get_frame("yahoo:SPY").frame["close"].equals(series["SPY"])
    assert "newer xlfactor" in store.read_only
    with pytest.raises(CacheError, match="read-only; nothing was written"):
        store.put_frame("yahoo:NEW", series["SPY"].to_frame("close"))
    with pytest.raises(CacheError, match="read-only"):
        store.clear()
    tolerant = TolerantStore(store)
    tolerant.put_frame("yahoo:NEW", series["SPY"].to_frame("close"))
    assert "newer xlfactor" in tolerant.problem
    store.close()
    assert path.read_bytes() == before and moved_aside(tmp_cache) == []
    with pytest.warns(CacheWarning, match="read-only"):  # each new store says so again
        prices = offline_prices(tmp_cache, ["AAPL", "XOM"])
    assert prices["AAPL"].equals(series["AAPL"].loc["2024-01-01":"2024-12-31"])


def test_a_newer_layout_this_version_cannot_read_is_left_alone_and_said(
        tmp_cache: Path, shared_data: Path) -> None:
    fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    _make_newer(path, keep_frames=False)
    before = path.read_bytes()
    tolerant = TolerantStore(Store(tmp_cache))
    assert tolerant.get_frame("yahoo:AAPL") is None
    assert "newer xlfactor" in tolerant.problem and "cannot read" in tolerant.problem
    assert path.read_bytes() == before and moved_aside(tmp_cache) == []


# ------------------------------------------------------------------ what users see


def test_repairs_reach_factor_info_and_xlfactor_info(tmp_cache: Path, shared_data: Path,
                                                     monkeypatch, capsys) -> None:
    from xlfactor import cli
    from xlfactor.excel.udfs import FACTOR_INFO

    fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    _garbage_over(path, _leaf_pages(path)[0])
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    cells = FACTOR_INFO()  # a cell: warnings silenced, yet the repair shows
    labels = {row[0]: row[1] for row in cells[1:]}
    assert "Cache moved aside" in labels and labels["Cache moved aside"].startswith(
        "cache.sqlite3.corrupt-")
    assert "entries were salvaged" in labels["Cache warning"]
    clear_cache_events()  # another process did it: the moved file still shows
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "Cache moved aside" in out and "corrupt-" in out


def test_factor_info_lists_a_quarantined_row_and_a_read_only_cache(
        tmp_cache: Path, shared_data: Path, monkeypatch) -> None:
    from xlfactor.excel.udfs import FACTOR_INFO

    fill_cache(tmp_cache, shared_data)
    with closing(sqlite3.connect(tmp_cache / "cache.sqlite3", isolation_level=None)) as conn:
        conn.execute("UPDATE frames SET meta = '[1, 2' WHERE key = 'yahoo:JPM'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)
        assert Store(tmp_cache).get_frame("yahoo:JPM") is None
    clear_cache_events()
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    rows = {row[0]: row[1] for row in FACTOR_INFO()[1:]}
    assert "'yahoo:JPM' set aside (its metadata is unreadable" in rows["Cache quarantine"]
    _make_newer(tmp_cache / "cache.sqlite3")
    rows = {row[0]: row[1] for row in FACTOR_INFO()[1:]}
    assert rows["Cache mode"].startswith("read-only: the cache was written by a newer xlfactor")


def test_events_are_bounded_and_deduplicated() -> None:
    from xlfactor.data.store.common import MAX_EVENTS, report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)
        for i in range(MAX_EVENTS + 5):
            report("/x", f"event {i}")
        report("/x", "event 30")
    texts = [e.text for e in cache_events()]
    assert len(texts) == MAX_EVENTS and texts[-1] == "event 30" and texts.count("event 30") == 1


def test_status_survives_an_unusable_cache(tmp_path: Path, monkeypatch) -> None:
    from xlfactor.status import status_rows

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    rows = {row[0]: row[1] for row in status_rows()}
    assert rows["Cache"].startswith("unavailable")


# ----------------------------------------------------- a truly read-only cache folder

_READER = r"""
import json, sys, warnings
from datetime import date
warnings.simplefilter("ignore")
from xlfactor.data.store import Store, TolerantStore
from xlfactor.data.yahoo import YahooPrices
directory = sys.argv[1]
try:
    open(directory + "/probe", "w")
    print(json.dumps({"writable": True}))
    sys.exit(0)
except OSError:
    pass
store = TolerantStore(Store(directory))
data = YahooPrices(store=store, offline=True).get_prices(
    ["AAPL", "SPY"], date(2024, 1, 1), date(2024, 12, 31))
store.put_frame("yahoo:NEW", data.prices[["SPY"]].rename(columns={"SPY": "close"}))
print(json.dumps({"writable": False,
                  "sums": {t: float(data.prices[t].sum()) for t in data.prices.columns},
                  "rows": len(data.prices), "read_only": store.store.read_only,
                  "problem": store.problem}))
"""


def _unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run so that file modes apply: as root, without any capability."""
    import os

    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        from tools import basic_compile

        basic_compile.skip_or_fail("running as root without setpriv (util-linux): file modes "
                                   "cannot be enforced")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", *argv]


def _read_only_copy(source: Path, target: Path, suffixes: tuple[str, ...]) -> None:
    target.mkdir()
    for suffix in suffixes:
        shutil.copyfile(f"{source}/cache.sqlite3{suffix}", f"{target}/cache.sqlite3{suffix}")
        Path(f"{target}/cache.sqlite3{suffix}").chmod(0o444)
    target.chmod(0o555)


@pytest.mark.parametrize("wal", [False, True], ids=["checkpointed", "with -wal and -shm"])
def test_offline_reads_work_from_a_truly_read_only_folder(
        tmp_cache: Path, shared_data: Path, tmp_path: Path, wal: bool) -> None:
    import subprocess
    import sys

    series = fill_cache(tmp_cache, shared_data)
    holder = Store(tmp_cache)
    suffixes: tuple[str, ...] = ("",)
    if wal:  # one more entry, still in the WAL: a copy taken while Excel had it open
        holder.get_frame("yahoo:AAPL")
        Store(tmp_cache).put_frame("yahoo:SPY", (series["SPY"] * 3).to_frame("close"),
                                   {"start": "2005-10-10", "end": "2025-10-08"})
        suffixes = ("", "-wal", "-shm")
    target = tmp_path / "readonly"
    _read_only_copy(tmp_cache, target, suffixes)
    holder.close()
    try:
        run = subprocess.run(_unprivileged([sys.executable, "-c", _READER, str(target)]),
                             capture_output=True, text=True, timeout=120)
    finally:
        target.chmod(0o755)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["writable"] is False  # the folder really is read-only for the reader
    year = slice("2024-01-01", "2024-12-31")
    assert result["rows"] == len(series["AAPL"].loc[year])
    assert result["sums"]["AAPL"] == pytest.approx(series["AAPL"].loc[year].sum(), rel=1e-15)
    spy = series["SPY"].loc[year].sum() * (3 if wal else 1)
    assert result["sums"]["SPY"] == pytest.approx(spy, rel=1e-15)
    assert "read-only folder" in result["read_only"]
    assert "could not be written" in result["problem"] and "read-only" in result["problem"]
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"cache.sqlite3{s}" for s in suffixes)  # nothing created, nothing moved


_KEY_READER = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from xlfactor.data.store import Store, TolerantStore
store = TolerantStore(Store(sys.argv[1]))
found = {}
for key in sys.argv[2:]:
    hit = store.get_frame(key)
    found[key] = None if hit is None else float(hit.frame["close"].sum())
print(json.dumps({"found": found, "read_only": store.store.read_only,
                  "problem": store.problem}))
"""


@pytest.mark.parametrize("state", ["newer", "damaged"])
def test_a_newer_or_damaged_cache_in_a_read_only_folder_serves_what_it_can(
        tmp_cache: Path, shared_data: Path, tmp_path: Path, state: str) -> None:
    import subprocess
    import sys

    series = fill_cache(tmp_cache, shared_data)
    path = tmp_cache / "cache.sqlite3"
    lost: set[str] = set()
    if state == "newer":
        _make_newer(path)
    else:
        leaf = _leaf_pages(path)[0]
        with closing(sqlite3.connect(path)) as conn:
            before = {k for (k,) in conn.execute("SELECT key FROM frames")}
        _garbage_over(path, leaf)
        lost = before - {row.key for row in salvage(path).rows}
        assert lost
    target = tmp_path / "readonly"
    _read_only_copy(tmp_cache, target, ("",))
    keys = [f"yahoo:{t}" for t in TICKERS]
    try:
        run = subprocess.run(_unprivileged([sys.executable, "-c", _KEY_READER, str(target),
                                            *keys]), capture_output=True, text=True,
                             timeout=120)
    finally:
        target.chmod(0o755)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for key in keys:
        expected = None if key in lost else float(series[key.split(":")[1]].sum())
        assert result["found"][key] == expected, key
    assert "read-only folder" in result["read_only"]
    wording = {"newer": "newer xlfactor", "damaged": "cannot be repaired there"}[state]
    assert wording in result["read_only"]
    assert sorted(p.name for p in target.iterdir()) == ["cache.sqlite3"]  # nothing moved


def _damage(data: bytearray, rng: random.Random) -> str:
    """One random kind of damage: bit flips, a burst of noise, zeros, a page of noise."""
    kind = rng.choice(["flips", "burst", "zeros", "page"])
    start = rng.randrange(len(data))
    if kind == "flips":
        for _ in range(rng.randint(1, 50)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "burst":
        n = min(rng.randint(1, 3000), len(data) - start)
        data[start:start + n] = rng.randbytes(n)
    elif kind == "zeros":
        n = min(rng.randint(1, 10000), len(data) - start)
        data[start:start + n] = bytes(n)
    else:
        page = rng.randrange(len(data) // PAGE)
        data[page * PAGE:(page + 1) * PAGE] = rng.randbytes(PAGE)
    return kind


def test_random_damage_never_serves_a_wrong_frame_nor_raises(
        tmp_cache: Path, shared_data: Path, tmp_path: Path) -> None:
    series = fill_cache(tmp_cache, shared_data)
    original = (tmp_cache / "cache.sqlite3").read_bytes()
    rng = random.Random(20261202)
    served = 0
    for trial in range(80):
        directory = tmp_path / f"t{trial}"
        directory.mkdir()
        data = bytearray(original)
        kind = _damage(data, rng)
        (directory / "cache.sqlite3").write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CacheWarning)
            store = TolerantStore(Store(directory))
            for ticker in TICKERS:
                hit = store.get_frame(f"yahoo:{ticker}")  # never an exception
                if hit is not None:
                    served += 1
                    assert hit.frame["close"].equals(series[ticker]), (trial, kind, ticker)
        store.store.close()
    # Most damage costs a few entries, not the cache: 305 of 480 are served here, where
    # moving every damaged file aside served 105.
    assert served > 80 * 6 / 2, served

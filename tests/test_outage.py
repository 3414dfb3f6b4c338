"""Excel never freezes for long: unreachable sources are remembered, cells fail fast.

The sheet-level figures come from ``bench/outage.py`` (50 cells, empty cache) run in a
fresh process: with no network at all (a network namespace of its own, so name
resolution really fails) and against a server on 127.0.0.1 that accepts and never answers.
"""

from __future__ import annotations

import shutil
import socket
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from xlfactor.data import http
from xlfactor.data.french import FrenchLibrary
from xlfactor.data.reachability import REACHABILITY, SourceUnreachableError
from xlfactor.data.store import Store
from xlfactor.data.yahoo import YahooPrices
from xlfactor.domain.errors import DataUnavailableError
from xlfactor.excel import udfs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import outage


@pytest.mark.parametrize("scenario", outage.SCENARIOS)
def test_fifty_cells_end_within_ten_seconds(scenario, shared_data):
    if scenario.startswith("down") and shutil.which("unshare") is None:
        from tools import basic_compile

        basic_compile.skip_or_fail("unshare (util-linux) is not installed")
    result = outage.run(scenario, reference=False)
    assert result["total_s"] <= outage.TARGET_SECONDS, result
    # the first cell's prefetch waits at most once per source (XLFACTOR_NET_WAIT, 4 s)
    assert result["max_cell_s"] <= 2 * 4.0 + 1.0
    assert result["median_cell_s"] < 0.05
    for text in result["messages"]:
        assert text.startswith("#N/A offline: ") and text.endswith("press Refresh when online")
        assert ("host name not found" in text) == scenario.startswith("down"), text
        assert ("Yahoo" in text) == scenario.endswith("-yahoo"), text


@pytest.fixture()
def silent_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set() and len(held) < 50:
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], held
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_french_library_waits_once_then_fails_fast(silent_port):
    port, held = silent_port
    library = FrenchLibrary(f"http://127.0.0.1:{port}/", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SourceUnreachableError, match=r"unreachable \(timed out after 1 attempt"):
        library.get_factors(["MKT", "SMB", "HML"], "D")
    first = time.monotonic() - started
    assert 0.4 < first < 2.0
    requests = http.request_count()
    started = time.monotonic()
    with pytest.raises(SourceUnreachableError):
        library.get_factors(["MKT", "SMB", "HML"], "D")
    assert time.monotonic() - started < 0.05 and http.request_count() == requests
    assert len(held) == 1
    REACHABILITY.clear()  # what Refresh does: the next request tries again
    with pytest.raises(SourceUnreachableError):
        library.get_factors(["MKT", "SMB", "HML"], "D")
    assert len(held) == 2


def test_name_resolution_failure_is_not_retried(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    http.reset_request_count()
    with pytest.raises(SourceUnreachableError, match="host name not found"):
        http.fetch_bytes("https://xlfactor.invalid/x.zip", source="S", retries=3)
    assert http.request_count() == 1


def test_yahoo_waits_once_then_fails_fast(silent_port):
    import yfinance

    port, _ = silent_port
    # yfinance's config objects answer every attribute from a shared dict, so monkeypatch
    # (pytest 9) cannot undo a setattr on them; set and restore through the config itself.
    network = yfinance.config.network
    before = network.proxy
    network.proxy = f"http://127.0.0.1:{port}"
    try:
        _assert_yahoo_waits_once()
    finally:
        network.proxy = before
    assert yfinance.config.network.proxy == before


def _assert_yahoo_waits_once() -> None:
    prices = YahooPrices(net_wait=0.5)
    started = time.monotonic()
    with pytest.raises(SourceUnreachableError, match=r"no answer within 0.5 s\) and no cached "
                                                     r"prices for 'AAPL'; press Refresh"):
        prices.get_prices(["AAPL"], date(2021, 1, 1), date(2021, 12, 31))
    assert 0.4 < time.monotonic() - started < 2.0
    started = time.monotonic()
    with pytest.raises(SourceUnreachableError):
        prices.get_prices(["MSFT"], date(2021, 1, 1), date(2021, 12, 31))
    assert time.monotonic() - started < 0.05


def test_cached_prices_are_served_stale_during_an_outage(tmp_cache, monkeypatch):
    """A warm cache keeps every cell computing, marked STALE, while Yahoo is unreachable."""
    import pandas as pd
    import yfinance

    store = Store(tmp_cache)
    prices = YahooPrices(store=store, ttl_hours=1e-9, net_wait=0.5)
    days = pd.bdate_range("2021-01-01", "2021-12-31")
    closes = pd.DataFrame({("Close", "AAPL"): range(100, 100 + len(days))}, index=days,
                          dtype=float)
    closes.columns = pd.MultiIndex.from_tuples(closes.columns, names=["Price", "Ticker"])
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: closes)
    prices.get_prices(["AAPL"], date(2021, 1, 1), date(2021, 12, 31))

    calls = []

    def unreachable(*args, **kwargs):
        calls.append(1)
        raise ConnectionError("curl: (7) Failed to connect to query2.finance.yahoo.com")

    monkeypatch.setattr(yfinance, "download", unreachable)
    for _ in range(3):  # a range the cache does not cover: a refresh is needed and fails
        data = prices.get_prices(["AAPL"], date(2021, 1, 1), date(2022, 1, 31))
        assert data.stale and "STALE" in " ".join(data.notes)
        assert "connection refused" in " ".join(data.notes)
    assert len(calls) == 1  # the outage is remembered: asked once, not per cell


def test_refresh_tries_the_network_again():
    from types import SimpleNamespace

    from xlfactor.excel import refresh

    REACHABILITY.report(SourceUnreachableError("Yahoo Finance (yfinance)", "timed out"))
    book = SimpleNamespace(app=SimpleNamespace(status_bar=False), names=[])
    assert not refresh.refresh(book).ok  # not the template: fails, after clearing outages
    assert REACHABILITY.outages() == []


def test_offline_cell_message_is_short_and_plain(monkeypatch, tmp_cache):
    monkeypatch.setenv("XLFACTOR_OFFLINE", "0")
    REACHABILITY.report(SourceUnreachableError("Kenneth French Data Library",
                                               "host name not found: no network or no DNS"))
    cell = udfs.FACTOR_BETAS("AAPL", "FF3", "2021-01-01", "2021-12-31")
    assert cell == [[("#N/A offline: Kenneth French Data Library unreachable (host name not "
                      "found: no network or no DNS) and no cached factor file "
                      "F-F_Research_Data_Factors_daily; press Refresh when online")]]
    assert isinstance(SourceUnreachableError("a", "b"), DataUnavailableError)

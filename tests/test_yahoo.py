"""YahooPrices against recorded Yahoo chart responses, offline.

The HTTP boundary is ``yfinance.data.YfData.get`` / ``cache_get``: the method yfinance
sends every chart request through. Everything above it -- ``yf.download``, the per-ticker
threads, yfinance's JSON parsing and auto-adjustment -- runs for real on the recorded
bodies in ``tests/data/yahoo_chart_json``. Every request is recorded; any attempt at
real network I/O (Python sockets, DNS, libcurl via curl_cffi, requests) is recorded and
fails the test.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest

from xlfactor.data import yahoo
from xlfactor.data.base import PriceData
from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.data.yahoo import YahooPrices, to_naive_dates
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    InvalidInputError,
    UnknownTickerError,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*inplace.*:DeprecationWarning")

# paths relative to tests/data/yahoo_chart_json
NODE = "node-yahoo-finance2/bodies/"
AAPL_SPLIT = NODE + "chart-AAPL-2020-08-31-to-2020-11-07.body.json"
AAPL_EMPTY_1M = (
    NODE + "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.body.json"
)
MSFT_DIVIDENDS = NODE + "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.body.json"
NVDA_SPLIT = NODE + "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.body.json"
TSLA_HISTORY = NODE + "historical-via-chart-dividends-TSLA-no-dividends.body.json"
RS = "yfinance-rs/"

DEFAULT_BODIES = {
    "AAPL": AAPL_SPLIT,
    "MSFT": MSFT_DIVIDENDS,
    "NVDA": NVDA_SPLIT,
    "TSLA": TSLA_HISTORY,
    "AMZN": NODE + "chart-AMZN-2020-01-01-to-2020-01-03.body.json",
    "GOOG": NODE + "chart-GOOG-2020-01-01-to-2020-01-03.body.json",
    "QQQ": NODE + "chart-QQQ-2020-01-01-to-2020-01-03.body.json",
    "BTC-USD": NODE + "chart-BTC-USD-2020-01-01-to-2020-01-03.body.json",
    "EURUSD=X": NODE + "chart-EURUSD=X-2020-01-01-to-2020-01-03.body.json",
    "OCDO.L": NODE + "chart-OCDO.L-2020-01-01-to-2020-01-03.body.json",
    "WSU.DE": NODE + "chart-WSU.DE-2023-08-04-to-2023-08-09.body.json",
}

# How Yahoo's chart API answers a symbol it does not know (HTTP 404).
CHART_NOT_FOUND = (
    '{"chart":{"result":null,"error":{"code":"Not Found",'
    '"description":"No data found, symbol may be delisted"}}}'
)
# yfinance falls back to these two endpoints to find the time zone of a symbol the chart
# API does not know. Not recorded fixtures: minimal "not found" answers of the same shape.
QUOTE_SUMMARY_NOT_FOUND = (
    '{"quoteSummary":{"result":null,"error":{"code":"Not Found",'
    '"description":"Quote not found for symbol"}}}'
)
QUOTE_EMPTY = '{"quoteResponse":{"result":[],"error":null}}'

CHART_RE = re.compile(r"/v8/finance/chart/([^/]+)$")
QUOTE_SUMMARY_RE = re.compile(r"/v10/finance/quoteSummary/([^/]+)$")


def _response(url: str, status: int, text: str) -> Any:
    """A real response object of yfinance's HTTP backend (curl_cffi or requests)."""
    from yfinance._http import requests as backend

    response = backend.Response()
    response.url = url
    response.status_code = status
    response.reason = "OK" if status < 400 else "Not Found"
    if hasattr(response, "_content"):  # requests
        response._content = text.encode()
        response.encoding = "utf-8"
    else:  # curl_cffi
        response.content = text.encode()
        response.ok = status < 400
    return response


@dataclass
class FakeYahoo:
    """Serves recorded chart bodies at yfinance's HTTP boundary; records every request."""

    root: Path
    bodies: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BODIES))
    failures: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    network_attempts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, symbol: str) -> dict[str, Any]:
        """The parsed recorded body served for ``symbol``."""
        return json.loads((self.root / self.bodies[symbol]).read_text())

    def get(self, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        params = dict(params or {})
        with self._lock:
            self.requests.append((url, params))
        path = unquote(urlparse(url).path)
        chart = CHART_RE.search(path)
        if chart:
            return self._chart(url, chart.group(1), params)
        if QUOTE_SUMMARY_RE.search(path):
            return _response(url, 404, QUOTE_SUMMARY_NOT_FOUND)
        if path.endswith("/v7/finance/quote"):
            return _response(url, 200, QUOTE_EMPTY)
        with self._lock:
            self.unexpected.append(url)
        return _response(url, 404, "{}")

    def _chart(self, url: str, symbol: str, params: dict[str, Any]) -> Any:
        failure = self.failures.get(symbol)
        if failure is not None:
            exc = failure(params)
            if exc is not None:
                raise exc
        if symbol in self.bodies:
            text = (self.root / self.bodies[symbol]).read_text()
            return _response(url, 200, text)
        return _response(url, 404, CHART_NOT_FOUND)

    def chart_requests(self) -> Counter[str]:
        """Number of chart requests per symbol."""
        counts: Counter[str] = Counter()
        for url, _ in self.requests:
            match = CHART_RE.search(unquote(urlparse(url).path))
            if match:
                counts[match.group(1)] += 1
        return counts

    def requests_per_symbol(self) -> Counter[str]:
        """All requests (chart and fallbacks) per symbol."""
        counts: Counter[str] = Counter()
        for url, params in self.requests:
            path = unquote(urlparse(url).path)
            match = CHART_RE.search(path) or QUOTE_SUMMARY_RE.search(path)
            symbol = match.group(1) if match else params.get("symbols", "?")
            counts[symbol] += 1
        return counts


def _install_network_guards(monkeypatch: pytest.MonkeyPatch, fake: FakeYahoo) -> None:
    """Record (and refuse) any real network I/O, whichever library attempts it."""

    def refuse(what: str):
        def guard(*args: Any, **kwargs: Any) -> Any:
            fake.network_attempts.append(what)
            raise OSError(f"test attempted real network I/O via {what}")

        return guard

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    # libcurl does its own I/O below Python's socket module
    curl_cffi = pytest.importorskip("curl_cffi")
    monkeypatch.setattr(curl_cffi.Curl, "perform", refuse("curl_cffi.Curl.perform"))
    monkeypatch.setattr(curl_cffi.requests.Session, "request", refuse("curl_cffi Session"))
    try:
        import requests
    except ImportError:
        return
    monkeypatch.setattr(requests.Session, "request", refuse("requests.Session"))


@pytest.fixture()
def fake_yahoo(chart_json_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeYahoo]:
    """Patch yfinance's HTTP boundary with recorded bodies; fail on real network I/O."""
    import yfinance.base
    import yfinance.cache
    import yfinance.data

    fake = FakeYahoo(chart_json_dir)
    _install_network_guards(monkeypatch, fake)

    def get(self: Any, url: str, params: Any = None, timeout: float = 30) -> Any:
        return fake.get(url, params, timeout)

    monkeypatch.setattr(yfinance.data.YfData, "get", get)
    monkeypatch.setattr(yfinance.data.YfData, "cache_get", get)

    def no_cookie(*args: Any, **kwargs: Any) -> Any:
        fake.network_attempts.append("YfData._get_cookie_and_crumb")
        raise OSError("cookie/crumb fetch attempted")

    monkeypatch.setattr(yfinance.data.YfData, "_get_cookie_and_crumb", no_cookie)
    # No persistent time-zone cache: request counts stay deterministic and the
    # user's ~/.cache is neither read nor written.
    monkeypatch.setattr(yfinance.cache._TzCacheManager, "_tz_cache", yfinance.cache._TzCacheDummy())
    # yfinance allows two quote-summary time-zone lookups per process; reset per test.
    monkeypatch.setattr(yfinance.base, "_tz_info_fetch_ctr", 0)
    yield fake
    assert not fake.network_attempts, f"real network I/O attempted: {fake.network_attempts}"
    assert not fake.unexpected, f"unexpected Yahoo endpoints requested: {fake.unexpected}"


@pytest.fixture()
def download_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Record every ``yfinance.download`` call (then let it run)."""
    import yfinance

    calls: list[tuple[Any, dict[str, Any]]] = []
    real = yfinance.download

    def counting(tickers: Any, **kwargs: Any) -> Any:
        calls.append((tickers, kwargs))
        return real(tickers, **kwargs)

    monkeypatch.setattr(yfinance, "download", counting)
    return calls


def _bars(body: dict[str, Any]) -> pd.DataFrame:
    """The body's bars: exchange-local date, raw close and adjclose (read independently)."""
    result = body["chart"]["result"][0]
    zone = result["meta"]["exchangeTimezoneName"]
    stamps = pd.to_datetime(result["timestamp"], unit="s", utc=True).tz_convert(zone)
    return pd.DataFrame(
        {
            "close": result["indicators"]["quote"][0]["close"],
            "adjclose": result["indicators"]["adjclose"][0]["adjclose"],
        },
        index=pd.DatetimeIndex([pd.Timestamp(s.date()) for s in stamps], name="date"),
    ).astype("float64")


def _assert_conventions(data: PriceData) -> None:
    index = data.prices.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.tz is None
    assert index.name == "date"
    assert (index == index.normalize()).all()
    assert index.is_monotonic_increasing and index.is_unique
    assert data.source == "Yahoo Finance (yfinance)"
    assert all(data.prices.dtypes == "float64")


# --- adjustment: prices are the body's adjclose -------------------------------------


def test_aapl_split_and_dividend_prices_equal_adjclose(fake_yahoo: FakeYahoo) -> None:
    data = YahooPrices().get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    _assert_conventions(data)
    bars = _bars(fake_yahoo.body("AAPL"))
    assert list(data.prices.columns) == ["AAPL"]
    assert len(data.prices) == len(bars) == 49
    pd.testing.assert_index_equal(data.prices.index, bars.index.as_unit("ns"))
    np.testing.assert_allclose(data.prices["AAPL"], bars["adjclose"], rtol=1e-12, atol=0)
    # the 2020-11-06 dividend makes earlier adjusted prices lower than the raw closes
    assert (bars["adjclose"].iloc[:-1] < bars["close"].iloc[:-1]).all()
    assert data.missing == ()


def test_aapl_returns_across_the_split_are_not_minus_75_percent(fake_yahoo: FakeYahoo) -> None:
    body = fake_yahoo.body("AAPL")
    split_day = pd.Timestamp(
        int(next(iter(body["chart"]["result"][0]["events"]["splits"]))), unit="s"
    ).normalize()
    data = YahooPrices().get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    assert data.prices.index[0] == split_day  # the 4:1 split is on the first bar
    returns = data.prices["AAPL"].pct_change().dropna()
    assert returns.abs().max() < 0.15
    assert returns.iloc[0] == pytest.approx(130.83871459960938 / 125.82673645019531 - 1)


def test_nvda_split_mid_range(fake_yahoo: FakeYahoo) -> None:
    body = fake_yahoo.body("NVDA")
    split_ts = int(next(iter(body["chart"]["result"][0]["events"]["splits"])))
    split_day = pd.Timestamp(split_ts, unit="s").normalize()  # 2021-07-20, a NY morning
    data = YahooPrices().get_prices(["NVDA"], date(2021, 2, 1), date(2022, 1, 31))
    bars = _bars(body)
    np.testing.assert_allclose(data.prices["NVDA"], bars["adjclose"], rtol=1e-12)
    returns = data.prices["NVDA"].pct_change().dropna()
    assert split_day in returns.index
    assert abs(returns.loc[split_day]) < 0.15
    assert returns.abs().max() < 0.2


def test_msft_dividends_step_the_adjustment_factor(fake_yahoo: FakeYahoo) -> None:
    body = fake_yahoo.body("MSFT")
    data = YahooPrices().get_prices(["MSFT"], date(2021, 2, 1), date(2022, 1, 31))
    bars = _bars(body)
    assert len(data.prices) == 252
    np.testing.assert_allclose(data.prices["MSFT"], bars["adjclose"], rtol=1e-12)
    factor = data.prices["MSFT"] / bars["close"]
    steps = factor.index[factor.diff().abs() > 1e-4]
    zone = body["chart"]["result"][0]["meta"]["exchangeTimezoneName"]
    ex_dates = sorted(
        pd.Timestamp(pd.Timestamp(int(ts), unit="s", tz="UTC").tz_convert(zone).date())
        for ts in body["chart"]["result"][0]["events"]["dividends"]
    )
    assert len(ex_dates) == 4
    assert list(steps) == ex_dates


def test_tsla_long_history(fake_yahoo: FakeYahoo) -> None:
    data = YahooPrices().get_prices(["TSLA"], date(2010, 1, 1), date(2023, 8, 11))
    bars = _bars(fake_yahoo.body("TSLA"))
    assert len(data.prices) == len(bars) == 3303
    assert data.prices.index[0] == pd.Timestamp("2010-06-29")
    assert data.prices.index[-1] == pd.Timestamp("2023-08-11")
    np.testing.assert_allclose(data.prices["TSLA"], bars["adjclose"], rtol=1e-12)


# --- dates ------------------------------------------------------------------------


def test_btc_trades_on_new_years_day(fake_yahoo: FakeYahoo) -> None:
    data = YahooPrices().get_prices(["BTC-USD"], date(2020, 1, 1), date(2020, 1, 3))
    bars = _bars(fake_yahoo.body("BTC-USD"))
    assert list(data.prices.index) == list(
        pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"])
    )
    np.testing.assert_allclose(data.prices["BTC-USD"], bars["adjclose"], rtol=1e-12)


@pytest.mark.parametrize(
    ("ticker", "start", "end", "expected"),
    [
        ("OCDO.L", date(2020, 1, 1), date(2020, 1, 3), ["2020-01-02"]),
        ("WSU.DE", date(2023, 8, 4), date(2023, 8, 9), ["2023-08-04", "2023-08-07", "2023-08-08"]),
        (
            "EURUSD=X",
            date(2020, 1, 1),
            date(2020, 1, 3),
            ["2020-01-01", "2020-01-02", "2020-01-03"],
        ),
    ],
)
def test_dates_are_exchange_local(
    fake_yahoo: FakeYahoo, ticker: str, start: date, end: date, expected: list[str]
) -> None:
    data = YahooPrices().get_prices([ticker], start, end)
    bars = _bars(fake_yahoo.body(ticker))
    assert list(data.prices.index) == list(pd.to_datetime(expected)) == list(bars.index)
    np.testing.assert_allclose(data.prices[ticker], bars["adjclose"], rtol=1e-12)


def test_ocdo_is_quoted_in_pence(fake_yahoo: FakeYahoo) -> None:
    body = fake_yahoo.body("OCDO.L")
    assert body["chart"]["result"][0]["meta"]["currency"] == "GBp"
    data = YahooPrices().get_prices(["OCDO.L"], date(2020, 1, 2), date(2020, 1, 2))
    assert data.prices["OCDO.L"].iloc[0] > 100  # pence, not pounds


def test_live_last_bar_and_two_exchanges(fake_yahoo: FakeYahoo) -> None:
    # yfinance-rs recordings to 2025-10-29: GS2C.DE's last bar is a live intraday quote
    fake_yahoo.bodies.update(
        {"GS2C.DE": RS + "history_chart_GS2C.DE.json", "MSFT": RS + "history_chart_MSFT.json"}
    )
    body = fake_yahoo.body("GS2C.DE")["chart"]["result"][0]
    assert pd.Timestamp(body["timestamp"][-1], unit="s").strftime("%H:%M") != "00:00"
    data = YahooPrices().get_prices(["GS2C.DE", "MSFT"], date(2025, 4, 1), date(2025, 10, 29))
    for ticker in ("GS2C.DE", "MSFT"):
        bars = _bars(fake_yahoo.body(ticker))
        got = data.prices[ticker].dropna()
        assert list(got.index) == list(bars.index)
        np.testing.assert_allclose(got, bars["adjclose"], rtol=1e-12)
    assert data.prices.index[-1] == pd.Timestamp("2025-10-29")
    assert data.prices.index.is_unique


def test_to_naive_dates_keeps_the_local_day() -> None:
    # Tokyo midnight is the previous day in UTC; the local calendar day must survive.
    local = pd.DatetimeIndex(["2024-01-04", "2024-01-05"]).tz_localize("Asia/Tokyo")
    assert list(to_naive_dates(local)) == list(pd.to_datetime(["2024-01-04", "2024-01-05"]))
    naive = pd.DatetimeIndex(["2024-01-04 00:00", "2024-01-05 00:00"])
    result = to_naive_dates(naive)
    assert result.tz is None and result.name == "date"
    assert list(result) == list(naive)


def test_end_is_inclusive_and_sent_to_yahoo_as_exclusive(
    fake_yahoo: FakeYahoo, download_calls: list[tuple[Any, dict[str, Any]]]
) -> None:
    data = YahooPrices().get_prices(["AAPL"], date(2020, 9, 1), date(2020, 9, 30))
    assert data.prices.index[0] == pd.Timestamp("2020-09-01")
    assert data.prices.index[-1] == pd.Timestamp("2020-09-30")  # the end day itself
    assert len(data.prices) == 21  # trading days in September 2020 (Labor Day closed)
    ((_, kwargs),) = download_calls
    assert kwargs["start"] == "2020-09-01"
    assert kwargs["end"] == "2020-10-01"
    history = [p for _, p in fake_yahoo.requests if "period2" in p]
    assert pd.Timestamp(history[0]["period2"], unit="s", tz="UTC").tz_convert(
        "America/New_York"
    ) == pd.Timestamp("2020-10-01", tz="America/New_York")


def test_download_arguments(
    fake_yahoo: FakeYahoo, download_calls: list[tuple[Any, dict[str, Any]]]
) -> None:
    YahooPrices().get_prices(["AAPL"], date(2020, 9, 1), date(2020, 9, 30))
    ((tickers, kwargs),) = download_calls
    assert tickers == ["AAPL"]
    assert kwargs["auto_adjust"] is True
    assert kwargs["actions"] is False
    assert kwargs["threads"] is True
    assert kwargs["progress"] is False
    assert kwargs["multi_level_index"] is True
    assert kwargs["group_by"] == "column"


# --- batching and request budget ----------------------------------------------------


def test_multi_ticker_call_is_one_download(
    fake_yahoo: FakeYahoo, download_calls: list[tuple[Any, dict[str, Any]]]
) -> None:
    before = yahoo.download_call_count()
    data = YahooPrices().get_prices(
        ["nvda", "AAPL", "MSFT", "aapl"], date(2020, 8, 31), date(2022, 1, 31)
    )
    assert len(download_calls) == 1
    assert yahoo.download_call_count() - before == 1
    assert sorted(download_calls[0][0]) == ["AAPL", "MSFT", "NVDA"]
    assert list(data.prices.columns) == ["NVDA", "AAPL", "MSFT"]  # request order
    for ticker in ("AAPL", "MSFT", "NVDA"):
        bars = _bars(fake_yahoo.body(ticker))
        got = data.prices[ticker].dropna()
        np.testing.assert_allclose(got, bars["adjclose"], rtol=1e-12)
    assert data.missing == ()


def test_request_budget_per_ticker(fake_yahoo: FakeYahoo) -> None:
    """Without yfinance's time-zone cache: one metadata and one history request per ticker."""
    YahooPrices().get_prices(["AAPL", "MSFT", "NVDA"], date(2020, 8, 31), date(2022, 1, 31))
    assert fake_yahoo.requests_per_symbol() == {"AAPL": 2, "MSFT": 2, "NVDA": 2}
    kinds = Counter("history" if "period1" in p else p.get("range") for _, p in fake_yahoo.requests)
    assert kinds == {"history": 3, "1d": 3}


def test_reset_download_call_count(fake_yahoo: FakeYahoo) -> None:
    YahooPrices().get_prices(["AAPL"], date(2020, 9, 1), date(2020, 9, 30))
    assert yahoo.download_call_count() >= 1
    yahoo.reset_download_call_count()
    assert yahoo.download_call_count() == 0


# --- missing and unknown tickers ----------------------------------------------------


def test_unknown_ticker_among_good_ones_is_missing(fake_yahoo: FakeYahoo) -> None:
    data = YahooPrices().get_prices(["AAPL", "ZZZZ", "MSFT"], date(2020, 8, 31), date(2022, 1, 31))
    assert list(data.prices.columns) == ["AAPL", "MSFT"]
    assert data.missing == ("ZZZZ",)
    assert any(note.startswith("ZZZZ: unknown ticker") for note in data.notes)
    # the unknown symbol costs a chart request plus yfinance's quote-summary lookup
    assert fake_yahoo.requests_per_symbol()["ZZZZ"] == 2


def test_only_unknown_ticker_raises(fake_yahoo: FakeYahoo) -> None:
    with pytest.raises(UnknownTickerError) as info:
        YahooPrices().get_prices(["zzzz"], date(2020, 1, 1), date(2020, 12, 31))
    assert str(info.value) == "unknown ticker 'ZZZZ' (no price data from Yahoo Finance)"
    assert info.value.cell_message().startswith("#N/A unknown ticker 'ZZZZ'")


def test_several_unknown_tickers_are_all_named(fake_yahoo: FakeYahoo) -> None:
    # the third one exceeds yfinance's quote-summary fallback budget: a different error path
    with pytest.raises(UnknownTickerError) as info:
        YahooPrices().get_prices(["ZZZZ", "QQQQQ", "XXXXX"], date(2020, 1, 1), date(2020, 12, 31))
    message = str(info.value)
    assert message.startswith("unknown tickers ")
    for name in ("'ZZZZ'", "'QQQQQ'", "'XXXXX'"):
        assert name in message


def test_empty_intraday_response_is_no_data(fake_yahoo: FakeYahoo) -> None:
    fake_yahoo.bodies["AAPL"] = AAPL_EMPTY_1M
    body = fake_yahoo.body("AAPL")["chart"]["result"][0]
    assert "timestamp" not in body and body["indicators"]["quote"] == [{}]
    with pytest.raises(UnknownTickerError, match=r"no price data from Yahoo Finance for 'AAPL'"):
        YahooPrices().get_prices(["AAPL"], date(2025, 2, 1), date(2025, 2, 2))


def test_empty_response_next_to_a_good_ticker(fake_yahoo: FakeYahoo) -> None:
    fake_yahoo.bodies["AAPL"] = AAPL_EMPTY_1M
    data = YahooPrices().get_prices(["AAPL", "MSFT"], date(2021, 2, 1), date(2022, 1, 31))
    assert data.missing == ("AAPL",)
    assert list(data.prices.columns) == ["MSFT"]
    assert "AAPL: no price data from Yahoo Finance in 2021-02-01..2022-01-31" in data.notes


def test_range_without_bars_is_missing(fake_yahoo: FakeYahoo) -> None:
    # Yahoo (here: the recording) sends bars, none of them inside the requested range
    data = YahooPrices().get_prices(["AAPL", "MSFT"], date(2021, 2, 1), date(2021, 3, 1))
    assert data.missing == ("AAPL",)
    assert data.prices.index.min() >= pd.Timestamp("2021-02-01")
    assert data.prices.index.max() <= pd.Timestamp("2021-03-01")


# --- faults -----------------------------------------------------------------------


def test_rate_limit_at_the_boundary(fake_yahoo: FakeYahoo) -> None:
    from yfinance.exceptions import YFRateLimitError

    fake_yahoo.failures["MSFT"] = lambda params: YFRateLimitError()
    with pytest.raises(DataUnavailableError, match="Yahoo Finance rate limit"):
        YahooPrices().get_prices(["AAPL", "MSFT"], date(2020, 8, 31), date(2022, 1, 31))


def test_rate_limit_on_every_ticker(fake_yahoo: FakeYahoo) -> None:
    from yfinance.exceptions import YFRateLimitError

    for symbol in ("AAPL", "MSFT"):
        fake_yahoo.failures[symbol] = lambda params: YFRateLimitError()
    with pytest.raises(DataUnavailableError, match="rate limit") as info:
        YahooPrices().get_prices(["AAPL", "MSFT"], date(2020, 8, 31), date(2022, 1, 31))
    assert not isinstance(info.value, UnknownTickerError)


def test_rate_limit_escaping_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance
    from yfinance.exceptions import YFRateLimitError

    def limited(*args: Any, **kwargs: Any) -> Any:
        raise YFRateLimitError()

    monkeypatch.setattr(yfinance, "download", limited)
    with pytest.raises(DataUnavailableError, match="Yahoo Finance rate limit"):
        YahooPrices().get_prices(["AAPL"], date(2020, 1, 1), date(2020, 1, 31))


def test_connection_error_is_data_unavailable(fake_yahoo: FakeYahoo) -> None:
    from yfinance._http import requests as backend

    fake_yahoo.failures["MSFT"] = lambda params: backend.exceptions.ConnectionError("refused")
    # AAPL arrived, so Yahoo is reachable: a per-ticker fault, not an outage
    with pytest.raises(DataUnavailableError, match="Yahoo Finance request failed") as info:
        YahooPrices().get_prices(["AAPL", "MSFT"], date(2020, 8, 31), date(2022, 1, 31))
    assert not isinstance(info.value, SourceUnreachableError)
    assert "MSFT" in str(info.value)
    assert not isinstance(info.value, UnknownTickerError)


def test_timeout_on_the_history_request_is_data_unavailable(fake_yahoo: FakeYahoo) -> None:
    from yfinance._http import requests as backend

    # the metadata request succeeds, only the history request times out
    def timeout_on_history(params: dict[str, Any]) -> Exception | None:
        return backend.exceptions.Timeout("timed out") if "period1" in params else None

    fake_yahoo.failures["AAPL"] = timeout_on_history
    with pytest.raises(DataUnavailableError, match=r"unreachable \(timed out\).*'AAPL'"):
        YahooPrices().get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))


def test_unexpected_exception_from_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network is unreachable")

    monkeypatch.setattr(yfinance, "download", broken)
    with pytest.raises(DataUnavailableError, match="Yahoo Finance request failed: OSError"):
        YahooPrices().get_prices(["AAPL"], date(2020, 1, 1), date(2020, 1, 31))


# --- the yfinance behaviour the failure classification relies on ---------------------


def _setup_nothing(fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch) -> None:
    pass


def _setup_fallback_spent(fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance.base

    # yfinance asks quote-summary for the time zone of at most two symbols per process
    monkeypatch.setattr(yfinance.base, "_tz_info_fetch_ctr", 2)


def _setup_empty_range(fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.bodies["AAPL"] = AAPL_EMPTY_1M


def _setup_rate_limit(fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch) -> None:
    from yfinance.exceptions import YFRateLimitError

    fake.failures["MSFT"] = lambda params: YFRateLimitError()


def _setup_refused(fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch) -> None:
    from yfinance._http import requests as backend

    fake.failures["MSFT"] = lambda params: backend.exceptions.ConnectionError("refused")


@dataclass(frozen=True)
class FailureCase:
    """One way a ticker fails, the text yfinance records for it, and what that means."""

    setup: Any
    symbol: str
    span: tuple[date, date]
    text: str
    unknown: bool  # "unknown ticker" rather than "no data in the range"
    raises: tuple[type[Exception], str] | None  # None: the ticker is merely missing


FAILURE_CASES = {
    "unknown symbol, quote-summary answers 404": FailureCase(
        _setup_nothing, "ZZZZ", (date(2020, 1, 1), date(2020, 12, 31)),
        "HTTPError('HTTP Error 404: Not Found')", True, None),
    "unknown symbol, quote-summary budget spent": FailureCase(
        _setup_fallback_spent, "ZZZZ", (date(2020, 1, 1), date(2020, 12, 31)),
        "YFTzMissingError('possibly delisted; no timezone found')", True, None),
    "no bars in the range": FailureCase(
        _setup_empty_range, "AAPL", (date(2025, 2, 1), date(2025, 2, 2)),
        "YFPricesMissingError('possibly delisted; no price data found  "
        "(1d 2025-02-01 -> 2025-02-03)')", False, None),
    "rate limited": FailureCase(
        _setup_rate_limit, "MSFT", (date(2021, 2, 1), date(2022, 1, 31)),
        "YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')", False,
        (DataUnavailableError, "rate limit")),
    "connection refused": FailureCase(
        _setup_refused, "MSFT", (date(2021, 2, 1), date(2022, 1, 31)),
        "ConnectionError('refused')", False, (SourceUnreachableError, "connection failed")),
}


class _RawLog(logging.Handler):
    """Every record yfinance logs, as (thread name, level, message), unparsed."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.threadName, record.levelno, record.getMessage().strip()))


@pytest.mark.parametrize("case", FAILURE_CASES.values(), ids=FAILURE_CASES.keys())
def test_yfinance_failure_record_shape(
    fake_yahoo: FakeYahoo, monkeypatch: pytest.MonkeyPatch, case: FailureCase
) -> None:
    """Pins what yfinance (1.7) records for a failed ticker, and where.

    The real ``yf.download`` runs on the recorded responses. xlfactor relies on: (1) the
    failure summary ``"<n> Failed download(s):"`` + ``"['SYM']: <text>"`` logged at ERROR
    by the thread that called download(); (2) the texts below, which the markers in
    ``yahoo_failures`` read; (3) ``yfinance.shared._ERRORS`` / ``_TRACEBACKS`` staying
    unused (were yfinance to fill them again, they would be the better source). A
    yfinance upgrade that changes any of these fails here, not silently in a cell.
    """
    import yfinance.shared

    from xlfactor.data import yahoo_download, yahoo_failures

    case.setup(fake_yahoo, monkeypatch)
    raw = _RawLog()
    logger = logging.getLogger("yfinance")
    logger.addHandler(raw)
    try:
        fetched = yahoo_download.download(
            [case.symbol], pd.Timestamp(case.span[0]), pd.Timestamp(case.span[1]))
    finally:
        logger.removeHandler(raw)

    assert fetched.failures == {case.symbol: case.text}
    summary = [(thread, text) for thread, level, text in raw.records if level >= logging.ERROR]
    assert summary == [("xlfactor-yfinance", "1 Failed download:"),
                       ("xlfactor-yfinance", f"['{case.symbol}']: {case.text}")]
    assert yfinance.shared._ERRORS == {} and yfinance.shared._TRACEBACKS == {}, (
        "yfinance fills shared._ERRORS again: read it instead of the failure log")
    assert yahoo_failures.symbol_unknown(case.text) is case.unknown
    if case.raises is None:
        yahoo_failures.raise_on_faults([case.symbol], {}, fetched.failures)
    else:
        error, words = case.raises
        with pytest.raises(error, match=words):
            yahoo_failures.raise_on_faults([case.symbol], {}, fetched.failures)


def test_concurrent_downloads_keep_their_failures_apart(fake_yahoo: FakeYahoo) -> None:
    """yfinance's logger is process-wide; each download reads only its own summary."""
    from xlfactor.data import yahoo_download

    # both downloads are in flight (each at its unknown symbol's first request) before
    # either logs its failure summary
    meet = threading.Barrier(2, timeout=10)
    met: set[str] = set()

    def rendezvous(symbol: str) -> Any:
        def hook(params: dict[str, Any]) -> None:
            if symbol not in met:
                met.add(symbol)
                meet.wait()

        return hook

    fake_yahoo.failures.update({"ZZZZ": rendezvous("ZZZZ"), "QQQQQ": rendezvous("QQQQQ")})
    span = (pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31"))
    results: dict[str, Any] = {}

    def fetch(symbols: list[str]) -> None:
        results[symbols[0]] = yahoo_download.download(symbols, *span)

    threads = [threading.Thread(target=fetch, args=(s,)) for s in (["ZZZZ"], ["QQQQQ", "AAPL"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    assert met == {"ZZZZ", "QQQQQ"} and not meet.broken  # both were in flight at once
    assert set(results["ZZZZ"].failures) == {"ZZZZ"}
    assert set(results["QQQQQ"].failures) == {"QQQQQ"}


# --- input validation and modes -----------------------------------------------------


@pytest.mark.parametrize("bad", [["../../x"], ["AAPL", "=cmd|' /c calc'!A1"], [], [""]])
def test_invalid_tickers_make_no_request(
    fake_yahoo: FakeYahoo, download_calls: list[tuple[Any, dict[str, Any]]], bad: list[str]
) -> None:
    with pytest.raises(InvalidInputError):
        YahooPrices().get_prices(bad, date(2020, 1, 1), date(2020, 1, 31))
    assert download_calls == [] and fake_yahoo.requests == []


def test_start_after_end(fake_yahoo: FakeYahoo) -> None:
    with pytest.raises(InvalidInputError, match="after end"):
        YahooPrices().get_prices(["AAPL"], date(2020, 2, 1), date(2020, 1, 1))
    assert fake_yahoo.requests == []


def test_offline_without_cache_makes_no_request(fake_yahoo: FakeYahoo) -> None:
    with pytest.raises(DataUnavailableError, match="offline"):
        YahooPrices(offline=True).get_prices(["AAPL"], date(2020, 1, 1), date(2020, 1, 31))
    assert fake_yahoo.requests == []


def test_cache_seam_is_inert_without_store() -> None:
    source = YahooPrices(ttl_hours=1.5)
    assert source.store is None and source.ttl_hours == 1.5 and source.offline is False
    assert source._cached("AAPL") is None
    series = pd.Series([1.0], index=pd.DatetimeIndex(["2020-01-02"], name="date"))
    assert source._save("AAPL", series, date(2020, 1, 1), date(2020, 1, 2)) is None


@pytest.mark.parametrize("ttl", [0, -1.0, float("nan"), "soon", None])
def test_ttl_must_be_positive(ttl: object) -> None:
    with pytest.raises(InvalidInputError):
        YahooPrices(ttl_hours=ttl)


def test_tickers_as_one_string(fake_yahoo: FakeYahoo) -> None:
    data = YahooPrices().get_prices("aapl, msft", date(2020, 8, 31), date(2022, 1, 31))
    assert list(data.prices.columns) == ["AAPL", "MSFT"]


def test_unexpected_download_layout_is_a_format_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import yfinance

    flat = pd.DataFrame({"Close": [1.0]}, index=pd.DatetimeIndex(["2020-01-02"], name="Date"))
    monkeypatch.setattr(yfinance, "download", lambda *args, **kwargs: flat)
    with pytest.raises(DataFormatError, match="unexpected yfinance download"):
        YahooPrices().get_prices(["AAPL"], date(2020, 1, 1), date(2020, 1, 31))


# --- noise ------------------------------------------------------------------------


def test_yfinance_noise_is_silenced_and_state_restored(
    fake_yahoo: FakeYahoo, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from yfinance.config import YfConfig

    logger = logging.getLogger("yfinance")
    handlers, propagate = list(logger.handlers), logger.propagate
    hide = YfConfig.debug.hide_exceptions
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = YahooPrices().get_prices(["AAPL", "ZZZZ"], date(2020, 8, 31), date(2020, 11, 6))
    assert data.missing == ("ZZZZ",)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert [r for r in caplog.records if r.name.startswith("yfinance")] == []
    assert [w for w in caught if "inplace" in str(w.message)] == []
    assert logger.handlers == handlers and logger.propagate == propagate
    assert YfConfig.debug.hide_exceptions == hide


def test_importing_sources_does_not_import_yfinance() -> None:
    code = (
        "import sys, xlfactor.domain.tickers, xlfactor.data.yahoo, xlfactor.data.price_files; "
        "sys.exit('yfinance' in sys.modules)"
    )
    project = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=project, timeout=60)
    assert done.returncode == 0


# --- the persistent cache -------------------------------------------------------------


def test_warm_cache_makes_zero_requests_across_instances(
    fake_yahoo: FakeYahoo, tmp_path: Path
) -> None:
    from xlfactor.data.store import Store

    span = (date(2020, 8, 31), date(2022, 1, 31))
    cold = YahooPrices(store=Store(tmp_path)).get_prices(["AAPL", "MSFT"], *span)
    cold_requests = len(fake_yahoo.requests)
    assert 0 < cold_requests <= 4  # about two per ticker
    warm = YahooPrices(store=Store(tmp_path)).get_prices(["AAPL", "MSFT"], *span)
    assert len(fake_yahoo.requests) == cold_requests  # zero new requests
    pd.testing.assert_frame_equal(warm.prices, cold.prices, check_freq=False)
    assert not warm.stale
    # a narrower range inside the cached one is served from the cache too
    YahooPrices(store=Store(tmp_path)).get_prices(["AAPL"], date(2020, 9, 1), date(2020, 10, 1))
    assert len(fake_yahoo.requests) == cold_requests


def test_range_outside_the_cache_refetches_the_union(fake_yahoo: FakeYahoo, tmp_path: Path) -> None:
    from xlfactor.data.store import Store

    store = Store(tmp_path)
    YahooPrices(store=store).get_prices(["AAPL"], date(2020, 9, 1), date(2020, 10, 1))
    before = len(fake_yahoo.requests)
    YahooPrices(store=store).get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    assert len(fake_yahoo.requests) > before
    hit = store.get_frame("yahoo:AAPL")
    assert hit.meta["start"] == "2020-08-31" and hit.meta["end"] == "2020-11-06"


def test_failed_refresh_serves_stale_prices(fake_yahoo: FakeYahoo, tmp_path: Path) -> None:
    from yfinance.exceptions import YFRateLimitError

    from xlfactor.data.store import Store

    span = (date(2020, 8, 31), date(2020, 11, 6))
    good = YahooPrices(store=Store(tmp_path)).get_prices(["AAPL"], *span)
    fake_yahoo.failures["AAPL"] = lambda params: YFRateLimitError()
    # a newer end date forces a refresh, which fails: the cached prices are served, marked
    data = YahooPrices(store=Store(tmp_path)).get_prices(["AAPL"], span[0], date(2020, 12, 31))
    assert data.stale and any("STALE" in n and "rate limit" in n for n in data.notes)
    pd.testing.assert_frame_equal(data.prices, good.prices, check_freq=False)
    # and the cache still holds the good copy
    hit = Store(tmp_path).get_frame("yahoo:AAPL")
    np.testing.assert_array_equal(hit.frame["close"].to_numpy(), good.prices["AAPL"].to_numpy())


def test_failed_refresh_without_cache_is_an_error(fake_yahoo: FakeYahoo, tmp_path: Path) -> None:
    from yfinance.exceptions import YFRateLimitError

    from xlfactor.data.store import Store

    fake_yahoo.failures["MSFT"] = lambda params: YFRateLimitError()
    store = Store(tmp_path)
    with pytest.raises(DataUnavailableError, match="rate limit"):
        YahooPrices(store=store).get_prices(["MSFT"], date(2021, 2, 1), date(2022, 1, 31))
    assert store.keys() == []


def test_offline_serves_cached_prices(fake_yahoo: FakeYahoo, tmp_path: Path) -> None:
    from xlfactor.data.store import Store

    span = (date(2020, 8, 31), date(2020, 11, 6))
    YahooPrices(store=Store(tmp_path)).get_prices(["AAPL"], *span)
    before = len(fake_yahoo.requests)
    data = YahooPrices(store=Store(tmp_path), offline=True).get_prices(["AAPL"], *span)
    assert len(data.prices) > 40 and len(fake_yahoo.requests) == before

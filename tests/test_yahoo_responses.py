"""What a Yahoo chart response says it is, and how long and large it may be.

The boundary here is one level below ``tests/test_yahoo.py``: the HTTP backend's own
``Session.request`` (curl_cffi's), so that yfinance's ``YfData.get`` and xlfactor's
watched session both run for real. The recorded bodies of ``tests/data/yahoo_chart_json``
are served as they are, or served for the wrong symbol, or with ``adjclose`` removed. The
bounds are tested with real libcurl transfers against misbehaving servers on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest

from xlfactor.data.store import Store, TolerantStore
from xlfactor.data.yahoo import YahooPrices
from xlfactor.data.yahoo_download import ResponseTooLarge, _WatchedSession, read_chart_facts
from xlfactor.data.yahoo_failures import ChartFacts, refused_charts
from xlfactor.domain.errors import DataFormatError, DataUnavailableError

pytestmark = pytest.mark.filterwarnings("ignore:.*inplace.*:DeprecationWarning")
curl_cffi = pytest.importorskip("curl_cffi")

NODE = "node-yahoo-finance2/bodies/"
AAPL = NODE + "chart-AAPL-2020-08-31-to-2020-11-07.body.json"  # 4:1 split and a dividend
MSFT = NODE + "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.body.json"
NVDA = NODE + "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.body.json"
CHART = "/v8/finance/chart/"


def _response(url: str, status: int, body: bytes) -> Any:
    response = curl_cffi.requests.Response()
    response.url = url
    response.status_code = status
    response.reason = "OK" if status < 400 else "Not Found"
    response.content = body
    response.ok = status < 400
    return response


class Backend:
    """Answers chart requests with recorded bodies, as a transform of them chooses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bodies: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def serve(self, symbol: str, relative: str, change: Any = None) -> None:
        body = json.loads((self.root / relative).read_text())
        if change is not None:
            change(body)
        self.bodies[symbol] = json.dumps(body).encode()

    def request(self, session: Any, method: str, url: str, **kwargs: Any) -> Any:
        self.requests.append((url, dict(kwargs.get("params") or {})))
        path = unquote(urlsplit(url).path)
        if CHART in path:
            symbol = path.rsplit("/", 1)[1]
            if symbol in self.bodies:
                return _response(url, 200, self.bodies[symbol])
        return _response(url, 404, b'{"chart":{"result":null,"error":{"code":"Not Found",'
                                   b'"description":"No data found, symbol may be delisted"}}}')


@pytest.fixture()
def backend(chart_json_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    import yfinance.base
    import yfinance.cache
    import yfinance.data

    fake = Backend(chart_json_dir)

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return fake.request(self, method, url, **kwargs)

    monkeypatch.setattr(curl_cffi.requests.Session, "request", request)
    # no cookie or crumb round trips, and nothing persisted in the user's ~/.cache
    monkeypatch.setattr(yfinance.data.YfData, "_get_cookie_and_crumb",
                        lambda self, timeout=30: (None, "basic"))
    monkeypatch.setattr(yfinance.cache._TzCacheManager, "_tz_cache",
                        yfinance.cache._TzCacheDummy())
    monkeypatch.setattr(yfinance.base, "_tz_info_fetch_ctr", 0)
    yield fake


def _adjclose(relative: str, root: Path) -> pd.Series:
    result = json.loads((root / relative).read_text())["chart"]["result"][0]
    stamps = pd.to_datetime(result["timestamp"], unit="s")
    offset = pd.Timedelta(seconds=result["meta"]["gmtoffset"])
    dates = (stamps + offset).normalize()
    return pd.Series(result["indicators"]["adjclose"][0]["adjclose"], index=dates)


def test_a_true_response_passes_and_gives_its_adjusted_closes(backend: Backend,
                                                              chart_json_dir: Path) -> None:
    backend.serve("AAPL", AAPL)
    data = YahooPrices().get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    expected = _adjclose(AAPL, chart_json_dir)
    got = data.prices["AAPL"]
    assert len(got) == len(expected) == 49
    assert (got.to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12))
    chart_calls = [p for u, p in backend.requests if CHART in u and "period1" in p]
    assert len(chart_calls) == 1  # the history request went through the watched session


def test_a_response_for_another_symbol_is_refused(backend: Backend, tmp_path: Path) -> None:
    backend.serve("AAPL", MSFT)  # MSFT's chart served at AAPL's URL
    store = TolerantStore(Store(tmp_path / "cache"))
    with pytest.raises(DataFormatError, match=r"refused the response for 'AAPL': it is "
                                              r"for 'MSFT', not 'AAPL'"):
        YahooPrices(store=store).get_prices(["AAPL"], date(2021, 2, 1), date(2022, 1, 31))
    assert store.get_frame("yahoo:AAPL") is None  # never cached as AAPL


def _drop_adjclose(body: dict[str, Any]) -> None:
    del body["chart"]["result"][0]["indicators"]["adjclose"]


#: (refused ticker, what its URL serves, change, words of the refusal): a response for
#: another symbol, and one without adjusted closes; MSFT is served true beside it.
REFUSALS = {
    "wrong symbol": ("AAPL", MSFT, None, "it is for 'MSFT', not 'AAPL'"),
    "no adjclose": ("NVDA", NVDA, _drop_adjclose, "it has no adjusted closes"),
}


@pytest.mark.parametrize(("ticker", "body", "change", "words"), REFUSALS.values(),
                         ids=REFUSALS.keys())
def test_a_refused_response_costs_only_its_ticker(
        backend: Backend, tmp_path: Path, chart_json_dir: Path,
        ticker: str, body: str, change: Any, words: str) -> None:
    store = TolerantStore(Store(tmp_path / "cache"))
    backend.serve(ticker, body, change)
    backend.serve("MSFT", MSFT)
    source = YahooPrices(store=store)
    expected = _adjclose(MSFT, chart_json_dir)
    for _ in range(2):  # and the next call again: the true ticker is never held hostage
        data = source.get_prices([ticker, "MSFT"], date(2021, 2, 1), date(2022, 1, 31))
        assert list(data.prices.columns) == ["MSFT"] and data.missing == (ticker,)
        assert data.prices["MSFT"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
        reason = data.missing_error(ticker)
        assert isinstance(reason, DataFormatError)
        assert str(reason).startswith(f"Yahoo Finance: refused the response for {ticker!r}: "
                                      + words)
        assert not data.stale
    assert store.get_frame("yahoo:MSFT") is not None  # the true answer was kept
    assert store.get_frame(f"yahoo:{ticker}") is None  # the refused one never


def test_every_ticker_refused_is_an_error_naming_each(backend: Backend) -> None:
    backend.serve("AAPL", MSFT)
    backend.serve("NVDA", NVDA, _drop_adjclose)
    with pytest.raises(DataFormatError) as info:
        YahooPrices().get_prices(["AAPL", "NVDA"], date(2021, 2, 1), date(2022, 1, 31))
    text = str(info.value)
    assert "refused the response for 'AAPL': it is for 'MSFT'" in text
    assert "refused the response for 'NVDA': it has no adjusted closes" in text


def test_a_refused_ticker_with_a_cached_copy_is_served_stale(
        backend: Backend, tmp_path: Path, chart_json_dir: Path) -> None:
    # With an earlier true copy of AAPL cached (to October), a request reaching into
    # November asks Yahoo, is refused, and the cached copy is served, marked STALE.
    store = TolerantStore(Store(tmp_path / "cache"))
    backend.serve("AAPL", MSFT)
    real = _adjclose(AAPL, chart_json_dir).loc[:"2020-10-30"]
    real.index.name = "date"
    store.put_frame("yahoo:AAPL", real.to_frame("close"),
                    {"start": "2020-08-31", "end": "2020-10-30", "source": "Yahoo"})
    data = YahooPrices(store=store).get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    assert data.stale and any("refused the response for 'AAPL'" in n for n in data.notes)
    assert data.prices["AAPL"].to_numpy() == pytest.approx(real.to_numpy(), rel=0)
    assert data.missing == ()


def test_a_response_without_adjusted_closes_is_refused(backend: Backend, tmp_path: Path
                                                       ) -> None:
    backend.serve("MSFT", MSFT, _drop_adjclose)  # 4 dividends in this year: they matter
    store = TolerantStore(Store(tmp_path / "cache"))
    with pytest.raises(DataFormatError, match=r"'MSFT': it has no adjusted closes.*omit dividends"):
        YahooPrices(store=store).get_prices(["MSFT"], date(2021, 2, 1), date(2022, 1, 31))
    assert store.get_frame("yahoo:MSFT") is None


def test_a_response_without_a_symbol_is_refused(backend: Backend) -> None:
    backend.serve("AAPL", AAPL, lambda body: body["chart"]["result"][0]["meta"].pop("symbol"))
    with pytest.raises(DataFormatError, match="does not say which symbol"):
        YahooPrices().get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))


@pytest.mark.parametrize("relative", sorted(
    str(p.relative_to(Path(__file__).parent / "data" / "yahoo_chart_json"))
    for p in (Path(__file__).parent / "data" / "yahoo_chart_json").rglob("*.json")))
def test_every_recorded_response_passes_the_checks_for_its_own_symbol(
        chart_json_dir: Path, relative: str) -> None:
    body = (chart_json_dir / relative).read_bytes()
    facts = read_chart_facts(body)
    result = json.loads(body)["chart"]["result"][0]
    assert facts.symbol == result["meta"]["symbol"]
    assert facts.bars == len(result.get("timestamp") or [])
    assert refused_charts([facts.symbol.upper()], {facts.symbol.upper(): facts}) == {}


@pytest.mark.parametrize(("facts", "reason"), [
    (ChartFacts("MSFT", 5, True), "is for 'MSFT', not 'AAPL'"),
    (ChartFacts(None, 5, True), "no meta.symbol"),
    (ChartFacts("AAPL", 5, False), "no adjusted closes"),
    (ChartFacts("aapl", 5, True), None),  # the same symbol in another case
    (ChartFacts("MSFT", 0, False), None),  # no bars: nothing that could be misused
])
def test_refusal_rules(facts: ChartFacts, reason: str | None) -> None:
    refused = refused_charts(["AAPL"], {"AAPL": facts})
    assert (refused["AAPL"] if refused else None) == reason or reason in refused["AAPL"]


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"chart": {"result": []}}',
                                  b'{"chart": {"result": [7]}}', b"[" * 100_000])
def test_unreadable_bodies_give_empty_facts(body: bytes) -> None:
    assert read_chart_facts(body) == ChartFacts(None, 0, False)


# --------------------------------------------------------- bounds, with real transfers


class Hostile:
    """A server on 127.0.0.1 that drips or never ends its body; counts what it sent."""

    def __init__(self, mode: str) -> None:
        self.mode, self.sent, self.stop = mode, 0, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by close()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not self.stop.is_set():
                    conn.sendall(b"{")
                    self.sent += 1
                    time.sleep(0.05)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                chunk = b" " * 65536
                while not self.stop.is_set():
                    conn.sendall(chunk)
                    self.sent += len(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@pytest.fixture()
def hostile() -> Iterator[Any]:
    servers: list[Hostile] = []

    def start(mode: str) -> Hostile:
        servers.append(Hostile(mode))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_dripping_chart_answer_is_cut_off(hostile: Any) -> None:
    server = hostile("drip")
    session = _WatchedSession.create(transfer_wait=0.7, max_bytes=1 << 20)
    began = time.monotonic()
    with pytest.raises(curl_cffi.requests.exceptions.Timeout) as info:
        # yfinance asks for 30 s; the whole-transfer bound wins
        session.get(f"http://127.0.0.1:{server.port}{CHART}AAPL", timeout=30)
    took = time.monotonic() - began
    assert 0.6 < took < 5.0  # the upper bound leaves room for a loaded machine
    assert "curl: (28)" in str(info.value)  # what yahoo_failures reads as "timed out"
    assert 0 < server.sent < 40


def test_an_endless_chart_answer_is_stopped_at_the_cap(hostile: Any) -> None:
    server = hostile("endless")
    cap = 1 << 20
    session = _WatchedSession.create(transfer_wait=20, max_bytes=cap)
    with pytest.raises(ResponseTooLarge, match=r"larger than the 1 MB allowed"):
        session.get(f"http://127.0.0.1:{server.port}{CHART}AAPL", timeout=30)
    time.sleep(0.2)
    assert cap <= server.sent < cap + 16 * (1 << 20)  # stopped near the cap, not at GBs


def test_the_whole_download_reports_an_oversized_answer(hostile: Any, monkeypatch) -> None:
    """yf.download through the watched session, its chart requests sent to the server."""
    import yfinance.base
    import yfinance.cache
    import yfinance.data

    server = hostile("endless")
    real_request = curl_cffi.requests.Session.request

    def to_loopback(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        return real_request(self, method, f"http://127.0.0.1:{server.port}{parts.path}",
                            *args, **kwargs)

    monkeypatch.setattr(curl_cffi.requests.Session, "request", to_loopback)
    monkeypatch.setattr(yfinance.data.YfData, "_get_cookie_and_crumb",
                        lambda self, timeout=30: (None, "basic"))
    monkeypatch.setattr(yfinance.cache._TzCacheManager, "_tz_cache",
                        yfinance.cache._TzCacheDummy())
    monkeypatch.setattr(yfinance.base, "_tz_info_fetch_ctr", 0)
    prices = YahooPrices(net_wait=20, max_bytes=1 << 20)
    began = time.monotonic()
    with pytest.raises(DataUnavailableError, match=r"AAPL: ResponseTooLarge\('response larger "
                                                   r"than the 1 MB allowed"):
        prices.get_prices(["AAPL"], date(2020, 8, 31), date(2020, 11, 6))
    assert time.monotonic() - began < 15
    # each request stopped near the cap: at most a few MB in all, never gigabytes
    assert server.sent < 40 * (1 << 20)


def test_a_cell_says_which_response_was_refused(backend: Backend, tmp_cache: Path,
                                                shared_data: Path, monkeypatch) -> None:
    from xlfactor.data.memo import forget_all
    from xlfactor.excel import udfs

    backend.serve("AAPL", MSFT)
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR",
                       str(shared_data / "kenneth_french" / "vintage_202510" / "zip"))
    for name in ("XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE", "XLFACTOR_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    forget_all()
    try:
        cell = udfs.FACTOR_BETAS("AAPL", "FF3", "2021-02-01", "2022-01-31")
    finally:
        forget_all()
    text = cell[0][0]
    assert text.startswith("#N/A") and "refused the response for 'AAPL': it is for 'MSFT'" in text


def _french_daily(zip_path: Path) -> pd.DataFrame:
    """The FF3 daily file read with pandas alone (percent to decimal), the oracle's input."""
    import io
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        (member,) = archive.namelist()
        lines = archive.read(member).decode("latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(",Mkt-RF"))
    body = [line for line in lines[start + 1:] if line[:8].strip().isdigit()]
    frame = pd.read_csv(io.StringIO("\n".join(body)), header=None,
                        names=["date", "MKT", "SMB", "HML", "RF"])
    frame.index = pd.to_datetime(frame.pop("date").astype(str), format="%Y%m%d")
    return frame / 100.0


def test_a_cell_shows_the_refusal_on_its_row_and_computes_the_others(
        backend: Backend, tmp_cache: Path, shared_data: Path, chart_json_dir: Path,
        monkeypatch) -> None:
    """FACTOR_BETAS({"AAPL","MSFT"}) with AAPL's response for MSFT: AAPL's row says why,
    MSFT's row holds its betas (statsmodels on the recorded closes and the French file),
    and so does the next call."""
    import statsmodels.api as sm

    from xlfactor.data.memo import forget_all
    from xlfactor.excel import udfs

    backend.serve("AAPL", MSFT)
    backend.serve("MSFT", MSFT)
    zips = shared_data / "kenneth_french" / "vintage_202510" / "zip"
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(zips))
    for name in ("XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE", "XLFACTOR_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    closes = _adjclose(MSFT, chart_json_dir)
    factors = _french_daily(zips / "F-F_Research_Data_Factors_daily_CSV.zip")
    data = pd.concat([closes.pct_change().rename("r"), factors], axis=1, join="inner")
    data = data.loc["2021-02-01":"2022-01-31"].dropna()
    oracle = sm.OLS(data["r"] - data["RF"], sm.add_constant(data[["MKT", "SMB", "HML"]])
                    ).fit().params.to_numpy()
    forget_all()
    try:
        tables = [udfs.FACTOR_BETAS([["AAPL", "MSFT"]], "FF3", "2021-02-01", "2022-01-31")
                  for _ in range(2)]
    finally:
        forget_all()
    for table in tables:
        assert table[0] == ["Ticker", "Alpha", "MKT", "SMB", "HML"]
        assert table[1][0] == "AAPL"
        assert table[1][1] == ("#N/A Yahoo Finance: refused the response for 'AAPL': "
                               "it is for 'MSFT', not 'AAPL'")
        assert table[2][0] == "MSFT"
        np.testing.assert_allclose(table[2][1:], oracle, rtol=1e-9, atol=1e-12)

"""PriceFiles on the real saved Yahoo CSVs in tests/data/yahoo_csv and on bad files.

Expected values are read from the raw files here with the ``csv`` module, independently
of the code under test. Files of layouts the recorded data do not contain (classic
``Adj Close``, multi-ticker yfinance headers) are written to ``tmp_path`` from real rows.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlfactor.data.price_files import (
    AUTO_ADJUSTED,
    CLASSIC,
    MULTI_HEADER,
    PriceFiles,
    detect_layout,
    read_price_file,
)
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    InvalidInputError,
    UnknownTickerError,
)

AUTO_DIR = "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
MULTI_DIR = "yfinance_multiindex_header_Brice580_2023-12-29"
EVERYTHING = (date(1990, 1, 1), date(2030, 12, 31))

# (folder, ticker, rows, first date, last date) as listed in tests/data/README.md;
# SPY ends one trading day earlier, so it has one row fewer than the others.
EXPECTED = [
    (AUTO_DIR, "AAPL", 5031, "2005-10-10", "2025-10-08"),
    (AUTO_DIR, "AMZN", 5031, "2005-10-10", "2025-10-08"),
    (AUTO_DIR, "JPM", 5031, "2005-10-10", "2025-10-08"),
    (AUTO_DIR, "MSFT", 5031, "2005-10-10", "2025-10-08"),
    (AUTO_DIR, "XOM", 5031, "2005-10-10", "2025-10-08"),
    (AUTO_DIR, "SPY", 5030, "2005-10-10", "2025-10-07"),
    (MULTI_DIR, "AAPL", 3522, "2010-01-04", "2023-12-29"),
]


def _raw_column(path: Path, field: str) -> pd.Series:
    """``field`` of a one-ticker Yahoo CSV, read with the csv module (both header styles)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if rows[0][0] == "Price":  # three header rows: Price / Ticker / Date
        header, body = rows[0], rows[3:]
    else:
        header, body = rows[0], rows[1:]
    col = header.index(field)
    return pd.Series(
        [float(r[col]) for r in body],
        index=pd.DatetimeIndex([r[0] for r in body], name="date"),
        name=path.stem,
    )


def _chart_rows(chart_json_dir: Path, body_name: str) -> list[list[str]]:
    """Real Yahoo bars as classic download rows: Date, O, H, L, Close, Adj Close, Volume."""
    body = json.loads((chart_json_dir / "node-yahoo-finance2" / "bodies" / body_name).read_text())
    result = body["chart"]["result"][0]
    zone = result["meta"]["exchangeTimezoneName"]
    quote = result["indicators"]["quote"][0]
    adj = result["indicators"]["adjclose"][0]["adjclose"]
    days = pd.to_datetime(result["timestamp"], unit="s", utc=True).tz_convert(zone)
    return [
        [d.strftime("%Y-%m-%d"), repr(o), repr(h), repr(lo), repr(c), repr(a), str(v)]
        for d, o, h, lo, c, a, v in zip(
            days, quote["open"], quote["high"], quote["low"], quote["close"], adj, quote["volume"]
        )
    ]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


CLASSIC_HEADER = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
MSFT_BODY = "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.body.json"


@pytest.fixture()
def classic_msft(tmp_path: Path, chart_json_dir: Path) -> Path:
    """Layout (a): a classic Yahoo download built from real MSFT bars (with dividends)."""
    rows = _chart_rows(chart_json_dir, MSFT_BODY)
    return _write_csv(tmp_path / "MSFT.csv", [CLASSIC_HEADER, *rows])


# --- the real files ---------------------------------------------------------------


@pytest.mark.parametrize(("folder", "ticker", "rows", "first", "last"), EXPECTED)
def test_real_files_rows_dates_and_values(
    yahoo_csv_dir: Path, folder: str, ticker: str, rows: int, first: str, last: str
) -> None:
    path = yahoo_csv_dir / folder / f"{ticker}.csv"
    data = PriceFiles(yahoo_csv_dir / folder).get_prices([ticker], *EVERYTHING)
    prices = data.prices[ticker]
    assert len(prices) == rows
    assert prices.index[0] == pd.Timestamp(first)
    assert prices.index[-1] == pd.Timestamp(last)
    expected = _raw_column(path, "Close")
    np.testing.assert_array_equal(prices.to_numpy(), expected.to_numpy())
    assert list(prices.index) == list(expected.index)
    assert data.missing == ()
    assert (
        "auto-adjusted" in data.notes[0] and "already split- and dividend-adjusted" in data.notes[0]
    )


def test_every_shared_csv_is_readable(yahoo_csv_dir: Path) -> None:
    files = sorted(yahoo_csv_dir.glob("*/*.csv"))
    assert len(files) == 8
    for path in files:
        data = PriceFiles(path).get_prices([path.stem], *EVERYTHING)
        classic = path.parent.name.startswith("web_download")  # Yahoo's Adj Close layout
        expected = _raw_column(path, "Adj Close" if classic else "Close")
        np.testing.assert_array_equal(
            data.prices[path.stem.upper()].to_numpy(), expected.to_numpy()
        )


def test_layouts_are_detected_from_headers(yahoo_csv_dir: Path, classic_msft: Path) -> None:
    assert detect_layout(yahoo_csv_dir / AUTO_DIR / "AAPL.csv") == AUTO_ADJUSTED
    assert detect_layout(yahoo_csv_dir / MULTI_DIR / "AAPL.csv") == MULTI_HEADER
    assert detect_layout(classic_msft) == CLASSIC


def test_folder_with_several_tickers(yahoo_csv_dir: Path) -> None:
    data = PriceFiles(yahoo_csv_dir / AUTO_DIR).get_prices(
        ["spy", "AAPL", "ZZZZ", "msft"], date(2025, 10, 1), date(2025, 10, 8)
    )
    assert list(data.prices.columns) == ["SPY", "AAPL", "MSFT"]
    assert data.missing == ("ZZZZ",)
    assert data.prices.index.name == "date" and data.prices.index.tz is None
    # SPY's file ends a day earlier: NaN on the last date, not a dropped row
    assert np.isnan(data.prices.loc["2025-10-08", "SPY"])
    assert data.prices.loc["2025-10-08", "AAPL"] == 258.05999755859375
    assert data.source.startswith("Yahoo-format CSV files")


def test_tickers_as_one_string(yahoo_csv_dir: Path) -> None:
    data = PriceFiles(yahoo_csv_dir / AUTO_DIR).get_prices(
        "xom, jpm", date(2025, 10, 1), date(2025, 10, 8)
    )
    assert list(data.prices.columns) == ["XOM", "JPM"]


def test_range_is_inclusive(yahoo_csv_dir: Path) -> None:
    data = PriceFiles(yahoo_csv_dir / AUTO_DIR).get_prices(
        ["AAPL"], date(2005, 10, 11), date(2025, 10, 7)
    )
    assert data.prices.index[0] == pd.Timestamp("2005-10-11")
    assert data.prices.index[-1] == pd.Timestamp("2025-10-07")
    assert len(data.prices) == 5029


def test_file_names_match_case_insensitively(tmp_path: Path, yahoo_csv_dir: Path) -> None:
    shutil.copy(yahoo_csv_dir / AUTO_DIR / "JPM.csv", tmp_path / "jpm.CSV")
    data = PriceFiles(tmp_path).get_prices(["Jpm"], date(2025, 10, 1), date(2025, 10, 8))
    assert list(data.prices.columns) == ["JPM"]
    assert len(data.prices) == 6


def test_all_missing_names_the_folder(yahoo_csv_dir: Path) -> None:
    folder = yahoo_csv_dir / AUTO_DIR
    with pytest.raises(UnknownTickerError) as info:
        PriceFiles(folder).get_prices(["ZZZZ", "QQQQ"], *EVERYTHING)
    message = str(info.value)
    assert "'ZZZZ', 'QQQQ'" in message and str(folder) in message


def test_no_rows_in_range(yahoo_csv_dir: Path) -> None:
    source = PriceFiles(yahoo_csv_dir / MULTI_DIR)
    with pytest.raises(UnknownTickerError, match=r"no prices for 'AAPL' in 2024-01-01"):
        source.get_prices(["AAPL"], date(2024, 1, 1), date(2024, 12, 31))


def test_path_text_never_reaches_the_file_system(tmp_path: Path, yahoo_csv_dir: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(yahoo_csv_dir / AUTO_DIR / "XOM.csv", tmp_path / "XOM.csv")  # outside
    for bad in (["../XOM"], ["..\\XOM"], [str(tmp_path / "XOM")]):
        with pytest.raises(InvalidInputError):
            PriceFiles(inner).get_prices(bad, *EVERYTHING)
    with pytest.raises(UnknownTickerError):
        PriceFiles(inner).get_prices(["XOM"], *EVERYTHING)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="not found"):
        PriceFiles(tmp_path / "nowhere").get_prices(["AAPL"], *EVERYTHING)


def test_single_file_named_after_another_ticker(yahoo_csv_dir: Path) -> None:
    with pytest.raises(UnknownTickerError, match="not in"):
        PriceFiles(yahoo_csv_dir / AUTO_DIR / "AAPL.csv").get_prices(["MSFT"], *EVERYTHING)


def test_two_files_for_one_ticker(tmp_path: Path, yahoo_csv_dir: Path) -> None:
    shutil.copy(yahoo_csv_dir / AUTO_DIR / "XOM.csv", tmp_path / "XOM.csv")
    shutil.copy(yahoo_csv_dir / AUTO_DIR / "XOM.csv", tmp_path / "xom.csv")
    if len(os.listdir(tmp_path)) < 2:
        pytest.skip("case-insensitive file system")
    with pytest.raises(DataFormatError, match="two price files for XOM"):
        PriceFiles(tmp_path).get_prices(["XOM"], *EVERYTHING)


# --- layout (a): classic Adj Close ------------------------------------------------


def test_classic_layout_uses_adj_close(classic_msft: Path) -> None:
    data = PriceFiles(classic_msft.parent).get_prices(["MSFT"], *EVERYTHING)
    adj = _raw_column(classic_msft, "Adj Close")
    close = _raw_column(classic_msft, "Close")
    assert len(data.prices) == 252
    np.testing.assert_array_equal(data.prices["MSFT"].to_numpy(), adj.to_numpy())
    assert (adj.iloc[:10] < close.iloc[:10]).all()  # dividends since: Close would be wrong
    assert data.notes == ("MSFT: 'Adj Close' from MSFT.csv (split- and dividend-adjusted)",)


def test_classic_null_rows_are_skipped(tmp_path: Path, chart_json_dir: Path) -> None:
    rows = _chart_rows(chart_json_dir, MSFT_BODY)[:5]
    rows[2] = [rows[2][0], "null", "null", "null", "null", "null", "null"]
    path = _write_csv(tmp_path / "MSFT.csv", [CLASSIC_HEADER, *rows])
    data = PriceFiles(path).get_prices(["MSFT"], *EVERYTHING)
    assert len(data.prices) == 4
    assert pd.Timestamp(rows[2][0]) not in data.prices.index


# --- layout (c): yfinance three-row header, several tickers -----------------------


def _multi_header_file(path: Path, fields: dict[str, dict[str, pd.Series]]) -> Path:
    """Write a yfinance-style three-row header CSV the way pandas writes download() output."""
    frame = pd.concat(
        {(f, t): s for f, per_ticker in fields.items() for t, s in per_ticker.items()},
        axis=1,
        sort=True,
    )
    frame.columns.names = ["Price", "Ticker"]
    frame.index = frame.index.strftime("%Y-%m-%d")
    frame.index.name = "Date"
    frame.to_csv(path, float_format=None)
    return path


def test_multi_ticker_file(tmp_path: Path, yahoo_csv_dir: Path) -> None:
    aapl = _raw_column(yahoo_csv_dir / AUTO_DIR / "AAPL.csv", "Close").iloc[-30:]
    spy = _raw_column(yahoo_csv_dir / AUTO_DIR / "SPY.csv", "Close").iloc[-30:]
    volume = _raw_column(yahoo_csv_dir / AUTO_DIR / "AAPL.csv", "Volume").iloc[-30:]
    path = _multi_header_file(
        tmp_path / "portfolio.csv",
        {"Close": {"AAPL": aapl, "SPY": spy}, "Volume": {"AAPL": volume, "SPY": volume}},
    )
    lines = path.read_text().splitlines()
    assert lines[0].startswith("Price,Close,Close,Volume")
    assert lines[1].startswith("Ticker,AAPL,SPY")
    assert lines[2].startswith("Date,,")
    assert detect_layout(path) == MULTI_HEADER
    data = PriceFiles(path).get_prices(["SPY", "AAPL"], *EVERYTHING)
    assert list(data.prices.columns) == ["SPY", "AAPL"]
    # the two 30-row windows are offset by a day: blanks in the file, NaN in the frame
    assert len(data.prices) == 31
    np.testing.assert_array_equal(data.prices["AAPL"].dropna().to_numpy(), aapl.to_numpy())
    np.testing.assert_array_equal(data.prices["SPY"].dropna().to_numpy(), spy.to_numpy())
    assert np.isnan(data.prices["AAPL"].iloc[0]) and np.isnan(data.prices["SPY"].iloc[-1])
    assert [c.ticker for c in read_price_file(path)] == ["AAPL", "SPY"]


def test_multi_header_prefers_adj_close(tmp_path: Path, classic_msft: Path) -> None:
    adj = _raw_column(classic_msft, "Adj Close")
    close = _raw_column(classic_msft, "Close")
    path = _multi_header_file(
        tmp_path / "MSFT_raw.csv", {"Adj Close": {"MSFT": adj}, "Close": {"MSFT": close}}
    )
    data = PriceFiles(path).get_prices(["MSFT"], *EVERYTHING)
    np.testing.assert_array_equal(data.prices["MSFT"].to_numpy(), adj.to_numpy())
    assert "'Adj Close'" in data.notes[0]


def test_ticker_file_holding_another_ticker(tmp_path: Path, classic_msft: Path) -> None:
    adj = _raw_column(classic_msft, "Adj Close")
    _multi_header_file(tmp_path / "AAPL.csv", {"Close": {"MSFT": adj}})
    with pytest.raises(DataFormatError, match="holds no prices for AAPL"):
        PriceFiles(tmp_path).get_prices(["AAPL"], *EVERYTHING)


# --- dates written with a time and offset -----------------------------------------


def test_tz_aware_midnights_keep_the_local_day(tmp_path: Path) -> None:
    rows = [
        ["Date", "Open", "High", "Low", "Close", "Volume"],
        ["2020-01-02 00:00:00-05:00", "1", "1", "1", "75.0875", "100"],
        ["2020-01-03 00:00:00-05:00", "1", "1", "1", "74.3575", "100"],
    ]
    path = _write_csv(tmp_path / "AAPL.csv", rows)
    data = PriceFiles(path).get_prices(["AAPL"], date(2020, 1, 2), date(2020, 1, 3))
    assert list(data.prices.index) == list(pd.to_datetime(["2020-01-02", "2020-01-03"]))


# --- bad files --------------------------------------------------------------------

GOOD_ROW = ["2020-01-02", "1", "1", "1", "75.0875", "100"]
AUTO_HEADER = ["Date", "Open", "High", "Low", "Close", "Volume"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [AUTO_HEADER, GOOD_ROW, ["2020-01-03", "1", "1", "1", "abc", "1"]],
            "non-numeric price 'abc'",
        ),
        ([AUTO_HEADER, GOOD_ROW, ["2020-01-03", "1", "1", "1", "1,5", "1"]], "non-numeric price"),
        ([AUTO_HEADER, GOOD_ROW, ["2020-01-03", "1", "1", "1", "inf", "1"]], "non-numeric price"),
        ([AUTO_HEADER, GOOD_ROW, ["2020-01-03", "1", "1", "1", "0", "1"]], "non-positive price"),
        ([AUTO_HEADER, GOOD_ROW, ["2020-01-03", "1", "1", "1", "-2.5", "1"]], "non-positive price"),
        (
            [AUTO_HEADER, GOOD_ROW, ["01/03/2020", "1", "1", "1", "2", "1"]],
            r"line 3: unreadable date '01/03/2020', the first date is ISO",
        ),
        (
            [AUTO_HEADER, GOOD_ROW, ["2020-13-45", "1", "1", "1", "2", "1"]],
            "line 3: impossible date '2020-13-45'",
        ),
        ([AUTO_HEADER, GOOD_ROW, ["", "1", "1", "1", "2", "1"]], "line 3: unreadable date ''"),
        (
            [AUTO_HEADER, GOOD_ROW, ["2020-01-02 15:30:00-05:00", "1", "1", "1", "2", "1"]],
            "line 3: date '2020-01-02 15:30:00-05:00' has a time of day",
        ),
        ([AUTO_HEADER, GOOD_ROW, GOOD_ROW], "date 2020-01-02 appears more than once"),
        ([AUTO_HEADER], "no data rows"),
        ([["Foo", "Bar"], ["1", "2"]], "not a Yahoo price file"),
        ([["Datetime", "Open", "Close"], GOOD_ROW[:3]], "not a Yahoo price file"),
        ([["Price", "Close"], ["Ticker", "AAPL"], ["2020-01-02", "1"]], "not a Yahoo price file"),
        ([], "not a Yahoo price file"),
    ],
)
def test_bad_files_raise_data_format_error(
    tmp_path: Path, rows: list[list[str]], message: str
) -> None:
    path = _write_csv(tmp_path / "AAPL.csv", rows)
    for source in (PriceFiles(path), PriceFiles(tmp_path)):
        with pytest.raises(DataFormatError, match=message) as info:
            source.get_prices(["AAPL"], *EVERYTHING)
        assert re.match(r"AAPL\.csv( line \d+)?: ", str(info.value))


def test_bad_multi_header_value(tmp_path: Path) -> None:
    rows = [
        ["Price", "Close", "Close"],
        ["Ticker", "AAPL", "SPY"],
        ["Date", "", ""],
        ["2020-01-02", "75.0875", "324.87"],
        ["2020-01-03", "74.3575", "n/a?"],
    ]
    path = _write_csv(tmp_path / "both.csv", rows)
    with pytest.raises(
        DataFormatError, match=r"both\.csv line 5: non-numeric price 'n/a\?'"
    ):
        PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "AAPL.csv").write_bytes(b"\xff\xfe\x00\x81PK\x03\x04" * 20)
    with pytest.raises(DataFormatError, match="AAPL.csv"):
        PriceFiles(tmp_path).get_prices(["AAPL"], *EVERYTHING)


def test_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,2,3,4,5,6\n")
    with pytest.raises(DataFormatError, match="AAPL.csv"):
        PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(
        "\ufeffDate,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,75.0875,3\n", encoding="utf-8"
    )
    data = PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)
    assert data.prices["AAPL"].tolist() == [75.0875]


def test_multi_header_ticker_twice_is_refused(tmp_path: Path, yahoo_csv_dir: Path) -> None:
    """pandas would read the second ('Close', 'AAPL') as another column: refused."""
    header, *body = (yahoo_csv_dir / MULTI_DIR / "AAPL.csv").read_text().splitlines()[:8]
    rows = [line.split(",") for line in [header, *body]]
    col = rows[0].index("Close")
    doubled = [[*r, r[col]] for r in rows]
    path = _write_csv(tmp_path / "both.csv", doubled)
    with pytest.raises(DataFormatError, match=r"both\.csv line 1: ticker 'AAPL' appears twice "
                                              r"under 'Close'"):
        PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)

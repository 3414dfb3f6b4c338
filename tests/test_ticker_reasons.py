"""A ticker left out of a many-ticker answer keeps its own reason, on its row and CLI line.

A folder of saved price files (the recorded yfinance files) holds a good AAPL, a copy of
the real MSFT file with one date past pandas' range appended (``BAD``), the real XOM file
cut to 2005-2010 (``OLD``: no rows in the window), a self-looping link (``LOOP``), and no
file for ``ZZZZ``. Asked alone, each bad ticker's error names its file and line; asked with
AAPL, each must say the same on its own row (not ``unknown ticker``), keep its class (so
the CLI exit status and the cell's error code stay right), and AAPL must be computed.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import RECORDED_FACTORS, RECORDED_PRICES

import xlfactor
from xlfactor import analysis, api, cli
from xlfactor.data.memo import forget_all
from xlfactor.data.price_files import PriceFiles
from xlfactor.domain.errors import DataFormatError, DataUnavailableError, UnknownTickerError
from xlfactor.excel import udfs

PERIOD = ("2020-01-01", "2022-12-31")
TICKERS = ["AAPL", "BAD", "OLD", "LOOP", "ZZZZ"]


@pytest.fixture()
def folder(shared_data: Path, tmp_path: Path, tmp_cache: Path, monkeypatch) -> Path:
    """The price folder described above, set as XLFACTOR_PRICE_DIR; returns it."""
    recorded = shared_data / RECORDED_PRICES
    px = tmp_path / "px"
    px.mkdir()
    shutil.copy(recorded / "AAPL.csv", px / "AAPL.csv")
    lines = (recorded / "MSFT.csv").read_text().splitlines()
    lines.append("9999-12-31" + lines[-1][10:])
    (px / "BAD.csv").write_text("\n".join(lines) + "\n")
    old = (recorded / "XOM.csv").read_text().splitlines()
    (px / "OLD.csv").write_text("\n".join(
        [old[0], *(r for r in old[1:] if "2005" <= r[:4] <= "2010")]) + "\n")
    try:
        os.symlink("LOOP.csv", px / "LOOP.csv")
    except OSError:
        pytest.skip("no symbolic links here")
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(px))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / RECORDED_FACTORS))
    for name in ("XLFACTOR_SOURCE", "XLFACTOR_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    forget_all()
    yield px
    forget_all()


def _bad_line(folder: Path) -> int:
    return len((folder / "BAD.csv").read_text().splitlines())


def _expected(folder: Path) -> dict[str, tuple[type, str]]:
    """Each left-out ticker's class and the start of its text, as asked alone (a link
    that cannot be followed is a DataUnavailableError, a DataFormatError when alone)."""
    return {
        "BAD": (DataFormatError, f"BAD.csv line {_bad_line(folder)}: date '9999-12-31' "
                                 "is outside the years"),
        "OLD": (UnknownTickerError, "no prices for 'OLD' in "),
        "LOOP": (DataUnavailableError, "cannot open price file LOOP.csv in "),
        "ZZZZ": (UnknownTickerError, "unknown ticker 'ZZZZ'"),
    }


def _aapl_oracle(folder: Path, french_zip: Path) -> np.ndarray:
    """FF3 betas of AAPL by statsmodels, on the file's closes and the French daily file
    read with the csv module and pandas only."""
    with open(folder / "AAPL.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    col = rows[0].index("Close")
    closes = pd.Series([float(r[col]) for r in rows[1:]],
                       index=pd.DatetimeIndex([r[0] for r in rows[1:]]))
    with zipfile.ZipFile(french_zip) as archive:
        (member,) = archive.namelist()
        lines = archive.read(member).decode("latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(",Mkt-RF"))
    body = [line for line in lines[start + 1:] if line[:8].strip().isdigit()]
    factors = pd.read_csv(io.StringIO("\n".join(body)), header=None,
                          names=["date", "MKT", "SMB", "HML", "RF"])
    factors.index = pd.to_datetime(factors.pop("date").astype(str), format="%Y%m%d")
    factors /= 100.0
    data = pd.concat([closes.pct_change().rename("r"), factors], axis=1, join="inner")
    data = data.loc[PERIOD[0]:PERIOD[1]].dropna()
    X = sm.add_constant(data[["MKT", "SMB", "HML"]])
    return sm.OLS(data["r"] - data["RF"], X).fit().params.to_numpy()


def test_each_ticker_alone_fails_with_its_own_error(folder: Path) -> None:
    """The reference: what each bad ticker says when it is the only one asked."""
    source = PriceFiles(folder)
    for ticker, (kind, words) in _expected(folder).items():
        with pytest.raises(kind) as info:
            source.get_prices([ticker], pd.Timestamp(PERIOD[0]).date(),
                              pd.Timestamp(PERIOD[1]).date())
        assert str(info.value).startswith(words), (ticker, info.value)


def test_the_price_source_gives_each_missing_ticker_its_reason(folder: Path) -> None:
    data = PriceFiles(folder).get_prices(TICKERS, pd.Timestamp(PERIOD[0]).date(),
                                         pd.Timestamp(PERIOD[1]).date())
    assert list(data.prices.columns) == ["AAPL"]
    assert data.missing == ("BAD", "OLD", "LOOP", "ZZZZ")
    for ticker, (kind, words) in _expected(folder).items():
        error = data.missing_error(ticker)
        assert isinstance(error, kind) and str(error).startswith(words), (ticker, error)


def test_a_fit_keeps_each_reason_and_computes_the_rest(folder: Path, shared_data: Path
                                                       ) -> None:
    res = xlfactor.fit(TICKERS, "FF3", *PERIOD)
    assert list(res.params.index) == ["AAPL"]
    oracle = _aapl_oracle(folder, shared_data / RECORDED_FACTORS
                          / "F-F_Research_Data_Factors_daily_CSV.zip")
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), oracle, rtol=1e-9,
                               atol=1e-12)
    for ticker, (kind, words) in _expected(folder).items():
        error = res.failed[ticker]
        assert isinstance(error, kind) and str(error).startswith(words), (ticker, error)
    # memoised fits and samples answer the same again, reasons included
    again = xlfactor.fit(TICKERS, "FF3", *PERIOD)
    assert {t: str(e) for t, e in again.failed.items()} == {t: str(e) for t, e in
                                                           res.failed.items()}


def test_each_row_of_a_cell_says_its_own_error(folder: Path) -> None:
    table = udfs.FACTOR_BETAS([TICKERS], "FF3", *PERIOD)
    rows = {row[0]: row for row in table[1:]}
    assert isinstance(rows["AAPL"][2], float)
    for ticker, (kind, words) in _expected(folder).items():
        assert rows[ticker][1].startswith(f"{kind.code} {words}"), rows[ticker]
    returns = udfs.FACTOR_RETURNS([TICKERS], *PERIOD)
    labels = returns[0]
    assert labels[:2] == ["Date", "AAPL"]
    assert labels[2].startswith(f"BAD: #N/A BAD.csv line {_bad_line(folder)}: date")
    assert labels[-1] == "ZZZZ: #N/A unknown ticker"


def test_the_cli_names_each_ticker_s_own_error(folder: Path, capsys) -> None:
    status = cli.main(["betas", *TICKERS, "--start", PERIOD[0], "--end", PERIOD[1], "-q"])
    err = capsys.readouterr().err
    assert status == cli.EXIT_INCOMPLETE
    lines = [line for line in err.splitlines() if line.startswith("xlfactor: not computed:")]
    assert len(lines) == 4
    for ticker, (_, words) in _expected(folder).items():
        assert any(line.startswith(f"xlfactor: not computed: {ticker}: {words}")
                   for line in lines), (ticker, lines)


def test_calls_that_need_every_ticker_raise_the_first_one_s_own_error(folder: Path) -> None:
    words = f"BAD.csv line {_bad_line(folder)}: date '9999-12-31'"
    with pytest.raises(DataFormatError, match=words):
        analysis.portfolio(["AAPL", "BAD"], [0.5, 0.5], "FF3", *PERIOD)
    with pytest.raises(DataUnavailableError, match="LOOP.csv"):
        analysis.grs(["AAPL", "LOOP"], "FF3", *PERIOD)
    with pytest.raises(UnknownTickerError, match="no prices for 'OLD'"):
        analysis.portfolio(["OLD", "AAPL"], [0.5, 0.5], "FF3", *PERIOD)
    returns = api.asset_returns(["AAPL", "BAD"], *PERIOD)
    assert list(returns.columns) == ["AAPL"]
    assert isinstance(returns.attrs["missing"].error("BAD"), DataFormatError)


def test_a_kept_reason_holds_no_traceback_and_is_raised_fresh(folder: Path) -> None:
    """A memoised answer keeps its reasons; raising one must not keep the frames of where
    the file was read, nor collect those of each raise."""
    data = PriceFiles(folder).get_prices(["AAPL", "BAD"], pd.Timestamp(PERIOD[0]).date(),
                                         pd.Timestamp(PERIOD[1]).date())
    kept = data.reasons["BAD"]
    assert kept.__traceback__ is None  # caught in the reader, stored clean
    missing = data.missing_tickers()
    for _ in range(3):
        with pytest.raises(DataFormatError) as info:
            raise missing.error("BAD")
        assert info.value is not kept and str(info.value) == str(kept)
    assert kept.__traceback__ is None

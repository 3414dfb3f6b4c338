"""Your own returns: the same regression as a ticker's, by the same alignment rules.

The oracle: a ticker's returns as FACTOR_RETURNS / xlfactor.asset_returns give them, fed
back through fit_returns, must give fit's betas on the ticker (fit is itself checked
against statsmodels in test_oracle.py); and statsmodels directly on the published
monthly file for returns dated on the 1st of the month.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import RECORDED_FACTORS
from oracles import published_monthly_ff3

import xlfactor
from xlfactor.domain.errors import InvalidInputError
from xlfactor.excel import udfs

AUTO = "yahoo_csv/yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
TICKERS = ["AAPL", "MSFT"]
PERIOD = ("2015-01-01", "2022-12-31")


@pytest.fixture()
def local(recorded_sources):
    return recorded_sources


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_returns_fed_back_give_the_tickers_betas(local, freq):
    returns = xlfactor.asset_returns(TICKERS, *PERIOD, freq)
    ticker = xlfactor.fit(TICKERS, "FF3", *PERIOD, freq, se="HAC", lags=3)
    own = xlfactor.fit_returns(returns, "FF3", freq, se="HAC", lags=3)
    for attr in ("params", "std_errors", "tstats"):
        np.testing.assert_allclose(getattr(own, attr).to_numpy(),
                                   getattr(ticker, attr).to_numpy(), rtol=1e-10)
    assert own.nobs.tolist() == ticker.nobs.tolist()
    assert list(own.params.index) == TICKERS  # the column labels carry through


def test_monthly_returns_dated_on_the_first_match_statsmodels(local, shared_data):
    """statsmodels on the returns and the published monthly file read without xlfactor."""
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M")["MSFT"]
    firsts = returns.copy()
    firsts.index = returns.index.to_period("M").to_timestamp(how="start")  # 2015-01-01...
    res = xlfactor.fit_returns(firsts, "FF3")  # monthly, inferred from the dates
    factors = published_monthly_ff3(
        shared_data / RECORDED_FACTORS / "F-F_Research_Data_Factors_CSV.zip")
    frame = pd.concat([returns.rename("r").to_period("M"), factors], axis=1, join="inner")
    fit = sm.OLS(frame["r"] - frame["RF"], sm.add_constant(frame[["MKT", "SMB", "HML"]])).fit()
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(), fit.params.to_numpy(),
                               rtol=1e-10)
    assert res.info.frequency == "M"


def test_excess_returns_are_not_reduced_again(local):
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M", excess=True)
    plain = xlfactor.asset_returns(["MSFT"], *PERIOD, "M")
    a = xlfactor.fit_returns(returns, "FF3", "M", excess=True)
    b = xlfactor.fit_returns(plain, "FF3", "M")
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)


def test_prices_become_returns_by_the_tickers_rule(local, shared_data):
    prices = pd.read_csv(shared_data / AUTO / "AAPL.csv", index_col=0, parse_dates=True)
    own = xlfactor.fit_returns(prices[["Close"]].rename(columns={"Close": "AAPL"}), "FF3",
                               "M", kind="prices", start=PERIOD[0], end=PERIOD[1])
    ticker = xlfactor.fit("AAPL", "FF3", *PERIOD, "M")
    np.testing.assert_allclose(own.params.to_numpy(), ticker.params.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("change, message", [
    (lambda r: r.iloc[::-1], "not in increasing order"),
    (lambda r: pd.concat([r, r.iloc[-1:]]), "appears more than once"),
    (lambda r: r * 100, "look typed in percent"),
    (lambda r: r.set_axis(r.index.astype(str) + "x"), "index must be dates"),
])
def test_bad_returns_are_clear_errors(local, change, message):
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M")
    with pytest.raises(InvalidInputError, match=message):
        xlfactor.fit_returns(change(returns), "FF3", "M")


def test_a_frequency_that_does_not_match_the_dates(local):
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M")
    with pytest.raises(InvalidInputError, match="the dates are monthly .* but freq is daily"):
        xlfactor.fit_returns(returns, "FF3", "D")


def test_two_returns_in_one_month(local):
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M")
    shifted = returns.set_axis(returns.index - pd.Timedelta(days=20))  # ~10th of the month
    both = pd.concat([returns, shifted.iloc[:3]]).sort_index()
    with pytest.raises(InvalidInputError, match="two returns in the month"):
        xlfactor.fit_returns(both, "FF3", "M")


def test_the_cell_function_with_labels_and_several_columns(local):
    table = udfs.FACTOR_RETURNS(",".join(TICKERS), *PERIOD, "M")
    dates = [[row[0]] for row in table]  # "Date" on top, then dates
    returns = [row[1:] for row in table]  # "AAPL", "MSFT" on top
    out = udfs.FACTOR_FIT(dates, returns, "FF3", "M")
    assert out[0] == ["Series", "Alpha", "MKT", "SMB", "HML", "t(Alpha)", "R²", "Adj. R²", "N"]
    betas = udfs.FACTOR_BETAS(",".join(TICKERS), "FF3", *PERIOD, "M")
    for fitted, expected in zip(out[1:], betas[1:]):
        assert fitted[0] == expected[0]
        np.testing.assert_allclose(fitted[1:5], expected[1:5], rtol=1e-10)


def test_the_cell_names_a_bad_cell(local):
    out = udfs.FACTOR_FIT([["2021-01-29"], ["2021-02-26"]], [["r"], [0.01], ["x"]], "FF3", "M")
    assert out[0][0].startswith("#VALUE! returns row 2, column 1: 'x' is not a number")


def test_the_cli_as_documented(local, tmp_path):
    xlfactor.asset_returns(TICKERS, *PERIOD, "M").to_csv(tmp_path / "returns.csv")
    run = subprocess.run([sys.executable, "-m", "xlfactor.cli", "fit", "returns.csv",
                          "--model", "FF5", "--freq", "M"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "FF5 (MKT, SMB, HML, RMW, CMA)" in run.stdout and "MSFT" in run.stdout


def test_weekly_returns_dated_on_sunday_are_the_week_before(local):
    """pandas' resample("W") labels weeks by their Sunday: those are Friday-ending weeks."""
    fridays = xlfactor.asset_returns(["MSFT"], *PERIOD, "W")
    sundays = fridays.set_axis(fridays.index + pd.Timedelta(days=2))
    a = xlfactor.fit_returns(fridays, "FF3", "W")
    b = xlfactor.fit_returns(sundays, "FF3", "W")
    np.testing.assert_allclose(b.params.to_numpy(), a.params.to_numpy(), rtol=1e-12)


def test_monthly_closes_dated_on_the_first_are_prices_of_that_month(local, shared_data):
    closes = pd.read_csv(shared_data / AUTO / "MSFT.csv", index_col=0, parse_dates=True)
    month_end = closes["Close"].resample("ME").last().loc["2014-12":"2022-12"]
    firsts = month_end.set_axis(month_end.index.to_period("M").to_timestamp(how="start"))
    own = xlfactor.fit_returns(firsts.rename("MSFT"), "FF3", "M", kind="prices")
    ticker = xlfactor.fit("MSFT", "FF3", *PERIOD, "M")
    np.testing.assert_allclose(own.params.to_numpy(), ticker.params.to_numpy(), rtol=1e-10)


def test_a_missing_daily_return_leaves_the_next_one_out(local):
    returns = xlfactor.asset_returns(["MSFT"], "2021-01-01", "2021-12-31", "D")
    full = xlfactor.fit_returns(returns, "FF3", "D")
    holed = xlfactor.fit_returns(returns.drop(pd.Timestamp("2021-06-15")), "FF3", "D")
    assert int(holed.nobs["MSFT"]) == int(full.nobs["MSFT"]) - 2
    assert any("MSFT: 1 return(s) left out" in w and "2021-06-16" in w for w in holed.warnings)


def test_duplicate_labels_are_refused(local):
    returns = xlfactor.asset_returns(TICKERS, *PERIOD, "M")
    with pytest.raises(InvalidInputError, match="two series are named 'F'"):
        xlfactor.fit_returns(returns.set_axis(["F", "F"], axis=1), "FF3", "M")


def test_constant_returns_are_told(local):
    returns = xlfactor.asset_returns(["MSFT"], *PERIOD, "M", excess=True)
    returns["FLAT"] = 0.001  # not exact in binary: told all the same
    res = xlfactor.fit_returns(returns, "FF3", "M", excess=True)
    assert "constant" in str(res.failed["FLAT"]) and list(res.params.index) == ["MSFT"]

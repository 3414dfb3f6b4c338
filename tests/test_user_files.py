"""Users' own files: dates in either order, Excel re-saves, column spellings, typos.

Every file here is a real recorded file (tests/data/yahoo_csv) rewritten the way Excel or
a user rewrites it. Expectations come from the unaltered file read with the csv module or
pandas, and from statsmodels on the published monthly French file, never from xlfactor.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import RECORDED_FACTORS, RECORDED_PRICES
from oracles import published_monthly_ff3

import xlfactor
from xlfactor.data.price_files import PriceFiles, read_price_file
from xlfactor.domain.errors import DataFormatError, InvalidInputError
from xlfactor.excel import udfs

EVERYTHING = ("1990-01-01", "2030-12-31")
CLASSIC = "yahoo_csv/web_download_ulyssorok_2023-04/VGK.csv"


def raw_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def raw_column(path: Path, field: str) -> pd.Series:
    """One column of a real one-ticker file, read with the csv module."""
    header, body = raw_rows(path)
    col = header.index(field)
    return pd.Series([float(r[col]) for r in body],
                     index=pd.DatetimeIndex([r[0] for r in body]), name=field)


def write(path: Path, header: list[str], body: list[list[str]], *, sep: str = ",",
          end: str = "\n", bom: bool = False) -> Path:
    text = end.join(sep.join(r) for r in [header, *body]) + end
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    return path


def dmy(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def mdy(iso: str) -> str:
    return f"{iso[5:7]}/{iso[8:10]}/{iso[:4]}"


def msft_monthly(shared_data: Path) -> pd.Series:
    """MSFT's monthly returns 2015-2022 from its real price file, computed with pandas."""
    close = raw_column(shared_data / RECORDED_PRICES / "MSFT.csv", "Close")
    month_end = close.resample("ME").last().loc["2014-12":"2022-12"]
    return month_end.pct_change().dropna().rename("MSFT")


def statsmodels_ff3(returns: pd.Series, shared_data: Path) -> np.ndarray:
    factors = published_monthly_ff3(shared_data / RECORDED_FACTORS / "F-F_Research_Data_Factors_CSV.zip")
    frame = pd.concat([returns.to_period("M").rename("r"), factors], axis=1, join="inner")
    fit = sm.OLS(frame["r"] - frame["RF"], sm.add_constant(frame[["MKT", "SMB", "HML"]])).fit()
    return fit.params.to_numpy()


def returns_file(path: Path, returns: pd.Series, label) -> Path:
    body = [[label(f"{d:%Y-%m-%d}"), repr(float(v))] for d, v in returns.items()]
    return write(path, ["Date", str(returns.name)], body)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlfactor.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


# -- 1. dates: never an order guessed ---------------------------------------------------------
def test_day_first_dates_on_the_first_are_refused_naming_both_readings(
        recorded_sources, tmp_path):
    """The issue's eu.csv: dd/mm/yyyy on the 1st of each month was run as a daily
    regression on 44 observations (exit 0)."""
    returns = msft_monthly(recorded_sources)
    firsts = returns.set_axis(returns.index.to_period("M").to_timestamp(how="start"))
    returns_file(tmp_path / "eu.csv", firsts, dmy)
    run = cli("fit", "eu.csv", cwd=tmp_path)
    assert run.returncode == 2, run.stdout
    assert "'01/02/2015' is 2015-02-01 read day first" in run.stderr
    assert "2015-01-02 read month first" in run.stderr and "--dayfirst" in run.stderr
    assert "eu.csv line 3" in run.stderr
    with pytest.raises(InvalidInputError, match="ambiguous dates"):
        xlfactor.fit_returns(tmp_path / "eu.csv", "FF3")


def test_said_day_first_gives_statsmodels_on_the_published_file(recorded_sources, tmp_path):
    returns = msft_monthly(recorded_sources)
    firsts = returns.set_axis(returns.index.to_period("M").to_timestamp(how="start"))
    path = returns_file(tmp_path / "eu.csv", firsts, dmy)
    expected = statsmodels_ff3(returns, recorded_sources)
    res = xlfactor.fit_returns(path, "FF3", dayfirst=True)
    assert res.info.frequency == "M" and int(res.nobs["MSFT"]) == 96
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(), expected, rtol=1e-9)
    run = cli("fit", "eu.csv", "--dayfirst", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "monthly" in run.stdout and f"{expected[1]:.4f}" in run.stdout
    text = pd.read_csv(path, index_col=0)  # the index as text: the same parameter
    np.testing.assert_allclose(xlfactor.fit_returns(text, "FF3", dayfirst=True).params
                               .loc["MSFT"].to_numpy(), expected, rtol=1e-9)


@pytest.mark.parametrize("label, order", [(dmy, "--monthfirst"), (mdy, "--dayfirst")])
def test_month_end_dates_prove_their_order(recorded_sources, tmp_path, label, order):
    """A day above 12 decides; saying the other order is refused, not obeyed."""
    returns = msft_monthly(recorded_sources)  # dated 2015-01-31 ...
    path = returns_file(tmp_path / "r.csv", returns, label)
    res = xlfactor.fit_returns(path, "FF3")
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(),
                               statsmodels_ff3(returns, recorded_sources), rtol=1e-9)
    run = cli("fit", "r.csv", order, cwd=tmp_path)
    assert run.returncode == 2 and "not " in run.stderr and "as given" in run.stderr


def test_dates_read_month_first_by_pandas_are_refused(recorded_sources, tmp_path):
    """Day-first text parsed by pandas (month first) arrives as a DatetimeIndex of
    1..12 January: never taken as a daily series."""
    returns = msft_monthly(recorded_sources)
    firsts = returns.set_axis(returns.index.to_period("M").to_timestamp(how="start"))
    path = returns_file(tmp_path / "eu.csv", firsts, dmy)
    misread = pd.read_csv(path, index_col=0)
    misread.index = pd.to_datetime(misread.index, format="%m/%d/%Y")
    assert misread.index[1] == pd.Timestamp("2015-01-02")
    with pytest.raises(InvalidInputError, match="day and month swapped.*monthly"):
        xlfactor.fit_returns(misread, "FF3")
    with pytest.raises(InvalidInputError, match="day and month swapped"):
        xlfactor.fit_returns(misread, "FF3", "D")
    cells = udfs.FACTOR_FIT([[d] for d in misread.index.to_pydatetime()],
                            [[v] for v in misread["MSFT"]], "FF3")
    assert cells[0][0].startswith("#VALUE! the dates look day and month swapped")


def _excel_resave(src: Path, dst: Path, *, sep: str, decimal: str, dates) -> Path:
    """A price file as Excel saves it after opening it in a European locale: dates in the
    locale's order, the separator and decimal mark, two empty columns and an emptied row
    at the end, CRLF and a byte-order mark."""
    header, body = raw_rows(src)
    rows = [[dates(r[0]), *(v.replace(".", decimal) for v in r[1:]), "", ""] for r in body]
    rows.append([""] * (len(header) + 2))
    return write(dst, [*header, "", ""], rows, sep=sep, end="\r\n", bom=True)


@pytest.mark.parametrize("sep, decimal, dates", [(";", ",", dmy), (",", ".", dmy),
                                                 (",", ".", mdy), ("\t", ",", dmy)])
def test_a_price_file_resaved_by_excel_reads_as_the_original(
        shared_data, tmp_path, sep, decimal, dates):
    src = shared_data / RECORDED_PRICES / "AAPL.csv"
    folder = tmp_path / "px"
    folder.mkdir()
    _excel_resave(src, folder / "AAPL.csv", sep=sep, decimal=decimal, dates=dates)
    expected = raw_column(src, "Close")
    got = PriceFiles(folder).get_prices(["AAPL"], *EVERYTHING)
    np.testing.assert_array_equal(got.prices["AAPL"].to_numpy(), expected.to_numpy())
    assert list(got.prices.index) == list(expected.index)
    order = "day first" if dates is dmy else "month first"
    assert f"dates read {order}" in got.notes[0]


def test_a_short_price_file_that_cannot_decide_is_refused(shared_data, tmp_path):
    src = shared_data / RECORDED_PRICES / "AAPL.csv"
    header, body = raw_rows(src)
    days = [r for r in body if r[0].startswith("2021-03-0")]  # 1..9 March: no day above 12
    path = write(tmp_path / "AAPL.csv", header, [[dmy(r[0]), *r[1:]] for r in days])
    with pytest.raises(DataFormatError, match=r"AAPL.csv line 2: ambiguous dates: "
                                              r"'01/03/2021' is 2021-03-01 read day first "
                                              r".* or 2021-01-03 read month first .*"
                                              r"PriceFiles\(path, dayfirst=True or False\)"):
        PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)
    said = PriceFiles(path, dayfirst=True).get_prices(["AAPL"], *EVERYTHING).prices["AAPL"]
    assert said.index[0] == pd.Timestamp("2021-03-01") and len(said) == len(days)


# -- 2. one bad file costs its own ticker, errors name file and line ------------------------
def _folder(shared_data: Path, tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "px"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(shared_data / RECORDED_PRICES / name, folder / name)
    return folder


def test_a_date_outside_pandas_range_names_file_and_line(shared_data, tmp_path):
    folder = _folder(shared_data, tmp_path, "AAPL.csv", "MSFT.csv")
    lines = (folder / "MSFT.csv").read_text().splitlines()
    lines.append("9999-12-31" + lines[-1][10:])
    (folder / "MSFT.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"MSFT.csv line {len(lines)}: date "
                                              r"'9999-12-31' is outside the years"):
        PriceFiles(folder).get_prices(["MSFT"], *EVERYTHING)
    both = PriceFiles(folder).get_prices(["AAPL", "MSFT"], *EVERYTHING)
    assert list(both.prices.columns) == ["AAPL"] and both.missing == ("MSFT",)
    assert any(w.startswith("MSFT: left out: MSFT.csv line") for w in both.warnings)


def test_a_self_looping_link_costs_only_its_ticker(shared_data, tmp_path):
    folder = _folder(shared_data, tmp_path, "AAPL.csv")
    try:
        os.symlink("LOOP.csv", folder / "LOOP.csv")
    except OSError:
        pytest.skip("no symbolic links here")
    data = PriceFiles(folder).get_prices(["AAPL"], *EVERYTHING)
    np.testing.assert_array_equal(data.prices["AAPL"].to_numpy(),
                                  raw_column(folder / "AAPL.csv", "Close").to_numpy())
    with pytest.raises(DataFormatError, match="LOOP.csv"):
        PriceFiles(folder).get_prices(["LOOP"], *EVERYTHING)
    mixed = PriceFiles(folder).get_prices(["LOOP", "AAPL"], *EVERYTHING)
    assert mixed.missing == ("LOOP",) and any("LOOP.csv" in w for w in mixed.warnings)


def test_a_bad_file_in_the_folder_leaves_the_other_tickers_fitted(
        shared_data, tmp_path, tmp_cache, monkeypatch):
    folder = _folder(shared_data, tmp_path, "AAPL.csv", "MSFT.csv")
    lines = (folder / "MSFT.csv").read_text().splitlines()
    lines[100] = lines[100].replace(lines[100][:10], "31/02/2006")
    (folder / "MSFT.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(folder))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / RECORDED_FACTORS))
    res = xlfactor.fit(["AAPL", "MSFT"], "FF3", "2020-01-01", "2022-12-31")
    assert list(res.params.index) == ["AAPL"] and "MSFT" in res.failed
    assert any("MSFT.csv line 101" in w for w in res.warnings)


# -- 3. columns: every spelling of the adjusted close, duplicates refused -----------------
@pytest.mark.parametrize("name", ["Adj_Close", "adj close", "AdjClose", "adjclose",
                                  "Adj. Close", "Adjusted Close", "Adj Close**"])
def test_adjusted_close_spellings_are_the_adjusted_close(shared_data, tmp_path, name):
    """A real classic download (VGK, with dividends: Adj Close below Close)."""
    src = shared_data / CLASSIC
    header, body = raw_rows(src)
    renamed = [name if h == "Adj Close" else h for h in header]
    path = write(tmp_path / "VGK.csv", renamed, body)
    adj, close = raw_column(src, "Adj Close"), raw_column(src, "Close")
    assert (adj.iloc[:100] < close.iloc[:100]).all()  # Close would leave dividends out
    data = PriceFiles(path).get_prices(["VGK"], *EVERYTHING)
    np.testing.assert_array_equal(data.prices["VGK"].to_numpy(), adj.to_numpy())
    assert "dividend-adjusted" in data.notes[0] and "auto-adjusted" not in data.notes[0]
    assert data.warnings == ()


@pytest.mark.parametrize("second", ["Adj Close", "Adj_Close", "CLOSE"])
def test_a_column_twice_is_refused(shared_data, tmp_path, second):
    src = shared_data / CLASSIC
    header, body = raw_rows(src)
    col = header.index("Adj Close" if second != "CLOSE" else "Close")
    path = write(tmp_path / "VGK.csv", [*header, second], [[*r, r[col]] for r in body])
    with pytest.raises(DataFormatError, match=rf"VGK.csv line 1: the column '{second}' "
                                              "appears twice"):
        PriceFiles(path).get_prices(["VGK"], *EVERYTHING)


def test_closes_not_known_to_be_adjusted_are_said(shared_data, tmp_path):
    src = shared_data / RECORDED_PRICES / "AAPL.csv"
    header, body = raw_rows(src)
    known = PriceFiles(src).get_prices(["AAPL"], *EVERYTHING)
    assert known.warnings == () and "assumed" in known.notes[0]
    plain = write(tmp_path / "AAPL.csv", ["Date", "Close"], [[r[0], r[4]] for r in body])
    data = PriceFiles(plain).get_prices(["AAPL"], *EVERYTHING)
    np.testing.assert_array_equal(data.prices["AAPL"].to_numpy(),
                                  raw_column(src, "Close").to_numpy())
    assert len(data.warnings) == 1 and "leave out dividends" in data.warnings[0]


# -- 4. one-off typos -------------------------------------------------------------------------
def test_one_close_typed_x100_is_warned_with_date_and_size(shared_data, tmp_path, tmp_cache,
                                                           monkeypatch):
    """The issue's repro: AAPL's close x100 on 2021-03-01 turned MKT into 12.26."""
    folder = _folder(shared_data, tmp_path, "AAPL.csv")
    header, body = raw_rows(folder / "AAPL.csv")
    at = next(i for i, r in enumerate(body) if r[0] == "2021-03-01")
    body[at][4] = repr(float(body[at][4]) * 100)
    write(folder / "AAPL.csv", header, body)
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(folder))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / RECORDED_FACTORS))
    res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2022-12-31")
    close = raw_column(folder / "AAPL.csv", "Close")
    jump = close.loc["2021-03-01"] / close.loc["2021-02-26"] - 1
    said = [w for w in res.warnings if "one-off jump" in w]
    assert len(said) == 1 and said[0].startswith("AAPL 2021-03-01")
    assert f"{jump:+.1%}" in said[0]


def test_the_real_files_have_no_one_off_jumps(shared_data):
    """No false alarm on 20 years of six real series (2008, 2020 included)."""
    from xlfactor.engine.checks import one_off_jumps

    folder = shared_data / RECORDED_PRICES
    prices = pd.concat({p.stem: raw_column(p, "Close") for p in sorted(folder.glob("*.csv"))},
                       axis=1)
    assert one_off_jumps(prices) == []
    assert one_off_jumps(prices.pct_change(fill_method=None), returns=True) == []


def test_a_bad_tick_in_own_daily_returns_is_warned(recorded_sources):
    close = raw_column(recorded_sources / RECORDED_PRICES / "MSFT.csv", "Close")
    close = close.loc["2021-01-01":"2021-12-31"].copy()
    close.loc["2021-06-15"] *= 1.8  # one wrong price
    returns = close.pct_change().dropna().rename("MSFT").to_frame()
    res = xlfactor.fit_returns(returns, "FF3", "D")
    up, down = returns["MSFT"].loc["2021-06-15":"2021-06-16"]
    assert any(w.startswith(f"MSFT 2021-06-15: a one-off jump of {up:+.1%} undone the next "
                            f"period ({down:+.1%})") for w in res.warnings)
    close.loc["2021-06-15"] /= 18  # a digit dropped instead: +896% the day after
    returns = close.pct_change().dropna().rename("MSFT").to_frame()
    with pytest.raises(InvalidInputError, match="MSFT 2021-06-16: return 8.96"):
        xlfactor.fit_returns(returns, "FF3", "D")


def test_one_return_typed_in_percent_is_refused(recorded_sources):
    """3.0 for 0.03 passed the median test; it decides the regression."""
    returns = msft_monthly(recorded_sources).to_frame()
    returns.iloc[30, 0] *= 100
    day = f"{returns.index[30]:%Y-%m-%d}"
    with pytest.raises(InvalidInputError, match=rf"MSFT {day}: return .* above \+100%"):
        xlfactor.fit_returns(returns, "FF3", "M")
    dates = [["Date"], *([f"{d:%Y-%m-%d}"] for d in returns.index)]
    cells = udfs.FACTOR_FIT(dates, [["MSFT"], *([v] for v in returns["MSFT"])], "FF3", "M")
    assert cells[0][0].startswith(f"#VALUE! MSFT {day}: return")
    returns.iloc[30, 0] = -3.0
    with pytest.raises(InvalidInputError, match="below -100%"):
        xlfactor.fit_returns(returns, "FF3", "M")


# -- 5. returns outside the factor data are counted and named ---------------------------------
def test_returns_after_the_factor_data_are_counted_and_named(recorded_sources, tmp_path):
    returns = msft_monthly(recorded_sources)
    late = pd.Series([0.01, -0.02], index=pd.to_datetime(["2025-11-28", "2025-12-31"]),
                     name="MSFT")
    both = pd.concat([returns, late])
    res = xlfactor.fit_returns(both, "FF3", "M")
    said = [w for w in res.warnings if "left out, dated after the factor data" in w]
    assert said == [f"2 of {len(both)} returns left out, dated after the factor data "
                    "(last 2025-10): 2025-11-28 to 2025-12-31"]
    path = returns_file(tmp_path / "r.csv", both, lambda iso: iso)
    run = cli("fit", "r.csv", cwd=tmp_path)
    assert run.returncode == 0 and said[0] in run.stderr


def test_returns_before_the_factor_data_are_counted_and_named(recorded_sources):
    """FF5 starts 1963-07: 42 of 96 months relabelled 1960-01..1967-12 are before it."""
    returns = msft_monthly(recorded_sources)
    old = returns.set_axis(pd.date_range("1960-01-31", periods=len(returns), freq="ME"))
    res = xlfactor.fit_returns(old, "FF5", "M")
    assert int(res.nobs.iloc[0]) == 96 - 42
    assert "42 of 96 returns left out, dated before the factor data (first 1963-07): " \
           "1960-01-31 to 1963-06-30" in res.warnings


def test_a_short_daily_series_in_a_months_first_days_is_not_taken_for_swapped(
        recorded_sources):
    """Days 4..12 January swap into months as well; their gaps show they are days."""
    close = raw_column(recorded_sources / RECORDED_PRICES / "MSFT.csv", "Close")
    returns = close.loc["2021-01-04":"2021-01-12"].pct_change().dropna().rename("MSFT")
    res = xlfactor.fit_returns(returns, "CAPM", min_obs=3)
    assert res.info.frequency == "D" and int(res.nobs["MSFT"]) == len(returns)


@pytest.mark.parametrize("cell, message", [
    ("1.234,56", r"line 3: price '1.234,56' has both '.' and ','"),
    ("121.5", r"line 3: price '121.5' has a decimal point where other rows have a decimal"),
])
def test_decimal_marks_that_disagree_are_refused(shared_data, tmp_path, cell, message):
    header, body = raw_rows(shared_data / RECORDED_PRICES / "AAPL.csv")
    rows = [[dmy(r[0]), *(v.replace(".", ",") for v in r[1:])] for r in body[:20]]
    rows[1][4] = cell
    path = write(tmp_path / "AAPL.csv", header, rows, sep=";")
    with pytest.raises(DataFormatError, match=message):
        PriceFiles(path).get_prices(["AAPL"], *EVERYTHING)


def _weekly_returns_file(tmp_path: Path, closes: pd.Series) -> Path:
    """Each close over the one a week before (pandas); a return over a longer gap is not
    written."""
    gap = closes.index.to_series().diff()
    returns = closes.pct_change()[(gap >= pd.Timedelta(days=5)) & (gap <= pd.Timedelta(days=7))]
    body = [[d.strftime("%Y-%m-%d"), repr(float(r))] for d, r in returns.items()]
    return write(tmp_path / "weekly.csv", ["Date", "MSFT"], body)


def test_weekly_returns_dated_on_mondays_are_warned_of(recorded_sources, shared_data,
                                                       tmp_path):
    """MSFT's real closes taken every Monday: each return runs Monday to Monday, 4 days
    off the Saturday-Friday factor weeks it is matched to; the warning says so."""
    close = raw_column(shared_data / RECORDED_PRICES / "MSFT.csv", "Close")["2016":"2021"]
    mondays = close[close.index.day_of_week == 0]
    path = _weekly_returns_file(tmp_path, mondays)
    rows = len(raw_rows(path)[1])
    res = xlfactor.fit_returns(path, "FF3", freq="W")
    (said,) = [w for w in res.warnings if "weekly dates" in w]
    assert said.startswith(f"weekly dates fall on Mondays ({rows} of {rows}), not at the "
                           "week's end")
    assert ("right if a date labels the week it starts, 4 days off if the returns run from "
            "one Monday to the next") in said


def test_weekly_returns_on_the_weeks_last_trading_day_are_not_warned_of(
        recorded_sources, shared_data, tmp_path):
    """The week's last trading day is a Thursday when Friday is a holiday: no warning."""
    close = raw_column(shared_data / RECORDED_PRICES / "MSFT.csv", "Close")["2016":"2021"]
    last = close.groupby(close.index.to_period("W-FRI")).tail(1)
    assert (last.index.day_of_week == 3).sum() >= 5  # Good Fridays, July 4th, Christmas
    res = xlfactor.fit_returns(_weekly_returns_file(tmp_path, last), "FF3", freq="W")
    assert not [w for w in res.warnings if "weekly dates" in w], res.warnings

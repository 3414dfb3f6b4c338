"""A return never spans a hole, on the price calendar and on the factor calendar.

The real FF3 and momentum daily files and the real AAPL price file (``tests/data``) are
copied to a temporary folder and altered the way files get altered: the library's
missing-value codes on a day, rows deleted, weekly rows under a daily name. Every
expected number comes from statsmodels on returns built here with pandas from the raw
text of the files, by the rule itself: a return counts only where it is one period of the
price series and one period of the factor series at once (the same previous day in both).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import xlfactor
from xlfactor.domain.errors import DataFormatError
from xlfactor.excel import udfs

AUTO = "yahoo_csv/yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
ZIPS = "kenneth_french/vintage_202510/zip"
FF3_DAILY = "F-F_Research_Data_Factors_daily"
MOM_DAILY = "F-F_Momentum_Factor_daily"
FF3_MONTHLY = "F-F_Research_Data_Factors"
START, END = "2020-01-01", "2022-12-31"


# -- the files, read without xlfactor -------------------------------------------------------
def member_text(zip_path: Path) -> str:
    """The CSV inside a library zip, as text with its CRLF line endings."""
    with zipfile.ZipFile(zip_path) as archive:
        (member,) = archive.namelist()
        return archive.read(member).decode("ascii")


def raw_factors(text: str) -> pd.DataFrame:
    """The main table of a French CSV, percent to decimals, -99.99 and -999 as NaN: every
    row the file lists, with values or not."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith(","))
    names = [c.strip() for c in lines[header].split(",")[1:]]
    rows = []
    for line in lines[header + 1:]:
        if not line.strip():
            break
        rows.append([field.strip() for field in line.split(",")])
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    values[(values == -99.99) | (values == -999)] = np.nan
    code = rows[0][0]
    dates = pd.to_datetime([r[0] for r in rows], format="%Y%m%d" if len(code) == 8 else "%Y%m")
    if len(code) == 6:
        dates = dates + pd.offsets.MonthEnd(0)
    names = ["MKT" if n == "Mkt-RF" else n.upper() for n in names]
    return pd.DataFrame(values / 100.0, index=dates, columns=names)


def closes(folder: Path, ticker: str = "AAPL") -> pd.Series:
    return pd.read_csv(folder / f"{ticker}.csv", index_col=0, parse_dates=True)["Close"]


def daily_oracle(prices: pd.Series, factors: pd.DataFrame, columns: list[str],
                 start: str = START, end: str = END):
    """statsmodels OLS of excess returns formed by the rule: the return at t is
    ``P[t] / P[s] - 1`` where s is t's previous row in the price file *and* its previous
    row in the factor file, with every factor the model uses present at t."""
    price_prev = pd.Series(prices.index, index=prices.index).shift(1)
    factor_prev = pd.Series(factors.index, index=factors.index).shift(1)
    frame = pd.DataFrame({"r": prices / prices.shift(1) - 1, "price_prev": price_prev})
    frame = frame.join(factors.assign(factor_prev=factor_prev), how="inner")
    frame = frame[frame["price_prev"] == frame["factor_prev"]]
    frame = frame.loc[start:end].dropna(subset=["r", *columns, "RF"])
    fit = sm.OLS((frame["r"] - frame["RF"]).to_numpy(),
                 sm.add_constant(frame[columns].to_numpy())).fit()
    return fit, frame


def replace_row(text: str, code: str, new: str | None) -> str:
    """``text`` with the data row dated ``code`` replaced by ``new`` (None: deleted)."""
    lines = text.split("\r\n")
    (i,) = [k for k, line in enumerate(lines) if line.startswith(code + ",")]
    if new is None:
        del lines[i]
    else:
        lines[i] = new
    return "\r\n".join(lines)


@pytest.fixture()
def folders(shared_data, tmp_path, tmp_cache, monkeypatch):
    """Private folders: prices (AAPL, MSFT) and factors (the 202510 zips); returns them
    with the unzipped daily texts, which tests alter and save as ``.csv`` beside."""
    px, fr = tmp_path / "px", tmp_path / "fr"
    px.mkdir()
    for name in ("AAPL.csv", "MSFT.csv"):
        shutil.copy(shared_data / AUTO / name, px / name)
    shutil.copytree(shared_data / ZIPS, fr)
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(px))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(fr))
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    return px, fr


def save_csv(fr: Path, name: str, text: str) -> None:
    """Put ``text`` in the folder as ``name.csv`` in place of the zip of that dataset."""
    (fr / f"{name}_CSV.zip").unlink()
    (fr / f"{name}.csv").write_bytes(text.encode("ascii"))


def ff3_text(fr: Path) -> str:
    return member_text(fr / f"{FF3_DAILY}_CSV.zip")


# -- 1. missing-value codes: the day is missing, the calendar is not ---------------------------
MISSING_ROW = "20210301,  -99.99,  -99.99,  -99.99,  -99.99"


@pytest.mark.parametrize("row", [
    MISSING_ROW,
    "20210301,    -999,    -999,    -999,    -999",
    "20210301, -99.990, -999.00,  -99.99,    -999",
])
def test_a_missing_code_day_leaves_only_that_day_out(folders, row):
    px, fr = folders
    text = replace_row(ff3_text(fr), "20210301", row)
    save_csv(fr, FF3_DAILY, text)
    res = xlfactor.fit("AAPL", "FF3", START, END)

    fit, frame = daily_oracle(closes(px), raw_factors(text), ["MKT", "SMB", "HML"])
    assert pd.Timestamp("2021-03-01") not in frame.index
    assert pd.Timestamp("2021-03-02") in frame.index  # one day from 03-01's close
    assert int(res.nobs["AAPL"]) == int(fit.nobs) == 755
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    # the numbers the issue gives for this repro (the old code: .0007, 1.19063, ...)
    np.testing.assert_allclose(fit.params, [0.00063, 1.19218, -0.41539, -0.38415], atol=5e-6)
    text = " | ".join(res.warnings)
    assert "factor data missing on 1 day of the sample (2021-03-01; MKT, SMB, HML, RF" in text


def test_a_code_in_one_column_costs_only_the_models_that_use_it(folders):
    px, fr = folders
    text = replace_row(ff3_text(fr), "20210301", "20210301,    2.62,    1.09,  -99.99,    0.00")
    save_csv(fr, FF3_DAILY, text)
    factors = raw_factors(text)
    capm = xlfactor.fit("AAPL", "CAPM", START, END)
    fit, frame = daily_oracle(closes(px), factors, ["MKT"])
    assert pd.Timestamp("2021-03-01") in frame.index  # MKT and RF are there that day
    assert int(capm.nobs["AAPL"]) == int(fit.nobs) == 756
    np.testing.assert_allclose(capm.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert capm.warnings == ()
    ff3 = xlfactor.fit("AAPL", "FF3", START, END)
    fit, _ = daily_oracle(closes(px), factors, ["MKT", "SMB", "HML"])
    assert int(ff3.nobs["AAPL"]) == int(fit.nobs) == 755
    np.testing.assert_allclose(ff3.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert any("2021-03-01; HML:" in w for w in ff3.warnings), ff3.warnings


def test_the_warning_reaches_the_cells(folders):
    _, fr = folders
    save_csv(fr, FF3_DAILY, replace_row(ff3_text(fr), "20210301", MISSING_ROW))
    stats = udfs.FACTOR_STATS("AAPL", "FF3", START, END)
    warnings = [row[1] for row in stats if row[0] == "Warning"]
    assert any("factor data missing on 1 day" in w and "2021-03-01" in w for w in warnings)


# -- 2. rows deleted from a factor file: the price calendar shows the hole ------------------
def test_a_month_deleted_from_the_factor_file_leaves_the_return_across_it_out(folders):
    px, fr = folders
    lines = ff3_text(fr).split("\r\n")
    text = "\r\n".join(line for line in lines if not line.startswith("202103"))
    save_csv(fr, FF3_DAILY, text)
    res = xlfactor.fit("AAPL", "FF3", START, END)

    fit, frame = daily_oracle(closes(px), raw_factors(text), ["MKT", "SMB", "HML"])
    # 2021-04-01 would be the close of 03-31 over that of 02-26: a month against one day
    assert pd.Timestamp("2021-04-01") not in frame.index
    assert pd.Timestamp("2021-04-05") in frame.index
    assert int(res.nobs["AAPL"]) == int(fit.nobs) == 756 - 23 - 1
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert ("AAPL: prices on 23 weekdays the factor data do not list (2021-03-01 to "
            "2021-03-31): 1 return across them left out") in " | ".join(res.warnings)


def test_factor_returns_table_agrees_on_the_deleted_day(folders):
    _, fr = folders
    save_csv(fr, FF3_DAILY, replace_row(ff3_text(fr), "20210301", None))
    table = udfs.FACTOR_RETURNS("AAPL", "2021-02-20", "2021-03-10")
    by_date = {row[0].date().isoformat(): row[1] for row in table[1:]}
    assert "2021-03-01" not in by_date
    assert by_date["2021-03-02"] == "#N/A"  # would span 02-26 to 03-02 in the prices
    assert isinstance(by_date["2021-03-03"], float)


def test_a_day_the_momentum_file_lacks_is_a_missing_day_not_a_longer_one(folders):
    px, fr = folders
    mom_text = replace_row(member_text(fr / f"{MOM_DAILY}_CSV.zip"), "20210301", None)
    save_csv(fr, MOM_DAILY, mom_text)
    res = xlfactor.fit("AAPL", "CARHART4", START, END)

    factors = raw_factors(ff3_text(fr)).join(raw_factors(mom_text), how="left")
    fit, frame = daily_oracle(closes(px), factors, ["MKT", "SMB", "HML", "MOM"])
    assert pd.Timestamp("2021-03-02") in frame.index
    assert int(res.nobs["AAPL"]) == int(fit.nobs) == 755
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert any("2021-03-01; MOM:" in w for w in res.warnings), res.warnings
    assert xlfactor.fit("AAPL", "FF3", START, END).warnings == ()  # FF3 does not use MOM


def test_own_daily_returns_keep_the_day_after_a_missing_code(folders, tmp_path):
    px, fr = folders
    text = replace_row(ff3_text(fr), "20210301", MISSING_ROW)
    save_csv(fr, FF3_DAILY, text)
    prices = closes(px)
    returns = (prices / prices.shift(1) - 1).loc[START:END].rename("AAPL")
    res = xlfactor.fit_returns(returns, "FF3")
    fit, frame = daily_oracle(prices, raw_factors(text), ["MKT", "SMB", "HML"])
    assert pd.Timestamp("2021-03-02") in frame.index
    assert int(res.nobs["AAPL"]) == int(fit.nobs) == 755
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert any("2021-03-01" in w for w in res.warnings), res.warnings


# -- 3. weekly returns from daily factors: a week is whole or left out -----------------------
W_START, W_END = "2020-01-04", "2022-12-30"  # a Saturday and a Friday: whole weeks


def weekly_oracle(prices: pd.Series, daily: pd.DataFrame, drop_weeks: list[str]):
    """statsmodels on Friday-labelled weeks: the asset from last close to last close, the
    factors compounded over the week's listed days (the market as a total return), a week
    left out where any of its days lacks a value, and the weeks in ``drop_weeks``."""
    week = pd.Grouper(freq="W-FRI")
    last = prices.groupby(week).last()
    asset = last / last.shift(1) - 1
    d = daily.loc[:W_END]
    growth = (1 + d).groupby(week).prod()
    factors = pd.DataFrame({
        "MKT": (1 + d["MKT"] + d["RF"]).groupby(week).prod() - growth["RF"],
        "SMB": growth["SMB"] - 1, "HML": growth["HML"] - 1, "RF": growth["RF"] - 1,
    })
    complete = ~d.isna().any(axis=1).groupby(week).any()
    factors = factors[complete.reindex(factors.index, fill_value=True)]
    frame = pd.concat([asset.rename("r"), factors], axis=1, join="inner").dropna()
    frame = frame.loc["2020-01-10":W_END].drop(index=pd.to_datetime(drop_weeks), errors="ignore")
    fit = sm.OLS((frame["r"] - frame["RF"]).to_numpy(),
                 sm.add_constant(frame[["MKT", "SMB", "HML"]].to_numpy())).fit()
    return fit, frame


@pytest.mark.parametrize(("alter", "warning"), [
    (lambda t: replace_row(t, "20210301", MISSING_ROW),
     "factor data missing on 1 day of the sample (2021-03-01; MKT, SMB, HML, RF"),
    (lambda t: replace_row(replace_row(t, "20210302", None), "20210303", None),
     "AAPL: prices on 2 weekdays the factor data do not list (2021-03-02 to 2021-03-03): "
     "1 weekly return across them left out"),
])
def test_a_week_missing_a_factor_day_is_left_out(folders, alter, warning):
    px, fr = folders
    text = alter(ff3_text(fr))
    save_csv(fr, FF3_DAILY, text)
    res = xlfactor.fit("AAPL", "FF3", W_START, W_END, freq="W")  # no weekly file: compounded
    # the week ending 2021-03-05 would compound four (or three) days against five
    fit, frame = weekly_oracle(closes(px), raw_factors(text), ["2021-03-05"])
    assert pd.Timestamp("2021-03-05") not in frame.index
    assert int(res.nobs["AAPL"]) == int(fit.nobs) == 155
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert warning in " | ".join(res.warnings)


# -- 4. published monthly factors with a month gone: said, not silent ----------------------------
def test_a_month_missing_from_the_monthly_file_is_said(folders):
    px, fr = folders
    text = replace_row(member_text(fr / f"{FF3_MONTHLY}_CSV.zip"), "202103", None)
    text = replace_row(text, "202106", "202106,  -99.99,  -99.99,  -99.99,  -99.99")
    save_csv(fr, FF3_MONTHLY, text)
    res = xlfactor.fit("MSFT", "FF3", START, END, freq="M")
    monthly = raw_factors(text)
    last = closes(px, "MSFT").resample("ME").last()
    frame = pd.concat([(last / last.shift(1) - 1).rename("r"), monthly], axis=1,
                      join="inner").loc[START:END].dropna()
    fit = sm.OLS((frame["r"] - frame["RF"]).to_numpy(),
                 sm.add_constant(frame[["MKT", "SMB", "HML"]].to_numpy())).fit()
    assert int(res.nobs["MSFT"]) == int(fit.nobs) == 34
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(), fit.params, rtol=1e-10)
    assert ("factor data missing for 2 months of the sample (2021-03, 2021-06"
            in " | ".join(res.warnings)), res.warnings


# -- 5. a file's dates must say what its name says -----------------------------------------------
def test_weekly_rows_under_the_daily_name_are_refused(folders):
    _, fr = folders
    lines = ff3_text(fr).split("\r\n")
    fridays = [ln for ln in lines if not re.match(r"\d{8},", ln)
               or date(int(ln[:4]), int(ln[4:6]), int(ln[6:8])).weekday() == 4]
    save_csv(fr, FF3_DAILY, "\r\n".join(fridays))
    with pytest.raises(DataFormatError, match=r"F-F_Research_Data_Factors_daily\.csv: .*"
                                              r"named daily but holds weekly data"):
        xlfactor.fit("AAPL", "FF3", START, END)
    cell = udfs.FACTOR_BETAS("AAPL", "FF3", START, END)
    assert str(cell[0][0] if isinstance(cell, list) else cell).startswith("#N/A")


# -- 6. dates a French file cannot hold --------------------------------------------------------
@pytest.mark.parametrize(("code", "message"), [
    ("99991231", "date '99991231' is outside the dates that can be handled"),
    ("16000101", "date '16000101' is outside the dates that can be handled"),
    ("21000101", "date '21000101' is after today"),
    ("20251301", "invalid date '20251301'"),
    ("2025103", "date code '2025103' is not YYYYMMDD"),
])
def test_a_date_out_of_range_names_the_file_and_line(folders, code, message):
    _, fr = folders
    text = ff3_text(fr)
    last = [line for line in text.split("\r\n") if line.startswith("20251031,")][0]
    line_no = text.split("\r\n").index(last) + 1
    save_csv(fr, FF3_DAILY, replace_row(text, "20251031", code + last[8:]))
    with pytest.raises(DataFormatError) as info:
        xlfactor.fit("AAPL", "FF3", START, END)
    assert f"F-F_Research_Data_Factors_daily.csv: F-F_Research_Data_Factors_daily, line " \
           f"{line_no}: {message}" in str(info.value)
    cell = udfs.FACTOR_BETAS("AAPL", "FF3", START, END)
    first = cell[0][0] if isinstance(cell, list) else cell
    assert str(first).startswith("#N/A") and f"line {line_no}" in str(first), first


def test_own_monthly_returns_on_a_thinned_daily_file_are_warned(folders):
    """Returns a user supplies carry no price calendar to show lost factor rows: a month
    whose daily rows are mostly gone is said, with its date."""
    px, fr = folders
    last = closes(px, "MSFT").resample("ME").last()
    returns = (last / last.shift(1) - 1).loc[START:END].rename("MSFT")
    intact = xlfactor.fit_returns(returns, "FF3", factor_frequency="D")
    assert not any("lack more than" in w for w in intact.warnings), intact.warnings
    lines = ff3_text(fr).split("\r\n")
    text = "\r\n".join(ln for ln in lines if not re.match(r"2021031[0-9],|2021030[1-9],", ln))
    save_csv(fr, FF3_DAILY, text)
    res = xlfactor.fit_returns(returns, "FF3", factor_frequency="D")
    assert ("the daily factor data lack more than 6 weekdays in 1 month of the sample "
            "(ending 2021-03-31)") in " | ".join(res.warnings), res.warnings


# -- 7. a US holiday is a closure, not a hole ----------------------------------------------------
def test_the_closure_calendar_is_the_weekdays_the_daily_file_does_not_list(folders):
    """Day for day, from 1973 to the file's end, both ways: the library's own calendar is
    the oracle for which weekdays the US market was closed."""
    from xlfactor.domain.calendars import COVERED_FROM, us_market_closures

    listed = raw_factors(ff3_text(folders[1])).index
    weekdays = pd.bdate_range(COVERED_FROM, listed[-1])
    unlisted = weekdays.difference(listed)
    closures = us_market_closures(COVERED_FROM, listed[-1])
    assert len(unlisted) > 400
    assert list(unlisted.difference(closures)) == []
    assert list(closures.difference(unlisted)) == []


def every_weekday(prices: pd.Series) -> pd.Series:
    """The prices of a listing that trades every weekday: on each day the US market was
    closed it moves by 0.5% and is back the next day (a foreign listing on a US holiday)."""
    weekdays = pd.bdate_range(prices.index[0], prices.index[-1])
    full = prices.reindex(weekdays)
    added = full.isna()
    return full.ffill().mask(added, full.ffill() * 1.005), weekdays[added.to_numpy()]


def test_a_listing_priced_on_us_holidays_keeps_the_returns_across_them(folders):
    px, fr = folders
    prices, holidays = every_weekday(closes(px))
    assert len(holidays) > 20  # the 2020-2022 sample holds 28 of them
    frame = prices.rename("Close").to_frame().rename_axis("Date")
    frame.to_csv(px / "HOLI.csv")
    res = xlfactor.fit("HOLI", "FF3", START, END)
    # the rule: on a closure the factors' next day covers both days, and the listing's
    # return from its last close before the closure does the same (its holiday price unused)
    fit, _ = daily_oracle(closes(px), raw_factors(ff3_text(fr)), ["MKT", "SMB", "HML"])
    assert int(res.nobs["HOLI"]) == int(fit.nobs) == 756
    np.testing.assert_allclose(res.params.loc["HOLI"].to_numpy(), fit.params, rtol=1e-10)
    assert not [w for w in res.warnings if "do not list" in w]


def test_monthly_compounded_fits_keep_months_with_us_holidays(folders):
    px, fr = folders
    prices, _ = every_weekday(closes(px))
    prices.rename("Close").to_frame().rename_axis("Date").to_csv(px / "HOLI.csv")
    res = xlfactor.fit("HOLI", "FF3", START, END, freq="M", factor_frequency="D")
    assert int(res.nobs["HOLI"]) == 36
    assert not [w for w in res.warnings if "left out" in w]


def test_a_deleted_row_on_an_ordinary_day_is_still_a_hole_for_such_a_listing(folders):
    px, fr = folders
    prices, _ = every_weekday(closes(px))
    prices.rename("Close").to_frame().rename_axis("Date").to_csv(px / "HOLI.csv")
    save_csv(fr, FF3_DAILY, replace_row(ff3_text(fr), "20210302", None))
    res = xlfactor.fit("HOLI", "FF3", START, END)
    assert int(res.nobs["HOLI"]) == 756 - 2  # 03-02 itself, and 03-03 across it
    assert ("HOLI: prices on 1 weekday the factor data do not list (2021-03-02): 1 return "
            "across it left out") in " | ".join(res.warnings)

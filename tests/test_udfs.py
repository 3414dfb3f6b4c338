"""The worksheet functions with Excel-shaped inputs, on real recorded data.

Each UDF is called twice: directly (what pytest sees off Windows: the plain function) and
through :func:`tools.registration.excel_call`, which converts arguments and result
with the real xlwings classic machinery as ``call_udf`` does on Windows. Expectations
come from the raw files read with plain pandas/zipfile here, from statsmodels, and from
the ``formulas`` package's Excel LINEST.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from oracles import formulas_linest_quirks, linest, linest_natural
from tools.registration import EXCEL_ERROR_CODES, MISSING, excel_call

from xlfactor import udfs
from xlfactor.data.memo import forget_all

PRICES = Path("yahoo_csv") / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
FRENCH = Path("kenneth_french") / "vintage_202510" / "zip"
RTOL = 1e-9
CELL_TYPES = (str, float, int, bool, dt.datetime)
FF3 = ["Mkt-RF", "SMB", "HML"]
FF5 = ["Mkt-RF", "SMB", "HML", "RMW", "CMA"]


# -- helpers ---------------------------------------------------------------------------------
def assert_table(table: Any) -> list[list[Any]]:
    """A non-empty rectangular list of lists of plain cell values, no NaN/None."""
    assert isinstance(table, list) and table, table
    assert all(isinstance(row, list) for row in table), table
    width = len(table[0])
    assert width >= 1
    for row in table:
        assert len(row) == width, table
        for cell in row:
            assert isinstance(cell, CELL_TYPES), (type(cell), cell)
            if isinstance(cell, float):
                assert math.isfinite(cell), table
    return table


def assert_error_cell(table: Any, *fragments: str) -> str:
    assert_table(table)
    assert len(table) == 1 and len(table[0]) == 1, table
    text = table[0][0]
    assert isinstance(text, str) and text.startswith("#"), text
    for fragment in fragments:
        assert fragment in text, text
    return text


def close(got: Any, want: Any, rtol: float = RTOL, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol,
                               atol=0, err_msg=what)


def close_p(got: Any, want: Any, what: str = "") -> None:
    """p-values: relative in the body; far in the tail compare log p (well-conditioned)."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    tail = want < 1e-8
    close(np.where(tail, 1.0, got), np.where(tail, 1.0, want), 1e-8, what)
    with np.errstate(divide="ignore"):  # p underflowing to 0 on both sides is equal
        close(np.log(got[tail]), np.log(want[tail]), 1e-8, what + " (log tail)")


def row_by_label(table: list[list[Any]], label: str) -> list[Any]:
    rows = [r for r in table if r and r[0] == label]
    assert len(rows) == 1, (label, table)
    return rows[0]


def coefficient_block(table: list[list[Any]], n: int) -> list[list[Any]]:
    head = next(i for i, r in enumerate(table) if r[0] == "Coefficient")
    return table[head + 1:head + 1 + n]


def hac_lags(nobs: int) -> int:
    """statsmodels' documented default rule for Newey-West lags."""
    return int(np.floor(4 * (nobs / 100) ** (2 / 9)))


def same_cells(excel: list[list[Any]], direct: list[list[Any]]) -> None:
    """What Excel receives equals the direct result (dates are sent as UTC-stamped)."""
    assert len(excel) == len(direct) and len(excel[0]) == len(direct[0])
    for erow, drow in zip(excel, direct):
        for e, d in zip(erow, drow):
            if isinstance(d, dt.datetime):
                assert isinstance(e, dt.datetime) and e.replace(tzinfo=None) == d
            elif isinstance(d, float):
                # Never "" (an empty cell) where a number was: NaN is sent as "#N/A" text.
                assert isinstance(e, float) and e == d, (e, d)
            else:
                assert e == d and type(e) is type(d), (e, d)


# -- raw data, read independently ----------------------------------------------------------
def read_french_zip(path: Path) -> pd.DataFrame:
    """First table of a French library zip: percent -> decimals, dates from YYYYMMDD."""
    with zipfile.ZipFile(path) as zf:
        (member,) = zf.namelist()
        lines = zf.read(member).decode("latin-1").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(","))
    body = []
    for line in lines[first + 1:]:
        if not line.strip():
            break
        body.append(line)
    names = ["date", *(c.strip() for c in lines[first].split(",")[1:])]
    table = pd.read_csv(io.StringIO("\n".join(body)), header=None, names=names,
                        dtype={"date": str}, skipinitialspace=True)
    table.index = pd.to_datetime(table.pop("date"), format="%Y%m%d")
    return table / 100.0


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> dict[str, Any]:
    french = shared_data / FRENCH
    closes = {
        t: pd.read_csv(shared_data / PRICES / f"{t}.csv", index_col="Date",
                       parse_dates=True)["Close"]
        for t in ("AAPL", "MSFT", "SPY")
    }
    return {
        "FF3": read_french_zip(french / "F-F_Research_Data_Factors_daily_CSV.zip"),
        "FF5": read_french_zip(french / "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip"),
        "closes": closes,
    }


def daily_sample(raw: dict[str, Any], ticker: str, start: str, end: str,
                 file: str = "FF3") -> pd.DataFrame:
    """Excess return ``y`` of ``ticker`` joined with the factor file over [start, end]."""
    returns = raw["closes"][ticker].pct_change(fill_method=None).rename("r").iloc[1:]
    data = pd.concat([returns, raw[file]], axis=1, join="inner").loc[start:end]
    data["y"] = data["r"] - data["RF"]
    return data


def ols(data: pd.DataFrame, cols: list[str], cov: str = "nonrobust", lags: int | None = None):
    kwds = {"maxlags": lags} if cov == "HAC" else None
    return sm.OLS(data["y"], sm.add_constant(data[cols])).fit(cov_type=cov, cov_kwds=kwds)


@pytest.fixture()
def local_files(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Prices and factors from the recorded files; nothing from the network."""
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(shared_data / PRICES))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / FRENCH))
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XLFACTOR_OFFLINE", "1")
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    forget_all()  # keyed by Settings: drop sources of earlier tests
    yield shared_data
    forget_all()


# -- FACTOR_BETAS --------------------------------------------------------------------------
def test_betas_one_ticker_equal_statsmodels(local_files, raw):
    table = assert_table(udfs.FACTOR_BETAS("AAPL", "FF3", "2020-01-01", "2023-01-01"))
    fit = ols(daily_sample(raw, "AAPL", "2020-01-01", "2023-01-01"), FF3)
    assert table[0] == ["Ticker", "Alpha", "MKT", "SMB", "HML"]
    assert len(table) == 2 and table[1][0] == "AAPL"
    close(table[1][1:], fit.params, what="alpha and betas")
    assert fit.nobs == 756  # 2020-01-02 .. 2022-12-30


def test_betas_range_with_blank_and_bad_tickers(local_files, raw):
    tickers = [["AAPL"], [None], ["ZZZZ"], ["msft"], [""], ["../../x"]]
    table = assert_table(udfs.FACTOR_BETAS(tickers, "FF3", "2020-01-01", "2023-01-01"))
    assert [r[0] for r in table] == ["Ticker", "AAPL", "ZZZZ", "MSFT", "../../x"]
    for row, ticker in ((table[1], "AAPL"), (table[3], "MSFT")):
        fit = ols(daily_sample(raw, ticker, "2020-01-01", "2023-01-01"), FF3)
        close(row[1:], fit.params, what=ticker)
    unknown, invalid = table[2], table[4]
    assert unknown[1].startswith("#N/A") and "ZZZZ" in unknown[1]
    assert invalid[1].startswith("#VALUE!") and "ticker" in invalid[1]
    assert unknown[2:] == invalid[2:] == ["#N/A"] * 3
    # Excel passes the range as rows of a 2-D array; the registered ndim=2 keeps it so.
    same_cells(excel_call("FACTOR_BETAS", tickers, "FF3", "2020-01-01", "2023-01-01"), table)


def test_date_forms_give_identical_results(local_files):
    forms = [
        ("2020-01-01", "2023-01-01"),
        (dt.datetime(2020, 1, 1), dt.datetime(2023, 1, 1)),
        (43831.0, 44927.0),  # Excel serial numbers of the same dates
        (43831, 44927),
        ([[dt.datetime(2020, 1, 1)]], [["2023-01-01"]]),  # 1x1 ranges
    ]
    results = [udfs.FACTOR_BETAS("AAPL", "FF3", s, e) for s, e in forms]
    results += [excel_call("FACTOR_BETAS", "AAPL", "FF3", s, e) for s, e in forms[:3]]
    assert_table(results[0])
    assert len(results[0]) == 2 and isinstance(results[0][1][1], float)
    assert all(r == results[0] for r in results)
    # The serial number really is 2020-01-01: a later start drops the first days.
    later = udfs.FACTOR_RSQ("AAPL", "FF3", 43832 + 1, 44927)
    assert later[1][3] == udfs.FACTOR_RSQ("AAPL", "FF3", "2020-01-03", "2023-01-01")[1][3] == 755


def test_blank_optional_arguments_take_the_defaults(local_files):
    explicit = udfs.FACTOR_BETAS("AAPL", "FF3", "2021-01-01", "2021-12-31", "D", True)
    assert len(explicit) == 2
    assert udfs.FACTOR_BETAS("AAPL", None, "2021-01-01", "2021-12-31", None, None) == explicit
    assert udfs.FACTOR_BETAS([["AAPL"]], [[None]], "2021-01-01", "2021-12-31", "", "") == explicit
    # Through Excel: omitted (COM's "missing" marker or left off) and blank cells.
    assert excel_call("FACTOR_BETAS", "AAPL", MISSING, "2021-01-01", "2021-12-31") == explicit
    assert excel_call("FACTOR_BETAS", "AAPL", None, "2021-01-01", "2021-12-31", None, None) \
        == explicit
    assert excel_call("FACTOR_BETAS", "AAPL", "", "2021-01-01", "2021-12-31", MISSING, "") \
        == explicit
    rolling = udfs.FACTOR_ROLLING("AAPL", None, None, "2021-01-01", "2022-06-30")
    assert rolling == udfs.FACTOR_ROLLING("AAPL", "FF3", 252, "2021-01-01", "2022-06-30", "D")
    same_cells(excel_call("FACTOR_ROLLING", "AAPL", MISSING, MISSING, "2021-01-01",
                          "2022-06-30"), rolling)


def test_header_false_drops_the_header_row(local_files):
    for false in (False, "FALSE", 0.0):
        for name, args in (("FACTOR_BETAS", ("AAPL,MSFT", "CAPM", "2021-01-01", "2021-12-31")),
                           ("FACTOR_DATA", ("FF3", "2021-01-01", "2021-01-31")),
                           ("FACTOR_RETURNS", ("AAPL", "2021-01-01", "2021-01-31"))):
            func = getattr(udfs, name)
            with_header = func(*args)
            without = assert_table(func(*args, header=false))
            assert without == with_header[1:], name
            assert isinstance(with_header[0][0], str) and not isinstance(without[0][1], str)


def test_alpha_and_rsq_match_statsmodels(local_files, raw):
    fits = {t: ols(daily_sample(raw, t, "2020-01-01", "2023-01-01"), FF3) for t in ("AAPL", "MSFT")}
    alpha = assert_table(udfs.FACTOR_ALPHA("AAPL,MSFT", "FF3", "2020-01-01", "2023-01-01"))
    assert alpha[0] == ["Ticker", "Alpha (per period)", "Alpha (annualised, arithmetic)", "t", "p"]
    geometric = udfs.FACTOR_ALPHA("AAPL,MSFT", "FF3", "2020-01-01", "2023-01-01", None,
                                  "geometric")
    per_period = udfs.FACTOR_ALPHA("AAPL,MSFT", "FF3", "2020-01-01", "2023-01-01", None, False)
    assert per_period[0] == ["Ticker", "Alpha (per period)", "t", "p"]
    rsq = assert_table(udfs.FACTOR_RSQ([["AAPL", "MSFT"]], "FF3", "2020-01-01", "2023-01-01"))
    assert rsq[0] == ["Ticker", "R²", "Adj. R²", "N"]
    for i, (ticker, fit) in enumerate(fits.items(), start=1):
        a = fit.params["const"]
        assert alpha[i][0] == geometric[i][0] == rsq[i][0] == ticker
        close(alpha[i][1:], [a, 252 * a, fit.tvalues["const"], fit.pvalues["const"]], what=ticker)
        close(geometric[i][2], (1 + a) ** 252 - 1, what="geometric")
        assert per_period[i] == [ticker, alpha[i][1], alpha[i][3], alpha[i][4]]
        close(rsq[i][1:3], [fit.rsquared, fit.rsquared_adj], what="R2")
        assert rsq[i][3] == fit.nobs and isinstance(rsq[i][3], int)
    same_cells(excel_call("FACTOR_ALPHA", "AAPL,MSFT", "FF3", "2020-01-01", "2023-01-01",
                          MISSING, 1.0), alpha)
    same_cells(excel_call("FACTOR_RSQ", (("AAPL", "MSFT"),), "FF3", "2020-01-01", 44927.0), rsq)


def _betas_sheet_call(book, cell: str, inputs: dict[str, Any]) -> list[list[Any]]:
    """The template's formula in Betas!``cell``, called as Excel would: each defined name
    replaced by what its Inputs cell holds (a range as rows), through xlwings' machinery."""
    formula = book["Betas"][cell].value
    text = getattr(formula, "text", formula).lstrip("=")
    name, body = text[:text.index("(")], text[text.index("(") + 1:-1]
    args = [True if a == "TRUE" else inputs[a] for a in body.split(",")]
    return excel_call(name, *args)


@pytest.mark.parametrize("se, lags", [("HAC", MISSING), ("HAC", 5.0), ("HC1", MISSING)])
def test_betas_sheet_alpha_t_is_the_tstats_alpha_t(local_files, raw, se, lags):
    """One sheet, one SE choice: the template's FACTOR_ALPHA passes the Inputs' SE type and
    lags, and its t equals FACTOR_TSTATS' t(alpha) and statsmodels' with those SEs."""
    import openpyxl

    book = openpyxl.load_workbook(Path(__file__).parents[1] / "workbook" / "xlfactor_template.xlsm")
    inputs = {"Tickers": (("AAPL",), ("MSFT",), *((None,),) * 8), "Model": "FF3",
              "StartDate": "2020-01-01", "EndDate": "2023-01-01", "Freq": "D", "Region": None,
              "SEType": se, "NWLags": lags}
    alpha = assert_table(_betas_sheet_call(book, "A19", inputs))
    tstats = assert_table(_betas_sheet_call(book, "A45", inputs))
    assert alpha[0][3] == "t" and tstats[0][1] == "t(alpha)"
    for i, ticker in enumerate(("AAPL", "MSFT"), start=1):
        data = daily_sample(raw, ticker, "2020-01-01", "2023-01-01")
        L = (hac_lags(len(data)) if lags is MISSING else int(lags)) if se == "HAC" else None
        fit = ols(data, FF3, se, L)
        assert alpha[i][0] == tstats[i][0] == ticker
        assert alpha[i][3] == tstats[i][1], (alpha[i], tstats[i])
        close(alpha[i][3], fit.tvalues["const"], what=f"{ticker} {se} t(alpha)")
        close(alpha[i][4], fit.pvalues["const"], what=f"{ticker} {se} p(alpha)")
    classical = assert_table(udfs.FACTOR_ALPHA("AAPL,MSFT", "FF3", "2020-01-01", "2023-01-01"))
    assert classical[1][3] != alpha[1][3]  # the SE choice reached the cell


# -- standard errors -------------------------------------------------------------------------
@pytest.mark.parametrize("se, sm_cov, lags", [("classical", "nonrobust", None),
                                             ("HC1", "HC1", None), ("HAC", "HAC", None),
                                             ("hac", "HAC", 3)])
def test_tstats_pvalues_se_match_statsmodels(local_files, raw, se, sm_cov, lags):
    data = daily_sample(raw, "MSFT", "2019-01-01", "2021-12-31", "FF5")
    L = (lags or hac_lags(len(data))) if sm_cov == "HAC" else None
    fit = ols(data, FF5, sm_cov, L)
    args = ("MSFT", "FF5", "2019-01-01", "2021-12-31", "D", se, lags)
    t = assert_table(udfs.FACTOR_TSTATS(*args))
    p = assert_table(udfs.FACTOR_PVALUES(*args))
    s = assert_table(udfs.FACTOR_SE(*args))
    coefs = ["alpha", "MKT", "SMB", "HML", "RMW", "CMA"]
    assert t[0] == ["Ticker", *(f"t({c})" for c in coefs)]
    assert p[0] == ["Ticker", *(f"p({c})" for c in coefs)]
    assert s[0] == ["Ticker", *(f"SE({c})" for c in coefs)]
    close(t[1][1:], fit.tvalues, what="t")
    close_p(p[1][1:], fit.pvalues, what="p")
    close(s[1][1:], fit.bse, what="SE")
    same_cells(excel_call("FACTOR_TSTATS", *args[:-1], float(lags) if lags else MISSING), t)


@pytest.mark.parametrize("se, sm_cov", [("HC1", "HC1"), ("HAC", "HAC")])
def test_stats_table_matches_statsmodels(local_files, raw, se, sm_cov):
    data = daily_sample(raw, "AAPL", "2020-01-01", "2023-01-01")
    fit = ols(data, FF3, sm_cov, hac_lags(len(data)) if sm_cov == "HAC" else None)
    table = assert_table(udfs.FACTOR_STATS("AAPL", "FF3", "2020-01-01", "2023-01-01", None, se))
    assert row_by_label(table, "Asset")[1] == "AAPL"
    block = coefficient_block(table, 4)
    assert [r[0] for r in block] == ["alpha", "MKT", "SMB", "HML"]
    cells = np.array([r[1:7] for r in block], float)
    close(cells[:, 0], fit.params, what="estimate")
    close(cells[:, 1], fit.bse, what="SE")
    close(cells[:, 2], fit.tvalues, what="t")
    close_p(cells[:, 3], fit.pvalues, what="p")
    ci = np.asarray(fit.conf_int())
    scale = np.abs(fit.params.to_numpy()) + 2 * fit.bse.to_numpy()
    assert np.all(np.abs(cells[:, 4:6] - ci) <= RTOL * scale[:, None])
    close(row_by_label(table, "R-squared")[1], fit.rsquared)
    close(row_by_label(table, "Adj. R-squared")[1], fit.rsquared_adj)
    assert row_by_label(table, "Observations")[1] == fit.nobs == 756
    assert row_by_label(table, "First date")[1] == "2020-01-02"
    if sm_cov == "HAC":
        assert f"{hac_lags(756)} lags" in row_by_label(table, "Std. errors")[1]
    excel = excel_call("FACTOR_STATS", [["AAPL"]], "FF3", dt.datetime(2020, 1, 1), 44927.0,
                       MISSING, se)
    same_cells(excel, table)


# -- FACTOR_ROLLING ---------------------------------------------------------------------------
def test_rolling_windows_match_statsmodels(local_files, raw):
    window = 60
    table = assert_table(udfs.FACTOR_ROLLING("AAPL", "FF3", window, "2022-01-01", "2022-12-31"))
    data = daily_sample(raw, "AAPL", "2022-01-01", "2022-12-31")
    assert table[0] == ["Date", "Alpha", "MKT", "SMB", "HML", "R²"]
    rows = table[1:]
    assert len(rows) == len(data) - window + 1
    for i in (0, 37, len(rows) // 2, len(rows) - 1):
        chunk = data.iloc[i:i + window]
        fit = ols(chunk, FF3)
        assert rows[i][0] == chunk.index[-1].to_pydatetime()
        close(rows[i][1:5], fit.params, what=f"window {i}")
        close(rows[i][5], fit.rsquared, what=f"R2 window {i}")
    excel = excel_call("FACTOR_ROLLING", "AAPL", "FF3", float(window), "2022-01-01",
                       "2022-12-31")
    same_cells(excel, table)
    assert excel[1][0].tzinfo is not None  # the real engine stamps dates for COM


# -- FACTOR_DATA / FACTOR_RETURNS ----------------------------------------------------------------
@pytest.mark.parametrize("model, file, cols", [("FF3", "FF3", FF3), ("FF5", "FF5", FF5)])
def test_factor_data_matches_the_raw_french_file(local_files, raw, model, file, cols):
    table = assert_table(udfs.FACTOR_DATA(model, "2021-03-01", "2021-03-31"))
    want = raw[file].loc["2021-03-01":"2021-03-31"]
    names = ["MKT", *cols[1:]]
    assert table[0] == ["Date", *names, "RF"]
    assert [r[0] for r in table[1:]] == [d.to_pydatetime() for d in want.index]
    close(np.array([r[1:] for r in table[1:]], float), want[[*cols, "RF"]].to_numpy(), 1e-12)
    same_cells(excel_call("FACTOR_DATA", model, dt.datetime(2021, 3, 1), 44286.0), table)


def test_factor_returns_match_pct_change_of_the_raw_csv(local_files, raw):
    table = assert_table(udfs.FACTOR_RETURNS([["AAPL", "MSFT"]], "2022-01-01", "2022-06-30"))
    a = daily_sample(raw, "AAPL", "2022-01-01", "2022-06-30")
    m = daily_sample(raw, "MSFT", "2022-01-01", "2022-06-30")
    assert table[0] == ["Date", "AAPL", "MSFT"]
    assert [r[0] for r in table[1:]] == [d.to_pydatetime() for d in a.index]
    close([r[1] for r in table[1:]], a["r"], 1e-12)
    close([r[2] for r in table[1:]], m["r"], 1e-12)
    excess = udfs.FACTOR_RETURNS("AAPL", "2022-01-01", "2022-06-30", "D", True)
    close([r[1] for r in excess[1:]], a["y"], 1e-12)


def test_missing_numbers_are_na_text_even_after_the_excel_conversion(local_files, raw):
    # SPY's file ends a day before AAPL's: its last return is missing (NaN in the core).
    table = assert_table(udfs.FACTOR_RETURNS("AAPL,SPY", "2025-10-01", "2025-10-08"))
    assert table[-1][0] == dt.datetime(2025, 10, 8)
    assert table[-1][2] == "#N/A"
    close(table[-1][1], daily_sample(raw, "AAPL", "2025-10-08", "2025-10-08")["r"].iloc[0])
    excel = excel_call("FACTOR_RETURNS", "AAPL,SPY", "2025-10-01", "2025-10-08")
    same_cells(excel, table)
    # Had the NaN been written as a float, xlwings would have sent an empty cell.
    assert "" not in [c for row in excel for c in row]
    assert excel[-1][2] == "#N/A"


# -- FACTOR_REGRESS vs Excel's LINEST ---------------------------------------------------------------
def test_formulas_linest_against_statsmodels():
    # Referee for the oracle itself: statsmodels on a tiny example, nothing from xlfactor.
    y = np.array([1.0, 2.0, 2.5, 4.0, 4.1, 5.5])
    X = np.array([[1, 3], [2, 1.0], [3, 4], [4, 2], [5, 7], [6, 1]])
    fit = sm.OLS(y, sm.add_constant(X)).fit()
    got = linest_natural(linest(y, X))
    close(got["coefs"], fit.params, 1e-12)
    close(got["se"], fit.bse, 1e-12)
    close(got["F"], fit.fvalue, 1e-12)
    close(got["r2"], fit.rsquared, 1e-12)
    close(got["sey"], np.sqrt(fit.mse_resid), 1e-12)
    assert got["df"] == fit.df_resid == 3
    k = X.shape[1]
    quirk = fit.fvalue * k / (k + 1) if formulas_linest_quirks() else fit.fvalue
    close(got["F_as_given"], quirk, 1e-12)


@pytest.fixture()
def sheet_example(raw) -> tuple[list[list[Any]], list[list[Any]], pd.DataFrame]:
    """40 days of real data typed into a sheet: a text header row, then numbers."""
    data = daily_sample(raw, "AAPL", "2021-02-01", "2021-03-31").iloc[:40]
    y_range = [["AAPL excess"], *([v] for v in data["y"].tolist())]
    x_range = [["Mkt-RF", "SMB", "HML"], *data[FF3].values.tolist()]
    return y_range, x_range, data


def test_regress_equals_linest(sheet_example):
    y_range, x_range, data = sheet_example
    table = assert_table(udfs.FACTOR_REGRESS(y_range, x_range))
    L = linest(data["y"].to_numpy(), data[FF3].to_numpy())
    n, k = len(data), 3
    assert L.shape == (5, k + 1)
    assert table[0][:4] == ["Coefficient", "Estimate", "Std. error", "t"]
    block = table[1:5]
    assert [r[0] for r in block] == ["alpha", *FF3]
    # LINEST lists the last regressor first and the intercept last: reversed to natural.
    excel = linest_natural(L)
    close([r[1] for r in block], excel["coefs"], 1e-9, "coefficients")
    close([r[2] for r in block], excel["se"], 1e-9, "standard errors")
    close(row_by_label(table, "R²")[1], excel["r2"], 1e-9)
    close(row_by_label(table, "Std. error of regression")[1], excel["sey"], 1e-9)
    close(row_by_label(table, "F")[1], excel["F"], 1e-9)
    assert excel["df"] == n - k - 1 == row_by_label(table, "N")[1] - len(block)
    assert row_by_label(table, "Std. errors")[1].startswith("classical")
    # Explicit labels replace the header row's; through Excel the same numbers arrive.
    labelled = udfs.FACTOR_REGRESS(y_range, x_range, [["m", "s", "h"]])
    assert [r[0] for r in labelled[1:5]] == ["alpha", "m", "s", "h"]
    assert [r[1:] for r in labelled] == [r[1:] for r in table]
    same_cells(excel_call("FACTOR_REGRESS", y_range, x_range), table)


def test_regress_without_header_rows_and_with_hc3(sheet_example):
    y_range, x_range, data = sheet_example
    fit = sm.OLS(data["y"], sm.add_constant(data[FF3])).fit(cov_type="HC3")
    table = assert_table(udfs.FACTOR_REGRESS(y_range[1:], x_range[1:], None, "HC3", None, False))
    assert [r[0] for r in table[:4]] == ["alpha", "x1", "x2", "x3"]
    cells = np.array([r[1:7] for r in table[:4]], float)
    close(cells[:, 0], fit.params, what="estimate")
    close(cells[:, 1], fit.bse, what="HC3 SE")
    close(cells[:, 2], fit.tvalues, what="t")
    close_p(cells[:, 3], fit.pvalues, what="p")
    close(cells[:, 4:6], np.asarray(fit.conf_int()), 1e-8, "CI")
    assert "HC3" in row_by_label(table, "Std. errors")[1]


# -- tables without data --------------------------------------------------------------------------
def test_models_table():
    table = assert_table(udfs.FACTOR_MODELS())
    assert table[0] == ["Model", "Factors", "Description"]
    factors = {r[0]: [f.strip() for f in r[1].split(",")] for r in table[1:]}
    # The models as published (Fama-French 1993, Carhart 1997, Fama-French 2015).
    assert factors["CAPM"] == ["MKT"]
    assert factors["FF3"] == ["MKT", "SMB", "HML"]
    assert factors["CARHART4"] == ["MKT", "SMB", "HML", "MOM"]
    assert factors["FF5"] == ["MKT", "SMB", "HML", "RMW", "CMA"]
    assert factors["FF6"] == ["MKT", "SMB", "HML", "RMW", "CMA", "MOM"]
    assert excel_call("FACTOR_MODELS") == table


def test_models_table_agrees_with_the_betas_headers(local_files):
    for row in udfs.FACTOR_MODELS()[1:]:
        if row[0] == "custom":
            continue
        betas = udfs.FACTOR_BETAS("AAPL", row[0], "2021-01-01", "2021-12-31")
        assert betas[0][2:] == [f.strip() for f in row[1].split(",")]


def test_info_table_reports_the_configured_sources(local_files, tmp_path):
    table = assert_table(udfs.FACTOR_INFO())
    assert table[0] == ["Item", "Value"] and len(table[0]) == 2
    text = "\n".join(str(c) for row in table for c in row)
    assert str(local_files / PRICES) in text
    assert str(local_files / FRENCH) in text
    assert str(tmp_path / "cache") in text
    same_cells(excel_call("FACTOR_INFO"), table)


# -- Excel error values and bad arguments -------------------------------------------------------
@pytest.mark.parametrize("error", sorted(EXCEL_ERROR_CODES))
def test_excel_error_values_become_readable_messages(local_files, error):
    code = EXCEL_ERROR_CODES[error]
    assert_error_cell(excel_call("FACTOR_BETAS", "AAPL", code), "model", error)
    assert_error_cell(excel_call("FACTOR_BETAS", [["AAPL"], [code]]), "tickers", error)
    assert_error_cell(excel_call("FACTOR_DATA", "FF3", code, "2021-01-31"), "start", error)
    assert_error_cell(excel_call("FACTOR_REGRESS", [[1.0], [code], [3.0]], [[1.0], [2.0], [4.0]]),
                      "y_range", error)
    assert_error_cell(excel_call("FACTOR_ROLLING", "AAPL", "FF3", code), "window", error)
    # The same text typed into a cell is treated alike (err_to_str makes them equal).
    assert_error_cell(udfs.FACTOR_BETAS("AAPL", error), "model", error)


@pytest.mark.parametrize("name, args, fragment", [
    ("FACTOR_BETAS", ("AAPL", "FF7"), "unknown model"),
    ("FACTOR_BETAS", ("AAPL", "FF3", "2023-01-01", "2020-01-01"), "after end"),
    ("FACTOR_BETAS", ("AAPL", "FF3", "yesterday"), "not a date"),
    ("FACTOR_BETAS", ("AAPL", "FF3", None, None, "Q"), "frequency"),
    ("FACTOR_BETAS", (None,), "no tickers"),
    ("FACTOR_TSTATS", ("AAPL", "FF3", "2021-01-01", "2021-12-31", "D", "HAC", 0.5), "lags"),
    ("FACTOR_TSTATS", ("AAPL", "FF3", "2021-01-01", "2021-12-31", "D", "HC9"), "HC9"),
    ("FACTOR_STATS", ([["AAPL"], ["MSFT"]],), "one ticker"),
    ("FACTOR_STATS", ("ZZZZ", "FF3", "2021-01-01", "2021-12-31"), "ZZZZ"),
    ("FACTOR_ROLLING", ("AAPL", "FF3", 2), "window"),
    ("FACTOR_REGRESS", ([[1.0], [2.0]], [[1.0], [2.0], [3.0]]), "rows"),
    ("FACTOR_REGRESS", ([[1.0], ["abc"], [3.0]], [[1.0], [2.0], [4.0]]), "not a number"),
    ("FACTOR_BETAS", ("AAPL", "FF3", None, None, None, "maybe"), "header"),
])
def test_bad_arguments_give_one_message_cell(local_files, name, args, fragment):
    assert_error_cell(getattr(udfs, name)(*args), fragment)
    assert_error_cell(excel_call(name, *args), fragment)


# -- regressions found while fuzzing -----------------------------------------------------------------
def test_empty_factor_period_is_a_message_not_a_blank(local_files):
    # A weekend: no factor rows. Without a header the answer used to be one empty cell.
    for header in (True, False):
        assert_error_cell(udfs.FACTOR_DATA("FF3", "2021-01-02", "2021-01-03", "D", header),
                          "no factor data")


def test_timezone_in_a_date_text_is_ignored_like_in_a_date_cell(local_files):
    plain = udfs.FACTOR_BETAS("AAPL", "FF3", "2021-01-01", "2021-12-31")
    stamped = udfs.FACTOR_BETAS("AAPL", "FF3", "2021-01-01T00:00:00+05:00",
                                "2021-12-31T23:00:00-04:00")
    assert len(plain) == 2 and stamped == plain


def test_regress_with_observations_in_a_row_like_linest(sheet_example):
    # LINEST: "If known_y's is in a single row, each row of known_x's is a separate variable."
    y_range, x_range, _ = sheet_example
    by_columns = udfs.FACTOR_REGRESS(y_range, x_range)
    y_row = [list(col) for col in zip(*y_range)]
    x_rows = [list(col) for col in zip(*x_range)]
    assert len(y_row) == 1 and len(x_rows) == 3
    assert udfs.FACTOR_REGRESS(y_row, x_rows) == by_columns
    assert excel_call("FACTOR_REGRESS", y_row, x_rows) == by_columns


def test_regress_rejects_several_y_columns(sheet_example):
    # Only one regression fits the layout: a second y column must not be dropped silently.
    y_range, x_range, _ = sheet_example
    two = [[*r, *r] for r in y_range]
    assert_error_cell(udfs.FACTOR_REGRESS(two, x_range), "y_range", "one column")


def test_echoed_input_cannot_become_a_formula(local_files, sheet_example):
    attack = "=cmd|' /c calc'!A1"
    table = assert_table(udfs.FACTOR_BETAS([["AAPL"], [attack], ["@SUM(1)"]], "FF3",
                                           "2021-01-01", "2021-12-31"))
    assert [r[0] for r in table[1:]] == ["AAPL", "'" + attack, "'@SUM(1)"]
    assert table[2][1].startswith("#VALUE! invalid ticker")
    y_range, x_range, _ = sheet_example
    named = udfs.FACTOR_REGRESS(y_range, [["-growth", "+size", "value"], *x_range[1:]])
    assert [r[0] for r in named[1:5]] == ["alpha", "'-growth", "'+size", "value"]


def test_numeric_labels_read_as_excel_shows_them(sheet_example):
    y_range, x_range, _ = sheet_example
    # Excel sends 2019 typed in a cell as the float 2019.0.
    table = excel_call("FACTOR_REGRESS", y_range, x_range, ((2019.0, 2020.0, "HML"),))
    assert [r[0] for r in table[1:5]] == ["alpha", "2019", "2020", "HML"]

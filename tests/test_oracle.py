"""Every statistic against statsmodels (the oracle) on real data, and NIST certified values.

The expected side never goes through xlfactor: the test reads the raw files with plain
pandas/csv code, builds excess returns itself and fits ``statsmodels.OLS``.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import xlfactor
from xlfactor.data.settings import Settings
from xlfactor.engine.ols import default_hac_lags, ols

TICKERS = ["AAPL", "MSFT", "JPM", "XOM", "AMZN"]
COV_TYPES = [("classical", "nonrobust"), ("HC0", "HC0"), ("HC1", "HC1"), ("HC2", "HC2"),
             ("HC3", "HC3"), ("HAC", "HAC")]
RTOL = 1e-10


def read_french_csv_independently(path) -> pd.DataFrame:
    """Minimal reader for the test: first comma-header table, percent -> decimal."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(","))
    header = [c.strip() for c in lines[start].split(",")]
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(line)
    table = pd.read_csv(io.StringIO("\n".join(rows)), header=None, names=["date", *header[1:]],
                        dtype={"date": str})
    table.index = pd.to_datetime(table.pop("date"), format="%Y%m%d")
    return table / 100.0


@pytest.fixture(scope="module")
def raw(shared_data):
    csv_dir = shared_data / "kenneth_french" / "vintage_202510" / "csv"
    ff5 = read_french_csv_independently(csv_dir / "F-F_Research_Data_5_Factors_2x3_daily.csv")
    mom = read_french_csv_independently(csv_dir / "F-F_Momentum_Factor_daily.csv")
    factors = ff5.join(mom, how="inner")
    # FF3-family models use the three-factor file (its SMB differs from the 5-factor file's)
    ff3 = read_french_csv_independently(csv_dir / "F-F_Research_Data_Factors_daily.csv")
    price_dir = shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    closes = pd.DataFrame({
        t: pd.read_csv(price_dir / f"{t}.csv", index_col="Date", parse_dates=True)["Close"]
        for t in TICKERS
    })
    return {"FF5": factors, "FF3": ff3}, closes, price_dir, csv_dir


def expected_daily(raw, start, end, factor_cols):
    files, closes, *_ = raw
    factors = files["FF5" if "RMW" in factor_cols else "FF3"]
    rets = closes.pct_change(fill_method=None).iloc[1:]
    data = rets.join(factors, how="inner")
    data = data[(data.index >= start) & (data.index <= end)]
    X = sm.add_constant(data[factor_cols])
    Y = data[TICKERS].sub(data["RF"], axis=0)
    return Y, X


def assert_matches(res, asset, fit, rtol=RTOL):
    def close(a, b, what):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0,
                                   err_msg=f"{asset} {what}")

    def close_p(a, b, what):
        # Far in the tail a p-value amplifies the statistic's last-digit differences by
        # |d log p / d log stat|; compare log p there, the quantity that is well-conditioned.
        a, b = np.asarray(a, float), np.asarray(b, float)
        tail = b < 1e-8
        close(np.where(tail, 1.0, a), np.where(tail, 1.0, b), what)
        with np.errstate(divide="ignore"):  # p == 0 on both sides is equal
            close(np.log(a[tail]), np.log(b[tail]), what + " (log, tail)")

    close(res.params.loc[asset], fit.params, "params")
    close(res.std_errors.loc[asset], fit.bse, "std errors")
    close(res.tstats.loc[asset], fit.tvalues, "t")
    close_p(res.pvalues.loc[asset], fit.pvalues, "p")
    ci = np.asarray(fit.conf_int())
    # A bound near zero is a difference of two larger numbers: judge it on their scale.
    scale = np.abs(np.asarray(fit.params)) + 2 * np.asarray(fit.bse)
    for got, want, what in ((res.ci_lower, ci[:, 0], "ci low"), (res.ci_upper, ci[:, 1], "ci high")):
        assert np.all(np.abs(got.loc[asset].to_numpy() - want) <= rtol * scale), f"{asset} {what}"
    close(res.rsquared[asset], fit.rsquared, "R2")
    close(res.rsquared_adj[asset], fit.rsquared_adj, "adj R2")
    close(res.fstat[asset], fit.fvalue, "F")
    close_p(res.f_pvalue[asset], fit.f_pvalue, "F p")
    close(res.aic[asset], fit.aic, "AIC")
    close(res.bic[asset], fit.bic, "BIC")
    close(res.loglik[asset], fit.llf, "llf")
    close(res.resid_std[asset], np.sqrt(fit.mse_resid), "resid std")
    close(res.durbin_watson[asset], sm.stats.durbin_watson(fit.resid), "DW")
    assert res.nobs[asset] == fit.nobs


@pytest.mark.parametrize("cov,sm_cov", COV_TYPES)
def test_ff6_daily_every_statistic_matches_statsmodels(raw, cov, sm_cov):
    _, _, price_dir, csv_dir = raw
    start, end = pd.Timestamp("2015-01-01"), pd.Timestamp("2025-06-30")
    settings = Settings(price_dir=price_dir, french_dir=csv_dir)
    res = xlfactor.fit(TICKERS, "FF6", start, end, "D", cov, lags=None, settings=settings)
    Y, X = expected_daily(raw, start, end, ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "Mom"])
    kwds = {"maxlags": default_hac_lags(len(Y))} if cov == "HAC" else None
    assert default_hac_lags(len(Y)) == int(np.floor(4 * (len(Y) / 100) ** (2 / 9)))
    for asset in TICKERS:
        fit = sm.OLS(Y[asset], X).fit(cov_type=sm_cov, cov_kwds=kwds)
        assert_matches(res, asset, fit)
    assert res.coef_names == ["alpha", "MKT", "SMB", "HML", "RMW", "CMA", "MOM"]


@pytest.mark.parametrize("lags", [1, 5, 20])
def test_hac_user_lags_and_t_inference(raw, lags):
    _, _, price_dir, csv_dir = raw
    start, end = pd.Timestamp("2018-01-01"), pd.Timestamp("2020-12-31")
    settings = Settings(price_dir=price_dir, french_dir=csv_dir)
    res = xlfactor.fit(["MSFT"], "FF3", start, end, "D", "HAC", lags=lags, settings=settings)
    Y, X = expected_daily(raw, start, end, ["Mkt-RF", "SMB", "HML"])
    fit = sm.OLS(Y["MSFT"], X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    assert_matches(res, "MSFT", fit)
    assert res.info.lags == lags
    # t inference on request, still equal to statsmodels with use_t=True
    res_t = xlfactor.fit(["MSFT"], "FF3", start, end, "D", "HAC", lags=lags, use_t=True,
                         settings=settings)
    fit_t = sm.OLS(Y["MSFT"], X).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    assert_matches(res_t, "MSFT", fit_t)


@pytest.mark.parametrize("freq,rule", [("W", "W-FRI"), ("M", "ME")])
def test_weekly_and_monthly_compounding_matches_independent_computation(raw, freq, rule):
    files, closes, price_dir, csv_dir = raw
    factors = files["FF3"]
    start, end = pd.Timestamp("2012-01-01"), pd.Timestamp("2024-12-31")
    settings = Settings(price_dir=price_dir, french_dir=csv_dir)
    res = xlfactor.fit(TICKERS, "FF3", start, end, freq, "HC1", settings=settings,
                       factor_frequency="D")
    # independent: period returns from last closes, factors compounded, market as total return
    last = closes.resample(rule).last()
    asset = (last / last.shift(1) - 1).loc[start:end]
    fac = factors.loc[start:end]
    g = (1 + fac).resample(rule).prod()
    mkt = (1 + fac["Mkt-RF"] + fac["RF"]).resample(rule).prod() - g["RF"]
    per = pd.DataFrame({"MKT": mkt, "SMB": g["SMB"] - 1, "HML": g["HML"] - 1, "RF": g["RF"] - 1})
    if freq == "W":  # first week starting before `start` is partial
        per = per[per.index - pd.Timedelta(days=6) >= start]
    per = per[per.index <= end]
    data = asset.join(per, how="inner")
    X = sm.add_constant(data[["MKT", "SMB", "HML"]])
    for t in TICKERS:
        fit = sm.OLS(data[t] - data["RF"], X).fit(cov_type="HC1")
        assert_matches(res, t, fit, rtol=1e-9)
    assert res.nobs.iloc[0] == (156 if freq == "M" else len(data))


def test_longley_matches_nist_certified_values():
    from statsmodels.datasets import longley

    data = longley.load_pandas()
    # NIST StRD, Longley: certified coefficients and standard deviations
    certified = np.array([-3482258.63459582, 15.0618722713733, -0.358191792925910e-01,
                          -2.02022980381683, -1.03322686717359, -0.511041056535807e-01,
                          1829.15146461355])
    certified_se = np.array([890420.383607373, 84.9149257747669, 0.334910077722432e-01,
                             0.488399681651699, 0.214274163161675, 0.226073200069370,
                             455.478499142212])
    X = np.column_stack([np.ones(len(data.exog)), data.exog.to_numpy()])
    res = ols(data.endog.to_numpy(), X)
    np.testing.assert_allclose(res.params[0], certified, rtol=1e-9)
    np.testing.assert_allclose(res.std_errors[0], certified_se, rtol=1e-9)
    np.testing.assert_allclose(res.resid_std[0], 304.854073561965, rtol=1e-9)
    np.testing.assert_allclose(res.rsquared[0], 0.995479004577296, rtol=1e-12)


def test_in_sheet_regress_matches_statsmodels_with_labels():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 2))
    y = 0.3 + X @ [1.5, -0.7] + rng.normal(size=40)
    res = xlfactor.regress(y.reshape(-1, 1).tolist(), X.tolist(), ["growth", "value"], "HC3")
    fit = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC3")
    assert res.coef_names == ["alpha", "growth", "value"]
    assert_matches(res, "y", fit)


def test_seed_tutorial_workflow_aapl_ff3_daily(raw):
    """AAPL daily 2020-01-01..2023-01-01, FF3, excess returns, from the real files."""
    _, closes, price_dir, _ = raw
    zip_dir = price_dir.parents[1] / "kenneth_french" / "vintage_202510" / "zip"
    settings = Settings(price_dir=price_dir, french_dir=zip_dir)
    res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2023-01-01", settings=settings)
    factors = raw[0]["FF3"]
    rets = closes["AAPL"].pct_change(fill_method=None)
    data = pd.concat([rets.rename("AAPL"), factors], axis=1, join="inner").loc["2020-01-01":"2023-01-01"]
    fit = sm.OLS(data["AAPL"] - data["RF"], sm.add_constant(data[["Mkt-RF", "SMB", "HML"]])).fit()
    assert_matches(res, "AAPL", fit)
    assert res.nobs["AAPL"] == 756  # trading days 2020-01-02 .. 2022-12-30
    assert res.info.release == "202510 CRSP"
    assert res.first_date["AAPL"] == pd.Timestamp("2020-01-02")
    # the tutorial's published picture: AAPL is a high-market-beta growth stock
    assert 1.0 < res.params.loc["AAPL", "MKT"] < 1.4 and res.params.loc["AAPL", "HML"] < 0


def test_csv_reader_used_here_is_itself_sane(shared_data):
    """Guard the independent reader: first FF3 daily row read with the csv module."""
    path = shared_data / "kenneth_french/vintage_202510/csv/F-F_Research_Data_Factors_daily.csv"
    table = read_french_csv_independently(path)
    with path.open() as fh:
        rows = [r for r in csv.reader(fh) if r and r[0].strip().isdigit()]
    assert rows[0][0] == "19260701"
    assert table.iloc[0].tolist() == pytest.approx([float(v) / 100 for v in rows[0][1:]])
    assert len(table) == 26110

"""Portfolios, the GRS test, attribution, model comparison and regional factor files.

Oracles: the GRS textbook formula computed here from statsmodels OLS output; linearmodels'
TradedFactorModel J statistic where the two coincide asymptotically; statsmodels for
every regression; plain pandas for portfolio returns.
"""

from __future__ import annotations

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from xlfactor import analysis
from xlfactor.api import get_sources
from xlfactor.data.french import FrenchLibrary, regional_dataset
from xlfactor.data.sample import sample_path
from xlfactor.data.settings import Settings
from xlfactor.domain.errors import DataUnavailableError, InvalidInputError
from xlfactor.domain.regions import canonical_region
from xlfactor.engine.grs import grs_test

SAMPLE = get_sources(Settings(sample=True))
PORTFOLIOS = ["S1V1", "S1V3", "S1V5", "S3V1", "S3V3", "S3V5", "S5V1", "S5V3", "S5V5"]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    data = pd.read_csv(sample_path(), parse_dates=["dates"]).set_index("dates")
    data.index = data.index + pd.offsets.MonthEnd(0)
    return data


def textbook_grs(excess: pd.DataFrame, factors: pd.DataFrame) -> tuple[float, float]:
    """GRS (1989) from statsmodels alphas/residuals, MLE covariances, scipy's F."""
    T, N = excess.shape
    K = factors.shape[1]
    X = sm.add_constant(factors)
    fits = [sm.OLS(excess[c], X).fit() for c in excess.columns]
    alpha = np.array([f.params.iloc[0] for f in fits])
    resid = np.column_stack([f.resid for f in fits])
    sigma = np.cov(resid, rowvar=False, ddof=0)
    mu = factors.mean().to_numpy()
    omega = np.cov(factors.to_numpy(), rowvar=False, ddof=0)
    stat = (T - N - K) / N * (alpha @ np.linalg.inv(sigma) @ alpha) / (1 + mu @ np.linalg.inv(omega) @ mu)
    return stat, stats.f.sf(stat, N, T - N - K)


def test_grs_equals_the_textbook_formula_on_real_portfolios(raw):
    res = analysis.grs(",".join(PORTFOLIOS), "FF3", "1963-07-01", "2016-12-31", "M", sources=SAMPLE)
    window = raw.loc["1963-07-01":"2016-12-31"]
    excess = window[PORTFOLIOS].sub(window["RF"], axis=0)
    stat, p = textbook_grs(excess, window[["MktRF", "SMB", "HML"]])
    assert res.grs.statistic == pytest.approx(stat, rel=1e-10)
    assert res.grs.pvalue == pytest.approx(p, rel=1e-8)
    assert (res.grs.df_num, res.grs.df_denom) == (9, len(window) - 9 - 3)
    assert res.grs.pvalue < 0.01  # FF3 famously fails on the size/value corners


def test_grs_matches_linearmodels_j_statistic_asymptotically():
    from linearmodels.asset_pricing import TradedFactorModel

    rng = np.random.default_rng(42)
    T, N, K = 20_000, 6, 3
    F = rng.normal(0.005, 0.04, size=(T, K))
    Y = 0.001 + F @ rng.normal(1.0, 0.3, size=(K, N)) + rng.normal(0, 0.02, size=(T, N))
    g = grs_test(Y, F)
    # T a'S^-1 a / (1 + m'W^-1 m) is the Wald form the J statistic estimates
    wald = g.statistic * g.df_num * T / g.df_denom
    j = TradedFactorModel(pd.DataFrame(Y), pd.DataFrame(F)).fit().j_statistic
    assert wald == pytest.approx(j.stat, rel=0.02)
    assert g.pvalue < 0.05 and j.pval < 0.05


def test_grs_needs_more_periods_than_assets():
    with pytest.raises(Exception, match="more periods than assets"):
        grs_test(np.zeros((5, 4)), np.ones((5, 1)))


def test_attribution_parts_add_up_and_match_statsmodels(raw):
    att = analysis.attribution("BusEq", "FF3", "1990-01-01", "2010-12-31", "M", sources=SAMPLE)
    window = raw.loc["1990-01-01":"2010-12-31"]
    y = window["BusEq"] - window["RF"]
    fit = sm.OLS(y, sm.add_constant(window[["MktRF", "SMB", "HML"]])).fit()
    table = att.table
    assert table.loc["total (arithmetic)", "period"] == pytest.approx(y.sum(), rel=1e-13)
    parts = table.loc[["alpha", "MKT", "SMB", "HML", "residual"], "period"].sum()
    assert abs(parts - y.sum()) < 1e-13
    assert abs(table.loc["residual", "period"]) < 1e-13  # OLS residuals sum to zero
    assert table.loc["MKT", "period"] == pytest.approx(fit.params["MktRF"] * window["MktRF"].sum(), rel=1e-10)
    assert table.loc["alpha", "period"] == pytest.approx(fit.params["const"] * len(y), rel=1e-10)
    compounded = np.prod(1 + y.to_numpy()) - 1
    assert table.loc["total (compounded)", "period"] == pytest.approx(compounded, rel=1e-12)
    assert (table.loc["total (arithmetic)", "period"] + table.loc["compounding", "period"]
            == pytest.approx(compounded, rel=1e-12))
    cum = att.cumulative
    assert cum["total"].iloc[-1] == pytest.approx(y.sum(), rel=1e-12)
    np.testing.assert_allclose(cum.drop(columns="total").sum(axis=1), cum["total"], atol=1e-12)


@pytest.mark.parametrize("rebalance", ["daily", "buy_and_hold"])
def test_portfolio_returns_and_betas(raw, rebalance):
    names = ["NoDur", "Hlth", "Money"]
    w = np.array([0.5, 0.3, 0.2])
    res = analysis.portfolio(",".join(names), [50, 30, 20], "CARHART4", "1990-01-01",
                             "2010-12-31", "M", rebalance=rebalance, sources=SAMPLE)
    window = raw.loc["1990-01-01":"2010-12-31"]
    R = window[names]
    if rebalance == "daily":
        port = R @ w
    else:
        value = (1 + R).cumprod() * w
        level = pd.concat([pd.Series([1.0]), value.sum(axis=1).reset_index(drop=True)])
        port = pd.Series((level.iloc[1:].to_numpy() / level.iloc[:-1].to_numpy()) - 1, index=R.index)
    X = sm.add_constant(window[["MktRF", "SMB", "HML", "Mom"]])
    fit = sm.OLS(port - window["RF"], X).fit()
    np.testing.assert_allclose(res.portfolio.params.iloc[0], fit.params, rtol=1e-9)
    if rebalance == "daily":  # linear: the portfolio's betas are the weighted holdings' betas
        np.testing.assert_allclose(res.exposure.to_numpy(), fit.params.to_numpy(), rtol=1e-10)
    assert list(res.table().index) == ["PORTFOLIO", "NODUR", "HLTH", "MONEY", "weighted exposure"]


@pytest.mark.parametrize("weights,message", [
    ([0.5, 0.3], "2 weights for 3 tickers"), ([0.5, 0.3, 0.3], "sum to 1.1"),
    ([0.5, float("nan"), 0.5], "finite"), (["a", 1, 2], "numbers"),
])
def test_bad_weights(weights, message):
    with pytest.raises(InvalidInputError, match=message):
        analysis.portfolio("NoDur,Hlth,Money", weights, "FF3", "1990-01-01", "2000-12-31", "M",
                           sources=SAMPLE)


def test_bad_rebalance():
    with pytest.raises(InvalidInputError, match="unknown rebalancing"):
        analysis.portfolio("NoDur", [1], "FF3", "1990-01-01", "2000-12-31", "M",
                           rebalance="weekly-ish", sources=SAMPLE)


def test_compare_models_side_by_side(raw):
    table = analysis.compare("NoDur", ("CAPM", "FF3", "CARHART4"), "1990-01-01", "2010-12-31",
                             "M", sources=SAMPLE)
    window = raw.loc["1990-01-01":"2010-12-31"]
    y = window["NoDur"] - window["RF"]
    for model, cols in (("CAPM", ["MktRF"]), ("FF3", ["MktRF", "SMB", "HML"]),
                        ("CARHART4", ["MktRF", "SMB", "HML", "Mom"])):
        fit = sm.OLS(y, sm.add_constant(window[cols])).fit()
        row = table.loc[model]
        assert row["alpha"] == pytest.approx(fit.params["const"], rel=1e-10)
        assert row["Adj. R²"] == pytest.approx(fit.rsquared_adj, rel=1e-10)
        assert row["AIC"] == pytest.approx(fit.aic, rel=1e-12)
        assert row["BIC"] == pytest.approx(fit.bic, rel=1e-12)
        assert row["N"] == len(y)


# -- regions ----------------------------------------------------------------------------
@pytest.mark.parametrize("region,family,freq,name", [
    ("Europe", "FF5", "D", "Europe_5_Factors_Daily"),
    ("developed ex us", "FF3", "M", "Developed_ex_US_3_Factors"),
    ("Japan", "MOM", "D", "Japan_Mom_Factor_Daily"),
    ("APAC", "MOM", "M", "Asia_Pacific_ex_Japan_MOM_Factor"),
    ("north_america", "FF3", "D", "North_America_3_Factors_Daily"),
    ("Emerging", "FF3", "M", "Emerging_5_Factors"),
    ("EM", "MOM", "M", "Emerging_MOM_Factor"),
    ("Developed", "FF5", "M", "Developed_5_Factors"),
    ("US", "FF3", "W", "F-F_Research_Data_Factors_weekly"),
])
def test_regional_file_names(region, family, freq, name):
    assert regional_dataset(region, family, freq) == name


def test_unknown_region_lists_valid_ones():
    with pytest.raises(InvalidInputError, match="unknown region 'Mars'; valid regions: US, Developed"):
        canonical_region("Mars")


def test_emerging_daily_is_not_published():
    with pytest.raises(DataUnavailableError, match="Emerging are not published at daily"):
        FrenchLibrary("http://127.0.0.1:9/").get_factors(["MKT"], "D", region="Emerging")


def test_regional_download_through_the_library(french_dir):
    """Serve a file in the library's layout under a regional name; check the request."""
    source = (french_dir / "vintage_202510" / "zip" / "F-F_Research_Data_Factors_CSV.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        text = z.read(z.namelist()[0])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # same layout, regional name
        z.writestr("Europe_3_Factors.csv", text)
    body = buf.getvalue()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            ok = self.path == "/Europe_3_Factors_CSV.zip"
            payload = body if ok else b"nope"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lib = FrenchLibrary(f"http://127.0.0.1:{server.server_address[1]}/", retries=0)
        data = lib.get_factors(["MKT", "SMB", "HML"], "M", region="Europe")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/Europe_3_Factors_CSV.zip"]
    assert list(data.returns.columns) == ["MKT", "SMB", "HML", "RF"]


# -- the same through the cells ---------------------------------------------------------
@pytest.fixture()
def sample_env(monkeypatch, tmp_path):
    monkeypatch.setenv("XLFACTOR_SOURCE", "sample")
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path))


def test_cells_for_portfolio_grs_attribution_compare(sample_env, raw):
    from xlfactor.excel import udfs

    span = ("1990-01-01", "2010-12-31", "M")
    port = udfs.FACTOR_PORTFOLIO([["NoDur"], ["Hlth"]], [[60], [40]], "FF3", *span)
    window = raw.loc["1990-01-01":"2010-12-31"]
    y = window[["NoDur", "Hlth"]] @ [0.6, 0.4] - window["RF"]
    fit = sm.OLS(y, sm.add_constant(window[["MktRF", "SMB", "HML"]])).fit()
    assert port[0] == ["Holding", "Weight", "Alpha", "MKT", "SMB", "HML"]
    np.testing.assert_allclose(port[1][2:], fit.params.to_numpy(), rtol=1e-9)
    assert [r[0] for r in port] == ["Holding", "PORTFOLIO", "NODUR", "HLTH", "weighted exposure"]

    grs = {r[0]: r[1] for r in udfs.FACTOR_GRS("S1V1,S5V5,NoDur", "FF3", *span)}
    excess = window[["S1V1", "S5V5", "NoDur"]].sub(window["RF"], axis=0)
    stat, p = textbook_grs(excess, window[["MktRF", "SMB", "HML"]])
    assert grs["GRS F-statistic"] == pytest.approx(stat, rel=1e-10)
    assert grs["p-value"] == pytest.approx(p, rel=1e-8)

    att = udfs.FACTOR_ATTRIBUTION("BusEq", "FF3", *span)
    parts = {r[0]: r[1] for r in att[1:]}
    total = (window["BusEq"] - window["RF"]).sum()
    assert parts["total (arithmetic)"] == pytest.approx(total, rel=1e-12)
    assert abs(sum(parts[k] for k in ("alpha", "MKT", "SMB", "HML", "residual")) - total) < 1e-12
    series = udfs.FACTOR_ATTRIBUTION("BusEq", "FF3", *span, "series")
    assert series[0] == ["Date", "alpha", "MKT", "SMB", "HML", "residual", "total"]
    assert series[-1][-1] == pytest.approx(total, rel=1e-12)

    table = udfs.FACTOR_COMPARE("NoDur", *span)
    assert [r[0] for r in table] == ["Model", "CAPM", "FF3", "CARHART4", "FF5", "FF6"]
    assert table[4][1].startswith("not fitted")


def test_region_reaches_the_cells(sample_env):
    from xlfactor.excel import udfs

    cell = udfs.FACTOR_BETAS("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", True, "Mars")
    assert cell[0][0].startswith("#VALUE! unknown region 'Mars'")
    cell = udfs.FACTOR_STATS("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", None, None, "Europe")
    assert cell[0][0] == "#N/A the offline sample has US factors only"


def test_grs_close_to_linearmodels_j_on_its_bundled_french_data(raw):
    """On real monthly data the two differ only by heteroskedasticity-robustness of J."""
    from linearmodels.asset_pricing import TradedFactorModel

    excess = raw[PORTFOLIOS].sub(raw["RF"], axis=0)
    factors = raw[["MktRF", "SMB", "HML"]]
    g = grs_test(excess.to_numpy(), factors.to_numpy())
    wald = g.statistic * g.df_num * g.nobs / g.df_denom
    j = TradedFactorModel(excess, factors).fit().j_statistic
    assert g.nobs == 819
    assert wald == pytest.approx(j.stat, rel=0.05)
    assert g.pvalue < 1e-4 and j.pval < 1e-4  # both reject FF3 on these portfolios

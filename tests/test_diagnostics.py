"""Residual diagnostics (``FactorResults.diagnostics``) against an independent oracle.

The expected side never goes through xlfactor or statsmodels' diagnostic functions: each
asset is fitted with ``statsmodels.OLS`` on the rows where it and every factor are
observed, and Jarque-Bera, Breusch-Pagan (Koenker's n R^2, auxiliary regression by numpy
``lstsq``), Ljung-Box and Durbin-Watson are computed by hand from those residuals with
numpy, the p-values with ``scipy.stats.chi2``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from xlfactor.domain.errors import InvalidInputError, XlFactorError
from xlfactor.engine.diagnostics import COLUMNS, default_lb_lags
from xlfactor.engine.model import FactorModel

RTOL = 1e-10


def oracle(y: np.ndarray, F: np.ndarray, lags: int | None = None) -> dict[str, float]:
    """Every diagnostic of the regression of ``y`` on a constant and ``F``, by hand."""
    keep = np.isfinite(y) & np.isfinite(F).all(axis=1)
    X = np.column_stack([np.ones(int(keep.sum())), F[keep]])
    e = np.asarray(sm.OLS(y[keep], X).fit().resid)
    n, k = X.shape
    # Jarque-Bera from the central moments (divisor n); K is Pearson's kurtosis
    c = e - e.mean()
    m2, m3, m4 = (c**2).mean(), (c**3).mean(), (c**4).mean()
    skew, kurt = m3 / m2**1.5, m4 / m2**2
    jb = n / 6.0 * (skew**2 + (kurt - 3.0) ** 2 / 4.0)
    # Breusch-Pagan (Koenker): n R^2 of e^2 on the design, chi-square(k - 1)
    u = e**2
    coef = np.linalg.lstsq(X, u, rcond=None)[0]
    r2 = 1.0 - np.sum((u - X @ coef) ** 2) / np.sum((u - u.mean()) ** 2)
    bp = n * r2
    # Ljung-Box: Q = n (n + 2) sum_j rho_j^2 / (n - j), chi-square(L)
    L = lags if lags is not None else max(1, min(10, n // 5))
    rho = np.array([np.sum(c[j:] * c[:-j]) for j in range(1, L + 1)]) / np.sum(c * c)
    q = n * (n + 2.0) * np.sum(rho**2 / (n - np.arange(1, L + 1)))
    dw = np.sum(np.diff(e) ** 2) / np.sum(e**2)
    return {
        "jb_stat": jb, "jb_pvalue": stats.chi2.sf(jb, 2), "skew": skew, "kurtosis": kurt,
        "bp_stat": bp, "bp_pvalue": stats.chi2.sf(bp, k - 1),
        "lb_stat": q, "lb_pvalue": stats.chi2.sf(q, L), "lb_lags": L, "durbin_watson": dw,
    }


def expected_table(Y: pd.DataFrame, F: pd.DataFrame, lags: int | None = None) -> pd.DataFrame:
    Fv = F.to_numpy(dtype=float)
    rows = {a: oracle(Y[a].to_numpy(dtype=float), Fv, lags) for a in Y.columns}
    return pd.DataFrame.from_dict(rows, orient="index")[list(COLUMNS)]


def assert_matches(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(COLUMNS)
    assert list(got.index) == list(want.index)
    assert got.index.name == "asset"
    assert (got["lb_lags"].to_numpy() == want["lb_lags"].to_numpy()).all()
    for col in COLUMNS:
        np.testing.assert_allclose(got[col].to_numpy(dtype=float),
                                   want[col].to_numpy(dtype=float), rtol=RTOL, atol=0,
                                   err_msg=col)


def simulated(T: int = 400, N: int = 4, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns with heteroskedastic, autocorrelated, fat-tailed errors: the tests have
    something to find, so p-values span the range instead of sitting near 0.5."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=T)
    F = pd.DataFrame(rng.standard_normal((T, 3)) * 0.01, index=dates,
                     columns=["MKT", "SMB", "HML"])
    Y = {}
    for i in range(N):
        scale = np.exp(40.0 * i * F["MKT"].to_numpy())  # variance rises with MKT
        shock = rng.standard_t(4 + i, T) * 0.01 * scale
        e = np.empty(T)
        e[0] = shock[0]
        for t in range(1, T):
            e[t] = 0.3 * i * e[t - 1] + shock[t]
        Y[f"A{i}"] = 0.0002 + F.to_numpy() @ rng.uniform(-1, 1.5, 3) + e
    return pd.DataFrame(Y, index=dates), F


def test_one_asset_every_statistic_matches_the_oracle():
    Y, F = simulated(N=1)
    res = FactorModel(Y, F).fit()
    assert_matches(res.diagnostics(), expected_table(Y, F))
    assert_matches(res.diagnostics(lags=3), expected_table(Y, F, lags=3))


def test_common_sample_batch_matches_and_finds_what_was_built_in():
    Y, F = simulated(N=4)
    res = FactorModel(Y, F).fit("HAC")  # the covariance choice does not matter here
    got = res.diagnostics()
    assert_matches(got, expected_table(Y, F))
    # A2 and A3 were given variance rising with MKT and AR(1) errors of 0.6 and 0.9
    assert (got.loc[["A2", "A3"], "bp_pvalue"] < 1e-3).all()
    assert (got.loc[["A2", "A3"], "lb_pvalue"] < 1e-6).all()
    assert got.loc["A3", "durbin_watson"] < 1.0
    # statsmodels' Durbin-Watson agrees with the one the regression reports
    np.testing.assert_allclose(got["durbin_watson"], res.durbin_watson, rtol=1e-12)


def test_assets_with_different_samples_use_only_their_own_rows():
    Y, F = simulated(T=300, N=5, seed=11)
    Y = Y.copy()
    F = F.copy()
    Y.iloc[:40, 1] = np.nan  # starts late
    Y.iloc[-25:, 3] = np.nan  # ends early
    Y.iloc[100:107, 4] = np.nan  # a hole
    Y.iloc[:40, 4] = np.nan
    F.iloc[200, 2] = np.nan  # a missing factor drops that row for everyone
    res = FactorModel(Y, F).fit()
    got = res.diagnostics()
    assert got.index.tolist() == ["A0", "A1", "A2", "A3", "A4"]  # results order kept
    assert_matches(got, expected_table(Y, F))
    assert res.nobs.tolist() == [299, 259, 299, 274, 252]
    # explicit lags apply to every asset
    assert_matches(res.diagnostics(lags=7), expected_table(Y, F, lags=7))


def test_offline_sample_real_data_with_ragged_histories():
    """Real monthly data (1949-2017): industry portfolios' excess returns on MKT, SMB, HML,
    MOM, some portfolios cut to shorter histories."""
    from xlfactor.data.sample import load_sample

    data = load_sample()
    F = data[["MKT", "SMB", "HML", "MOM"]]
    Y = data[["NoDur", "Durbl", "Manuf", "Enrgy", "Hlth", "Money", "S1V1", "S5M5"]].sub(
        data["RF"], axis=0)
    Y = Y.copy()
    Y.loc[:"1969-12-31", "Durbl"] = np.nan
    Y.loc["2000-01-01":, "Enrgy"] = np.nan
    Y.loc["1990-01-01":"1990-12-31", "S1V1"] = np.nan
    res = FactorModel(Y, F).fit()
    got = res.diagnostics()
    assert_matches(got, expected_table(Y, F))
    assert (got["lb_lags"] == 10).all()
    # monthly portfolio returns are far from normal: JB rejects, kurtosis well above 3
    assert (got["kurtosis"] > 3.0).all()
    assert (got["jb_pvalue"] < 1e-3).all()


def test_default_lag_rule_and_short_samples():
    assert [default_lb_lags(n) for n in (4, 9, 10, 30, 49, 50, 51, 5000)] == \
        [1, 1, 2, 6, 9, 10, 10, 10]
    Y, F = simulated(T=32, N=2, seed=3)
    Y = Y.copy()
    Y.iloc[:14, 1] = np.nan  # 18 rows: 3 lags; the other asset has 32: 6 lags
    res = FactorModel(Y, F).fit()
    got = res.diagnostics()
    assert got["lb_lags"].tolist() == [6, 3]
    assert_matches(got, expected_table(Y, F))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "x"])
def test_bad_lags_are_refused(bad):
    Y, F = simulated(T=60, N=1)
    res = FactorModel(Y, F).fit()
    with pytest.raises(InvalidInputError):
        res.diagnostics(lags=bad)


def test_lags_longer_than_an_assets_sample_name_the_asset():
    Y, F = simulated(T=60, N=2)
    Y = Y.copy()
    Y.iloc[:45, 1] = np.nan  # 15 observations
    res = FactorModel(Y, F).fit()
    assert res.diagnostics(lags=14.0)["lb_lags"].tolist() == [14, 14]  # whole floats pass
    with pytest.raises(InvalidInputError, match="A1"):
        res.diagnostics(lags=15)


def test_table_is_cached_per_lags_and_callers_cannot_spoil_it():
    Y, F = simulated(N=2)
    res = FactorModel(Y, F).fit()
    first = res.diagnostics()
    first.loc["A0", "jb_stat"] = -1.0
    again = res.diagnostics()
    assert again.loc["A0", "jb_stat"] > 0
    assert not again.equals(res.diagnostics(lags=2))
    pd.testing.assert_frame_equal(res.with_info(model="x").diagnostics(), again)


def test_results_without_regressors_say_so():
    Y, F = simulated(N=1)
    res = FactorModel(Y, F).fit()
    res._design = None
    with pytest.raises(XlFactorError, match="regressors"):
        res.diagnostics()


def test_later_edits_of_the_factor_frame_do_not_reach_the_results():
    Y, F = simulated(N=1)
    F = F.copy()
    res = FactorModel(Y, F).fit()
    want = expected_table(Y, F)
    F.iloc[:, :] = 0.0
    assert_matches(res.diagnostics(), want)


def test_statsmodels_is_loaded_only_when_diagnostics_are_asked_for():
    """Excel imports ``xlfactor.udfs`` on start-up: that must not load statsmodels, and
    neither may fitting a model or importing the diagnostics module."""
    code = (
        "import sys, xlfactor.udfs\n"
        "assert 'statsmodels' not in sys.modules, 'udfs'\n"
        "import numpy as np, pandas as pd\n"
        "from xlfactor.engine.model import FactorModel\n"
        "import xlfactor.engine.diagnostics\n"
        "rng = np.random.default_rng(0)\n"
        "F = pd.DataFrame(rng.standard_normal((50, 2)), columns=['a', 'b'])\n"
        "res = FactorModel(F.sum(axis=1) + rng.standard_normal(50), F).fit()\n"
        "assert 'statsmodels' not in sys.modules, 'fit'\n"
        "res.diagnostics()\n"
        "assert 'statsmodels' in sys.modules, 'diagnostics'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_cell_shows_statsmodels_tests_of_each_tickers_own_regression(monkeypatch):
    """FACTOR_DIAGNOSTICS through xlwings' conversion, against statsmodels' own tests run
    on a statsmodels OLS of the same aligned data (the offline sample)."""
    import statsmodels.api as sm
    from statsmodels.stats.diagnostic import acorr_ljungbox, het_breuschpagan
    from statsmodels.stats.stattools import durbin_watson, jarque_bera
    from tools.registration import excel_call

    from xlfactor import api
    from xlfactor.data.memo import forget_all

    monkeypatch.setenv("XLFACTOR_SOURCE", "sample")
    forget_all()
    args = ("NoDur, Utils", "FF3", "1990-01-01", "2010-12-31", "M")
    table = excel_call("FACTOR_DIAGNOSTICS", *args, 6.0)
    assert table[0][:3] == ["Ticker", "Jarque-Bera", "JB p"]
    assert [row[0] for row in table[1:]] == ["NODUR", "UTILS"]
    sample, _, _ = api.build_sample(*args)
    for row in table[1:]:
        data = pd.concat([sample.excess[row[0]], sample.factors], axis=1).dropna()
        X = sm.add_constant(data[list(sample.factors.columns)])
        fit = sm.OLS(data[row[0]], X).fit()
        jb, jb_p, skew, kurt = jarque_bera(fit.resid)
        bp, bp_p, _, _ = het_breuschpagan(fit.resid, X)
        lb = acorr_ljungbox(fit.resid, lags=[6])
        expected = [jb, jb_p, skew, kurt, bp, bp_p, lb["lb_stat"].iloc[0],
                    lb["lb_pvalue"].iloc[0], 6, durbin_watson(fit.resid)]
        np.testing.assert_allclose(row[1:], expected, rtol=1e-9)
    forget_all()

"""Newey-West as Stata computes it: ``newey g_realinv g_realgdp L.realint, lag(4)``.

The reference numbers are Stata's own output for that command on statsmodels' macrodata,
as statsmodels ships them in its test results
(``statsmodels/regression/tests/results/results_macro_ols_robust.py``, ``results_newey4``).
xlfactor's HAC without the option equals statsmodels' and R's ``sandwich::NeweyWest(...,
prewhite=FALSE, adjust=FALSE)``; with ``small_sample=True`` it equals Stata.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.datasets import macrodata
from statsmodels.regression.tests.results import results_macro_ols_robust as stata

import xlfactor
from xlfactor.excel import udfs


@pytest.fixture(scope="module")
def macro():
    d = macrodata.load_pandas().data
    g_gdp = 400 * np.diff(np.log(d["realgdp"].to_numpy()))
    g_inv = 400 * np.diff(np.log(d["realinv"].to_numpy()))
    x = np.column_stack([g_gdp, d["realint"].to_numpy()[:-1]])
    return g_inv, x


def stata_table():
    # rows g_realgdp, L.realint, _cons; columns b se t pvalue ll ul df crit eform
    table = stata.results_newey4.params_table
    return table[[2, 0, 1]]  # xlfactor's order: constant first


def test_small_sample_hac_equals_stata(macro):
    y, x = macro
    res = xlfactor.regress(y, x, ["g_realgdp", "L.realint"], se="HAC", lags=4,
                           small_sample=True)
    table = stata_table()
    row = res.params.index[0]
    np.testing.assert_allclose(res.params.loc[row].to_numpy(), table[:, 0], rtol=1e-12)
    np.testing.assert_allclose(res.std_errors.loc[row].to_numpy(), table[:, 1], rtol=1e-12)
    np.testing.assert_allclose(res.tstats.loc[row].to_numpy(), table[:, 2], rtol=1e-12)
    np.testing.assert_allclose(res.pvalues.loc[row].to_numpy(), table[:, 3], rtol=1e-9)
    np.testing.assert_allclose(res.ci_lower.loc[row].to_numpy(), table[:, 4], rtol=1e-12)
    np.testing.assert_allclose(res.ci_upper.loc[row].to_numpy(), table[:, 5], rtol=1e-12)
    assert int(res.nobs[row]) == stata.results_newey4.N == 202


def test_without_the_option_it_is_statsmodels_and_stata_over_its_factor(macro):
    y, x = macro
    res = xlfactor.regress(y, x, se="HAC", lags=4)
    row = res.params.index[0]
    n, k = 202, 3
    np.testing.assert_allclose(res.std_errors.loc[row].to_numpy() * np.sqrt(n / (n - k)),
                               stata_table()[:, 1], rtol=1e-13)
    ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    np.testing.assert_allclose(res.std_errors.loc[row].to_numpy(), ref.bse, rtol=1e-12)


def test_every_interface_offers_it(macro):
    y, x = macro
    rows = [[v] for v in y]
    xs = [list(r) for r in x]
    table = udfs.FACTOR_REGRESS(rows, xs, None, "HAC", 4, True, True)
    se = {r[0]: r[2] for r in table[1:4]}
    np.testing.assert_allclose([se["alpha"], se["x1"], se["x2"]], stata_table()[:, 1],
                               rtol=1e-12)
    assert any("Stata" in str(r[1]) for r in table if r and r[0] == "Std. errors")


def test_the_cli_flag(shared_data, capsys):
    from xlfactor import cli

    args = ["betas", "AAPL", "--price-dir",
            str(shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"),
            "--french-dir", str(shared_data / "kenneth_french" / "vintage_202510" / "zip"),
            "--start", "2021-01-01", "--end", "2021-12-31", "--se", "HAC", "--lags", "4",
            "--quiet"]
    assert cli.main([*args, "--format", "csv"]) == 0
    plain = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert cli.main([*args, "--format", "csv", "--small-sample"]) == 0
    small = pd.read_csv(io.StringIO(capsys.readouterr().out))
    n, k = int(plain["nobs"].iloc[0]), len(plain)
    np.testing.assert_allclose(small["std_error"], plain["std_error"] * np.sqrt(n / (n - k)),
                               rtol=1e-12)

"""Rolling windows on ill-conditioned designs: accurate, or refused naming the window.

The oracle for each window is :func:`mp_oracle.mp_regression` (50-digit normal equations)
on that window's rows; on well-conditioned real data it is statsmodels' RollingOLS
(tests/test_core.py). A window solved by normal equations may carry an error of about
cond^2 x eps (the engine takes that path up to cond 1e3, i.e. about 1e-11); any other window
is refitted by QR and must be within a small multiple of cond x eps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.rolling import RollingOLS
from mp_oracle import mp_regression, scaled_condition

from xlfactor.domain.errors import CollinearityError, InvalidInputError
from xlfactor.engine.ols import MAX_CONDITION
from xlfactor.engine.rolling import rolling_ols

EPS = np.finfo(float).eps
FLOOR = 1e-10  # the normal-equation windows' bound: (1e3)^2 x eps with room


def drifting_design(T: int, seed: int, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """[1, x1, x1 + d_t u] with d_t falling from 1 to 1e-9: windows from cond ~4 to ~1e9."""
    rng = np.random.default_rng(seed)
    x1, u = rng.normal(size=T), rng.normal(size=T)
    d = 10.0 ** np.linspace(0.0, -9.0, T)
    if reverse:
        d = d[::-1]
    X = np.column_stack([np.ones(T), x1, x1 + d * u])
    y = 0.01 + 0.8 * x1 + 0.3 * X[:, 2] + rng.standard_t(5, size=T) * 0.5 * (1 + np.abs(x1))
    return y, X


def assert_window_matches(out: dict, i: int, y: np.ndarray, X: np.ndarray, rows: slice) -> float:
    kappa = scaled_condition(X[rows])
    b, se, _ = mp_regression(y[rows], X[rows], "classical", False)
    tol = max(3 * kappa * EPS, FLOOR)
    got_se = out["std_errors"][i, 0]
    assert np.all(np.isfinite(got_se)) and np.all(got_se > 0), (rows, got_se)
    se_err = np.max(np.abs(got_se / se - 1.0))
    assert se_err <= tol, f"rows {rows}, condition {kappa:.1e}: SE relative error {se_err:.1e}"
    b_err = np.max(np.abs(out["params"][i, 0] - b) / se)
    assert b_err <= max(5 * kappa * EPS, FLOOR), \
        f"rows {rows}, condition {kappa:.1e}: coefficient error {b_err:.1e} SEs"
    return kappa


@pytest.mark.parametrize("seed", (1, 2))
def test_rolling_windows_across_condition_numbers_match_50_digit_arithmetic(seed):
    y, X = drifting_design(400, seed)
    out = rolling_ols(y, X, 60)
    kappas = [assert_window_matches(out, end - 59, y, X, slice(end - 59, end + 1))
              for end in range(59, 400, 17)]
    assert min(kappas) < 10 and 1e8 < max(kappas) < MAX_CONDITION  # the sweep covered it


def test_expanding_windows_that_start_ill_conditioned():
    y, X = drifting_design(200, seed=3, reverse=True)
    out = rolling_ols(y, X, None, min_nobs=30)
    kappas = [assert_window_matches(out, end - 29, y, X, slice(0, end + 1))
              for end in (29, 40, 80, 199)]
    assert max(kappas) > 1e6


def test_well_conditioned_windows_still_match_statsmodels():
    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(500), rng.normal(0.0005, 0.01, size=(500, 3))])
    Y = X @ rng.normal(size=(4, 3)) + rng.standard_t(5, size=(500, 3)) * 0.01 + 0.02
    out = rolling_ols(Y, X, 120)
    for j in range(3):
        ref = RollingOLS(Y[:, j], X, window=120).fit()
        np.testing.assert_allclose(out["params"][:, j], ref.params[119:], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(out["std_errors"][:, j], ref.bse[119:], rtol=1e-10)
        np.testing.assert_allclose(out["rsquared"][:, j], ref.rsquared[119:], rtol=1e-10)


@pytest.mark.parametrize("cov", ["classical", "HC1", "HAC"])
def test_a_collinear_window_is_refused_by_name(cov):
    days = pd.bdate_range("2020-01-01", periods=200)
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=200), rng.normal(size=200)
    x2[100:160] = 2.0 * x1[100:160]  # collinear over 60 days: the windows inside them
    X = np.column_stack([np.ones(200), x1, x2])
    y = X @ [0.0, 1.0, 0.5] + rng.normal(size=200)
    named = r"regressors in the window 2020-05-20 to 2020-08-11 are perfectly collinear"
    with pytest.raises(CollinearityError, match=named):
        rolling_ols(y, X, 60, cov_type=cov, labels=days)
    X[100:160, 2] = 0.0  # a factor that is zero over a whole window
    zero = "identically zero in the window of rows 101 to 160"
    with pytest.raises(CollinearityError, match=zero):
        rolling_ols(y, X, 60, cov_type=cov)


def test_nearly_collinear_window_beyond_the_limit_names_its_condition_number():
    y, X = drifting_design(300, seed=4)
    X[:, 2] = X[:, 1] + 10.0 ** np.linspace(0.0, -12.0, 300) * (X[:, 2] - X[:, 1])
    with pytest.raises(CollinearityError, match=r"regressors in the window of rows \d+ to "
                                                r"\d+ are nearly collinear \(condition number"):
        rolling_ols(y, X, 60)


@pytest.mark.parametrize("cov", ["classical", "HAC"])
def test_a_missing_value_is_refused_not_spread_through_every_window(cov):
    y, X = drifting_design(100, seed=5)
    y[40] = np.nan
    with pytest.raises(InvalidInputError, match="missing or non-finite"):
        rolling_ols(y, X, 30, cov_type=cov)

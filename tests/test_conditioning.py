"""Standard errors of ill-conditioned designs against 50-digit arithmetic.

The oracle here is :mod:`mpmath`: every covariance is computed from its textbook definition,
(X'X)^-1 X' Omega X (X'X)^-1 with the normal equations solved at 50 significant digits, so
the 20 digits a condition number of 1e10 costs in X'X still leave 30. The engine works in
doubles and in the QR basis; its error must stay within a small multiple of cond x eps,
the accuracy the data themselves allow. The design is the issue's repro: n = 60, a
constant, x1 and x2 = x1 + a little noise, the noise scaled to reach each condition number.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import xlfactor
from xlfactor import udfs
from xlfactor.domain.errors import CollinearityError
from xlfactor.engine.ols import MAX_CONDITION, ols

EPS = np.finfo(float).eps
CONDITIONS = (1e2, 1e4, 1e6, 1e8, 5e9)
SE_TYPES = (("classical", False), ("HC0", False), ("HC1", False), ("HC2", False),
            ("HC3", False), ("HAC", False), ("HAC", True), ("HC0", True))
HAC_LAGS = 3


def scaled_condition(X: np.ndarray) -> float:
    """2-norm condition number of X with unit-length columns (numpy's SVD, not the engine)."""
    sv = np.linalg.svd(X / np.linalg.norm(X, axis=0), compute_uv=False)
    return float(sv[0] / sv[-1])


def near_collinear(condition: float, seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """y and [1, x1, x2] with x2 = x1 + d u, d tuned so the scaled condition is ``condition``;
    heteroskedastic, heavy-tailed errors so that the robust estimators differ."""
    rng = np.random.default_rng(seed)
    x1, u = rng.normal(size=n), rng.normal(size=n)
    d = 2.0 / condition
    for _ in range(4):  # the condition number is close to proportional to 1 / d
        d *= scaled_condition(np.column_stack([np.ones(n), x1, x1 + d * u])) / condition
    X = np.column_stack([np.ones(n), x1, x1 + d * u])
    noise = rng.standard_t(5, size=n) * 0.5 * (1.0 + np.abs(x1))
    return 0.01 + 0.8 * x1 + 0.3 * X[:, 2] + noise, X


def mp_regression(y: np.ndarray, X: np.ndarray, se: str, small_sample: bool,
                  lags: int = HAC_LAGS) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, standard errors and the slopes' F (Wald for robust types), from the
    definitions at 50 digits. The doubles in y and X convert to mpmath exactly."""
    with mp.workdps(50):
        T, k = X.shape
        Xm, ym = mp.matrix(X.tolist()), mp.matrix(y.tolist())
        XtX_inv = mp.inverse(Xm.T * Xm)
        b = XtX_inv * (Xm.T * ym)
        e = ym - Xm * b
        rows = [Xm[t, :] for t in range(T)]
        s2 = sum(e[t] ** 2 for t in range(T)) / (T - k)
        if se == "classical":
            V = XtX_inv * s2
        else:
            meat = mp.zeros(k, k)
            if se == "HAC":  # Newey-West, Bartlett weights 1 - j / (L + 1)
                for j in range(lags + 1):
                    w = 1 - mp.mpf(j) / (lags + 1)
                    for t in range(j, T):
                        g = rows[t].T * rows[t - j] * (e[t] * e[t - j])
                        meat += w * (g if j == 0 else g + g.T)
            else:
                for t in range(T):
                    h = (rows[t] * XtX_inv * rows[t].T)[0]
                    w = e[t] ** 2 / {"HC2": 1 - h, "HC3": (1 - h) ** 2}.get(se, 1)
                    meat += rows[t].T * rows[t] * w
            if se == "HC1" or (small_sample and se in ("HC0", "HAC")):
                meat *= mp.mpf(T) / (T - k)
            V = XtX_inv * meat * XtX_inv
        slopes = mp.matrix([b[i] for i in range(1, k)])
        V_ss = mp.matrix([[V[i, j] for j in range(1, k)] for i in range(1, k)])
        if se == "classical":
            fitted = Xm * b
            mean = sum(ym) / T
            ess = sum((fitted[t] - mean) ** 2 for t in range(T))
            F = ess / (k - 1) / s2
        else:
            F = (slopes.T * mp.inverse(V_ss) * slopes)[0] / (k - 1)
        return (np.array([float(b[i]) for i in range(k)]),
                np.array([float(mp.sqrt(V[i, i])) for i in range(k)]), float(F))


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("seed", (0, 1, 2))
def test_every_standard_error_is_accurate_to_cond_times_eps(condition, seed):
    y, X = near_collinear(condition, seed)
    kappa = scaled_condition(X)
    assert condition / 2 < kappa < condition * 2
    for se, small in SE_TYPES:
        lags = HAC_LAGS if se == "HAC" else None
        b_ref, se_ref, f_ref = mp_regression(y, X, se, small)
        res = xlfactor.regress(y, X[:, 1:], se=se, lags=lags, small_sample=small)
        got_se = res.std_errors.to_numpy()[0]
        what = f"{se}{' small-sample' if small else ''}, condition {kappa:.1e}"
        assert np.all(np.isfinite(got_se)) and np.all(got_se > 0), what
        # Measured worst cases: 0.6 cond eps (SE), 1.2 (coefficients in SE units), 1 (F).
        se_err = np.max(np.abs(got_se / se_ref - 1.0))
        assert se_err <= 3 * kappa * EPS, f"{what}: SE relative error {se_err:.1e}"
        b_err = np.max(np.abs(res.params.to_numpy()[0] - b_ref) / se_ref)
        assert b_err <= 5 * kappa * EPS, f"{what}: coefficient error {b_err:.1e} SEs"
        f_err = abs(res.fstat.iloc[0] / f_ref - 1.0)
        assert f_err <= 5 * kappa * EPS, f"{what}: F relative error {f_err:.1e}"


def test_the_covariance_matrix_is_the_sandwich_in_every_entry():
    y, X = near_collinear(1e7, seed=4)
    with mp.workdps(50):
        Xm, ym = mp.matrix(X.tolist()), mp.matrix(y.tolist())
        XtX_inv = mp.inverse(Xm.T * Xm)
        e = ym - Xm * (XtX_inv * (Xm.T * ym))
        meat = mp.zeros(3, 3)
        for t in range(len(y)):
            meat += Xm[t, :].T * Xm[t, :] * e[t] ** 2
        V = XtX_inv * meat * XtX_inv
        ref = np.array([[float(V[i, j]) for j in range(3)] for i in range(3)])
    cov = ols(y, X, "HC0").cov[0]
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))  # covariances relative to SE x SE
    assert np.max(np.abs(cov - ref) / scale) <= 3 * scaled_condition(X) * EPS
    assert np.array_equal(cov, cov.T)


def test_beyond_the_limit_the_design_is_refused_with_its_condition_number():
    y, X = near_collinear(5 * MAX_CONDITION, seed=0)
    for se in ("classical", "HC0", "HAC"):
        with pytest.raises(CollinearityError, match=r"nearly collinear \(condition number 5"):
            xlfactor.regress(y, X[:, 1:], se=se)
    text = udfs.FACTOR_REGRESS(y[:, None].tolist(), X[:, 1:].tolist(), None, "HC0")
    assert text[0][0].startswith("#NUM! the regressors are nearly collinear"), text


def test_a_singular_meat_gives_zero_not_nan_or_negative_variances():
    """A perfect fit: every residual zero, the meat exactly singular (Cholesky fails)."""
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 5, size=(30, 2)).astype(float)
    X = np.column_stack([np.ones(30), x])
    y = X @ [1.0, 2.0, -1.0]
    for se in ("HC0", "HC3", "HAC"):
        res = ols(y, X, se)
        assert np.all(np.isfinite(res.std_errors)) and np.all(res.std_errors >= 0), se
        assert np.all(res.std_errors <= 1e-12), se

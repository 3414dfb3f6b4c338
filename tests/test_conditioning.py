"""Standard errors of ill-conditioned designs against 50-digit arithmetic.

The oracle is :mod:`mp_oracle` (mpmath, every covariance from its definition). The engine
works in doubles and in the QR basis; its error must stay within a small multiple of
cond x eps, the accuracy the data themselves allow. The design is the issue's repro: n = 60, a
constant, x1 and x2 = x1 + a little noise, the noise scaled to reach each condition number.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from mp_oracle import HAC_LAGS, mp_regression, near_collinear, scaled_condition

import xlfactor
from xlfactor import udfs
from xlfactor.domain.errors import CollinearityError, InvalidInputError
from xlfactor.engine.ols import MAX_CONDITION, ols

EPS = np.finfo(float).eps
CONDITIONS = (1e2, 1e4, 1e6, 1e8, 5e9)
SE_TYPES = (("classical", False), ("HC0", False), ("HC1", False), ("HC2", False),
            ("HC3", False), ("HAC", False), ("HAC", True), ("HC0", True))


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


def test_a_perfect_fit_gives_zero_standard_errors_not_nan():
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 5, size=(30, 2)).astype(float)
    X = np.column_stack([np.ones(30), x])
    y = X @ [1.0, 2.0, -1.0]
    for se in ("HC0", "HC3", "HAC"):
        res = ols(y, X, se)
        assert np.all(np.isfinite(res.std_errors)) and np.all(res.std_errors >= 0), se
        assert np.all(res.std_errors <= 1e-12), se


@pytest.mark.parametrize("rank", [0, 1, 2])
def test_a_singular_meat_gives_the_sandwich_with_no_negative_variance(rank):
    """A meat Cholesky cannot factor (rank below k, as when fewer residuals than
    coefficients are non-zero): the eigenvalue factor, against R^-1 M R^-T at 50 digits."""
    from xlfactor.engine.ols import _sandwich

    rng = np.random.default_rng(rank)
    R_inv = np.linalg.inv(np.triu(rng.normal(size=(3, 3))) + 3 * np.eye(3))
    G = rng.normal(size=(3, rank))
    meat = np.stack([G @ G.T, 1e-3 * (G @ G.T)])  # two assets, both singular
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(meat)
    cov = _sandwich(R_inv, meat)
    assert np.all(np.isfinite(cov)) and np.all(np.diagonal(cov, axis1=1, axis2=2) >= 0)
    with mp.workdps(50):
        A = mp.matrix(R_inv.tolist())
        for n in range(2):
            V = A * mp.matrix(meat[n].tolist()) * A.T
            ref = np.array([[float(V[i, j]) for j in range(3)] for i in range(3)])
            scale = max(float(np.max(np.abs(ref))), 1e-300)
            assert np.max(np.abs(cov[n] - ref)) <= 1e-12 * scale


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_returns_too_large_to_square_are_named_not_called_constant():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    with pytest.raises(InvalidInputError, match="too large to square"):
        xlfactor.regress(rng.normal(size=40) * 1e200, X, se="HC0")

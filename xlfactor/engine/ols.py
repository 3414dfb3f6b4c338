"""Batched ordinary least squares: many assets, one regressor matrix, full inference.

Every asset ``n`` is regressed on the same design ``X`` (``T x k``, first column the
constant). Estimation uses a thin QR decomposition of ``X`` computed once; all per-asset
work is matrix products over the ``T x N`` response block, so 500 assets cost little more
than one.

Covariance estimators (``cov_type``), matching statsmodels' ``OLS.fit`` conventions:

``"classical"``  s^2 (X'X)^-1 with s^2 = SSR / (T - k)
``"HC0"``        White: (X'X)^-1 X' diag(e^2) X (X'X)^-1
``"HC1"``        HC0 * T / (T - k)
``"HC2"``        e^2 / (1 - h) weights, h the leverage
``"HC3"``        e^2 / (1 - h)^2 weights
``"HAC"``        Newey-West with Bartlett weights 1 - j / (L + 1), j = 1..L, no small-sample
                 correction unless ``small_sample`` (Stata's T / (T - k));
                 L defaults to floor(4 (T / 100)^(2/9)).

Every covariance is formed in the basis of the QR decomposition ``X = QR``: the sandwich
(X'X)^-1 X'ΩX (X'X)^-1 equals R^-1 (Q'ΩQ) R^-T, and the classical one s^2 R^-1 R^-T. The
meat Q'ΩQ involves only the orthonormal Q, so nothing is squared before the last step;
the raw-basis product loses digits as cond(X)^2 (at a column-scaled condition number of
1e8 a third of an HC0 standard error is rounding). The last step goes through a Cholesky
(or, for a singular meat, an eigenvalue) factor L of the meat, V = (R^-1 L)(R^-1 L)', so
every variance is a sum of squares: never negative, never NaN. Relative errors are then
about cond(X) times the unit roundoff, and designs whose column-scaled condition number
exceeds :data:`MAX_CONDITION` are refused with :class:`CollinearityError`.

Coefficient inference uses Student t with T - k degrees of freedom or the normal
distribution; the default (``use_t=None``) follows statsmodels: t for classical standard
errors, normal for the robust ones. The F statistic tests that all slopes are
zero: the classical ratio of mean squares, or a Wald F built from the robust covariance.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from xlfactor.domain.errors import CollinearityError, InsufficientDataError, InvalidInputError
from xlfactor.domain.options import (  # noqa: F401 - COV_TYPES: the engine's vocabulary too
    COV_TYPES,
    canonical_cov_type,
    check_lag_count,
)

#: Largest condition number of the design, its columns scaled to unit length, that is
#: accepted. Standard errors and coefficients (relative to their standard errors) computed
#: in the QR basis carry relative errors of about cond x 2.2e-16 (measured against 50-digit
#: arithmetic, tests/test_conditioning.py): at this limit a few parts in a million, so every
#: reported figure keeps five significant digits. A design beyond it is (numerically)
#: collinear: a regressor is almost a combination of the others and the data cannot tell
#: their coefficients apart.
MAX_CONDITION = 1e10


def check_lags(lags: float | None, nobs: int) -> int:
    """HAC lags for a sample of ``nobs``: the user's count (checked against the sample) or,
    for ``None``, the default rule :func:`default_hac_lags`."""
    if lags is None:
        return default_hac_lags(nobs)
    lags = check_lag_count(lags)
    if lags >= nobs:
        raise InvalidInputError(f"HAC lags ({lags}) must be smaller than the sample ({nobs})")
    return lags


def default_hac_lags(nobs: int) -> int:
    """Newey-West default lag length floor(4 (T/100)^(2/9))."""
    return math.floor(4.0 * (nobs / 100.0) ** (2.0 / 9.0))


@dataclass(frozen=True)
class OLSArrays:
    """Raw estimates for ``N`` assets and ``k`` coefficients (alpha first).

    Arrays are shaped ``(N, k)`` for coefficient statistics, ``(N, k, k)`` for ``cov`` and
    ``(N,)`` for per-asset scalars. ``resid`` is ``(T, N)``.
    """

    params: np.ndarray
    cov: np.ndarray
    std_errors: np.ndarray
    tstats: np.ndarray
    pvalues: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    rsquared: np.ndarray
    rsquared_adj: np.ndarray
    fstat: np.ndarray
    f_pvalue: np.ndarray
    ssr: np.ndarray
    resid_std: np.ndarray
    durbin_watson: np.ndarray
    loglik: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    resid: np.ndarray
    nobs: int
    df_resid: int
    cov_type: str
    lags: int | None
    use_t: bool
    conf_level: float
    tss: np.ndarray | None = None  # centred sum of squares of each response


def scaled_condition(R: np.ndarray, norms: np.ndarray) -> float:
    """Condition number of the design with its columns scaled to unit length, from its R
    factor: scale-free, so a constant next to returns in decimals is not "ill-conditioned"."""
    sv = np.linalg.svd(R / norms, compute_uv=False)
    return math.inf if sv[-1] == 0.0 else float(sv[0] / sv[-1])


#: Above this condition number a design is collinear to machine precision: its columns
#: are exact combinations of each other up to the rounding of the data themselves.
EXACTLY_COLLINEAR = 1e14


def collinearity_message(condition: float, where: str = "") -> str:
    """Why a design is refused, with its condition number and the limit when it is only
    nearly collinear."""
    if condition >= EXACTLY_COLLINEAR:
        how = "perfectly collinear"
    else:
        how = (f"nearly collinear (condition number {condition:.2g} with columns scaled to "
               f"unit length, above the limit {MAX_CONDITION:.0e} within which standard "
               "errors keep five significant digits)")
    return (f"the regressors{where} are {how}: a factor repeats, is constant, or is "
            "(almost) a combination of the others")


def _decompose(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin QR of X, R^-1 and (X'X)^-1 = R^-1 R^-T; raise on (numerical) collinearity."""
    Q, R = np.linalg.qr(X)
    norms = np.linalg.norm(X, axis=0)
    if np.any(norms == 0.0):
        raise CollinearityError("a regressor is identically zero")
    condition = scaled_condition(R, norms)
    if condition > MAX_CONDITION:
        raise CollinearityError(collinearity_message(condition))
    # numpy only: mixing scipy's and numpy's BLAS builds makes their idle threads spin
    # against each other and slows every later product several-fold.
    R_inv = np.linalg.inv(R)
    return Q, R_inv, R_inv @ R_inv.T


def _meat_hc(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum_t w[t, n] x_t x_t' for every asset n, as one GEMM: (N, k, k). ``X`` is the
    basis the meat is wanted in (the engine passes Q)."""
    T, k = X.shape
    outer = (X[:, :, None] * X[:, None, :]).reshape(T, k * k)
    return (weights.T @ outer).reshape(-1, k, k)


def _meat_hac(X: np.ndarray, E: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West long-run covariance of the scores x_t e_t, Bartlett weights, (N, k, k),
    in the basis of ``X``'s columns (the engine passes Q).

    S = sum_j w_j (G_j + G_j'), G_j = sum_t e_t e_(t-j) x_t x_(t-j)' (w_0 = 1/2). Only the
    symmetric part of each x_t x_(t-j)' matters: its k(k+1)/2 distinct entries meet the
    lag-j residual products in one GEMM per lag, the products written into one reused
    buffer (a fresh T x N array per lag costs more in page faults than the arithmetic).
    """
    T, k = X.shape
    rows, cols = np.triu_indices(k)
    acc = np.zeros((len(rows), E.shape[1]))
    buffer = np.empty_like(E)
    for j in range(lags + 1):
        w = 1.0 if j == 0 else 1.0 - j / (lags + 1.0)
        a, b = X[j:], X[:T - j]
        sym = a[:, rows] * b[:, cols]
        if j:  # the symmetric part of x_t x_(t-j)', doubled: G_j + G_j'
            sym += a[:, cols] * b[:, rows]
        sym *= w
        acc += sym.T @ np.multiply(E[j:], E[:T - j], out=buffer[:T - j])
    S = np.empty((E.shape[1], k, k))
    S[:, rows, cols] = acc.T
    S[:, cols, rows] = acc.T
    return S


def _meat(Q: np.ndarray, E: np.ndarray, cov_type: str, lags: int | None,
          small_sample: bool) -> np.ndarray:
    """Q' Omega Q for every asset, (N, k, k): the robust meat in the orthonormal basis."""
    T, k = Q.shape
    if cov_type == "HAC":
        meat = _meat_hac(Q, E, lags or 0)
        if small_sample:  # Stata's newey: the n / (n - k) factor
            meat *= T / (T - k)
        return meat
    w = E * E
    if cov_type in ("HC2", "HC3"):
        leverage = np.einsum("tk,tk->t", Q, Q)
        if leverage.max() > 1.0 - 1e-10:
            raise InsufficientDataError(
                f"{cov_type} standard errors are undefined: an observation has leverage 1 "
                "(it alone determines a coefficient); use HC0, HC1 or HAC"
            )
        power = 1.0 if cov_type == "HC2" else 2.0
        w = w / (1.0 - leverage)[:, None] ** power
    meat = _meat_hc(Q, w)
    if cov_type == "HC1" or (cov_type == "HC0" and small_sample):
        meat *= T / (T - k)
    return meat


def _meat_factor(meat: np.ndarray) -> np.ndarray:
    """L with L L' = meat for every asset: Cholesky, or for a meat that is singular in
    floating point (a perfect fit, fewer non-zero residuals than coefficients) the
    eigenvalue factor with rounding-negative eigenvalues set to zero."""
    try:
        return np.linalg.cholesky(meat)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(meat)
        return vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]


def _sandwich(R_inv: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """R^-1 meat R^-T as (R^-1 L)(R^-1 L)': every variance a sum of squares."""
    B = np.matmul(R_inv, _meat_factor(meat))
    return B @ B.transpose(0, 2, 1)


def _wald_f(QtY: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """Wald F that all slopes are zero, per asset, in the QR basis.

    With R upper triangular the slope rows of R^-1 are (0, R_ss^-1), so V_ss =
    R_ss^-1 M_ss R_ss^-T and b_s' V_ss^-1 b_s = c' M_ss^-1 c with c = R_ss b_s, the
    slope rows of Q'y. Only the meat is inverted, never the ill-conditioned V_ss.
    """
    c = QtY[1:].T  # (N, q)
    M = meat[:, 1:, 1:]
    q = c.shape[1]
    with np.errstate(all="ignore"):
        try:
            sol = np.linalg.solve(M, c[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            sol = np.einsum("nij,nj->ni", np.linalg.pinv(M), c)
        return np.einsum("ni,ni->n", c, sol) / q


def _total_sum_squares(Y: np.ndarray, Q: np.ndarray, QtY: np.ndarray, ssr: np.ndarray
                       ) -> np.ndarray:
    """Centred total sum of squares without another pass over ``Y``.

    The design holds a constant, so y - y_hat is orthogonal to it and
    TSS = SSR + ||P y||^2 - T mean^2, where ||P y|| = ||Q'y|| and 1'y = (Q'1)'(Q'y) come
    from the (k x N) projection already computed. Columns whose mean dominates their
    explained part (price levels, constants) would lose digits to the subtraction: those
    are centred explicitly, on differences from their first value, which makes a constant
    column's TSS exactly zero.
    """
    T = Q.shape[0]
    sums = Q.sum(axis=0) @ QtY  # 1'y per column
    explained = np.einsum("kn,kn->n", QtY, QtY)
    shift = sums * sums / T
    tss = ssr + (explained - shift)
    risky = shift > 0.5 * explained
    if risky.any():
        # Differences from the first row are exact for a constant column (all zero), so
        # its TSS is exactly zero whatever binary rounding its value suffers.
        shifted = Y[:, risky] - Y[:1, risky]
        centered = shifted - shifted.mean(axis=0)
        tss[risky] = np.einsum("tn,tn->n", centered, centered)
    return tss


#: Above this many response values (T x N) a regression runs its BLAS calls on one
#: thread: for these shapes (k around 6, N in the hundreds) OpenBLAS's second thread
#: costs more in hand-offs than it computes (500 x 2,520 x FF5 with HAC(8): 47 ms on two
#: threads, 32 ms on one, measured on a 2-core machine).
ONE_THREAD_ABOVE = 200_000


@functools.cache
def _blas_threads() -> Any:
    """threadpoolctl's controller, built once (inspecting the loaded libraries takes ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _single_blas_thread(size: int) -> contextlib.AbstractContextManager:
    if size < ONE_THREAD_ABOVE:
        return contextlib.nullcontext()
    try:
        return _blas_threads().limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - no controllable BLAS: run as it is
        return contextlib.nullcontext()


def ols(
    Y: np.ndarray,
    X: np.ndarray,
    cov_type: str = "classical",
    lags: int | None = None,
    *,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    small_sample: bool = False,
    check_finite: bool = True,
) -> OLSArrays:
    """Regress every column of ``Y`` on ``X``.

    Parameters
    ----------
    Y : ndarray, shape (T,) or (T, N)
        Responses, e.g. excess returns in decimals per period. No missing values.
    X : ndarray, shape (T, k)
        Regressors, the constant first. No missing values.
    cov_type : str
        One of :data:`COV_TYPES` (aliases accepted, see :func:`canonical_cov_type`).
    lags : int, optional
        HAC lag length; ``None`` uses :func:`default_hac_lags`. Ignored otherwise.
    use_t : bool, optional
        Student t with T - k degrees of freedom for t-stats and intervals; else normal.
        ``None``: t for classical standard errors, normal for robust ones (statsmodels'
        convention). The F statistic always uses F(k - 1, T - k).
    conf_level : float
        Confidence level of ``ci_lower``/``ci_upper``.
    small_sample : bool
        Stata's small-sample convention for robust standard errors: HAC and HC0
        covariances are multiplied by T / (T - k) (HC1 always is; HC2 and HC3 are not),
        and inference uses t with T - k degrees of freedom unless ``use_t`` says
        otherwise. ``newey y x, lag(L)`` in Stata equals ``HAC`` with ``lags=L`` and this.
    check_finite : bool
        Refuse missing or non-finite values (callers that checked already pass False).
    """
    Y = np.asarray(Y, dtype=float)
    with _single_blas_thread(Y.size):
        return _ols(Y, X, cov_type, lags, use_t, conf_level, small_sample, check_finite)


def _ols(Y: np.ndarray, X: np.ndarray, cov_type: str, lags: int | None, use_t: bool | None,
         conf_level: float, small_sample: bool, check_finite: bool) -> OLSArrays:
    if Y.ndim == 1:
        Y = Y[:, None]
    X = np.asarray(X, dtype=float)
    T, k = X.shape
    if Y.shape[0] != T:
        raise InvalidInputError(f"y has {Y.shape[0]} rows but X has {T}")
    if check_finite and not (np.isfinite(Y).all() and np.isfinite(X).all()):
        raise InvalidInputError("missing or non-finite values in the regression data")
    if T < k + 2:
        raise InsufficientDataError(
            f"{T} observations for {k} coefficients: need at least {k + 2}"
        )
    if not 0.0 < conf_level < 1.0:
        raise InvalidInputError(f"confidence level must be between 0 and 1, got {conf_level}")
    cov_type = canonical_cov_type(cov_type)
    lags = check_lags(lags, T) if cov_type == "HAC" else None
    if use_t is None:
        use_t = cov_type == "classical" or small_sample

    Q, R_inv, XtX_inv = _decompose(X)
    # R^-1 (Q'Y): LAPACK's triangular solve with hundreds of right-hand sides is far
    # slower here than one k x k inverse applied by GEMM, at no cost in accuracy that
    # the Longley certified values can detect.
    QtY = Q.T @ Y  # (k, N)
    B = R_inv @ QtY
    # Fitted values in Y's memory layout (pandas hands over column-major blocks), so the
    # in-place subtraction streams instead of striding; no second T x N temporary.
    # From Q, not X B: orthonormal columns add no error that grows with the conditioning.
    E = (QtY.T @ Q.T).T if Y.flags.f_contiguous and not Y.flags.c_contiguous else Q @ QtY
    np.subtract(Y, E, out=E)
    df_resid = T - k
    ssr = np.einsum("tn,tn->n", E, E)
    tss = _total_sum_squares(Y, Q, QtY, ssr)
    s2 = ssr / df_resid

    if cov_type == "classical":
        cov, meat = s2[:, None, None] * XtX_inv[None], None
    else:
        meat = _meat(Q, E, cov_type, lags, small_sample)
        cov = _sandwich(R_inv, meat)
    params = B.T
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        tstats = params / se
        rsq = 1.0 - ssr / tss
        rsq_adj = 1.0 - (T - 1) / df_resid * (1.0 - rsq)
        if cov_type == "classical":
            fstat = ((tss - ssr) / (k - 1)) / s2 if k > 1 else np.full(len(ssr), np.nan)
        else:
            fstat = _wald_f(QtY, meat) if k > 1 else np.full(len(ssr), np.nan)
        # sum (e_t - e_t-1)^2 expanded: one pass over E instead of materialising diff(E)
        lag1 = np.einsum("tn,tn->n", E[1:], E[:-1])
        dw = (2.0 * ssr - E[0] ** 2 - E[-1] ** 2 - 2.0 * lag1) / ssr
        loglik = -0.5 * T * (np.log(2.0 * np.pi) + np.log(ssr / T) + 1.0)
    # scipy.special ufuncs: the same functions scipy.stats calls, without its overhead
    if use_t:
        pvalues = 2.0 * special.stdtr(df_resid, -np.abs(tstats))
        q = special.stdtrit(df_resid, 0.5 + conf_level / 2.0)
    else:
        pvalues = 2.0 * special.ndtr(-np.abs(tstats))
        q = special.ndtri(0.5 + conf_level / 2.0)
    f_p = special.fdtrc(k - 1, df_resid, fstat)
    return OLSArrays(
        params=params, cov=cov, std_errors=se, tstats=tstats, pvalues=pvalues,
        ci_lower=params - q * se, ci_upper=params + q * se,
        rsquared=rsq, rsquared_adj=rsq_adj, fstat=fstat, f_pvalue=np.asarray(f_p),
        ssr=ssr, resid_std=np.sqrt(s2), durbin_watson=dw,
        loglik=loglik, aic=-2.0 * loglik + 2.0 * k, bic=-2.0 * loglik + k * np.log(T),
        resid=E, nobs=T, df_resid=df_resid, cov_type=cov_type, lags=lags,
        use_t=use_t, conf_level=conf_level, tss=tss,
    )

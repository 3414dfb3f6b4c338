"""Gibbons-Ross-Shanken (1989) test that the alphas of N assets are jointly zero.

With T periods, N assets and K traded factors, OLS alphas ``a`` (N), residual covariance
``S = E'E / T`` and factor means ``m`` and covariance ``W = (F - m)'(F - m) / T`` (both
maximum-likelihood, divisor T):

    GRS = (T - N - K) / N * a' S^-1 a / (1 + m' W^-1 m)  ~  F(N, T - N - K)

exactly under normal, homoskedastic, serially uncorrelated errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from xlfactor.domain.errors import InsufficientDataError
from xlfactor.engine.ols import ols


@dataclass(frozen=True)
class GRSResult:
    """The statistic, its F(df_num, df_denom) reference distribution and p-value.

    ``sharpe_factors`` and ``sharpe_all`` are the squared maximum Sharpe ratios (per
    period) of the factors alone and of factors plus assets; GRS measures how much the
    assets add: (T-N-K)/N * (sharpe_all - sharpe_factors) / (1 + sharpe_factors).
    """

    statistic: float
    pvalue: float
    df_num: int
    df_denom: int
    nobs: int
    n_assets: int
    n_factors: int
    sharpe_factors: float
    sharpe_all: float


def grs_test(excess: np.ndarray, factors: np.ndarray) -> GRSResult:
    """GRS F-test on excess returns ``excess`` (T x N) and factor returns ``factors`` (T x K).

    Rows must be complete (no missing values); the factors must be traded excess returns.
    """
    Y = np.asarray(excess, dtype=float)
    F = np.asarray(factors, dtype=float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    F = F[:, None] if F.ndim == 1 else F
    T, N = Y.shape
    K = F.shape[1]
    if T - N - K < 1:
        raise InsufficientDataError(
            f"the GRS test needs more periods than assets plus factors: T={T}, N={N}, K={K}"
        )
    res = ols(Y, np.column_stack([np.ones(T), F]))
    alpha = res.params[:, 0]
    sigma = res.resid.T @ res.resid / T
    mean = F.mean(axis=0)
    centered = F - mean
    omega = centered.T @ centered / T
    quad_alpha = float(alpha @ np.linalg.solve(sigma, alpha))
    quad_mean = float(mean @ np.linalg.solve(omega, mean))
    stat = (T - N - K) / N * quad_alpha / (1.0 + quad_mean)
    pvalue = float(special.fdtrc(N, T - N - K, stat))
    return GRSResult(stat, pvalue, N, T - N - K, T, N, K, quad_mean,
                     quad_mean + quad_alpha)

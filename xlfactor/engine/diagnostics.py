"""Residual diagnostics of a factor regression, asset by asset.

Normality (Jarque-Bera), heteroskedasticity (Breusch-Pagan, against the model's own
regressors) and autocorrelation (Ljung-Box, Durbin-Watson) of each asset's residuals,
over that asset's own sample. statsmodels does the arithmetic; it is imported inside the
functions, never at module level, because Excel loads this package on start-up and
statsmodels takes a noticeable fraction of a second to import.

Conventions (see :meth:`xlfactor.engine.results.FactorResults.diagnostics`): kurtosis is
Pearson's (3 for a normal), skewness and kurtosis are the moment estimators (divisor n);
Breusch-Pagan is the LM statistic n R^2 in Koenker's studentised form (statsmodels'
default); all p-values are chi-square; Ljung-Box uses ``max(1, min(10, nobs // 5))`` lags
unless told otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError, XlFactorError
from xlfactor.domain.options import check_lag_count

if TYPE_CHECKING:
    from xlfactor.engine.results import FactorResults

#: The columns of a diagnostics table, in order.
COLUMNS = ("jb_stat", "jb_pvalue", "skew", "kurtosis", "bp_stat", "bp_pvalue",
           "lb_stat", "lb_pvalue", "lb_lags", "durbin_watson")


def default_lb_lags(nobs: int) -> int:
    """Ljung-Box lags when none are given: ``max(1, min(10, nobs // 5))``.

    ``min(10, nobs // 5)`` is statsmodels' own default for ``acorr_ljungbox``; the floor of
    one keeps very short samples (under 10 observations) testable.
    """
    return max(1, min(10, int(nobs) // 5))


def _lb_lags(lags: object, nobs: int, who: object = None) -> int:
    """Validated Ljung-Box lag count for a sample of ``nobs`` (``None``: the default rule)."""
    if lags is None:
        return default_lb_lags(nobs)
    value = check_lag_count(lags, "Ljung-Box lags")
    if value >= nobs:
        of = f" of {who!r}" if who is not None else ""
        raise InvalidInputError(
            f"Ljung-Box lags ({value}) must be smaller than the sample{of} ({nobs} observations)")
    return value


def diagnose(resid: np.ndarray, design: np.ndarray, lags: int | None = None) -> pd.DataFrame:
    """Residual diagnostics of regressions that share one sample and one design.

    Parameters
    ----------
    resid : ndarray, shape (T,) or (T, N)
        Residuals of each regression, one column per dependent variable, no missing values.
    design : ndarray, shape (T, k)
        The regressors the residuals came from, a constant column included (Breusch-Pagan
        regresses the squared residuals on it and counts k - 1 degrees of freedom).
    lags : int, optional
        Ljung-Box lags; default :func:`default_lb_lags` of T.

    Returns
    -------
    DataFrame
        N rows (positions 0..N-1), columns :data:`COLUMNS`.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox, het_breuschpagan
    from statsmodels.stats.stattools import durbin_watson, jarque_bera

    E = np.asarray(resid, dtype=float)
    if E.ndim == 1:
        E = E[:, None]
    X = np.asarray(design, dtype=float)
    T, N = E.shape
    if X.ndim != 2 or X.shape[0] != T:
        raise InvalidInputError(f"residuals have {T} rows but the design has {X.shape[0]}")
    L = _lb_lags(lags, T)
    # Jarque-Bera and Durbin-Watson take the whole block at once (axis 0)
    jb, jb_p, skew, kurt = (np.atleast_1d(v) for v in jarque_bera(E, axis=0))
    dw = np.atleast_1d(durbin_watson(E, axis=0))
    bp = np.empty(N)
    bp_p = np.empty(N)
    lb = np.empty(N)
    lb_p = np.empty(N)
    for j in range(N):
        e = E[:, j]
        bp[j], bp_p[j], _, _ = het_breuschpagan(e, X)  # robust=True: Koenker's LM
        last = acorr_ljungbox(e, lags=[L], model_df=0, return_df=True).iloc[-1]
        lb[j], lb_p[j] = last["lb_stat"], last["lb_pvalue"]
    return pd.DataFrame({
        "jb_stat": jb, "jb_pvalue": jb_p, "skew": skew, "kurtosis": kurt,
        "bp_stat": bp, "bp_pvalue": bp_p, "lb_stat": lb, "lb_pvalue": lb_p,
        "lb_lags": np.full(N, L, dtype=np.int64), "durbin_watson": dw,
    }, columns=list(COLUMNS))


def results_diagnostics(results: FactorResults, lags: int | None = None) -> pd.DataFrame:
    """Residual diagnostics of every asset of fitted ``results``, each on its own sample.

    The table :meth:`FactorResults.diagnostics <xlfactor.engine.results.FactorResults.
    diagnostics>` returns (its docstring states the conventions): one row per asset in
    results order, columns :data:`COLUMNS`. Assets observed on the same dates are
    diagnosed together, so the design is sliced once per distinct sample.
    """
    design = getattr(results, "_design", None)
    if design is None:
        raise XlFactorError("these results do not carry their regressors: residual "
                            "diagnostics need results fitted by FactorModel")
    assets = results.assets
    resid = results.resid
    factors = design()
    if not factors.index.equals(resid.index):
        raise XlFactorError("the regressors and residuals of these results are not aligned")
    E = resid[assets].to_numpy(dtype=float)
    F = factors.to_numpy(dtype=float)
    # An asset's sample is where its residual exists (the model fills NaN elsewhere).
    observed = np.isfinite(E)
    if lags is not None:  # refuse lags too long for any asset's sample, naming the asset
        for name, n in zip(assets, observed.sum(axis=0).tolist()):
            _lb_lags(lags, n, name)
    groups: dict[bytes, list[int]] = {}
    for j in range(E.shape[1]):
        groups.setdefault(np.packbits(observed[:, j]).tobytes(), []).append(j)
    parts = []
    for cols in groups.values():
        rows = observed[:, cols[0]]
        X = np.column_stack([np.ones(int(rows.sum())), F[rows]])
        block = E if len(cols) == E.shape[1] and rows.all() else E[np.ix_(rows, cols)]
        part = diagnose(block, X, lags)
        part.index = cols
        parts.append(part)
    table = parts[0] if len(parts) == 1 else pd.concat(parts).sort_index()
    table.index = pd.Index(assets, name="asset")
    return table

"""Rolling and expanding-window regressions.

Classical standard errors use updating cross-products: the window sums of ``x x'``,
``x y`` and ``y^2`` for every window come from within-block prefix and suffix sums
(blocks of the window length), so each window sum adds at most ``window`` terms — no
long cumulative sums whose differences would lose digits over decades of daily data —
and the whole pass costs O(T k^2) plus one small solve per window. Robust standard errors
(HC0-HC3, HAC) refit each window exactly with the batched engine.
"""

from __future__ import annotations

import numpy as np

from xlfactor.domain.errors import InsufficientDataError, InvalidInputError
from xlfactor.engine.ols import canonical_cov_type, ols


def window_sums(Z: np.ndarray, window: int) -> np.ndarray:
    """Sums of ``Z[i : i + window]`` along axis 0 for every full window, shape (T - w + 1, ...).

    Each sum is a within-block suffix sum plus a within-block prefix sum (van Herk /
    Gil-Werman decomposition), so rounding error does not grow with ``T``.
    """
    T = Z.shape[0]
    if not 1 <= window <= T:
        raise InvalidInputError(f"window {window} must be between 1 and {T}")
    rest = Z.shape[1:]
    n_blocks = -(-T // window)
    padded = np.zeros((n_blocks * window, *rest))
    padded[:T] = Z
    blocks = padded.reshape(n_blocks, window, *rest)
    prefix = np.cumsum(blocks, axis=1).reshape(n_blocks * window, *rest)
    suffix = np.cumsum(blocks[:, ::-1], axis=1)[:, ::-1].reshape(n_blocks * window, *rest)
    starts = np.arange(T - window + 1)
    out = suffix[starts].copy()
    tail = starts % window != 0
    out[tail] += prefix[starts[tail] + window - 1]
    return out


def _moment_sums(Y: np.ndarray, X: np.ndarray, window: int | None) -> tuple[np.ndarray, ...]:
    xx = X[:, :, None] * X[:, None, :]
    xy = X[:, :, None] * Y[:, None, :]
    parts = (xx, xy, Y * Y, Y)
    if window is None:
        return tuple(np.cumsum(p, axis=0) for p in parts)
    return tuple(window_sums(p, window) for p in parts)


def rolling_ols(
    Y: np.ndarray,
    X: np.ndarray,
    window: int | None,
    *,
    min_nobs: int | None = None,
    cov_type: str = "classical",
    lags: int | None = None,
    use_t: bool | None = None,
) -> dict[str, np.ndarray]:
    """Regress each column of ``Y`` on ``X`` over rolling (or expanding) windows.

    Parameters
    ----------
    Y : ndarray (T, N)
    X : ndarray (T, k), constant first; no missing values in either.
    window : int or None
        Window length in observations; ``None`` for expanding windows that start with
        ``min_nobs`` observations.
    min_nobs : int, optional
        Smallest expanding window (default k + 2); for rolling windows the window must
        be at least k + 2.

    Returns
    -------
    dict
        ``end`` (index of each window's last row), ``nobs`` (W,), ``params``,
        ``std_errors``, ``tstats`` (W, N, k) and ``rsquared`` (W, N).
    """
    Y = np.asarray(Y, dtype=float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    X = np.asarray(X, dtype=float)
    T, k = X.shape
    floor = k + 2
    min_nobs = max(floor, int(min_nobs or floor))
    if window is not None:
        if isinstance(window, bool) or int(window) != window:
            raise InvalidInputError(f"window must be a whole number, got {window!r}")
        window = int(window)
        if window < floor:
            raise InvalidInputError(f"window {window} is too short for {k} coefficients: use at least {floor}")
        if window > T:
            raise InsufficientDataError(f"window {window} is longer than the sample ({T} observations)")
    elif T < min_nobs:
        raise InsufficientDataError(f"{T} observations; need at least {min_nobs}")
    cov_type = canonical_cov_type(cov_type)
    if cov_type != "classical":
        return _refit_each_window(Y, X, window, min_nobs, cov_type, lags, use_t)
    return _classical(Y, X, window, min_nobs)


def _classical(Y, X, window, min_nobs) -> dict[str, np.ndarray]:
    T, k = X.shape
    sxx, sxy, syy, sy = _moment_sums(Y, X, window)
    if window is None:
        ends = np.arange(min_nobs - 1, T)
        sxx, sxy, syy, sy = (a[ends] for a in (sxx, sxy, syy, sy))
        nobs = ends + 1.0
    else:
        ends = np.arange(window - 1, T)
        nobs = np.full(len(ends), float(window))
    params = np.linalg.solve(sxx, sxy)  # (W, k, N)
    ssr = syy - np.einsum("wkn,wkn->wn", params, sxy)
    df = nobs - k
    s2 = ssr / df[:, None]
    inv_diag = np.diagonal(np.linalg.inv(sxx), axis1=1, axis2=2)  # (W, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.maximum(s2[:, :, None] * inv_diag[:, None, :], 0.0))
        tss = syy - sy * sy / nobs[:, None]
        params_t = params.transpose(0, 2, 1)
        return {
            "end": ends, "nobs": nobs, "params": params_t, "std_errors": se,
            "tstats": params_t / se, "rsquared": 1.0 - ssr / tss,
        }


def _refit_each_window(Y, X, window, min_nobs, cov_type, lags, use_t) -> dict[str, np.ndarray]:
    T, k = X.shape
    first_end = (window or min_nobs) - 1
    ends = np.arange(first_end, T)
    W, N = len(ends), Y.shape[1]
    out = {name: np.empty((W, N, k)) for name in ("params", "std_errors", "tstats")}
    rsq = np.empty((W, N))
    for i, end in enumerate(ends):
        lo = 0 if window is None else end - window + 1
        res = ols(Y[lo:end + 1], X[lo:end + 1], cov_type, lags, use_t=use_t)
        out["params"][i], out["std_errors"][i], out["tstats"][i] = (
            res.params, res.std_errors, res.tstats
        )
        rsq[i] = res.rsquared
    nobs = (ends + 1.0) if window is None else np.full(W, float(window))
    return {"end": ends, "nobs": nobs, **out, "rsquared": rsq}

"""Rolling and expanding-window regressions.

Classical standard errors use updating cross-products: the window sums of ``x x'``,
``x y`` and ``y^2`` for every window come from within-block prefix and suffix sums
(blocks of the window length), so each window sum adds at most ``window`` terms — no
long cumulative sums whose differences would lose digits over decades of daily data —
and the whole pass costs O(T k^2) plus one small solve per window. Robust standard errors
(HC0-HC3, HAC) refit each window exactly with the batched engine.

Normal equations square the condition number, so each window's cross-product matrix is
solved with its columns scaled to unit diagonal and only when its condition number (the
design's, column-scaled) is at most :data:`NORMAL_EQUATIONS_MAX_CONDITION`, where the
squared error stays below ~1e-10. Every other window is refitted by QR as in
:func:`xlfactor.engine.ols.ols` (errors about cond x eps), and a window beyond
:data:`xlfactor.engine.ols.MAX_CONDITION` is refused with a
:class:`~xlfactor.domain.errors.CollinearityError` that names it.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Sequence

from xlfactor.domain.errors import CollinearityError, InsufficientDataError, InvalidInputError
from xlfactor.engine.ols import canonical_cov_type, collinearity_message, ols, scaled_condition

#: Largest column-scaled condition number of a window's design solved by the normal
#: equations: their error grows as its square, 1e6 x 2.2e-16, a few parts in 1e10.
#: Factor designs sit near 1 to 10; windows above this are refitted by QR.
NORMAL_EQUATIONS_MAX_CONDITION = 1e3


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
    labels: Sequence[object] | None = None,
) -> dict[str, np.ndarray]:
    """Regress each column of ``Y`` on ``X`` over rolling (or expanding) windows.

    Parameters
    ----------
    Y : ndarray (T, N)
    X : ndarray (T, k), constant first; no missing values in either (refused).
    window : int or None
        Window length in observations; ``None`` for expanding windows that start with
        ``min_nobs`` observations.
    min_nobs : int, optional
        Smallest expanding window (default k + 2); for rolling windows the window must
        be at least k + 2.
    labels : sequence, optional
        A label per row (dates), used to name a window in errors; default row numbers.

    Returns
    -------
    dict
        ``end`` (index of each window's last row), ``nobs`` (W,), ``params``,
        ``std_errors``, ``tstats`` (W, N, k) and ``rsquared`` (W, N).

    Raises
    ------
    CollinearityError
        A window whose regressors are (nearly) collinear, named by its first and last row.
    InvalidInputError
        A missing or non-finite value, a window that is not a whole number, labels of
        the wrong length.
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
    if labels is not None and len(labels) != T:
        raise InvalidInputError(f"{len(labels)} labels for {T} rows")
    if not (np.isfinite(Y).all() and np.isfinite(X).all()):  # once, not per window
        raise InvalidInputError("missing or non-finite values in the rolling regression data")
    if cov_type != "classical":
        return _refit_each_window(Y, X, window, min_nobs, cov_type, lags, use_t, labels)
    return _classical(Y, X, window, min_nobs, labels)


def _window_rows(end: int, window: int | None) -> slice:
    return slice(0 if window is None else end - window + 1, end + 1)


def _name_window(rows: slice, labels: Sequence[object] | None) -> str:
    """`` in the window <first> to <last>`` (dates as dates, else 1-based row numbers)."""
    if labels is None:
        return f" in the window of rows {rows.start + 1} to {rows.stop}"
    first, last = labels[rows.start], labels[rows.stop - 1]
    text = [f"{v:%Y-%m-%d}" if hasattr(v, "strftime") else str(v) for v in (first, last)]
    return f" in the window {text[0]} to {text[1]}"


def _fit_window(Y, X, rows: slice, labels, cov_type="classical", lags=None, use_t=None):
    """One window by QR (:func:`ols`); a collinear window's error names it."""
    try:
        return ols(Y[rows], X[rows], cov_type, lags, use_t=use_t, check_finite=False)
    except CollinearityError:
        where = _name_window(rows, labels)
        block = X[rows]
        norms = np.linalg.norm(block, axis=0)
        if np.any(norms == 0.0):
            raise CollinearityError(f"a regressor is identically zero{where}") from None
        condition = scaled_condition(np.linalg.qr(block)[1], norms)
        raise CollinearityError(collinearity_message(condition, where)) from None


def _scaled_solve(sxx: np.ndarray, sxy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Normal equations with unit-diagonal scaling: coefficients (W, k, N), the diagonal of
    (X'X)^-1 (W, k), and which windows are well enough conditioned to trust them (W,)."""
    d = np.sqrt(np.diagonal(sxx, axis1=1, axis2=2))  # (W, k) column norms per window
    with np.errstate(divide="ignore", invalid="ignore"):
        G = sxx / (d[:, :, None] * d[:, None, :])
        G[~np.isfinite(G)] = 0.0  # a regressor zero over a window: singular, refitted
        eig = np.linalg.eigvalsh(G)  # (W, k), ascending
        cond2 = eig[:, -1] / eig[:, 0]
    fast = (eig[:, 0] > 0.0) & (cond2 <= NORMAL_EQUATIONS_MAX_CONDITION ** 2)
    params = np.zeros(sxy.shape)
    inv_diag = np.zeros(d.shape)
    if fast.any():
        # Cholesky of the scaled matrix: (X'X)^-1 = D^-1 L^-T L^-1 D^-1, so its diagonal is
        # a sum of squares and never negative.
        L_inv = np.linalg.inv(np.linalg.cholesky(G[fast]))
        G_inv = L_inv.transpose(0, 2, 1) @ L_inv
        df = d[fast]
        params[fast] = (G_inv @ (sxy[fast] / df[:, :, None])) / df[:, :, None]
        inv_diag[fast] = np.einsum("wij,wij->wj", L_inv, L_inv) / (df * df)
    return params, inv_diag, fast


def _classical(Y, X, window, min_nobs, labels) -> dict[str, np.ndarray]:
    T, k = X.shape
    # Returns measured from their own mean: an exact shift of alpha when the first column
    # is the constant, it keeps y^2 sums from swamping the residual sum of squares.
    constant = X[0, 0] != 0.0 and bool(np.all(X[:, 0] == X[0, 0]))
    shift = Y.mean(axis=0) if constant else np.zeros(Y.shape[1])
    Yc = Y - shift
    sxx, sxy, syy, sy = _moment_sums(Yc, X, window)
    if window is None:
        ends = np.arange(min_nobs - 1, T)
        sxx, sxy, syy, sy = (a[ends] for a in (sxx, sxy, syy, sy))
        nobs = ends + 1.0
    else:
        ends = np.arange(window - 1, T)
        nobs = np.full(len(ends), float(window))
    params, inv_diag, fast = _scaled_solve(sxx, sxy)
    # ssr at these coefficients, y'y - 2 b'X'y + b'X'X b: an error in b enters to second
    # order only (y'y - b'X'y would carry it to first order).
    ssr = (syy - 2.0 * np.einsum("wkn,wkn->wn", params, sxy)
           + np.einsum("wkn,wkl,wln->wn", params, sxx, params))
    df = nobs - k
    s2 = np.maximum(ssr, 0.0) / df[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(s2[:, :, None] * inv_diag[:, None, :])
        tss = syy - sy * sy / nobs[:, None]
        rsq = 1.0 - ssr / tss
    params_t = params.transpose(0, 2, 1)
    params_t[:, :, 0] += shift / X[0, 0]
    for i in np.flatnonzero(~fast):  # ill-conditioned or singular windows, by QR
        res = _fit_window(Y, X, _window_rows(ends[i], window), labels)
        params_t[i], se[i], rsq[i] = res.params, res.std_errors, res.rsquared
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "end": ends, "nobs": nobs, "params": params_t, "std_errors": se,
            "tstats": params_t / se, "rsquared": rsq,
        }


def _refit_each_window(Y, X, window, min_nobs, cov_type, lags, use_t, labels
                       ) -> dict[str, np.ndarray]:
    T, k = X.shape
    first_end = (window or min_nobs) - 1
    ends = np.arange(first_end, T)
    W, N = len(ends), Y.shape[1]
    out = {name: np.empty((W, N, k)) for name in ("params", "std_errors", "tstats")}
    rsq = np.empty((W, N))
    for i, end in enumerate(ends):
        res = _fit_window(Y, X, _window_rows(end, window), labels, cov_type, lags, use_t)
        out["params"][i], out["std_errors"][i], out["tstats"][i] = (
            res.params, res.std_errors, res.tstats
        )
        rsq[i] = res.rsquared
    nobs = (ends + 1.0) if window is None else np.full(W, float(window))
    return {"end": ends, "nobs": nobs, **out, "rsquared": rsq}

"""A 50-digit oracle for regressions on ill-conditioned designs (mpmath).

Every estimate comes from its textbook definition: the normal equations solved at 50
significant digits, (X'X)^-1 X' Omega X (X'X)^-1 for the robust covariances. A
condition number of 1e10 costs 20 digits in X'X and leaves 30. The doubles of ``y`` and
``X`` convert to mpmath exactly, so the oracle sees the very data the engine sees.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

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

"""Independent oracles shared by several test files."""

from __future__ import annotations

from typing import Any

import numpy as np


def linest(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Excel's LINEST(y, X, TRUE, TRUE) as evaluated by the ``formulas`` package."""
    import formulas

    n, k = X.shape
    col = chr(ord("B") + k - 1)
    func = formulas.Parser().ast(f"=LINEST(A1:A{n},B1:{col}{n},TRUE,TRUE)")[1].compile()
    return np.asarray(func(y.reshape(-1, 1), X), dtype=object)


def formulas_linest_quirks() -> bool:
    """Whether the installed ``formulas`` has the two LINEST deviations from Excel of 1.3.4.

    Excel writes the standard-error row in the coefficient row's order (last regressor
    first, intercept last: ``se_n ... se_1, se_b``) and defines F as
    ``(ssreg / k) / (ssresid / df)``. formulas 1.3.4 (``_xlinest_stats``) stores the
    standard errors intercept first (``res[1, :se.size] = se``) and divides ``ssreg`` by
    ``k + 1`` (the column count including the constant). Its coefficients, R², standard
    error of y, df and sums of squares are Excel's. Pinned by
    test_formulas_linest_against_statsmodels.
    """
    from importlib.metadata import version

    return tuple(int(p) for p in version("formulas").split(".")[:3]) <= (1, 3, 4)


def linest_natural(L: np.ndarray) -> dict[str, Any]:
    """A LINEST(y, X, TRUE, TRUE) block as Excel defines it, coefficients intercept first."""
    k = L.shape[1] - 1
    se = L[1, :] if formulas_linest_quirks() else L[1, ::-1]
    ssreg, ssresid, df = float(L[4, 0]), float(L[4, 1]), float(L[3, 1])
    return {
        "coefs": L[0, ::-1].astype(float), "se": se.astype(float), "r2": float(L[2, 0]),
        "sey": float(L[2, 1]), "df": df, "F": (ssreg / k) / (ssresid / df),
        "F_as_given": float(L[3, 0]),
    }

"""Independent oracles shared by several test files."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


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


def published_monthly_ff3(zip_path: Path) -> pd.DataFrame:
    """MKT, SMB, HML and RF (decimals) of the library's monthly FF3 file, read with the
    standard library and pandas only: an input for oracles that does not go through
    xlfactor's own French parser. Indexed by monthly periods."""
    with zipfile.ZipFile(zip_path) as z:
        raw = z.read(z.namelist()[0]).decode().splitlines()
    start = next(i for i, line in enumerate(raw) if line.startswith(",Mkt-RF"))
    rows = []
    for line in raw[start + 1:]:
        head = line.split(",")[0].strip()
        if not (head.isdigit() and len(head) == 6):
            break  # the annual block follows the monthly one
        rows.append(line.split(","))
    return pd.DataFrame([[float(v) / 100 for v in r[1:5]] for r in rows],
                        index=pd.PeriodIndex([f"{r[0][:4]}-{r[0][4:6]}" for r in rows], freq="M"),
                        columns=["MKT", "SMB", "HML", "RF"])

"""Return attribution: how much of an asset's excess return each factor explains.

For a fitted model r_t = a + sum_f b_f F_f,t + e_t over T periods the sum of excess
returns splits exactly into

    sum_t r_t  =  T a  +  sum_f b_f sum_t F_f,t  +  sum_t e_t

(with an intercept, OLS residuals sum to zero, so the residual part is zero up to
rounding over the estimation sample). Shares are arithmetic: they add up. The compounded
excess return, prod(1 + r_t) - 1, differs from the sum by a compounding term, reported
separately so the table still adds up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def attribution_series(
    excess: pd.Series, factors: pd.DataFrame, params: pd.Series
) -> pd.DataFrame:
    """Per-period contributions: ``alpha``, one column per factor, ``residual``, ``total``.

    Parameters
    ----------
    excess : Series
        The asset's excess returns (decimals per period) on the estimation dates.
    factors : DataFrame
        Factor returns on the same dates.
    params : Series
        ``alpha`` and one beta per factor column.
    """
    data = pd.concat([excess.rename("__y"), factors], axis=1, join="inner").dropna()
    parts = {"alpha": pd.Series(float(params["alpha"]), index=data.index)}
    for f in factors.columns:
        parts[f] = data[f] * float(params[f])
    explained = sum(parts.values())
    parts["residual"] = data["__y"] - explained
    parts["total"] = data["__y"]
    return pd.DataFrame(parts)


def attribution_table(series: pd.DataFrame, periods_per_year: int) -> pd.DataFrame:
    """Totals over the period and per year, with each part's share of the total.

    Rows: ``alpha``, factors, ``residual``, ``sum of parts``, ``total (arithmetic)``,
    ``compounding``, ``total (compounded)``. Columns: ``period`` (sum of per-period
    contributions), ``annualised`` (mean x periods per year), ``share`` of the total.
    """
    parts = series.drop(columns="total")
    period = parts.sum()
    annual = parts.mean() * periods_per_year
    total = float(series["total"].sum())
    compounded = float(np.prod(1.0 + series["total"].to_numpy()) - 1.0)
    table = pd.DataFrame({"period": period, "annualised": annual,
                          "share": period / total if total != 0 else np.nan})
    extra = pd.DataFrame(
        {
            "period": [period.sum(), total, compounded - total, compounded],
            "annualised": [annual.sum(), series["total"].mean() * periods_per_year, np.nan,
                           (1.0 + compounded) ** (periods_per_year / len(series)) - 1.0],
            "share": [period.sum() / total if total != 0 else np.nan, 1.0, np.nan, np.nan],
        },
        index=["sum of parts", "total (arithmetic)", "compounding", "total (compounded)"],
    )
    return pd.concat([table, extra])

"""Portfolio returns from holdings' returns and weights.

Two conventions:

``"daily"`` (constant weights)
    The portfolio is rebalanced to the target weights at the start of every period
    (day, week or month, whatever the return frequency): r_p,t = sum_i w_i r_i,t. Its
    betas are exactly the weighted sums of the holdings' betas on the same sample.
``"buy_and_hold"``
    Bought at the target weights at the start of the sample and left to drift: holding
    values V_i,t = w_i prod_{s<=t} (1 + r_i,s) and r_p,t = sum_i V_i,t / sum_i V_i,t-1 - 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError

REBALANCING = ("daily", "buy_and_hold")


def check_rebalance(value: str | None) -> str:
    key = "daily" if value is None or not str(value).strip() else str(value).strip().lower()
    key = {"constant": "daily", "rebalanced": "daily", "periodic": "daily",
           "buy-and-hold": "buy_and_hold", "buyandhold": "buy_and_hold", "bh": "buy_and_hold",
           "hold": "buy_and_hold"}.get(key, key)
    if key not in REBALANCING:
        raise InvalidInputError(
            f"unknown rebalancing {value!r}; use 'daily' (constant weights) or 'buy_and_hold'"
        )
    return key


def check_weights(weights: object, n_assets: int) -> np.ndarray:
    """Weights as decimals summing to 1; percentages summing to 100 are accepted."""
    try:
        w = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError("weights must be numbers") from None
    if w.size != n_assets:
        raise InvalidInputError(f"{w.size} weights for {n_assets} tickers")
    if not np.isfinite(w).all():
        raise InvalidInputError("weights must be finite numbers")
    total = w.sum()
    if abs(total - 100.0) < 1e-6:
        w = w / 100.0
        total = 1.0
    if abs(total - 1.0) > 1e-6:
        raise InvalidInputError(f"weights sum to {total:g}; they must sum to 1 (or 100%)")
    return w


def portfolio_returns(returns: pd.DataFrame, weights: np.ndarray, rebalance: str) -> pd.Series:
    """Portfolio simple returns on the dates where every holding has a return."""
    data = returns.dropna()
    R = data.to_numpy()
    if check_rebalance(rebalance) == "daily":
        values = R @ weights
    else:
        growth = np.cumprod(1.0 + R, axis=0) * weights
        level = np.concatenate([[weights.sum()], growth.sum(axis=1)])
        values = level[1:] / level[:-1] - 1.0
    return pd.Series(values, index=data.index, name="PORTFOLIO")

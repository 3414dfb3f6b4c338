"""Tables for files and cells: tidy long format and formula-injection-safe CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xlfactor.engine.results import FactorResults
from xlfactor.excel.sheet import inert_text


def neutralize(text: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with an apostrophe.

    Numbers pass through; only strings starting with ``= + - @`` (or tab/CR) change.
    """
    return inert_text(text) if isinstance(text, str) else text


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell, column label and index label neutralised."""
    out = frame.map(neutralize)
    out.columns = [neutralize(str(c)) for c in out.columns]
    out.index = out.index.map(lambda v: neutralize(v) if isinstance(v, str) else v)
    return out


def safe_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    safe_frame(frame).to_csv(path)
    return path


def long_table(res: FactorResults) -> pd.DataFrame:
    """One row per asset and coefficient, with fit statistics repeated per asset."""
    rows = []
    for asset in res.assets:
        for coef in res.coef_names:
            rows.append({
                "asset": asset, "coefficient": coef,
                "estimate": res.params.loc[asset, coef],
                "std_error": res.std_errors.loc[asset, coef],
                "t": res.tstats.loc[asset, coef], "p": res.pvalues.loc[asset, coef],
                "ci_low": res.ci_lower.loc[asset, coef], "ci_high": res.ci_upper.loc[asset, coef],
                "r2": res.rsquared[asset], "adj_r2": res.rsquared_adj[asset],
                "nobs": int(res.nobs[asset]),
                "model": res.info.model, "freq": res.info.frequency, "se": res.info.cov_type,
                "start": res.first_date[asset].date(), "end": res.last_date[asset].date(),
                "factor_release": res.info.release,
            })
    return safe_frame(pd.DataFrame(rows))

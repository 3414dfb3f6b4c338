"""PNG charts of estimates (matplotlib, imported on first use with the Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine.results import FREQ_NAMES, FactorResults


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _subtitle(res: FactorResults) -> str:
    info = res.info
    period = f"{info.start:%Y-%m-%d} to {info.end:%Y-%m-%d}" if info.start is not None else ""
    src = info.factor_source + (f" {info.release}" if info.release else "")
    stale = "  [STALE DATA]" if info.stale else ""
    return f"{period}, {FREQ_NAMES.get(info.frequency, info.frequency)}, {info.cov_type} SE | {src}{stale}"


def exposure_chart(res: FactorResults, path: str | Path, assets: list[str] | None = None) -> Path:
    """Bar chart of factor betas with confidence intervals, one bar group per factor.

    Alpha is shown separately in the legend as annualised percent, since its scale
    (a return) differs from the betas' (unitless).
    """
    plt = _pyplot()
    assets = assets or res.assets[:8]
    factors = [c for c in res.coef_names if c != "alpha"]
    x = np.arange(len(factors))
    width = 0.8 / len(assets)
    fig, ax = plt.subplots(figsize=(8.5, 4.8), dpi=110)
    ann = res.alpha_annualized()
    for i, asset in enumerate(assets):
        b = res.params.loc[asset, factors].to_numpy()
        lo = b - res.ci_lower.loc[asset, factors].to_numpy()
        hi = res.ci_upper.loc[asset, factors].to_numpy() - b
        label = f"{asset}  (alpha {ann[asset]:+.2%}/yr, adj. R² {res.rsquared_adj[asset]:.2f})"
        ax.bar(x + (i - (len(assets) - 1) / 2) * width, b, width * 0.92, yerr=[lo, hi],
               capsize=3, label=label)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x, factors)
    ax.set_ylabel("beta (loading, unitless)")
    ax.set_title(f"Factor exposures: {res.info.model}  ({res.conf_level:.0%} confidence intervals)",
                 fontsize=11)
    fig.text(0.5, 0.005, _subtitle(res), ha="center", fontsize=7.5, color="#444444")
    ax.legend(fontsize=7.5, loc="best", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path

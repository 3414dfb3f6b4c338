"""PNG charts of estimates (matplotlib, imported on first use with the Agg backend)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xlfactor.domain.frequency import FREQUENCY_WORDS
from xlfactor.engine.results import FactorResults

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from xlfactor.excel.template import BookLike, ChartSpot, SheetInputs


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _subtitle(res: FactorResults) -> str:
    info = res.info
    period = f"{info.start:%Y-%m-%d} to {info.end:%Y-%m-%d}" if info.start is not None else ""
    src = info.factor_source + ("" if info.region == "US" else f", {info.region}") \
        + (f" {info.release}" if info.release else "")
    stale = "  [STALE DATA]" if info.stale else ""
    return f"{period}, {FREQUENCY_WORDS.get(info.frequency, info.frequency)}, {info.cov_type} SE | {src}{stale}"


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


# -- figures for the workbook (returned, not saved: xlwings' pictures.add takes a Figure) --
#: What a long-short factor buys and sells, for legends.
FACTOR_LABELS = {
    "MKT": "MKT (market minus RF)",
    "SMB": "SMB (small minus big)",
    "HML": "HML (value minus growth)",
    "RMW": "RMW (robust minus weak profitability)",
    "CMA": "CMA (conservative minus aggressive investment)",
    "MOM": "MOM (past winners minus losers)",
    "RF": "RF (one-month T-bill)",
}
_PERIOD_UNITS = {"D": "day", "W": "week", "M": "month"}


def _figure(width: float, height: float) -> Figure:
    """A figure that pyplot does not track.

    Excel keeps one Python process alive for hours; figures registered with pyplot would
    pile up there unless every caller remembered to close them.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def _source_line(source: str, release: str, stale: bool) -> str:
    text = "Factors: " + source + (f", release {release}" if release else "")
    return text + ("  [STALE: refresh failed, cached data shown]" if stale else "")


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def rolling_chart(frame: pd.DataFrame, ticker: str, *, window: int | None,
                  se_label: str = "classical", band: float = 2.0) -> Figure:
    """Small multiples of rolling alpha and betas, each with a +/- ``band`` SE band.

    Parameters
    ----------
    frame : DataFrame
        :func:`xlfactor.api.rolling` output with ``with_std_errors=True`` (columns
        ``alpha``, the factors, ``se_<name>``, ``r2``, ``nobs``; ``attrs["info"]``).
    ticker : str
        The asset, for the title.
    window : int or None
        Window length in periods (None: expanding window).
    se_label : str
        Standard-error type used for the bands, for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        Alpha is drawn annualised in percent per year (its per-period scale would be
        unreadable next to the betas); betas are unitless.
    """
    import math

    from matplotlib.ticker import FuncFormatter

    from xlfactor.engine.results import COV_LABELS, PERIODS_PER_YEAR

    info = frame.attrs.get("info")
    freq = getattr(info, "frequency", "D")
    per_year = PERIODS_PER_YEAR.get(freq, 252)
    coefs = [c for c in frame.columns if not c.startswith("se_") and c not in ("r2", "nobs")]
    ncols = 2 if len(coefs) > 1 else 1
    nrows = math.ceil(len(coefs) / ncols)
    fig = _figure(9.0, 1.9 * nrows + 1.2)
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
    dates = frame.index.to_pydatetime()
    for ax, coef in zip(axes, coefs):
        est = frame[coef].to_numpy(dtype=float)
        se = frame.get(f"se_{coef}")
        scale = per_year * 100.0 if coef == "alpha" else 1.0
        # Alpha gets its own colour: it is in % per year, unlike the unitless betas.
        colour = "#c55a11" if coef == "alpha" else "#2e75b6"
        ax.plot(dates, est * scale, color=colour, linewidth=1.3)
        if se is not None:
            half = band * se.to_numpy(dtype=float) * scale
            ax.fill_between(dates, est * scale - half, est * scale + half,
                            color=colour, alpha=0.18, linewidth=0)
        if coef == "MKT":
            # The market beta's natural reference is 1; a zero line would squash the panel.
            ax.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--")
        else:
            ax.axhline(0.0, color="black", linewidth=0.7)
        last = est[-1] * scale if len(est) else float("nan")
        if coef == "alpha":
            ax.set_title(f"Alpha, annualised (x{per_year}): last {last:+.1f}% per year",
                         fontsize=9.5)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
        else:
            ax.set_title(f"{FACTOR_LABELS.get(coef, coef)} beta: last {last:.2f}", fontsize=9.5)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        _date_axis(ax)
    for i, ax in enumerate(axes[len(coefs):], start=len(coefs)):
        ax.set_visible(False)
        # With an odd panel count the panel above the gap is the last one in its column,
        # and sharex would otherwise leave it without date labels.
        if i - ncols >= 0:
            axes[i - ncols].xaxis.set_tick_params(labelbottom=True)
    unit = _PERIOD_UNITS.get(freq, "period")
    span = f"rolling {window}-{unit} window" if window else "expanding window"
    model = getattr(info, "model", "")
    fig.suptitle(f"{ticker}: {model} loadings, {span} (shaded: estimate \u00b1 {band:g} SE)",
                 fontsize=11.5, fontweight="bold")
    period = f"window ends {frame.index[0]:%Y-%m-%d} to {frame.index[-1]:%Y-%m-%d}" \
        if len(frame) else "no complete window"
    se_text = COV_LABELS.get(se_label, se_label)
    source = _source_line(getattr(info, "factor_source", ""), getattr(info, "release", ""),
                          bool(getattr(info, "stale", False)))
    _footer(fig, f"{FREQUENCY_WORDS.get(freq, freq).capitalize()} excess returns, {period}, "
                 f"{se_text} standard errors", source)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return fig


def _footer(fig: Figure, *lines: str) -> None:
    """Small grey lines under the plot: what was estimated, and on which data."""
    fig.text(0.5, 0.008, "\n".join(lines), ha="center", va="bottom", fontsize=7.5,
             color="#444444", linespacing=1.4)


def cumulative_factor_chart(frame: pd.DataFrame, *, model: str, freq: str = "D") -> Figure:
    """Cumulative (compounded) return of each factor portfolio and of RF, in percent.

    Parameters
    ----------
    frame : DataFrame
        :func:`xlfactor.api.factor_returns` output: decimals per period, one column per
        factor plus ``RF``; ``attrs`` carries ``source``, ``release`` and ``stale``.
    model : str
        Model name for the title.
    freq : str
        ``D``, ``W`` or ``M``: the frequency of ``frame``'s rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import PercentFormatter

    fig = _figure(9.0, 5.0)
    ax = fig.add_subplot()
    growth = (1.0 + frame.astype(float)).cumprod() - 1.0
    dates = growth.index.to_pydatetime()
    for col in growth.columns:
        values = growth[col].to_numpy() * 100.0
        last = values[-1] if len(values) else float("nan")
        label = f"{FACTOR_LABELS.get(col, col)}: {last:+.1f}%"
        if col == "RF":
            ax.plot(dates, values, color="#777777", linestyle="--", linewidth=1.1, label=label)
        else:
            ax.plot(dates, values, linewidth=1.4, label=label)
    ax.axhline(0.0, color="black", linewidth=0.7)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylabel("cumulative return since start (%)")
    ax.grid(alpha=0.3)
    _date_axis(ax)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    period = f", {frame.index[0]:%Y-%m-%d} to {frame.index[-1]:%Y-%m-%d}" if len(frame) else ""
    ax.set_title(f"Cumulative factor returns: {model}{period}", fontsize=12, fontweight="bold")
    attrs = frame.attrs
    source = _source_line(str(attrs.get("source", "")), str(attrs.get("release", "")),
                          bool(attrs.get("stale", False)))
    _footer(fig, f"{FREQUENCY_WORDS.get(freq, freq).capitalize()} factor returns compounded from the "
                 "first period; SMB, HML, RMW, CMA and MOM are zero-cost long-short portfolios",
            source)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG (for files and tests; Excel gets the figure itself)."""
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def attribution_chart(att) -> Figure:
    """Waterfall of an :class:`~xlfactor.analysis.Attribution`: alpha, each factor and the
    residual stacked into the total excess return over the period (arithmetic sum, %).

    Left: the waterfall. Right: the cumulative contributions through time.
    """
    from matplotlib.ticker import PercentFormatter

    res = att.results
    name = res.assets[0]
    info = res.info
    parts = att.table.loc[[c for c in att.series.columns if c != "total"], "period"] * 100.0
    fig = _figure(11.0, 4.8)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
    level = 0.0
    labels = [*parts.index, "total"]
    for i, (label, value) in enumerate(parts.items()):
        color = "#2a7ab9" if value >= 0 else "#c8553d"
        if label == "alpha":
            color = "#6a4c93"
        ax.bar(i, value, bottom=level, color=color, width=0.65)
        shown = round(value, 1) + 0.0  # no "-0.0" for a residual of -4e-16
        ax.text(i, level + value, f"{shown:+.1f}", ha="center",
                va="bottom" if value >= 0 else "top", fontsize=8)
        if i:
            ax.plot([i - 1.33, i - 0.33], [level, level], color="#888888", linewidth=0.7)
        level += value
    total = att.table.loc["total (arithmetic)", "period"] * 100.0
    ax.bar(len(parts), total, color="#333333", width=0.65)
    ax.text(len(parts), total, f"{total:+.1f}", ha="center",
            va="bottom" if total >= 0 else "top", fontsize=8, fontweight="bold")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    levels = np.concatenate([[0.0], np.cumsum(parts.to_numpy()), [total]])
    pad = 0.12 * max(float(levels.max() - levels.min()), 1.0)
    ax.set_ylim(min(0.0, float(levels.min())) - pad, max(0.0, float(levels.max())) + pad)
    ax.axhline(0.0, color="black", linewidth=0.7)
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_ylabel("contribution to summed excess return (%)")
    ax.set_title("Where the excess return came from", fontsize=10)
    ax.grid(axis="y", alpha=0.3)

    cum = att.cumulative * 100.0
    dates = cum.index.to_pydatetime()
    for col in cum.columns:
        style = {"color": "#333333", "linewidth": 1.8} if col == "total" else {"linewidth": 1.1}
        ax2.plot(dates, cum[col].to_numpy(), label=col, **style)
    ax2.axhline(0.0, color="black", linewidth=0.7)
    ax2.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax2.set_title("Cumulative contributions", fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7.5, frameon=False, loc="upper left")
    _date_axis(ax2)
    fig.suptitle(f"{name}: return attribution, {info.model} "
                 f"({info.start:%Y-%m-%d} to {info.end:%Y-%m-%d}, {FREQUENCY_WORDS.get(info.frequency, '')})",
                 fontsize=12, fontweight="bold")
    compounded = att.table.loc["total (compounded)", "period"] * 100.0
    _footer(fig, f"Sums of {FREQUENCY_WORDS.get(info.frequency, '')} excess returns over RF; parts add up to "
                 f"the total exactly. Compounded excess return: {compounded:+.1f}%.",
            _source_line(info.factor_source + ("" if info.region == "US" else f", {info.region}"),
                         info.release, info.stale))
    fig.tight_layout(rect=(0, 0.07, 1, 0.94))
    return fig


# -- placing the charts in the template workbook -----------------------------------------
def draw_charts(book: BookLike, inputs: SheetInputs, res: FactorResults,
                progress: Callable[[str], None] = lambda text: None) -> list[str]:
    """Draw the charts; a chart that cannot be drawn becomes a warning line.

    A chart whose anchor name the workbook lacks (a template from before that chart) is
    skipped without a warning.
    """
    from xlfactor import analysis, api
    from xlfactor.excel.sheet import error_words
    from xlfactor.excel.template import (
        CHART_ATTRIBUTION,
        CHART_EXPOSURES,
        CHART_FACTORS,
        CHART_ROLLING,
        present_names,
    )
    from xlfactor.domain.models import resolve_model

    warnings: list[str] = []
    region = {"region": inputs.region}

    def exposures(folder: Path) -> Any:
        return exposure_chart(res, folder / "exposures.png")

    def rolling(_folder: Path) -> Any:
        frame = api.rolling(inputs.first_ticker, inputs.model, inputs.window, inputs.start,
                            inputs.end, inputs.freq, inputs.se, inputs.lags,
                            with_std_errors=True, **region)
        return rolling_chart(frame, inputs.first_ticker, window=inputs.window,
                                    se_label=inputs.se)

    def factors(_folder: Path) -> Any:
        model = resolve_model(inputs.model)
        frame = api.factor_returns(model, inputs.start, inputs.end, inputs.freq, **region)
        return cumulative_factor_chart(frame, model=model.name, freq=inputs.freq)

    def attribution(_folder: Path) -> Any:
        att = analysis.attribution(inputs.first_ticker, inputs.model, inputs.start, inputs.end,
                                   inputs.freq, **region)
        return attribution_chart(att)

    jobs = ((CHART_EXPOSURES, "factor exposures", exposures),
            (CHART_ROLLING, f"rolling betas of {inputs.first_ticker}", rolling),
            (CHART_FACTORS, "cumulative factor returns", factors),
            (CHART_ATTRIBUTION, f"return attribution of {inputs.first_ticker}", attribution))
    present = present_names(book)
    with tempfile.TemporaryDirectory(prefix="xlfactor-charts-") as tmp:
        for spot, label, make in jobs:
            if spot.anchor not in present:
                continue
            progress(label)
            try:
                place_picture(book, spot, make(Path(tmp)))
            except Exception as err:  # noqa: BLE001 - one chart must not sink the refresh
                warnings.append(f"{label} chart not drawn: {error_words(err)}")
    return warnings


def place_picture(book: BookLike, spot: ChartSpot, image: Any) -> Any:
    """Add or replace the named picture at its anchor cell (its sheet is the anchor's)."""
    anchor = book.names[spot.anchor].refers_to_range
    return anchor.sheet.pictures.add(image, name=spot.picture, update=True, anchor=anchor)

"""Beyond single regressions: portfolios, the GRS joint alpha test, return attribution and
model comparison. Each function fetches and aligns like :func:`xlfactor.api.fit` and
accepts the same ``sources``/``settings``/``region`` keywords.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from xlfactor.domain.errors import InsufficientDataError
from xlfactor.domain.models import resolve_model
from xlfactor.domain.options import FitOptions
from xlfactor.domain.request import Request
from xlfactor.domain.tickers import one_ticker
from xlfactor.engine.attribution import attribution_series, attribution_table
from xlfactor.engine.grs import GRSResult, grs_test
from xlfactor.engine.model import FactorModel
from xlfactor.engine.portfolio import check_rebalance, check_weights, portfolio_returns
from xlfactor.engine.results import EstimationInfo, FactorResults
from xlfactor.pipeline import load_factors, shared_sample, sources_from

COMPARE_MODELS = ("CAPM", "FF3", "CARHART4", "FF5", "FF6")


def _request(tickers, model, start, end, freq, kw: dict) -> Request:
    """The request of an analysis call; ``kw`` keeps only the source keywords."""
    return Request.build(tickers, model, start, end, freq, region=kw.pop("region", None),
                         factor_frequency=kw.pop("factor_frequency", None))


def _shared_sample(tickers, model, start, end, freq, **kw):
    """The aligned sample (shared, read only here) of an analysis call."""
    request = _request(tickers, model, start, end, freq, kw)
    return shared_sample(request, sources_from(kw))


def _common_sample(tickers, model, start, end, freq, **kw):
    sample, info, missing = _shared_sample(tickers, model, start, end, freq, **kw)
    if missing:
        raise missing.error()
    data = pd.concat([sample.excess, sample.factors, sample.rf.rename("__rf")], axis=1).dropna()
    if data.empty:
        raise InsufficientDataError("no dates where every ticker and factor has data")
    names = list(sample.excess.columns)
    info = replace(info, start=data.index[0], end=data.index[-1])
    return data[names], data[list(sample.factors.columns)], data["__rf"], info


# -- portfolio ------------------------------------------------------------------------
@dataclass(frozen=True)
class PortfolioResults:
    """A weighted portfolio's regression, its holdings' own, and the weighted exposure.

    ``exposure`` is sum_i w_i beta_i per coefficient; for constant (daily-rebalanced)
    weights it equals the portfolio's own coefficients.
    """

    portfolio: FactorResults
    holdings: FactorResults
    weights: pd.Series
    rebalance: str

    @property
    def exposure(self) -> pd.Series:
        return (self.holdings.params.T @ self.weights).rename("weighted exposure")

    def table(self) -> pd.DataFrame:
        """Rows: the portfolio, each holding with its weight, the weighted exposure."""
        rows = self.holdings.params.copy()
        rows.insert(0, "weight", self.weights)
        port = self.portfolio.params.iloc[[0]].copy()
        port.insert(0, "weight", self.weights.sum())
        expo = self.exposure.to_frame().T
        expo.insert(0, "weight", self.weights.sum())
        return pd.concat([port, rows, expo])


def portfolio(
    tickers: object,
    weights: object,
    model: str | Sequence[str] | None = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    se: str = "classical",
    lags: int | None = None,
    *,
    rebalance: str = "daily",
    **kw,
) -> PortfolioResults:
    """Regress a weighted portfolio of ``tickers`` and each holding on the same dates.

    ``rebalance``: ``"daily"`` keeps the weights constant (rebalanced every period),
    ``"buy_and_hold"`` lets them drift from the first date. Weights sum to 1 (or 100).
    """
    rebalance = check_rebalance(rebalance)
    opts = FitOptions.build(se, lags)  # before any data are requested
    excess, factors, rf, info = _common_sample(tickers, model, start, end, freq, **kw)
    w = check_weights(weights, excess.shape[1])
    total = portfolio_returns(excess.add(rf, axis=0), w, rebalance)
    port_excess = (total - rf.loc[total.index]).to_frame("PORTFOLIO")
    label = f"{info.model}, portfolio ({'constant weights' if rebalance == 'daily' else 'buy and hold'})"
    port = FactorModel(port_excess, factors).fit(opts.se, opts.lags,
                                                 info=replace(info, model=label))
    holdings = FactorModel(excess, factors).fit(opts.se, opts.lags, info=info)
    return PortfolioResults(port, holdings, pd.Series(w, index=excess.columns, name="weight"),
                            rebalance)


# -- GRS ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JointAlphaTest:
    """GRS test result plus the labels of the estimation it came from."""

    grs: GRSResult
    info: EstimationInfo
    assets: tuple[str, ...]

    def table(self) -> list[tuple[str, object]]:
        g = self.grs
        return [
            ("GRS F-statistic", g.statistic), ("p-value", g.pvalue),
            ("df numerator (N assets)", g.df_num), ("df denominator (T-N-K)", g.df_denom),
            ("Observations (T)", g.nobs), ("Factors (K)", g.n_factors),
            ("Squared Sharpe, factors", g.sharpe_factors),
            ("Squared Sharpe, factors + assets", g.sharpe_all),
        ]


def grs(tickers: object, model: str | Sequence[str] | None = "FF3", start: object = None,
        end: object = None, freq: str = "D", **kw) -> JointAlphaTest:
    """Gibbons-Ross-Shanken test that all alphas of ``tickers`` are zero (common dates)."""
    excess, factors, _, info = _common_sample(tickers, model, start, end, freq, **kw)
    result = grs_test(excess.to_numpy(), factors.to_numpy())
    return JointAlphaTest(result, info, tuple(excess.columns))


# -- attribution ------------------------------------------------------------------------
@dataclass(frozen=True)
class Attribution:
    """Per-period contributions, their cumulative sums, and the summary table."""

    results: FactorResults
    series: pd.DataFrame
    table: pd.DataFrame

    @property
    def cumulative(self) -> pd.DataFrame:
        return self.series.cumsum()


def attribution(ticker: str, model: str | Sequence[str] | None = "FF3", start: object = None,
                end: object = None, freq: str = "D", se: str = "classical", **kw) -> Attribution:
    """Split ``ticker``'s excess return into alpha, factor contributions and residual."""
    opts = FitOptions.build(se)  # before any data are requested
    excess, factors, _, info = _common_sample(one_ticker(ticker), model, start, end, freq, **kw)
    name = excess.columns[0]
    res = FactorModel(excess[[name]], factors).fit(opts.se, info=info)
    series = attribution_series(excess[name], factors, res.params.loc[name])
    return Attribution(res, series, attribution_table(series, info.periods_per_year))


# -- model comparison -------------------------------------------------------------------
def compare(ticker: str, models: Sequence[str] = COMPARE_MODELS, start: object = None,
            end: object = None, freq: str = "D", se: str = "classical", **kw) -> pd.DataFrame:
    """Fit several models to ``ticker`` on the same dates; one row per model.

    Columns: alpha (per period and annualised), its t-statistic, R², adjusted R², AIC,
    BIC, N. The sample is the dates every model has data for, so the criteria compare.
    Models the factor source cannot serve are left out and listed in
    ``table.attrs["skipped"]``.
    """
    opts = FitOptions.build(se)  # before any data are requested
    from xlfactor.domain.errors import DataUnavailableError

    one = one_ticker(ticker)
    request = _request(one, models[0] if models else "CAPM", start, end, freq, kw)
    sources = sources_from(kw)
    specs, skipped = [], {}
    for spec in (resolve_model(m) for m in models):
        try:  # a model whose factors the source lacks is listed as skipped, not fatal
            load_factors(replace(request, model=spec), sources.factors)
            specs.append(spec)
        except DataUnavailableError as err:
            skipped[spec.name] = str(err)
    if not specs:
        raise DataUnavailableError(next(iter(skipped.values())))
    built = {spec.name: shared_sample(replace(request, model=spec), sources) for spec in specs}
    for name, (_, _, missing) in built.items():
        if missing:
            raise missing.error()
    # The dates every model has: factor files may end on different days.
    columns = {name: pd.concat([sample.excess, sample.factors], axis=1).dropna().index
               for name, (sample, _, _) in built.items()}
    dates = functools.reduce(lambda a, b: a.intersection(b), columns.values())
    if dates.empty:
        raise InsufficientDataError("the models have no dates in common")
    info = replace(built[specs[-1].name][1], start=dates[0], end=dates[-1])
    rows = {}
    for spec in specs:
        sample, sinfo, _ = built[spec.name]
        name = sample.excess.columns[0]
        y = sample.excess[[name]].loc[dates]
        res = FactorModel(y, sample.factors.loc[dates]).fit(opts.se, info=sinfo)
        rows[spec.name] = {
            "alpha": res.alpha[name], "alpha (annualised)": res.alpha_annualized()[name],
            "t(alpha)": res.tstats.loc[name, "alpha"], "R²": res.rsquared[name],
            "Adj. R²": res.rsquared_adj[name], "AIC": res.aic[name], "BIC": res.bic[name],
            "N": int(res.nobs[name]),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    table.attrs["info"] = replace(info, model="comparison", factors=tuple(s.name for s in specs))
    table.attrs["skipped"] = skipped
    return table


__all__ = [
    "Attribution",
    "JointAlphaTest",
    "PortfolioResults",
    "attribution",
    "compare",
    "grs",
    "portfolio",
]

"""The public Python API: fetch, align and regress in one call.

>>> import xlfactor
>>> res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2023-01-01")   # doctest: +SKIP
>>> res.params                                                         # doctest: +SKIP

Each function is an edge: it turns its arguments into a
:class:`~xlfactor.domain.request.Request` (validating everything before any data are
requested) and hands it to :mod:`xlfactor.pipeline`. Holders of a request call
:func:`estimate` directly.

Dates are inclusive on both ends. Returns are simple total returns in decimals per
period; the dependent variable is the excess return over the risk-free rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xlfactor.arrays import regress  # noqa: F401 - part of the API
from xlfactor.data.base import FactorData, FactorSource, PriceSource
from xlfactor.data.settings import Settings
from xlfactor.domain.models import ModelSpec
from xlfactor.domain.request import NO_TICKERS, Request
from xlfactor.domain.tickers import one_ticker
from xlfactor.engine.align import AlignedSample, align
from xlfactor.engine.results import EstimationInfo, FactorResults
from xlfactor.pipeline import (  # noqa: F401 - Sources and get_sources are API names
    Sources,
    estimate,
    get_sources,
    own_sample,
    pick_sources,
    shared_sample,
    sources_from,
)
from xlfactor.pipeline import load_factors as _load_factors

ModelArg = str | ModelSpec | Sequence[str] | None


def load_factors(
    model: ModelArg = "FF3",
    freq: str = "D",
    *,
    region: str | None = None,
    sources: Sources | None = None,
    factor_source: FactorSource | None = None,
    settings: Settings | None = None,
    factor_frequency: str | None = None,
) -> FactorData:
    """Full-history factor data for a model at ``freq``: the published file first.

    See :func:`xlfactor.pipeline.load_factors` for which file serves which frequency;
    ``factor_frequency="D"`` compounds daily factors instead.
    """
    request = Request.build(NO_TICKERS, model, None, None, freq, region=region,
                            factor_frequency=factor_frequency)
    source = factor_source or pick_sources(sources, None, None, settings).factors
    return _load_factors(request, source)


def factor_returns(
    model: ModelArg = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    *,
    region: str | None = None,
    factor_frequency: str | None = None,
    **sources: Any,
) -> pd.DataFrame:
    """Factor returns (decimals per period) and ``RF`` over ``[start, end]`` at ``freq``.

    ``attrs`` carries ``source``, ``release`` and ``stale``. ``sources``: as in :func:`fit`.
    """
    request = Request.build(NO_TICKERS, model, start, end, freq, region=region,
                            factor_frequency=factor_frequency)
    data = _load_factors(request, sources_from(sources).factors)
    empty_prices = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    sample = align(empty_prices, data.returns, data.frequency, request.factors, request.freq,
                   request.start, request.end)
    out = pd.concat([sample.factors, sample.rf], axis=1)
    out.attrs.update(source=data.source, release=data.release, stale=data.stale)
    return out


def build_sample(
    tickers: object,
    model: ModelArg = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    *,
    region: str | None = None,
    factor_frequency: str | None = None,
    progress: Callable[[str], None] | None = None,
    **sources: Any,
) -> tuple[AlignedSample, EstimationInfo, tuple[str, ...]]:
    """Fetch and align: excess returns and factors ready for :class:`FactorModel`.

    Takes the arguments of :func:`fit` (without the estimation options). Returns the
    sample, the labels describing it, and the tickers without any price data. Every
    argument is validated before any data are requested; ``progress`` is called with a
    label as each stage starts. The frames are the caller's own copies.
    """
    request = Request.build(tickers, model, start, end, freq, region=region,
                            factor_frequency=factor_frequency)
    return own_sample(request, sources_from(sources), progress)


def asset_returns(
    tickers: object, start: object = None, end: object = None, freq: str = "D",
    *, excess: bool = False, region: str | None = None, **sources: Any,
) -> pd.DataFrame:
    """Asset total returns (or excess returns) per period, aligned to the factor calendar.

    Tickers without any price data are left out and listed in ``attrs["missing"]`` (a
    :class:`~xlfactor.data.base.MissingTickers`: ``.error(ticker)`` says why); when none
    has data, the first one's error is raised.
    """
    request = Request.build(tickers, "CAPM", start, end, freq, region=region)
    sample, info, missing = shared_sample(request, sources_from(sources))
    present = [c for c in sample.excess.columns if c not in missing]
    if not present:
        raise missing.error()
    data = sample.excess[present]
    out = data.copy() if excess else data.add(sample.rf, axis=0)
    out.attrs.update(source=info.price_source, stale=info.stale, missing=missing)
    return out


def fit(
    tickers: object,
    model: ModelArg = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    se: str = "classical",
    lags: int | None = None,
    *,
    min_obs: int | None = None,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    sources: Sources | None = None,
    price_source: PriceSource | None = None,
    factor_source: FactorSource | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
    region: str | None = None,
    factor_frequency: str | None = None,
    small_sample: bool = False,
) -> FactorResults:
    """Regress the excess returns of ``tickers`` on a factor model.

    Parameters
    ----------
    tickers : str or sequence
        One ticker, a comma-separated string, or a (nested) list; blanks are ignored.
    model : str or sequence
        ``CAPM``, ``FF3``, ``CARHART4``, ``FF5``, ``FF6`` or a factor list ("MKT,SMB,MOM").
    start, end : date-like, optional
        Inclusive sample bounds; defaults: three years to the last complete trading day.
    freq : {"D", "W", "M"}
        Return frequency. Weekly and monthly asset returns run from the last close of one
        period to the last close of the next; the factors are the library's published
        weekly/monthly files where they exist (see :func:`load_factors`).
    se : {"classical", "HC0", "HC1", "HC2", "HC3", "HAC"}
        Standard-error type; ``lags`` sets Newey-West lags (default rule if omitted).
    min_obs : int, optional
        Fewest observations an asset needs (default: the model's minimum).
    use_t : bool, optional
        t (True) or normal (False) inference; default follows the SE type.
    conf_level : float
        Confidence level of the intervals.
    sources, price_source, factor_source, settings : optional
        Where the data come from (default: the environment's settings).
    progress : callable, optional
        Called with a label as each stage (factors, prices, alignment) starts.
    region : str, optional
        French-library factor region: US (default), Developed, Developed ex US, Europe,
        Japan, Asia Pacific ex Japan, North America, Emerging.
    factor_frequency : {None, "D"}
        ``"D"`` compounds daily factors to ``freq`` instead of using a published file.
    small_sample : bool
        Stata's convention for HAC (and HC0): covariance times n / (n - k), t inference.
        Off by default, as in statsmodels and R's ``sandwich::NeweyWest``.

    Returns
    -------
    FactorResults
        Tickers without price data appear in ``failed`` (an error is raised only when
        no ticker can be estimated).
    """
    request = Request.build(
        tickers, model, start, end, freq, region=region, factor_frequency=factor_frequency,
        se=se, lags=lags, small_sample=small_sample, use_t=use_t, conf_level=conf_level,
        min_obs=min_obs,
    )
    chosen = pick_sources(sources, price_source, factor_source, settings)
    return estimate(request, chosen, progress)


def rolling(
    ticker: str,
    model: ModelArg = "FF3",
    window: int | None = 252,
    start: object = None,
    end: object = None,
    freq: str = "D",
    se: str = "classical",
    lags: int | None = None,
    *,
    with_std_errors: bool = False,
    region: str | None = None,
    factor_frequency: str | None = None,
    **sources: Any,
) -> pd.DataFrame:
    """Rolling-window (or expanding, ``window=None``) alpha and betas of one ticker.

    Rows are the last date of each window; columns ``alpha`` and the factors (and with
    ``with_std_errors`` their standard errors as ``se_<name>``), plus ``r2`` and ``nobs``.
    """
    from xlfactor.engine.rolling import rolling_ols

    name = one_ticker(ticker)
    request = Request.build([name], model, start, end, freq, region=region,
                            factor_frequency=factor_frequency, se=se, lags=lags)
    sample, info, missing = shared_sample(request, sources_from(sources))
    if missing:
        raise missing.error()
    factors = list(request.factors)
    data = pd.concat([sample.excess[name], sample.factors], axis=1).dropna()
    X = np.column_stack([np.ones(len(data)), data[factors].to_numpy()])
    out = rolling_ols(data[name].to_numpy(), X, window, cov_type=request.options.se,
                      lags=request.options.lags, labels=data.index)
    coefs = ["alpha", *factors]
    dates = data.index[out["end"]]
    frame = pd.DataFrame(out["params"][:, 0, :], index=dates, columns=coefs)
    if with_std_errors:
        for i, c in enumerate(coefs):
            frame[f"se_{c}"] = out["std_errors"][:, 0, i]
    frame["r2"] = out["rsquared"][:, 0]
    frame["nobs"] = out["nobs"].astype(int)
    frame.attrs.update(info=info)
    return frame

"""Regress returns you bring: a fund's NAV returns, a strategy's P&L, an exported portfolio.

>>> import pandas as pd, xlfactor
>>> monthly = pd.Series([0.012, -0.004, 0.031], index=pd.to_datetime(
...     ["2021-01-29", "2021-02-26", "2021-03-31"]), name="Fund")     # doctest: +SKIP
>>> xlfactor.fit_returns(monthly, "FF3", freq="M").params             # doctest: +SKIP

The returns are aligned with the factor data by the same rules as tickers' returns
(:func:`xlfactor.engine.align.align_returns`), the risk-free rate is subtracted unless the
returns are already excess returns, and the answer is the same results object as
:func:`xlfactor.fit` gives.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError
from xlfactor.engine.results import FactorResults

#: Median absolute return (decimals) above which returns are taken to be typed in percent:
#: decimal returns of real assets stay far below (about 0.01 a day, 0.04 a month).
PERCENT_THRESHOLD = {"D": 0.1, "W": 0.2, "M": 0.3}
_SPACING = (("D", 0, 4), ("W", 5, 10), ("M", 25, 35))


def fit_returns(
    returns: pd.Series | pd.DataFrame,
    model: str | Sequence[str] | None = "FF3",
    freq: str | None = None,
    se: str = "classical",
    lags: int | None = None,
    *,
    kind: str = "returns",
    excess: bool = False,
    start: object = None,
    end: object = None,
    region: str | None = None,
    factor_frequency: str | None = None,
    small_sample: bool = False,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    min_obs: int | None = None,
    settings: Any = None,
) -> FactorResults:
    """Regress your own returns (or prices) on a factor model.

    Parameters
    ----------
    returns : Series or DataFrame
        Indexed by date (a ``DatetimeIndex`` or date-like labels), one column per series,
        sorted, one row per date. Simple returns in decimals per period (0.012 = 1.2%);
        blanks (NaN) are left out. Column names label the results.
    model : str or sequence
        ``CAPM``, ``FF3``, ``CARHART4``, ``FF5``, ``FF6`` or a factor list.
    freq : {"D", "W", "M"}, optional
        The returns' frequency; inferred from the dates when omitted, and checked
        against them when given. Weekly and monthly returns may be dated on any day of
        their period (the last trading day, the 1st...).
    kind : {"returns", "prices"}
        ``"prices"``: the columns are price levels (adjusted for distributions). Daily
        prices make returns as for tickers (never across a missing price); weekly or monthly
        closes, dated any day of their period, make returns between consecutive periods.
    excess : bool
        The returns are already in excess of the risk-free rate.
    start, end : date-like, optional
        Limits; default: the data's own first and last dates.
    se, lags, small_sample, use_t, conf_level, min_obs, region, factor_frequency
        As in :func:`xlfactor.fit`.

    Returns
    -------
    FactorResults
        As from :func:`xlfactor.fit`; ``warnings`` says what was left out and why.

    Raises
    ------
    InvalidInputError
        No dates, unsorted or repeated dates, a frequency that does not match the dates,
        returns that look typed in percent, non-numeric values.
    """
    from xlfactor.domain.frequency import FREQUENCY_WORDS, check_frequency
    from xlfactor.domain.models import resolve_model
    from xlfactor.domain.options import FitOptions
    from xlfactor.domain.regions import canonical_region
    from xlfactor.domain.request import Request, compound_requested
    from xlfactor.engine.align import align, align_returns, require_overlap
    from xlfactor.engine.model import FactorModel
    from xlfactor.engine.results import EstimationInfo
    from xlfactor.pipeline import get_sources, load_factors, record_served

    if kind not in ("returns", "prices"):
        raise InvalidInputError(f"kind must be 'returns' or 'prices', not {kind!r}")
    if kind == "prices" and excess:
        raise InvalidInputError("prices cannot be excess returns: use kind='returns'")
    opts = FitOptions.build(se, lags, small_sample=small_sample, use_t=use_t,
                            conf_level=conf_level, min_obs=min_obs)
    given = kind  # weekly or monthly closes become returns below; the label says what was given
    frame = _as_frame(returns)
    inferred = _infer_frequency(frame.index)
    freq = check_frequency(freq) if freq is not None else inferred
    from_daily = kind == "prices" and inferred == "D"  # daily prices make any frequency
    if freq != inferred and not from_daily:
        raise InvalidInputError(
            f"the dates are {FREQUENCY_WORDS[inferred]} (median spacing "
            f"{_spacing(frame.index):g} days) but freq is {FREQUENCY_WORDS[freq]}")
    if kind == "prices" and not from_daily:  # weekly or monthly closes, however dated
        frame, kind = period_returns(frame, freq), "returns"
    if kind == "returns":
        _refuse_percent(frame, freq)
    spec = resolve_model(model)
    s, e = _period(frame.index, freq, start, end)
    # The period is the data's own, not the default three years to yesterday.
    request = Request(tickers=(), model=spec, start=s, end=e, freq=freq,
                      region=canonical_region(region),
                      compound_factors=compound_requested(factor_frequency), options=opts)
    place = request.region
    fdata = load_factors(request, get_sources(settings).factors)
    if kind == "prices":
        sample = align(frame, fdata.returns, fdata.frequency, spec.factors, freq, s, e)
    else:
        sample = align_returns(frame, fdata.returns, fdata.frequency, spec.factors, freq, s, e,
                               excess=excess)
    if sample.factors.empty:  # no overlap at all is told by the model, series by series
        require_overlap(sample, f" for {', '.join(frame.columns.tolist()[:5])}")
    info = EstimationInfo(
        model=spec.name, factors=spec.factors, frequency=freq,
        start=sample.factors.index[0], end=sample.factors.index[-1],
        price_source=f"{given} supplied ({frame.shape[1]} series)",
        factor_source=fdata.source, release=fdata.release, stale=fdata.stale,
        notes=fdata.notes, region=place, excess=not excess,
        warnings=tuple(dict.fromkeys((*fdata.warnings, *sample.warnings))),
    )
    record_served(info, fdata)
    return FactorModel(sample.excess, sample.factors, min_obs=opts.min_obs,
                       check_finite=not sample.complete).fit(
        opts.se, opts.lags, use_t=opts.use_t, conf_level=opts.conf_level, info=info,
        small_sample=opts.small_sample)




def period_returns(prices: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Returns from weekly or monthly closes: each close over the previous period's, only
    between consecutive periods (whatever day of its period a close is dated)."""
    from xlfactor.engine.align import periods_of

    periods = periods_of(prices.index, freq)
    if periods.has_duplicates:
        raise InvalidInputError(f"two closes in the period of {periods[periods.duplicated()][0]}")
    values = prices.to_numpy(dtype=float)
    if (values <= 0).any():
        raise InvalidInputError("prices must be positive")
    returns = values[1:] / values[:-1] - 1.0
    consecutive = np.diff(periods.asi8) == 1
    returns[~consecutive] = np.nan
    return pd.DataFrame(returns, index=prices.index[1:], columns=prices.columns)


def _as_frame(returns: pd.Series | pd.DataFrame) -> pd.DataFrame:
    if isinstance(returns, pd.Series):
        returns = returns.to_frame(returns.name if returns.name is not None else "returns")
    if not isinstance(returns, pd.DataFrame):
        raise InvalidInputError("returns must be a pandas Series or DataFrame indexed by date")
    if returns.empty:
        raise InvalidInputError("no returns given")
    index = returns.index
    if not isinstance(index, pd.DatetimeIndex):
        try:
            with warnings.catch_warnings():  # pandas' format-guessing notice: not for users
                warnings.simplefilter("ignore", UserWarning)
                index = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError) as err:
            raise InvalidInputError(f"the index must be dates: {err}") from err
    if index.tz is not None:
        index = index.tz_localize(None)
    if (index.as_unit("ns").asi8 % 86_400_000_000_000).any():  # times of day: drop them
        index = index.normalize()
    if index.hasnans:
        raise InvalidInputError("a date is missing in the index")
    doubled = index[index.duplicated()]
    if len(doubled):
        raise InvalidInputError(f"date {doubled[0]:%Y-%m-%d} appears more than once")
    if not index.is_monotonic_increasing:
        at = int(np.flatnonzero(np.diff(index.asi8) < 0)[0])
        raise InvalidInputError(f"dates are not in increasing order: {index[at + 1]:%Y-%m-%d} "
                                f"follows {index[at]:%Y-%m-%d}")
    from xlfactor.arrays import number_matrix

    values = number_matrix(returns.to_numpy(), "returns")
    return pd.DataFrame(values, index=index.rename("date"),
                        columns=[str(c) for c in returns.columns.tolist()], copy=False)


def _spacing(index: pd.DatetimeIndex) -> float:
    if len(index) < 2:
        return float("nan")
    return float(np.median(np.diff(index.as_unit("ns").asi8)) / 86_400e9)


def _infer_frequency(index: pd.DatetimeIndex) -> str:
    days = _spacing(index)
    for freq, low, high in _SPACING:
        if low <= days <= high:
            return freq
    if np.isnan(days):
        raise InvalidInputError("one date is not enough to tell the frequency: give freq")
    raise InvalidInputError(f"dates {days:g} days apart (median) are neither daily, weekly "
                            "nor monthly")


def _refuse_percent(frame: pd.DataFrame, freq: str) -> None:
    flat = np.ravel(frame.to_numpy(), order="K")  # a view, whatever the memory layout
    # the unit shows in any few thousand values: an evenly spread sample keeps this cheap
    values = np.abs(flat[::max(1, flat.size // 5_000)])
    values = values[np.isfinite(values)]
    if values.size and np.median(values) > PERCENT_THRESHOLD[freq]:
        m = float(np.median(values))
        raise InvalidInputError(
            f"the returns look typed in percent (median |return| {m:.3g} per period): give "
            f"decimals, e.g. {m / 100:.4g} for {m:.3g}%")


def _period(index: pd.DatetimeIndex, freq: str, start: object, end: object
            ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The sample bounds: given, else the data's own periods (whole periods for W/M)."""
    from xlfactor.domain.dates import parse_date

    s = parse_date(start, "start")
    e = parse_date(end, "end")
    if freq != "D":  # whole periods, as the dates' own periods say
        from xlfactor.engine.align import periods_of

        periods = periods_of(index[[0, -1]], freq)
    if s is None:
        s = index[0] if freq == "D" else periods[:1].to_timestamp(how="start")[0]
    if e is None:
        e = index[-1] if freq == "D" else \
            periods[1:].to_timestamp(how="end").normalize()[0]
    if s > e:
        raise InvalidInputError(f"start {s:%Y-%m-%d} is after end {e:%Y-%m-%d}")
    return pd.Timestamp(s), pd.Timestamp(e)

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

import os
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
#: A return above +100% per period that is more than this many times its series' median
#: absolute return is taken for a value typed in percent (3.0 for 3%) and refused: a real
#: doubling is rare, and a volatile series (median 0.2 a month) may still have one.
TYPO_SCALE = 20.0
_SPACING = (("D", 0, 4), ("W", 5, 10), ("M", 25, 35))
#: Weekly dates at least this share on Friday to Sunday are week-end dates; below it a
#: warning names the weekday most of them fall on (holiday Thursdays stay well under).
WEEK_END_SHARE = 0.8
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: How a user says the order of dates like 01/03/2021, in every interface that reads them.
SAY_ORDER = "dayfirst=True or False; on the command line --dayfirst or --monthfirst"


#: What :func:`outside_factor_data` says of returns after the factors' last date (its
#: sentence with ``side`` "after"); the alignment then need not say it again.
AFTER_FACTORS = "dated after the factor data"


def fit_returns(
    returns: pd.Series | pd.DataFrame | str | os.PathLike[str],
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
    dayfirst: bool | None = None,
) -> FactorResults:
    """Regress your own returns (or prices) on a factor model.

    Parameters
    ----------
    returns : Series, DataFrame or path
        Indexed by date (a ``DatetimeIndex``, date objects, or dates written as text),
        one column per series, sorted, one row per date. Simple returns in decimals per
        period (0.012 = 1.2%); blanks (NaN) are left out. Column names label the results.
        A path is read by :func:`read_returns_file`.
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
    dayfirst : bool, optional
        How dates written as text ``01/03/2021`` are read: ``True`` day first (1 March),
        ``False`` month first (3 January), ``None`` as the dates prove (a first field
        above 12 is a day), refusing dates that cannot decide (both readings named).
        ISO text and date objects are read as they are.

    Returns
    -------
    FactorResults
        As from :func:`xlfactor.fit`; ``warnings`` says what was left out and why
        (returns dated outside the factor data, with how many and which), and each
        one-off jump that the next period undoes (a typo or a bad tick, with its date
        and size).

    Raises
    ------
    InvalidInputError
        No dates, unsorted or repeated dates, ambiguous day/month order, dates that look
        day and month swapped, a frequency that does not match the dates, returns that
        look typed in percent (by their median, or one return above +100% that is more
        than :data:`TYPO_SCALE` times its series' median size), a return below -100%,
        non-numeric values.
    """
    from xlfactor.domain.frequency import FREQUENCY_WORDS, check_frequency
    from xlfactor.domain.models import resolve_model
    from xlfactor.domain.options import FitOptions
    from xlfactor.domain.regions import canonical_region
    from xlfactor.domain.request import Request, compound_requested
    from xlfactor.engine.align import align, align_returns, require_overlap
    from xlfactor.engine.checks import one_off_jumps
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
    if isinstance(returns, (str, os.PathLike)):
        returns = read_returns_file(returns, dayfirst)
    frame = _as_frame(returns, dayfirst)
    inferred = _infer_frequency(frame.index)
    freq = check_frequency(freq) if freq is not None else inferred
    from_daily = kind == "prices" and inferred == "D"  # daily prices make any frequency
    if freq != inferred and not from_daily:
        raise InvalidInputError(
            f"the dates are {FREQUENCY_WORDS[inferred]} (median spacing "
            f"{_spacing(frame.index):g} days) but freq is {FREQUENCY_WORDS[freq]}")
    week_days = _weekday_warning(frame.index) if freq == "W" and not from_daily else []
    checked = frame  # prices or returns as given, for the one-off check below
    if kind == "prices" and not from_daily:  # weekly or monthly closes, however dated
        frame, kind = period_returns(frame, freq), "returns"
    if given == "returns":
        _refuse_percent(frame, freq)
        _refuse_typos(frame)
    spec = resolve_model(model)
    s, e = _period(frame.index, freq, start, end)
    jumps = one_off_jumps(checked, s, e, returns=given == "returns")
    # The period is the data's own, not the default three years to yesterday.
    request = Request(tickers=(), model=spec, start=s, end=e, freq=freq,
                      region=canonical_region(region),
                      compound_factors=compound_requested(factor_frequency), options=opts)
    place = request.region
    fdata = load_factors(request, get_sources(settings).factors)
    outside = outside_factor_data(frame.loc[s:e], fdata.returns[[*spec.factors, "RF"]], freq,
                                  what=kind)
    if kind == "prices":
        sample = align(frame, fdata.returns, fdata.frequency, spec.factors, freq, s, e)
    else:  # late returns are said once, with their dates, by outside_factor_data
        sample = align_returns(frame, fdata.returns, fdata.frequency, spec.factors, freq, s, e,
                               excess=excess,
                               say_late=not any(AFTER_FACTORS in w for w in outside))
    if sample.factors.empty:  # no overlap at all is told by the model, series by series
        require_overlap(sample, f" for {', '.join(frame.columns.tolist()[:5])}")
    info = EstimationInfo(
        model=spec.name, factors=spec.factors, frequency=freq,
        start=sample.factors.index[0], end=sample.factors.index[-1],
        price_source=f"{given} supplied ({frame.shape[1]} series)",
        factor_source=fdata.source, release=fdata.release, stale=fdata.stale,
        notes=fdata.notes, region=place, excess=not excess,
        warnings=tuple(dict.fromkeys((*fdata.warnings, *week_days, *outside,
                                      *sample.warnings, *jumps))),
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


def read_returns_file(path: str | os.PathLike[str], dayfirst: bool | None = None
                      ) -> pd.DataFrame:
    """A CSV of returns (or prices): a header row, dates in the first column, one column
    per series.

    Read as :mod:`xlfactor.data.price_files` reads saved files: UTF-8 (a byte-order mark
    allowed), UTF-16 or Windows-1252; ``,``, ``;`` or tab as the separator (a decimal
    comma with ``;`` or tab); empty trailing columns and blank rows ignored; dates as
    :func:`xlfactor.domain.dates.parse_date_texts` reads them, ``dayfirst`` deciding
    ``01/03/2021`` when the dates cannot.

    Returns
    -------
    DataFrame
        Float values (NaN for blanks), a ``DatetimeIndex`` named ``"date"`` in file order.

    Raises
    ------
    InvalidInputError
        The file cannot be read, a column has no name or appears twice, a row is cut, a
        value is not a number, a date cannot be read for sure; the message names the file
        and line.
    """
    from xlfactor.data.price_files import (
        body_fields,
        header_names,
        parse_date_cells,
        parse_numbers,
        read_csv_text,
    )
    from xlfactor.domain.errors import DataUnavailableError

    try:
        text = read_csv_text(path, what="returns file")
        names = header_names(text)
        if len(names) < 2:
            raise InvalidInputError(f"{text.name}: expected a header row with a date column "
                                    "and at least one series")
        unnamed = [i for i, n in enumerate(names[1:], start=2) if not n]
        if unnamed:
            raise InvalidInputError(f"{text.name}: column {unnamed[0]} has no name")
        body = body_fields(text, len(names), skip=1)
        if not body:
            raise InvalidInputError(f"{text.name}: no data rows")
        index, _ = parse_date_cells([r[0] for r in body], text, 1, dayfirst,
                                    midnight_only=False, say=SAY_ORDER)
        columns = {name: parse_numbers([r[j] for r in body], text, 1, "value")
                   for j, name in enumerate(names[1:], start=1)}
    except DataUnavailableError as exc:  # a user's own file: bad input, not missing data
        raise InvalidInputError(str(exc)) from None
    return pd.DataFrame(columns, index=index.rename("date"))


def _as_frame(returns: pd.Series | pd.DataFrame, dayfirst: bool | None = None
              ) -> pd.DataFrame:
    if isinstance(returns, pd.Series):
        returns = returns.to_frame(returns.name if returns.name is not None else "returns")
    if not isinstance(returns, pd.DataFrame):
        raise InvalidInputError("returns must be a pandas Series or DataFrame indexed by date")
    if returns.empty:
        raise InvalidInputError("no returns given")
    index = _dates(returns.index, dayfirst)
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
    _refuse_swapped(index)
    from xlfactor.arrays import number_matrix

    values = number_matrix(returns.to_numpy(), "returns")
    return pd.DataFrame(values, index=index.rename("date"),
                        columns=[str(c) for c in returns.columns.tolist()], copy=False)


def _dates(index: pd.Index, dayfirst: bool | None) -> pd.DatetimeIndex:
    """The index as dates: text by the one parser of file dates (never a guessed order),
    integers as ``yyyymmdd``, date objects as they are."""
    if isinstance(index, pd.DatetimeIndex):
        return index
    from xlfactor.domain.dates import DateTextError, parse_date_texts

    values = index.to_numpy(dtype=object)
    text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if index.dtype.kind in "iu" or text.all():
        try:
            parsed, _ = parse_date_texts(values.astype(str), dayfirst, say=SAY_ORDER)
        except DateTextError as err:
            where = f"date row {err.row + 1}: " if err.row is not None else ""
            raise InvalidInputError(f"the index must be dates: {where}{err}") from None
        return parsed
    if text.any():
        at = int(np.flatnonzero(text)[0])
        raise InvalidInputError(f"the index must be dates: row {at + 1} is text "
                                f"({values[at][:30]!r}) among dates")
    try:
        with warnings.catch_warnings():  # pandas' format-guessing notice: not for users
            warnings.simplefilter("ignore", UserWarning)
            return pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"the index must be dates: {err}") from err


def _refuse_swapped(index: pd.DatetimeIndex) -> None:
    """Refuse dates whose day and month look swapped: day-first text read month first
    (by Excel opening a CSV, by pandas) turns monthly dates on the 1st into 1..12
    January, a "daily" series with a gap each year. Caught when every day is 12 or less
    and the swapped dates are weekly or monthly while the dates as given are not."""
    if len(index) < 3 or (index.day > 12).any():
        return
    swapped = pd.to_datetime({"year": index.year, "month": index.day, "day": index.month})
    swapped = pd.DatetimeIndex(swapped)
    if not swapped.is_monotonic_increasing or swapped.has_duplicates:
        return
    as_given, other = _frequency_or_none(index), _frequency_or_none(swapped)
    # a few real days in one month's first twelve swap into months too: a misread series
    # jumps from the 12th of January to the 1st of the next year
    jumps = np.diff(index.as_unit("ns").asi8).max() > 20 * 86_400_000_000_000
    if other in ("W", "M") and as_given != other and jumps:
        from xlfactor.domain.frequency import FREQUENCY_WORDS

        shown = ", ".join(f"{d:%Y-%m-%d}" for d in index[:3])
        read = ", ".join(f"{d:%Y-%m-%d}" for d in swapped[:3])
        raise InvalidInputError(
            f"the dates look day and month swapped: {shown}, ... with day and month "
            f"exchanged are {FREQUENCY_WORDS[other]} ({read}, ...); they were probably "
            "written day first and read month first. Give them as text with "
            "dayfirst=True (--dayfirst), or fix them")


def _weekday_warning(index: pd.DatetimeIndex) -> list[str]:
    """A warning when weekly dates are mostly not at the week's end (Friday, or a weekend
    label of the week just ended), naming the weekday seen.

    Each weekly date is matched to the Saturday-Friday factor week holding it. That is
    right for a date at the week's end, and for a date labelling the week it starts (as
    Yahoo's weekly bars are dated on Mondays); it is off by the days to Friday for returns
    measured from one Monday (or Tuesday...) to the next. The dates alone cannot tell
    which: the user is told, not guessed for. A week's last trading day is a Thursday
    when Friday is a holiday, so a few Thursdays (under :data:`WEEK_END_SHARE`) pass.
    """
    days = pd.Series(index.day_of_week).value_counts()
    at_end = int(days.reindex([4, 5, 6], fill_value=0).sum())
    if not len(index) or at_end >= WEEK_END_SHARE * len(index):
        return []
    day = int(days.drop([4, 5, 6], errors="ignore").idxmax())
    name = _WEEKDAYS[day]
    off = 4 - day
    right = "right if a date labels the week it starts, " if day == 0 else ""
    return [f"weekly dates fall on {name}s ({int(days[day])} of {len(index)}), not at the "
            f"week's end: each is matched to the Saturday-Friday week holding it, {right}"
            f"{off} day{'s' if off != 1 else ''} off if the returns run from one {name} to "
            "the next (then date them on Fridays)"]


def _frequency_or_none(index: pd.DatetimeIndex) -> str | None:
    try:
        return _infer_frequency(index)
    except InvalidInputError:
        return None


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


def _refuse_typos(frame: pd.DataFrame) -> None:
    """Refuse a return no simple return can be (below -100%), and one above +100% that is
    more than :data:`TYPO_SCALE` times its series' median size: ``3.0`` typed for 3% among
    decimals passes the median test of :func:`_refuse_percent`, and one such value
    decides a regression."""
    values = frame.to_numpy()
    with np.errstate(invalid="ignore"):
        below = values < -1.0
        over = values > 1.0
        scale = np.zeros(values.shape[1])
        suspects = np.flatnonzero(over.any(axis=0) | below.any(axis=0))  # rare: the median
        scale[suspects] = np.nanmedian(np.abs(values[:, suspects]), axis=0)  # only there
        above = over & (values > TYPO_SCALE * scale)
    for bad, why in ((below, "below -100%: no simple return loses more than everything"),
                     (above, f"above +100% and more than {TYPO_SCALE:g} times its series' "
                              "median size")):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            v = float(values[i, j])
            raise InvalidInputError(
                f"{frame.columns[j]} {frame.index[i]:%Y-%m-%d}: return {v:g} ({v:+.0%}) is "
                f"{why} (median |return| {scale[j]:.3g}): typed in percent? Give decimals "
                f"({v / 100:g} for {v:g}%); if the move is real, give prices (kind='prices')")


def outside_factor_data(returns: pd.DataFrame, factors: pd.DataFrame, freq: str, *,
                        what: str = "returns") -> list[str]:
    """Say how many returns fall before or after the factor data, and which.

    Parameters
    ----------
    returns : DataFrame
        The returns (decimals) inside the requested period, dates x series.
    factors : DataFrame
        The model's factor columns and ``RF`` as loaded (full history).
    freq : {"D", "W", "M"}
        Daily returns are compared by date, weekly and monthly by calendar period.
    what : {"returns", "prices"}
        What the rows are, for the message.

    Returns
    -------
    list of str
        At most two sentences (before, after), each with the count and the first and
        last date left out.
    """
    from xlfactor.engine.align import periods_of

    present = factors.dropna(how="any").index
    if not len(present) or not len(returns) or (
            returns.index[0] >= present[0] and returns.index[-1] <= present[-1]):
        return []  # the common case, without a pass over the returns
    dated = returns.index[returns.notna().any(axis=1).to_numpy()]
    if not len(dated):
        return []
    if freq == "D":
        keys, first, last = dated, present[0], present[-1]
        label = "%Y-%m-%d"
    else:
        keys = periods_of(dated, freq)
        first, last = periods_of(present[[0, -1]], freq)
        label = "%Y-%m" if freq == "M" else "week of %Y-%m-%d"
    out = []
    for side, lost, bound in (("before", keys < first, first), ("after", keys > last, last)):
        n = int(lost.sum())
        if n:
            days = dated[lost]
            edge = "first" if side == "before" else "last"
            out.append(f"{n} of {len(dated)} {what} left out, dated {side} the factor "
                       f"data ({edge} {_show(bound, label)}): {days[0]:%Y-%m-%d} to "
                       f"{days[-1]:%Y-%m-%d}")
    return out


def _show(bound: object, label: str) -> str:
    if isinstance(bound, pd.Period):
        return bound.strftime("%Y-%m") if label == "%Y-%m" else \
            f"week ending {bound.end_time:%Y-%m-%d}"
    return f"{bound:%Y-%m-%d}"


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

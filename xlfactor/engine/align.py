"""From adjusted prices and factor returns to an aligned regression sample.

Conventions
-----------
* Asset returns are simple total returns from adjusted closes, ``P[t] / P[t-1] - 1``.
* Daily (``"D"``): returns are formed on the factor calendar only, between consecutive
  factor trading days: a price missing on a factor day (a hole in the file, a ``null``
  row, a listing gap) leaves both returns that would touch it missing, in the regression
  and in ``FACTOR_RETURNS`` alike. A return never spans a hole. How many returns were
  left out, and any gap of more than :data:`GAP_WARNING_DAYS` trading days, are reported
  in :attr:`AlignedSample.warnings`.
* The factor calendar is every row the factor data list, with values or not, so a return
  is one period of the price series and of the factor series at once. A day on which a
  factor the model uses (or ``RF``) is missing (-99.99/-999, a date one file lacks) loses
  only its own return; a weekday on which an asset has a price but the factor data list
  no row (rows deleted from a file) loses the return across it (:func:`unlisted_days`),
  unless the US market was closed that day (a listing trading on a US holiday: the
  factors' next day covers both days, and so does the asset's return across it).
  Both are reported with their dates.
* Weekly (``"W"``, calendar weeks Saturday-Friday, labelled by the Friday) and monthly
  (``"M"``, calendar months, labelled by the last calendar day): both sides are compounded
  over the same calendar period. An asset's period return is its last close in the period
  over the last close of the previous period, minus one; each of the two closes must fall
  in the last days of its period (:data:`PERIOD_END_SLACK` calendar days before the
  period's last weekday), so a period return never spans a hole either.
  Factor period returns compound the daily factor returns of the period; the market factor
  is compounded as a total return, ``prod(1 + MKT + RF) - prod(1 + RF)``, so it stays an
  excess return over the compounded risk-free rate; a period with a factor missing on
  any of its days is missing for that factor. Native weekly/monthly factor data are used
  as published when no daily data are involved.
* Only complete periods enter: the period starts on or after ``start``, its last weekday is
  on or before ``end`` (a month ending on a Sunday is complete on the Friday), and the
  data reach that weekday.
* Excess returns subtract ``RF`` of the same period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlfactor.domain.calendars import maybe_closed
from xlfactor.domain.errors import InsufficientDataError, InvalidInputError
from xlfactor.domain.frequency import FREQUENCY_WORDS, check_frequency

_RULES = {"W": "W-FRI", "M": "ME"}
#: A run of more missing prices than this (trading days) is reported as a gap.
GAP_WARNING_DAYS = 3
#: A period's closing price may be this many calendar days before its last weekday
#: (holidays at the end of a month or week), no more.
PERIOD_END_SLACK = {"W": 2, "M": 4}


def returns_on_calendar(prices: pd.DataFrame, calendar: pd.DatetimeIndex,
                        start: pd.Timestamp, end: pd.Timestamp
                        ) -> tuple[pd.DataFrame, list[str]]:
    """Daily simple returns between consecutive days of ``calendar`` inside ``[start, end]``
    (the day before ``start`` supplies the first one's base), and what was left out.

    Returns
    -------
    returns : DataFrame
        Calendar days in ``[start, end]`` x assets; NaN where the price of the day or of
        the previous calendar day is missing, or where the asset has a price on a weekday
        between the two that the calendar does not list (see :func:`unlisted_days`).
    warnings : list of str
        Per asset: returns left out inside its own span of prices, long gaps, and priced
        weekdays the calendar lacks.
    """
    inside = calendar[(calendar >= start) & (calendar <= end)]
    before = calendar[calendar < start]
    days = inside if before.empty else before[-1:].append(inside)
    on_days = prices.reindex(days)
    bad = (on_days <= 0).any()
    if bad.any():
        raise InvalidInputError(
            f"non-positive price for {bad[bad].index[0]!r}: cannot form returns")
    returns = (on_days / on_days.shift(1) - 1.0).reindex(inside)
    warnings = _holes(on_days, returns)
    extra = unlisted_days(prices, days)
    if extra is None:
        return returns, warnings
    # each priced unlisted day makes the return of the next factor day span two price
    # periods while its factor value covers one
    spans = np.zeros(on_days.shape, dtype=bool)
    np.logical_or.at(spans, days.searchsorted(extra.index), extra.to_numpy())
    spans = spans[len(days) - len(inside):]
    lost = spans & ~np.isnan(returns.to_numpy())
    warnings += _unlisted_warnings(extra, lost.sum(axis=0), "return")
    return returns.mask(spans), warnings


def unlisted_days(prices: pd.DataFrame, calendar: pd.DatetimeIndex) -> pd.DataFrame | None:
    """Weekdays strictly inside ``calendar``'s span on which an asset has a price but the
    factor data list no row: days x assets, True where priced; None when there are none.

    A factor file that lost rows (a deleted month, a day dropped by a merge) shows only
    here: its calendar simply skips the days. Days the US market was closed
    (:func:`xlfactor.domain.calendars.maybe_closed`) are not counted: the factors' next
    day covers them, and so does the asset's return from its last close before them, as
    for a listing that trades on US holidays. Weekend rows (7-day markets) are not counted
    either: no factor calendar since 1952 has weekends, and a Friday-to-Monday return
    matches the factors'.
    """
    if len(calendar) < 2 or prices.empty:
        return None
    dates = prices.index
    extra = dates[(dates > calendar[0]) & (dates < calendar[-1])].difference(calendar)
    extra = extra[extra.day_of_week < 5]
    if not extra.empty:
        extra = extra[~maybe_closed(extra).to_numpy()]
    if extra.empty:
        return None
    priced = prices.loc[extra].notna()
    priced = priced[priced.any(axis=1)]
    return None if priced.empty else priced


def _unlisted_warnings(extra: pd.DataFrame, lost: np.ndarray, what: str) -> list[str]:
    """Per asset: the priced weekdays the factor data do not list, and what they cost."""
    out = []
    for j, name in enumerate(extra.columns):
        days = extra.index[extra.iloc[:, j].to_numpy()]
        if days.empty:
            continue
        n, k = len(days), int(lost[j])
        out.append(
            f"{name}: prices on {n} weekday{'s' if n > 1 else ''} the factor data do not "
            f"list ({_date_runs(days)}): {k} {what}{'s' if k != 1 else ''} across "
            f"{'them' if n > 1 else 'it'} left out (a factor file missing days, or a "
            "listing that trades when the factors' market is closed)")
    return out


def _date_runs(days: pd.DatetimeIndex, most: int = 3) -> str:
    """``2021-03-01 to 2021-03-31, 2021-05-03`` for runs of days at most 4 days apart."""
    breaks = np.flatnonzero(np.diff(days.to_numpy()) > np.timedelta64(4, "D")) + 1
    runs = np.split(np.arange(len(days)), breaks)
    text = [f"{days[r[0]]:%Y-%m-%d}" + (f" to {days[r[-1]]:%Y-%m-%d}" if len(r) > 1 else "")
            for r in runs[:most]]
    more = len(runs) - most
    return ", ".join(text) + (f" and {more} more" if more > 0 else "")


def _span(seen: np.ndarray) -> np.ndarray:
    """Rows from each column's first to its last True (a column's own span), as a mask."""
    return np.maximum.accumulate(seen, axis=0) & np.maximum.accumulate(seen[::-1], axis=0)[::-1]


def _holes(on_days: pd.DataFrame, returns: pd.DataFrame) -> list[str]:
    """What holes in the prices cost, per asset: returns left out inside its own span of
    prices, and every run of more than :data:`GAP_WARNING_DAYS` missing days."""
    seen = on_days.notna().to_numpy(dtype=bool)
    span = _span(seen)
    first = seen & (np.cumsum(seen, axis=0) == 1)  # a span's first day has no return
    rows = on_days.index.get_indexer(returns.index)
    lost = ((span & ~first)[rows] & np.isnan(returns.to_numpy())).sum(axis=0)
    missing = (span & ~seen).astype(np.int8)
    edges = np.diff(np.vstack([np.zeros((1, seen.shape[1]), np.int8), missing,
                               np.zeros((1, seen.shape[1]), np.int8)]), axis=0)
    starts, ends = np.argwhere(edges.T == 1), np.argwhere(edges.T == -1)  # column-major
    out = []
    for j in np.flatnonzero(lost):
        name, n = on_days.columns[j], int(lost[j])
        out.append(f"{name}: {n} return{'s' if n > 1 else ''} left out (a price missing on a "
                   "factor trading day; returns never span it)")
    for (j, a), (_, b) in zip(starts, ends):
        if b - a > GAP_WARNING_DAYS:
            out.append(f"{on_days.columns[j]}: no prices for {b - a} trading days "
                       f"({on_days.index[a]:%Y-%m-%d} to {on_days.index[b - 1]:%Y-%m-%d})")
    return out


def _period_bounds(labels: pd.DatetimeIndex, freq: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """First calendar day and last weekday of each period label."""
    if freq == "W":
        first = labels - pd.Timedelta(days=6)
    else:
        first = labels - pd.offsets.MonthBegin(1)
    last_weekday = labels - pd.to_timedelta(np.maximum(labels.day_of_week - 4, 0), unit="D")
    return pd.DatetimeIndex(first), pd.DatetimeIndex(last_weekday)


def period_asset_returns(
    prices: pd.DataFrame, freq: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Compounded asset returns per complete calendar period inside ``[start, end]``."""
    if prices.empty:
        return pd.DataFrame(columns=prices.columns, dtype=float)
    last_close = prices.resample(_RULES[freq]).last()
    # the date of each period's last close: it must be near the period's end
    day = prices.index.as_unit("ns").asi8.astype(float)[:, None]  # ns, exact below 2^53
    stamped = pd.DataFrame(np.where(prices.notna().to_numpy(dtype=bool), day, np.nan),
                           index=prices.index, columns=prices.columns)
    close_day = stamped.resample(_RULES[freq]).max().reindex(last_close.index).to_numpy()
    _, period_end = _period_bounds(last_close.index, freq)
    slack = pd.Timedelta(days=PERIOD_END_SLACK[freq])
    threshold = (period_end - slack).as_unit("ns").asi8.astype(float)
    with np.errstate(invalid="ignore"):
        near_end = close_day >= threshold[:, None]  # NaN (no close at all) compares False
    last_close = last_close.where(near_end)
    returns = last_close / last_close.shift(1) - 1.0
    first_day, last_weekday = _period_bounds(returns.index, freq)
    inside = (first_day >= start) & (last_weekday <= end)
    returns = returns[inside]
    last_weekday = last_weekday[inside]
    # a period counts only if the asset's data reach its last weekday
    seen = prices.notna().to_numpy(dtype=bool)
    last_row = np.where(seen.any(axis=0), len(seen) - 1 - np.argmax(seen[::-1], axis=0), -1)
    last_seen = np.where(last_row >= 0,
                         prices.index.as_unit("ns").asi8[np.maximum(last_row, 0)],
                         np.iinfo(np.int64).min)
    covered = last_weekday.as_unit("ns").asi8[:, None] <= last_seen[None, :]
    return returns.where(covered)


def _period_holes(returns: pd.DataFrame, freq: str) -> list[str]:
    """Per asset, the periods inside its span whose return is missing (a close missing
    near a period's end, on either side of it)."""
    seen = ~np.isnan(returns.to_numpy(dtype=float))
    lost = (_span(seen) & ~seen).sum(axis=0)
    word = FREQUENCY_WORDS[freq]
    return [f"{name}: {int(n)} {word} return{'s' if n > 1 else ''} left out (no close in the "
            "last days of a period, or of the one before)"
            for name, n in zip(returns.columns, lost) if n]


def periods_of(dates: pd.DatetimeIndex, freq: str) -> pd.PeriodIndex:
    """The calendar period of each date: months, or weeks ending on Friday, a Saturday or
    Sunday date belonging to the week that ended the day(s) before (as pandas'
    ``resample("W")`` labels weeks by their Sunday)."""
    if freq == "W":
        weekend = np.maximum(dates.day_of_week.to_numpy() - 4, 0)
        return (dates - pd.to_timedelta(weekend, unit="D")).to_period("W-FRI")
    return dates.to_period("M")


def period_factor_returns(
    daily: pd.DataFrame, freq: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Compound daily factor returns (decimals, with ``RF``) over complete periods.

    A factor missing on any day of a period (a missing-value code, a date one file lacks)
    leaves that factor's period return missing: compounding the days that remain would
    give a return over part of the period, set against an asset's whole-period return.
    """
    grouper = pd.Grouper(freq=_RULES[freq])
    growth = (1.0 + daily).groupby(grouper).prod(min_count=1) - 1.0
    gaps = daily.isna().groupby(grouper).any()
    if "MKT" in daily.columns:
        total = (1.0 + daily["MKT"] + daily["RF"]).groupby(grouper).prod(min_count=1)
        growth["MKT"] = total - (1.0 + growth["RF"])
        gaps["MKT"] |= gaps["RF"]
    growth = growth.mask(gaps)
    first_day, last_weekday = _period_bounds(growth.index, freq)
    keep = (
        (first_day >= start) & (last_weekday <= end)
        & (first_day >= daily.index[0] - pd.Timedelta(days=3))
        & (last_weekday <= daily.index[-1])
    )
    return growth[keep].dropna(how="all")


def native_period_factors(
    data: pd.DataFrame, freq: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Published weekly/monthly factors relabelled to this module's period labels."""
    labels = data.index.to_period("W-FRI" if freq == "W" else "M").to_timestamp(how="end")
    out = data.set_axis(labels.normalize())
    first_day, last_weekday = _period_bounds(out.index, freq)
    return out[(first_day >= start) & (last_weekday <= end)]


@dataclass(frozen=True)
class AlignedSample:
    """Regression-ready data: ``excess`` (dates x assets) and ``factors`` (dates x factors).

    Rows are the union of dates with factor data; an asset's missing rows are NaN.
    ``rf`` is the risk-free rate per period on the same rows.
    """

    excess: pd.DataFrame
    factors: pd.DataFrame
    rf: pd.Series
    frequency: str
    warnings: tuple[str, ...] = ()
    #: The aligner saw every value of ``excess`` and ``factors`` finite (a model may skip
    #: its own check).
    complete: bool = False


def align(
    prices: pd.DataFrame,
    factor_returns: pd.DataFrame,
    factor_frequency: str,
    factors: tuple[str, ...],
    freq: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> AlignedSample:
    """Build excess asset returns and factor returns at ``freq`` over ``[start, end]``.

    Parameters
    ----------
    prices : DataFrame
        Adjusted closes, dates x assets, including a few days before ``start`` so the
        first return in the window can be formed.
    factor_returns : DataFrame
        Decimal factor returns with ``RF``, at ``factor_frequency``.
    factors : tuple of str
        Factor columns to keep, in order.
    """
    freq = check_frequency(freq)
    if factor_frequency not in ("D", freq):
        raise InvalidInputError(
            f"{FREQUENCY_WORDS[freq]} returns need daily or {FREQUENCY_WORDS[freq]} factor "
            "data; "
            f"the factor source has {FREQUENCY_WORDS[factor_frequency]} data only"
        )
    warnings: list[str] = []
    used = [*factors, "RF"]
    if freq == "D":
        # Every row the factor data list is a day of the calendar, with values or not: a
        # return is one period of the price series and of the factor series at once.
        asset, warnings = returns_on_calendar(prices, factor_returns.index, start, end)
        fac = factor_returns[(factor_returns.index >= start) & (factor_returns.index <= end)]
        warnings += missing_factor_days(fac, used)
    else:
        asset = period_asset_returns(prices, freq, start, end)
        warnings = _period_holes(asset, freq)
        if factor_frequency == "D":
            fac = period_factor_returns(factor_returns, freq, start, end)
            daily = factor_returns[(factor_returns.index >= start)
                                   & (factor_returns.index <= end)]
            warnings += missing_factor_days(daily, used, freq)
            asset, lost = _periods_across_unlisted_days(asset, prices, factor_returns.index,
                                                        freq)
            warnings += lost
        else:
            fac = native_period_factors(factor_returns, freq, start, end)
            warnings += missing_factor_periods(fac, used, freq)
    fac = fac.dropna(subset=used)
    asset = asset.reindex(fac.index)
    excess = asset.sub(fac["RF"], axis=0)
    return AlignedSample(excess, fac[list(factors)], fac["RF"], freq, tuple(warnings))


def missing_factor_days(frame: pd.DataFrame, used: list[str], freq: str = "D") -> list[str]:
    """A warning naming the days inside the sample on which a factor the model uses (or
    ``RF``) is missing, if any. Such a day stays in the calendar: its own return is left
    out, the next day's return is formed from its close. At ``freq`` W or M the periods
    holding such days are left out.

    A value missing in one column leaves the day out only for models that use that
    column; the file's other columns on that day are kept (the library publishes each
    factor on its own: RMW and CMA start later than MKT in the international files).
    """
    gaps = frame[used].isna()
    rows = gaps.any(axis=1).to_numpy()
    if not rows.any():
        return []
    days = frame.index[rows]
    columns = [c for c in used if gaps[c].any()]
    n = len(days)
    cost = ("left out" if freq == "D" else
            f"the {FREQUENCY_WORDS[freq][:-2]}s holding {'them' if n > 1 else 'it'} left out")
    return [f"factor data missing on {n} day{'s' if n > 1 else ''} of the sample "
            f"({_date_runs(days)}; {', '.join(columns)}: a missing-value code or a date "
            f"one factor file lacks): {cost}"]


def missing_factor_periods(fac: pd.DataFrame, used: list[str], freq: str) -> list[str]:
    """A warning for published weekly/monthly factors missing inside the sample: rows
    with a missing value, and periods between the first and last row that have no row."""
    if fac.empty:
        return []
    rule = "W-FRI" if freq == "W" else "M"
    expected = pd.period_range(fac.index[0], fac.index[-1], freq=rule)
    labels = expected.to_timestamp(how="end").normalize()
    absent = labels.difference(fac.index)
    blank = fac.index[fac[used].isna().any(axis=1).to_numpy()]
    gone = absent.union(blank)
    if gone.empty:
        return []
    word, n = FREQUENCY_WORDS[freq][:-2], len(gone)
    fmt = "%Y-%m" if freq == "M" else "%Y-%m-%d"
    shown = ", ".join(f"{d:{fmt}}" for d in gone[:5]) + (f" and {n - 5} more" if n > 5 else "")
    return [f"factor data missing for {n} {word}{'s' if n > 1 else ''} of the sample "
            f"({shown}: no row, or a missing-value code): left out"]


#: Weekdays a period's daily factor data may lack before it is said: the most the US
#: market closed in a week or month since 1952 (holidays, storms, the Wednesdays of 1968
#: with a holiday: 6 in a month), the week of 11 September 2001 excepted.
THIN_PERIOD_DAYS = {"W": 2, "M": 6}


def thin_periods(labels: pd.DatetimeIndex, calendar: pd.DatetimeIndex, freq: str
                 ) -> list[str]:
    """A warning for compounded periods whose daily factor data lack more weekdays than
    :data:`THIN_PERIOD_DAYS`: rows lost from a daily file that no price series can show
    (returns supplied by the user). Said, not left out: a real closure looks the same."""
    if labels.empty:
        return []
    first, _ = _period_bounds(labels, freq)
    listed = calendar[(calendar >= first[0]) & (calendar <= labels[-1])]
    weekdays = pd.bdate_range(first[0], labels[-1])
    rule = _RULES[freq]
    lacking = pd.Series(1, index=weekdays.difference(listed)).resample(rule).sum()
    thin = lacking[lacking > THIN_PERIOD_DAYS[freq]].index.intersection(labels)
    if thin.empty:
        return []
    word, n = FREQUENCY_WORDS[freq][:-2], len(thin)
    shown = ", ".join(f"{d:%Y-%m-%d}" for d in thin[:3]) + (f" and {n - 3} more" if n > 3 else "")
    return [f"the daily factor data lack more than {THIN_PERIOD_DAYS[freq]} weekdays in "
            f"{n} {word}{'s' if n > 1 else ''} of the sample (ending {shown}): rows missing "
            "from the file, or market closures; the compounded factors cover only the days "
            "listed"]


def _periods_across_unlisted_days(asset: pd.DataFrame, prices: pd.DataFrame,
                                  calendar: pd.DatetimeIndex, freq: str
                                  ) -> tuple[pd.DataFrame, list[str]]:
    """Leave out an asset's period return where, inside the period, it has a price on a
    weekday the daily factor data do not list: the compounded factors would cover less of
    the period than the asset's return (see :func:`unlisted_days`)."""
    extra = unlisted_days(prices, calendar)
    if extra is None or asset.empty:
        return asset, []
    labels = periods_of(extra.index, freq).to_timestamp(how="end").normalize()
    hit = extra.groupby(labels).any().reindex(asset.index, fill_value=False)
    hit = hit.reindex(columns=asset.columns, fill_value=False).to_numpy(dtype=bool)
    lost = hit & ~np.isnan(asset.to_numpy(dtype=float))
    inside = extra[np.isin(labels, asset.index)]
    word = f"{FREQUENCY_WORDS[freq]} return"
    return asset.mask(hit), _unlisted_warnings(inside, lost.sum(axis=0), word)


def require_overlap(sample: AlignedSample, label: str = "") -> None:
    """Raise a clear error when no asset has any date in common with the factors."""
    if sample.factors.empty:
        raise InsufficientDataError(f"no factor data in the requested period{label}")
    if not np.isfinite(sample.excess.to_numpy()).any():
        raise InsufficientDataError(f"no dates where prices and factors overlap{label}")


def align_returns(
    returns: pd.DataFrame,
    factor_returns: pd.DataFrame,
    factor_frequency: str,
    factors: tuple[str, ...],
    freq: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    excess: bool = False,
    say_late: bool = True,
) -> AlignedSample:
    """Align returns a user supplies (not prices) with factor returns at ``freq``.

    Daily returns are matched to factor trading days by date; a return dated on a day
    without factor data is left out and counted. Weekly and monthly returns are matched by
    calendar period, whatever day of the period they are dated (the last trading day, the
    last calendar day or the 1st): ``2021-03-01`` and ``2021-03-31`` both mean March 2021.

    Parameters
    ----------
    returns : DataFrame
        Simple returns in decimals per period, dates x series, sorted, one row per date.
    excess : bool
        The returns are already in excess of the risk-free rate: ``RF`` is not subtracted.
    say_late : bool
        Warn of daily returns after the factors' last date (False: the caller says so).

    Raises
    ------
    InvalidInputError
        Two returns in one period.
    """
    freq = check_frequency(freq)
    warnings: list[str] = []
    used = [*factors, "RF"]
    if freq == "D":
        # label slices of sorted indexes: no boolean-mask copy of a large block
        listed = factor_returns.loc[start:end]
        fac = listed
        if listed[used].isna().to_numpy().any():
            # a day with a factor missing stays in the calendar: the return after it is
            # still one factor day; its own return is left out below
            fac = listed.dropna(subset=used)
            warnings += missing_factor_days(listed, used)
        inside = returns.loc[start:end]
        same = inside.index.equals(listed.index)
        off = inside.index[:0] if same else inside.index.difference(listed.index)
        off = off[inside.loc[off].notna().any(axis=1)] if len(off) else off
        late = off[off > listed.index[-1]] if len(listed) else off
        off = off[: len(off) - len(late)]
        if len(late) and say_late:
            warnings.append(f"{len(late)} return{'s' if len(late) > 1 else ''} after the "
                            f"factors' last date {listed.index[-1]:%Y-%m-%d} left out (the "
                            "library publishes with a lag)")
        if len(off):
            warnings.append(f"{len(off)} return{'s' if len(off) > 1 else ''} dated on days "
                            f"without factor data left out (first {off[0]:%Y-%m-%d}): daily "
                            "returns are matched to factor trading days")
        asset = inside if same else inside.reindex(listed.index)
        asset, lost, complete = _no_return_across_gaps(asset, inside, off)
        warnings += lost
        if fac is not listed:
            asset = asset.reindex(fac.index)
            complete = complete and bool(np.isfinite(asset.to_numpy(dtype=float)).all())
    else:
        labels = periods_of(returns.index, freq).to_timestamp(how="end").normalize()
        doubled = labels[labels.duplicated()]
        if len(doubled):
            raise InvalidInputError(
                f"two returns in the {FREQUENCY_WORDS[freq][:-2]} period ending "
                f"{doubled[0]:%Y-%m-%d}: "
                f"are these {FREQUENCY_WORDS[freq]} returns?")
        relabelled = returns.set_axis(labels)
        if factor_frequency == "D":
            fac = period_factor_returns(factor_returns, freq, start, end)
            warnings += missing_factor_days(factor_returns.loc[start:end], used, freq)
            warnings += thin_periods(fac.index, factor_returns.index, freq)
        else:
            fac = native_period_factors(factor_returns, freq, start, end)
            warnings += missing_factor_periods(fac, used, freq)
        fac = fac.dropna(subset=used)
        asset = relabelled.reindex(fac.index)
        complete = False
    excess_returns = asset if excess else asset.sub(fac["RF"], axis=0)
    return AlignedSample(excess_returns, fac[list(factors)], fac["RF"], freq, tuple(warnings),
                         complete=complete)


def _no_return_across_gaps(asset: pd.DataFrame, given: pd.DataFrame, off: pd.DatetimeIndex
                           ) -> tuple[pd.DataFrame, list[str], bool]:
    """A supplied daily return that follows a factor day without one (or a return dated
    on a day without factor data) may span more than its one factor day: it is left out.

    Returns the returns with those set missing, a warning per series (at most five, then
    a count), and whether no value was missing at all.
    """
    values = asset.to_numpy(dtype=float)
    if not len(off) and np.isfinite(values.sum()):  # nothing missing: nothing can span
        return asset, [], True
    values = values.copy()
    seen = ~np.isnan(values)
    gap = _span(seen) & ~seen  # inside each series' own span: after its first return
    after = np.zeros_like(seen)
    after[1:] = gap[:-1]
    if len(off):  # the factor day after an off-calendar date, for series that have it
        rows = asset.index.searchsorted(off)
        keep = rows < len(asset)
        has = given.loc[off].notna().to_numpy()
        after[rows[keep]] |= has[keep]
    drop = after & seen
    if not drop.any():
        return asset, [], False
    values[drop] = np.nan
    lines = []
    for j in np.flatnonzero(drop.any(axis=0)):
        first = asset.index[np.flatnonzero(drop[:, j])[0]]
        lines.append(f"{asset.columns[j]}: {int(drop[:, j].sum())} return(s) left out, each "
                     f"after a factor trading day without a return (first {first:%Y-%m-%d}): "
                     "they may span more than one day")
    if len(lines) > 5:
        lines = [*lines[:5], f"... and {len(lines) - 5} more series"]
    return pd.DataFrame(values, index=asset.index, columns=asset.columns), lines, False

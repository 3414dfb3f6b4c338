"""Plausibility checks on the data behind a regression: warnings a user must see.

Each function returns plain sentences (``"AAPL 2020-08-31: ..."``) that travel with the
results (:attr:`FactorResults.warnings`), into ``FACTOR_STATS`` rows, ``FACTOR_INFO`` and
the CLI's stderr.
They warn rather than refuse where the data may still be right (a real crash can look like
a split), and name the date so the user can look.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlfactor.engine.align import AlignedSample

#: One-day price ratios that an unadjusted split produces: new/old price for an n:1 split
#: is 1/n; for a 1:n reverse split it is n; 3:2 gives 2/3.
SPLIT_RATIOS: dict[str, float] = {
    **{f"{n}:1": 1.0 / n for n in (2, 3, 4, 5, 7, 8, 10, 15, 20)},
    "3:2": 2.0 / 3.0,
    **{f"1:{n} reverse": float(n) for n in (2, 3, 4, 5, 8, 10, 20)},
}
#: How close (relative) a day's price ratio must be to a split ratio to be flagged: wide
#: enough for the market's own move that day (AAPL's 4:1 split day rose 3.4%).
SPLIT_TOLERANCE = 0.08
#: Smallest one-day move considered at all (a 3:2 split is a 33% fall).
SPLIT_MIN_MOVE = 0.30
#: Requested dates within this many calendar days of the data's own bounds need no word.
EDGE_SLACK_DAYS = 4


def unadjusted_splits(prices: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
                      ) -> list[str]:
    """Days in ``[start, end]`` whose one-day price ratio matches a split ratio.

    Adjusted closes have no such jumps on split days; an export of unadjusted closes
    turns a 4:1 split into a -75% "return" that a regression takes at face value.
    """
    if prices.empty:
        return []
    values = prices.to_numpy(dtype=float)
    index = prices.index
    # each price over the asset's previous one (its own last trading day), in one pass
    previous = prices.ffill().shift(1).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values / previous
        window = ((index >= start) & (index <= end))[:, None]
        big = window & (np.abs(ratio - 1.0) >= SPLIT_MIN_MOVE)
    out = []
    for i, j in np.argwhere(big):  # rare: look closer at each
        before = np.flatnonzero(np.isfinite(values[:i, j]))[-1]
        if (index[i] - index[before]).days > 5:
            continue  # a change across a hole in the data is no one-day move
        label = _split_label(float(ratio[i, j]))
        if label is not None:
            out.append(f"{prices.columns[j]} {index[i]:%Y-%m-%d}: a one-day move of "
                       f"{ratio[i, j] - 1:+.1%} matches a {label} split: the price series "
                       "looks unadjusted (use split- and dividend-adjusted closes)")
    return out


#: Smallest one-period move looked at as a possible typo or bad tick: x1.5 or /1.5. Real
#: closes revert by up to about 26% (JPM in 2008, TSLA, in the recorded files), typos by
#: digits (x10, x100, a digit dropped).
JUMP_MIN_RATIO = 1.5
#: Share of the move (in log terms) the next period must undo for it to count as one-off.
JUMP_UNDONE_SHARE = 0.75
#: Flagged periods named per series; more are counted.
JUMPS_SHOWN = 3


def one_off_jumps(data: pd.DataFrame, start: pd.Timestamp | None = None,
                  end: pd.Timestamp | None = None, *, returns: bool = False) -> list[str]:
    """Periods in ``[start, end]`` where a series jumps and the next period undoes it.

    A level shift that stays (a split, a merger) is not flagged; a price typed x100 for
    one day (12100 for 121), a dropped digit or a bad tick is: a move of at least
    :data:`JUMP_MIN_RATIO` either way that the next value takes back by at least
    :data:`JUMP_UNDONE_SHARE`. The regression takes such a pair at face value (two huge
    returns), so each is named with its date and size.

    Parameters
    ----------
    data : DataFrame
        Prices (each compared with its own previous and next price, across blanks), or,
        with ``returns=True``, simple returns in decimals per period (consecutive rows).
    start, end : Timestamp, optional
        Only jumps dated in this window are reported.

    Returns
    -------
    list of str
        One sentence per flagged series and date (at most :data:`JUMPS_SHOWN` per series,
        then a count).
    """
    if data.empty:
        return []
    values = data.to_numpy(dtype=float)
    # each value over the one before: the previous row for returns, the previous price
    # across blanks for prices; a cheap test on the whole frame, then a closer look
    ratio = 1.0 + values if returns else values / data.ffill().shift(1).to_numpy(dtype=float)
    index = data.index
    window = np.ones(len(index), dtype=bool)
    if start is not None:
        window &= index >= start
    if end is not None:
        window &= index <= end
    with np.errstate(invalid="ignore"):
        big = window[:, None] & ((ratio >= JUMP_MIN_RATIO) | (ratio <= 1.0 / JUMP_MIN_RATIO))
    flagged: dict[int, list[tuple[int, float, float]]] = {}
    for i, j in np.argwhere(big):  # rare: look at the next period of each
        up = float(np.log(ratio[i, j]))
        down = _next_log_move(values[:, j], i, returns)
        if np.sign(up) == -np.sign(down) and abs(up + down) <= (1 - JUMP_UNDONE_SHARE) * abs(up):
            flagged.setdefault(int(j), []).append((int(i), up, down))
    out = []
    for j, found in flagged.items():
        for i, up, down in found[:JUMPS_SHOWN]:
            out.append(f"{data.columns[j]} {index[i]:%Y-%m-%d}: a one-off jump of "
                       f"{np.expm1(up):+.1%} undone the next period "
                       f"({np.expm1(down):+.1%}): a typo or a bad tick? The "
                       "regression takes both returns as they are")
        if len(found) > JUMPS_SHOWN:
            out.append(f"{data.columns[j]}: {len(found) - JUMPS_SHOWN} more one-off jumps "
                       f"(last {index[found[-1][0]]:%Y-%m-%d})")
    return out


def _next_log_move(column: np.ndarray, i: int, returns: bool) -> float:
    """The log move of the period after row ``i`` (NaN when there is none)."""
    if returns:
        return float(np.log1p(column[i + 1])) if i + 1 < len(column) else float("nan")
    later = np.flatnonzero(np.isfinite(column[i + 1:]))
    if not later.size:
        return float("nan")
    return float(np.log(column[i + 1 + later[0]] / column[i]))


def _split_label(ratio: float) -> str | None:
    for label, target in SPLIT_RATIOS.items():
        if abs(ratio / target - 1.0) <= SPLIT_TOLERANCE:
            return label
    return None


def shortened_sample(prices: pd.DataFrame, factors: pd.DataFrame, sample: AlignedSample,
                     start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """Why the sample ends before ``end`` or starts after ``start``, with what it cost.

    Counts are trading days of the factor calendar for daily samples (weekdays past the
    factors' last date) and periods of the sample's frequency otherwise.
    """
    slack = pd.Timedelta(days=EDGE_SLACK_DAYS)
    out = []
    factor_last = factors.dropna(how="all").index.max()
    # past the factors' last date there is no trading calendar to count on: weekdays
    unit = {"D": "weekdays", "W": "weeks", "M": "months"}[sample.frequency]
    if factor_last + slack < end:
        lost = _count(factor_last, end, sample.frequency)
        if lost:
            out.append(f"factors end {factor_last:%Y-%m-%d}: sample shortened by {lost} "
                       f"{unit if lost > 1 else unit[:-1]} (the library publishes with a lag)")
    calendar = factors.index[(factors.index >= start) & (factors.index <= end)]
    for name in prices.columns:
        seen = prices[name].dropna()
        if seen.empty:
            continue
        first, last = seen.index[0], seen.index[-1]
        if last + slack < min(end, factor_last):
            if sample.frequency == "D":
                lost = int(((calendar > last) & (calendar <= end)).sum())
            else:  # the period holding the last price is lost too unless it ends there
                lost = _count(last, min(end, factor_last), sample.frequency, partial_first=True)
            if lost:
                out.append(f"{name}: prices end {last:%Y-%m-%d}: sample shortened by {lost} "
                           f"{_unit(unit, sample.frequency, lost)}")
        if first > start + slack:
            if sample.frequency == "D":
                lost = int(((calendar >= start) & (calendar < first)).sum())
            else:
                lost = _count(start - pd.Timedelta(days=1), first, sample.frequency)
            out.append(f"{name}: prices start {first:%Y-%m-%d}: sample starts {lost} "
                       f"{_unit(unit, sample.frequency, lost)} later than requested")
    return out


def _unit(unit: str, freq: str, count: int = 2) -> str:
    word = "trading days" if freq == "D" else unit
    return word if count != 1 else word[:-1]


def _count(after: pd.Timestamp, until: pd.Timestamp, freq: str, *,
           partial_first: bool = False) -> int:
    """Weekdays, or complete weeks / months, after ``after`` up to ``until``.

    With ``partial_first`` the week or month holding ``after`` counts as well when
    ``after`` falls before its last weekday (a series ending mid-period loses that period).
    """
    if freq == "D":
        return int(np.busday_count((after + pd.Timedelta(days=1)).date(),
                                   (until + pd.Timedelta(days=1)).date()))
    rule = "W-FRI" if freq == "W" else "M"
    periods = pd.period_range(after, until, freq=rule)
    # a period counts as lost only if it was complete by ``until`` (its last weekday)
    ends = periods.to_timestamp(how="end").normalize()
    last_weekday = ends - pd.to_timedelta(np.maximum(ends.day_of_week - 4, 0), unit="D")
    counted = last_weekday <= until
    counted[0] = bool(counted[0]) and partial_first and after < last_weekday[0]
    return int(counted.sum())

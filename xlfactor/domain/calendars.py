"""The days the US stock market was closed on a weekday: holidays and special closures.

The Kenneth French daily US files are built from CRSP and list exactly the NYSE's trading
days, so a weekday such a file does not list is either a day the market was closed or a
row lost from the file. Only this calendar tells the two apart; the alignment needs to,
because a listing that trades on a US holiday (London, Tokyo, a fund priced every weekday)
has a price on a day whose factor return is folded into the next listed day, whereas a
lost row leaves the next day's factor return covering one day only.

Coverage is from :data:`COVERED_FROM` on: the calendar below equals the weekdays missing
from the library's daily three-factor file (release 202510) from 1973 to October 2025,
day for day (``tests/test_factor_calendar.py``). Earlier years had closures this module does
not list (election days every year, the Wednesdays of 1968), so before that date every
unlisted weekday is taken for a closure, as the files cannot say otherwise.

The international daily files of the library list every weekday, so nothing here applies
to them except by coincidence.
"""

from __future__ import annotations

import functools

import pandas as pd

#: First day this calendar is complete for.
COVERED_FROM = pd.Timestamp("1973-01-01")

#: Weekday closures outside the yearly rules (funerals of presidents, storms, 2001-09-11,
#: the 1977 blackout, presidential election days up to 1980).
SPECIAL_CLOSURES = (
    "1973-01-25", "1976-11-02", "1977-07-14", "1980-11-04", "1985-09-27", "1994-04-27",
    "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14", "2004-06-11", "2007-01-02",
    "2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09",
)


@functools.lru_cache(maxsize=1)
def _calendar() -> object:
    from pandas.tseries.holiday import (
        AbstractHolidayCalendar,
        GoodFriday,
        Holiday,
        USLaborDay,
        USMartinLutherKingJr,
        USMemorialDay,
        USPresidentsDay,
        USThanksgivingDay,
        nearest_workday,
        sunday_to_monday,
    )

    class NYSEHolidays(AbstractHolidayCalendar):
        # New Year's Day on a Saturday closes no Friday: that Friday ends the year
        rules = [
            Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
            Holiday("Martin Luther King Jr. Day", month=1, day=1,
                    offset=USMartinLutherKingJr.offset, start_date="1998-01-01"),
            USPresidentsDay, GoodFriday, USMemorialDay,
            Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01",
                    observance=nearest_workday),
            Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
            USLaborDay, USThanksgivingDay,
            Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
        ]

    return NYSEHolidays()


def us_market_closures(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Weekdays in ``[start, end]`` on which the US stock market was closed, as far as
    this calendar covers (see :data:`COVERED_FROM`): holidays and special closures."""
    start, end = max(pd.Timestamp(start), COVERED_FROM), pd.Timestamp(end)
    if start > end:
        return pd.DatetimeIndex([])
    holidays = _calendar().holidays(start, end)  # type: ignore[attr-defined]
    special = pd.DatetimeIndex(pd.to_datetime(SPECIAL_CLOSURES))
    days = holidays.union(special[(special >= start) & (special <= end)])
    return days[days.day_of_week < 5]


def maybe_closed(days: pd.DatetimeIndex) -> pd.Series:
    """For each weekday of ``days``: True if the US market was (or, before the covered
    years, may have been) closed on it. Indexed by ``days``."""
    if days.empty:
        return pd.Series(dtype=bool, index=days)
    closed = us_market_closures(days.min(), days.max())
    return pd.Series(days.isin(closed) | (days < COVERED_FROM), index=days)

"""Calendar days: the one parser for every date a user gives, and the default period.

Every date below the edges is a tz-naive midnight :class:`pandas.Timestamp`. A date with
a time zone keeps its own calendar day (``2020-01-02T00:00+09:00`` is 2 January), and
Excel serial numbers count days from Excel's epoch, 1899-12-30, as its 1900 date system
does from 1 March 1900 on.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from xlfactor.domain.errors import InvalidInputError

#: Day zero of Excel's 1900 date system, right for serials from 61 (1 March 1900) on.
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: One past the largest serial taken: Excel goes to 9999-12-31 (2958465), but pandas counts
#: the days as a nanosecond timedelta, which ends after 106751 days (the year 2192).
_EXCEL_SERIAL_END = min(2958466, pd.Timedelta.max.days + 1)


def parse_date(value: object, what: str = "date") -> pd.Timestamp | None:
    """A user's date as a tz-naive midnight, or ``None`` for a blank (use the default).

    Parameters
    ----------
    value : str, date, datetime, pandas.Timestamp, int or float
        ISO text (``"2020-01-31"``, a time and offset allowed), a date-like object
        (``datetime``, ``date``, ``Timestamp``, ``numpy.datetime64``), or an Excel serial
        number (a fraction is a time of day and is dropped). ``None``, blank text and NaN
        are blanks.
    what : str
        The argument's name, for the error message.

    Raises
    ------
    InvalidInputError
        Text that is not an ISO date, a serial outside Excel's range, a boolean.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a date, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if np.isnan(value):
            return None
        if not 1 <= float(value) < _EXCEL_SERIAL_END:
            raise InvalidInputError(f"{what}: {value!r} is not a valid Excel date")
        return pd.to_datetime(float(value), unit="D", origin=EXCEL_EPOCH).normalize()
    if isinstance(value, (datetime, date, np.datetime64)):
        return _calendar_day(pd.Timestamp(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            stamp = pd.Timestamp(datetime.fromisoformat(text))
        except ValueError:
            raise InvalidInputError(
                f"{what}: {text[:40]!r} is not a date (use YYYY-MM-DD)") from None
        return _calendar_day(stamp)
    raise InvalidInputError(f"{what} must be a date, got {type(value).__name__}")


def _calendar_day(stamp: pd.Timestamp) -> pd.Timestamp:
    """The calendar day of ``stamp`` where it was written (no conversion to UTC)."""
    return (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize()


def required_date(value: object, what: str) -> pd.Timestamp:
    """:func:`parse_date` for a date that must be given."""
    day = parse_date(value, what)
    if day is None:
        raise InvalidInputError(f"{what} date is required")
    return day


def inclusive_range(start: object, end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Both bounds of ``[start, end]`` as midnights, checked in order.

    Raises
    ------
    InvalidInputError
        When a date is missing or unparseable, or ``start`` is after ``end``.
    """
    first, last = required_date(start, "start"), required_date(end, "end")
    if first > last:
        raise InvalidInputError(f"start {first.date()} is after end {last.date()}")
    return first, last


def last_complete_trading_day(today: date | None = None) -> pd.Timestamp:
    """Yesterday, rolled back to a weekday (today's close may not be final yet)."""
    day = pd.Timestamp(today or date.today()).normalize() - pd.Timedelta(days=1)
    while day.day_of_week >= 5:
        day -= pd.Timedelta(days=1)
    return day


def resolve_period(
    start: object = None, end: object = None, *, today: date | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The inclusive sample period ``(start, end)`` a request asks for.

    Defaults: ``end`` is the last complete trading day (also when ``end`` is today or
    later), ``start`` three years before ``end``.

    Raises
    ------
    InvalidInputError
        ``start`` in the future or after ``end``, or before 1900.
    """
    now = pd.Timestamp(today or date.today()).normalize()
    s = parse_date(start, "start")
    e = parse_date(end, "end")
    if s is not None and s > now:
        raise InvalidInputError(f"start {s:%Y-%m-%d} is in the future")
    if e is None or e >= now:  # today's close is not final until the market closes
        e = last_complete_trading_day(today)
    if s is None:
        s = e - pd.DateOffset(years=3)
    if s > e:
        raise InvalidInputError(f"start {s:%Y-%m-%d} is after end {e:%Y-%m-%d}")
    if s.year < 1900:
        raise InvalidInputError(f"start {s:%Y-%m-%d} is before any factor history")
    return s, e

"""Calendar days: the one parser for every date a user gives, and the default period.

Every date below the edges is a tz-naive midnight :class:`pandas.Timestamp`. A date with
a time zone keeps its own calendar day (``2020-01-02T00:00+09:00`` is 2 January), and
Excel serial numbers count days from Excel's epoch, 1899-12-30, as its 1900 date system
does from 1 March 1900 on.
"""

from __future__ import annotations

import re
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


# -- dates written as text in users' files ------------------------------------------------
#: Years a date in a file may have: inside pandas' nanosecond range (1677-09-21 to
#: 2262-04-11) with whole years to spare, so that no date can overflow later arithmetic.
FILE_YEARS = (1678, 2261)

_TIME = (r"(?:[ T](?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:\.\d+)?)?"
         r"(?P<tz>\s*(?:Z|[+-]\d{2}:?\d{2}))?)?")
_MONTH_NAMES = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_MONTH_WORD = r"(?P<mon>[A-Za-z]{3,9})\.?"
#: The ways of writing a date that are read, by style. Year first is never day-month
#: swapped (nobody writes y/d/m); numeric day and month in either order are decided by the
#: data or by the caller, never guessed.
_STYLES: dict[str, str] = {
    "ISO": rf"(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}){_TIME}",
    "year first": r"(?P<y>\d{4})(?P<sep>[/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME,
    "yyyymmdd": r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})",
    "numeric": r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME,
    "day month-name": rf"(?P<d>\d{{1,2}})[ -]{_MONTH_WORD}[ -](?P<y>\d{{4}})",
    "month-name day": rf"{_MONTH_WORD} (?P<d>\d{{1,2}}),? (?P<y>\d{{4}})",
}

DAY_FIRST = "day first"
MONTH_FIRST = "month first"


class DateTextError(InvalidInputError):
    """A column of dates written as text that cannot be read for sure.

    Attributes
    ----------
    row : int or None
        0-based position of the text the message is about, for the caller to turn into
        a line number; ``None`` when the message is about the column as a whole.
    """

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


def parse_date_texts(texts: object, dayfirst: bool | None = None, *,
                     midnight_only: bool = False, say: str = "dayfirst=True or False"
                     ) -> tuple[pd.DatetimeIndex, str]:
    """Calendar days from a column of date texts, all written in one style.

    Parameters
    ----------
    texts : sequence of str
        The cells as written (surrounding blanks are ignored).
    dayfirst : bool, optional
        For ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` (also with ``.`` or ``-``): ``True`` day
        first, ``False`` month first, ``None`` decided by the data: a first field above 12
        proves day first, a second field above 12 month first. When no value decides and
        the two readings differ, the column is refused with both readings named. ISO
        (``2021-03-01``), year-first (``2021/03/01``), ``20210301`` and month names
        (``1 Mar 2021``, ``Mar 1, 2021``) are read as they are, whatever ``dayfirst``.
    midnight_only : bool
        Refuse a time of day other than midnight (for daily closes); otherwise any time
        (and UTC offset) is dropped: the day is the day as written.
    say : str
        How the caller's user says the order, for the message refusing an undecided one.

    Returns
    -------
    (DatetimeIndex, str)
        Tz-naive midnights (nanosecond unit), and how they were read: the style, with
        ``"day first"`` / ``"month first"`` for numeric dates.

    Raises
    ------
    DateTextError
        A text in no known style, styles mixed in one column, an impossible or
        out-of-range date (years outside :data:`FILE_YEARS`), an order the data
        contradict or cannot decide; ``row`` says which text.
    """
    cells = pd.Series(np.asarray(texts, dtype=object), dtype=object).astype(str).str.strip()
    if cells.empty:
        return pd.DatetimeIndex([], dtype="datetime64[ns]"), "ISO"
    style, parts = _match_style(cells)
    if midnight_only:
        _refuse_times(cells, parts)
    how = style
    if style == "numeric":
        order = _numeric_order(cells, parts, dayfirst, say)
        day, month = (parts["a"], parts["b"]) if order == DAY_FIRST else (parts["b"], parts["a"])
        parts = parts.assign(d=day, m=month)
        how = order
    elif "mon" in parts:
        parts = parts.assign(m=_month_numbers(cells, parts["mon"]))
    return _calendar(cells, parts), how


def _match_style(cells: pd.Series) -> tuple[str, pd.DataFrame]:
    """The one style every cell is written in, and the fields of each cell."""
    first = cells.iloc[0]
    for style, pattern in _STYLES.items():
        if re.fullmatch(pattern, first, flags=re.IGNORECASE) is None:
            continue
        if style in _FIXED_WIDTH:  # the common case, without a regex group per cell
            read = cells.str.fullmatch(pattern, case=False).to_numpy(dtype=bool)
            parts = pd.DataFrame({f: cells.str[s] for f, s in _FIXED_WIDTH[style].items()})
            times = cells.str.len().to_numpy() > 10
            if read.all() and times.any():
                clock = cells[times].str.extract(f"^(?:{pattern})$", flags=re.IGNORECASE)
                parts = parts.join(clock[["hh", "mi", "ss"]])
        else:
            parts = cells.str.extract(f"^(?:{pattern})$", flags=re.IGNORECASE)
            read = parts["y"].notna().to_numpy()
        if not read.all():
            at = int(np.flatnonzero(~read)[0])
            other = _style_of(cells.iloc[at])
            hint = (f", the first date is {style} ({first!r}): one style per column"
                    if other else "")
            raise DateTextError(f"unreadable date {cells.iloc[at][:30]!r}{hint}", at)
        return style, parts
    raise DateTextError(f"unreadable date {first[:30]!r} (write dates as YYYY-MM-DD)", 0)


#: Where the fields of the fixed-width styles are.
_FIXED_WIDTH = {
    "ISO": {"y": slice(0, 4), "m": slice(5, 7), "d": slice(8, 10)},
    "yyyymmdd": {"y": slice(0, 4), "m": slice(4, 6), "d": slice(6, 8)},
}


def _style_of(text: str) -> str | None:
    for style, pattern in _STYLES.items():
        if re.fullmatch(pattern, text, flags=re.IGNORECASE):
            return style
    return None


def _refuse_times(cells: pd.Series, parts: pd.DataFrame) -> None:
    if "hh" not in parts:
        return
    clock = parts[["hh", "mi", "ss"]].fillna("0").astype(int)
    late = (clock != 0).any(axis=1).to_numpy()
    if late.any():
        at = int(np.flatnonzero(late)[0])
        raise DateTextError(f"date {cells.iloc[at][:30]!r} has a time of day: daily closes "
                            "are dated by day", at)


def _numeric_order(cells: pd.Series, parts: pd.DataFrame, dayfirst: bool | None,
                   say: str) -> str:
    """Day first or month first, as said or as the fields prove; refused when undecided."""
    a = parts["a"].astype(int).to_numpy()
    b = parts["b"].astype(int).to_numpy()
    day_proof = np.flatnonzero(a > 12)
    month_proof = np.flatnonzero(b > 12)
    if day_proof.size and month_proof.size:
        i, j = int(day_proof[0]), int(month_proof[0])
        both = np.flatnonzero((a > 12) & (b > 12))
        if both.size:
            raise DateTextError(f"impossible date {cells.iloc[int(both[0])][:30]!r}",
                                int(both[0]))
        raise DateTextError(
            f"dates in neither order: {cells.iloc[i]!r} has a first field above 12 (day "
            f"first) but {cells.iloc[j]!r} a second one (month first)", max(i, j))
    proven = DAY_FIRST if day_proof.size else MONTH_FIRST if month_proof.size else None
    said = None if dayfirst is None else DAY_FIRST if dayfirst else MONTH_FIRST
    if said is not None and proven is not None and said != proven:
        at = int((day_proof if day_proof.size else month_proof)[0])
        raise DateTextError(
            f"dates are {proven}, not {said} as given: {cells.iloc[at]!r} has a "
            f"{'first' if proven == DAY_FIRST else 'second'} field above 12", at)
    if said or proven:
        return said or proven  # type: ignore[return-value]
    differ = np.flatnonzero(a != b)
    if not differ.size:  # 01/01, 02/02...: both readings are the same days
        return DAY_FIRST
    i = int(differ[0])
    text, y = cells.iloc[i], int(parts["y"].iloc[i])
    as_dm = _iso(y, b[i], a[i])
    as_md = _iso(y, a[i], b[i])
    raise DateTextError(
        f"ambiguous dates: {text!r} is {as_dm} read day first (dd/mm/yyyy) or {as_md} "
        f"read month first (mm/dd/yyyy), and no date in the column has a day above 12 "
        f"to tell: say which ({say}), or write the dates as YYYY-MM-DD", i)


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return "no date"


def _month_numbers(cells: pd.Series, words: pd.Series) -> pd.Series:
    lower = words.str.lower()
    numbers = lower.str[:3].map(_MONTH_NAMES)
    bad = (numbers.isna() | ~(lower.isin(_MONTH_NAMES) | lower.isin(_FULL_MONTHS))).to_numpy()
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise DateTextError(f"unreadable month in date {cells.iloc[at][:30]!r}", at)
    return numbers.astype(int).astype(str)


_FULL_MONTHS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "sept"})


def _calendar(cells: pd.Series, parts: pd.DataFrame) -> pd.DatetimeIndex:
    """Midnights from year, month and day fields; impossible and out-of-range days refused."""
    years = parts["y"].astype(int).to_numpy()
    months = parts["m"].astype(int).to_numpy()
    days = parts["d"].astype(int).to_numpy()
    outside = np.flatnonzero((years < FILE_YEARS[0]) | (years > FILE_YEARS[1]))
    if outside.size:
        at = int(outside[0])
        raise DateTextError(f"date {cells.iloc[at][:30]!r} is outside the years xlfactor "
                            f"reads ({FILE_YEARS[0]} to {FILE_YEARS[1]})", at)
    month_ok = (months >= 1) & (months <= 12)
    first = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + \
        (np.where(month_ok, months, 1) - 1).astype("timedelta64[M]")
    length = ((first + np.timedelta64(1, "M")).astype("datetime64[D]")
              - first.astype("datetime64[D]")).astype(int)
    bad = ~month_ok | (days < 1) | (days > length)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise DateTextError(f"impossible date {cells.iloc[at][:30]!r}", at)
    stamps = first.astype("datetime64[D]") + (days - 1).astype("timedelta64[D]")
    return pd.DatetimeIndex(stamps.astype("datetime64[ns]"))

"""The Kenneth R. French Data Library's CSV layout, parsed.

Each dataset is ``<name>_CSV.zip`` holding one CSV laid out for people rather than
machines: free-text header lines, a table whose header row starts with a comma
(``,Mkt-RF,SMB,HML,RF``), and in monthly files a second, annual table after a blank line
and a title, then a copyright line. Values are percent per period; ``-99.99`` and
``-999`` mean missing. :func:`parse_french_csv` turns such a file into decimal returns
with canonical column names (:data:`xlfactor.domain.models.FACTOR_ALIASES`), locating the header
rows rather than assuming fixed line numbers.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from xlfactor.domain.errors import DataFormatError, DataUnavailableError
from xlfactor.domain.frequency import FREQUENCY_WORDS
from xlfactor.domain.models import FACTOR_ALIASES

#: Missing-value codes documented by the library, in the file's raw (percent) units.
MISSING_CODES: tuple[float, ...] = (-99.99, -999.0)

_DATE_FORMATS = {8: "%Y%m%d", 6: "%Y%m", 4: "%Y"}
# ASCII only: str.isdigit and \d would otherwise accept other scripts' digits.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_RELEASE = re.compile(r"\b(\d{6})\s+([A-Za-z][\w&-]*)\s+database\b", re.IGNORECASE)
# A CSV member far larger than any library file is refused rather than inflated.
_MAX_MEMBER_BYTES = 128 * 2**20


@dataclass(frozen=True, eq=False)
class FrenchFile:
    """One parsed library file.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"F-F_Research_Data_Factors_daily"`` (``""`` if unknown).
    description : str
        The free-text header above the first table, stripped.
    release : str
        Data release such as ``"202510 CRSP"``; ``""`` when the header does not say.
    frequency : {"D", "W", "M"}
        Frequency of the main table.
    main : DataFrame
        Main table: float64 decimal returns per period (0.0123 = 1.23 %), missing codes as
        NaN, canonical column names, DatetimeIndex ``"date"`` (monthly rows on the last
        calendar day of the month). Shared by caches: do not modify in place.
    annual : DataFrame or None
        The January-December annual table of monthly files (decimal returns per year,
        rows on 31 December), or None.
    """

    name: str
    description: str
    release: str
    frequency: str
    main: pd.DataFrame
    annual: pd.DataFrame | None = None


# ---------------------------------------------------------------------------- parsing


def parse_french_csv(text: str, name: str = "") -> FrenchFile:
    """Parse the text of a French Data Library CSV file.

    Parameters
    ----------
    text : str
        The whole file; CRLF, CR or LF line endings.
    name : str
        Dataset name, used in messages and to tell weekly from daily files.

    Returns
    -------
    FrenchFile
        Decimal returns (the file's percent values divided by 100).

    Raises
    ------
    DataFormatError
        For an HTML page or other non-CSV content, a missing header row, a market column
        that is not the excess return ``Mkt-RF``, a non-numeric or short data row, an
        invalid date or one outside 1677-2262 or after today, dates that are not strictly
        increasing, or dates whose spacing contradicts the frequency ``name`` states
        (weekly rows in a file named daily, and the reverse).
    """
    label = name or "French CSV file"
    lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
    _reject_non_csv(lines, label)
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith(",")]
    if not headers:
        raise DataFormatError(f"{label}: no table header row (a line starting with ',') found")
    main, width = _parse_table(lines, headers[0], label)
    if width == 4:
        raise DataFormatError(f"{label}, line {headers[0] + 2}: main table has YYYY dates")
    description = "\n".join(line.strip() for line in lines[: headers[0]]).strip()
    frequency = _frequency(width, name, main.index, f"{label}, line {headers[0] + 2}")
    _check_units(main, frequency, label)
    return FrenchFile(
        name=name,
        description=description,
        release=_release(description),
        frequency=frequency,
        main=main,
        annual=_parse_annual(lines, headers[1:], label),
    )


#: Median absolute factor return (decimals) a real file's factors lie within, per
#: frequency: about 0.4% a day, 1% a week, 2% a month in the library's files. A file
#: saved in decimals (100 times smaller once divided) or in basis points (100 times
#: larger) falls far outside.
UNIT_BOUNDS = {"D": (0.0005, 0.05), "W": (0.001, 0.1), "M": (0.002, 0.2)}


def _check_units(main: pd.DataFrame, frequency: str, label: str) -> None:
    """Refuse a file whose values are not percent per period, judged by their own scale."""
    factors = main[[c for c in main.columns if c != "RF"]]
    values = np.abs(factors.to_numpy(dtype=float))
    values = values[np.isfinite(values)]
    if values.size < 20:
        return
    median = float(np.median(values))
    low, high = UNIT_BOUNDS[frequency]
    if low <= median <= high:
        return
    kind = "decimals" if median < low else "basis points or another unit"
    raise DataFormatError(
        f"{label}: the factor values look like {kind}, not percent per period (median "
        f"|value| {median * 100:.3g} where percent gives {low * 100:g} to {high * 100:g}): "
        "refusing to guess the unit")


def _reject_non_csv(lines: list[str], label: str) -> None:
    """Fail early, with a clear message, on content that is plainly not a French CSV."""
    head = "\n".join(lines[:20]).lstrip().lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise DataFormatError(f"{label}: got an HTML page instead of a CSV file")
    if "\x00" in head:
        raise DataFormatError(f"{label}: got binary data instead of a CSV file")


def _parse_table(lines: list[str], header: int, label: str) -> tuple[pd.DataFrame, int]:
    """Parse the table whose header row is ``lines[header]``.

    Returns the frame and the number of digits of its date codes (8, 6 or 4).
    """
    columns = _column_names(lines[header], header + 1, label)
    end = header + 1
    # A table ends at a blank line; tolerate a copyright line glued to the last row.
    while end < len(lines) and lines[end].strip() and not _is_footer(lines[end]):
        end += 1
    body = lines[header + 1 : end]
    if not body:
        raise DataFormatError(f"{label}, line {header + 1}: table header has no data rows")
    first_line = header + 2  # 1-based number of the first data row
    codes, values = _parse_rows(body, first_line, len(columns), label)
    index, width = _parse_dates(codes, first_line, label)
    _check_order(index, codes, first_line, label)
    return pd.DataFrame(values, index=index, columns=columns), width


def _is_footer(line: str) -> bool:
    return line.strip().lower().startswith("copyright")


def _column_names(header_line: str, line_no: int, label: str) -> list[str]:
    """Canonical column names from a header row such as ``,Mkt-RF,SMB,HML,RF``."""
    raw = [c.strip() for c in header_line.strip().split(",")[1:]]
    if not raw or not all(raw):
        raise DataFormatError(f"{label}, line {line_no}: empty column name in header row")
    names = [_canonical_column(c, line_no, label) for c in raw]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataFormatError(f"{label}, line {line_no}: duplicate column {', '.join(dupes)}")
    return names


#: Header names of a market column that do not say "minus RF". In the library's layout the
#: market factor is always ``Mkt-RF``; a bare ``Mkt`` is the total market return, which
#: taken as the excess return would misstate every alpha and beta.
_TOTAL_MARKET = frozenset({"MKT", "MARKET"})


def _canonical_column(column: str, line_no: int, label: str) -> str:
    """``Mkt-RF`` -> ``MKT``, ``Mom`` -> ``MOM``; ``RF`` and unknown names stay as they are.

    Raises
    ------
    DataFormatError
        For a market column that is not named as an excess return (``Mkt``, ``Market``).
    """
    key = column.upper().replace(" ", "")
    if key == "RF":
        return "RF"
    if key in _TOTAL_MARKET:
        raise DataFormatError(
            f"{label}, line {line_no}: column {column!r} is the total market return, not "
            "the market excess return the factor models need (Mkt-RF): refusing to take "
            "one for the other")
    return FACTOR_ALIASES.get(key, column)


def _parse_rows(
    body: list[str], first_line: int, n_columns: int, label: str
) -> tuple[list[str], np.ndarray]:
    """Split data rows into date codes and a float array of decimal returns."""
    pattern = _row_pattern(n_columns)
    codes: list[str] = []
    rows: list[tuple[str, ...]] = []
    for offset, line in enumerate(body):
        match = pattern.fullmatch(line)
        if match is None:
            problem = _row_problem([f.strip() for f in line.split(",")], n_columns)
            raise DataFormatError(
                f"{label}, line {first_line + offset}: {problem} in {line.strip()[:60]!r}"
            )
        codes.append(match.group(1))
        rows.append(match.groups()[1:])
    raw = np.array(rows, dtype=np.float64)
    # Missing codes are matched on the raw percent numbers, before any arithmetic.
    raw[np.isin(raw, MISSING_CODES)] = np.nan
    return codes, raw / 100.0


@functools.cache
def _row_pattern(n_columns: int) -> re.Pattern[str]:
    """One regular expression per row shape: a whole row is checked in a single match."""
    value = rf"\s*({_NUMBER.pattern})\s*"
    return re.compile(r"\s*(\d+)\s*" + ("," + value) * n_columns, re.ASCII)


def _row_problem(fields: list[str], n_columns: int) -> str:
    """Why a data row (split on commas) failed the row pattern, for the error message."""
    if len(fields) != n_columns + 1:
        return f"expected {n_columns} values, found {len(fields) - 1}"
    if not (fields[0].isascii() and fields[0].isdigit()):
        return f"date code {fields[0]!r} is not a number"
    if not all(_NUMBER.fullmatch(f) for f in fields[1:]):
        return "non-numeric value"
    return "malformed row"


def _parse_dates(codes: list[str], first_line: int, label: str) -> tuple[pd.DatetimeIndex, int]:
    """YYYYMMDD -> that day, YYYYMM -> last day of the month, YYYY -> 31 December."""
    width = len(codes[0])
    for offset, code in enumerate(codes):
        if len(code) != width or width not in _DATE_FORMATS:
            raise DataFormatError(
                f"{label}, line {first_line + offset}: date code {code!r} is not "
                f"YYYYMMDD, YYYYMM or YYYY like the rows above it"
            )
    parsed = pd.to_datetime(pd.Series(codes), format=_DATE_FORMATS[width], errors="coerce")
    if parsed.isna().any():
        offset = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataFormatError(
            f"{label}, line {first_line + offset}: invalid date {codes[offset]!r}"
        )
    _check_date_range(pd.DatetimeIndex(parsed), codes, first_line, label)
    index = pd.DatetimeIndex(parsed).as_unit("ns")
    if width == 6:
        index = index + pd.offsets.MonthEnd(0)
    elif width == 4:
        index = index + pd.offsets.YearEnd(0)
    return index.rename("date"), width


#: Days a factor file's last date may lie after today (UTC): time zones, no more.
FUTURE_SLACK_DAYS = 2


def _check_date_range(parsed: pd.DatetimeIndex, codes: list[str], first_line: int,
                      label: str) -> None:
    """Refuse a date pandas cannot hold in nanoseconds (before 1677-09-22 or after
    2262-04-11: 99991231 as an "open end" marker, a mistyped year) and a date after today,
    which no published return can carry; the message names the line."""
    low, high = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    latest = min(high, today + pd.Timedelta(days=FUTURE_SLACK_DAYS))
    # pandas compares across time units without converting: nothing here can overflow
    outside = np.asarray((parsed < low) | (parsed > high))
    bad = outside | np.asarray(parsed > latest)
    if not bad.any():
        return
    offset = int(np.flatnonzero(bad)[0])
    if outside[offset]:
        why = f"outside the dates that can be handled ({low:%Y-%m-%d} to {high:%Y-%m-%d})"
    else:
        why = f"after today ({today:%Y-%m-%d})"
    raise DataFormatError(
        f"{label}, line {first_line + offset}: date {codes[offset]!r} is {why}: a damaged "
        "or placeholder row?")


def _check_order(index: pd.DatetimeIndex, codes: list[str], first_line: int, label: str) -> None:
    """Require strictly increasing dates: a repeat or a step back means a corrupt file."""
    if len(index) < 2:
        return
    steps = index[1:] <= index[:-1]
    if steps.any():
        i = int(np.flatnonzero(steps)[0]) + 1
        kind = "duplicate date" if index[i] == index[i - 1] else "date out of order"
        raise DataFormatError(
            f"{label}, line {first_line + i}: {kind} {codes[i]} after {codes[i - 1]}"
        )


def _parse_annual(lines: list[str], headers: list[int], label: str) -> pd.DataFrame | None:
    """The table whose title mentions "annual" (not the free text at the top), or None."""
    for header in headers:
        if "annual" not in _title_above(lines, header).lower():
            continue
        frame, width = _parse_table(lines, header, label)
        if width != 4:
            raise DataFormatError(f"{label}, line {header + 2}: annual table needs YYYY dates")
        return frame
    return None


def _title_above(lines: list[str], header: int) -> str:
    """The non-blank lines directly above a header row, joined (titles may span lines)."""
    start = header
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return " ".join(line.strip() for line in lines[start:header])


def _release(description: str) -> str:
    """``"... using the 202510 CRSP database"`` -> ``"202510 CRSP"``."""
    match = _RELEASE.search(description)
    return f"{match.group(1)} {match.group(2)}" if match else ""


def _frequency(width: int, name: str, index: pd.DatetimeIndex, where: str) -> str:
    """The frequency of the main table, from its dates; a file whose name says daily or
    weekly must hold rows of that frequency (see :func:`check_named_frequency`).

    YYYYMM dates are monthly; YYYYMMDD dates as :func:`frequency_of_dates` finds them
    (rows a month apart are monthly whatever their date layout).
    """
    if width == 6:
        check_named_frequency(name, index, where, "M", "YYYYMM dates")
        return "M"
    found = frequency_of_dates(index)
    check_named_frequency(name, index, where, found)
    return found or stated_frequency(name) or "D"


def frequency_of_dates(index: pd.DatetimeIndex) -> str:
    """``"D"``, ``"W"`` or ``"M"`` from the median spacing of sorted dates (under 5 days,
    under 20, more); ``""`` for fewer than two dates."""
    if len(index) < 2:
        return ""
    days = pd.Series(index).diff().median().days
    return "D" if days < 5 else "W" if days < 20 else "M"


def stated_frequency(name: str) -> str:
    """The frequency a library file name states: ``"W"`` (weekly), ``"D"`` (daily), or
    ``""`` (monthly files carry no word)."""
    lowered = name.lower()
    return "W" if "weekly" in lowered else "D" if "daily" in lowered else ""


def check_named_frequency(name: str, index: pd.DatetimeIndex, where: str,
                          found: str | None = None, detail: str = "") -> None:
    """Refuse dates whose frequency contradicts the one ``name`` states.

    Raises
    ------
    DataFormatError
        Weekly rows saved under a daily name (each return of an asset's daily series
        would face a week of factors), daily rows under a weekly name, monthly under
        either.
    """
    found = frequency_of_dates(index) if found is None else found
    stated = stated_frequency(name)
    if not (stated and found and stated != found):
        return
    if not detail:
        days = pd.Series(index).diff().median().days
        detail = f"a median of {days} day{'s' if days != 1 else ''} between rows"
    raise DataFormatError(
        f"{where}: the file is named {FREQUENCY_WORDS[stated]} but holds "
        f"{FREQUENCY_WORDS[found]} data ({detail}): refusing a file whose dates "
        "contradict its name")


# ------------------------------------------------------------------------------ files


def read_french_zip(data: bytes, name: str = "") -> FrenchFile:
    """Parse a library zip archive holding one CSV member (``.csv`` or ``.CSV``).

    Parameters
    ----------
    data : bytes
        The archive as downloaded.
    name : str
        Dataset name; defaults to the member's file name without extension.

    Raises
    ------
    DataFormatError
        For a damaged or truncated archive, not exactly one CSV member, or (when ``name``
        is given) a member named for another dataset: the library names each zip's CSV
        after its dataset, so ``F-F_Research_Data_5_Factors_2x3_daily.csv`` arriving as
        ``F-F_Research_Data_Factors_daily`` is the wrong file, whatever it holds.
    """
    label = name or "zip archive"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = _csv_member(archive, label)
            _check_member_name(member.filename, name)
            raw = archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as exc:
        raise DataFormatError(f"{label}: not a readable zip archive ({exc})") from exc
    return parse_french_csv(_decode(raw), name or Path(member.filename).stem)


def _dataset_key(name: str) -> str:
    """A dataset name as compared: case, separators and a ``_CSV`` suffix do not count."""
    key = re.sub(r"[^0-9a-z]", "", name.lower())
    return key[:-3] if key.endswith("csv") else key


def _check_member_name(member: str, name: str) -> None:
    """Refuse a zip whose CSV is named for a dataset other than ``name`` (if given)."""
    stem = Path(member).stem
    if name and _dataset_key(stem) != _dataset_key(name):
        raise DataFormatError(
            f"{name}: asked for {name}, but the zip holds {member!r}: another dataset was "
            "served or saved under this name; refusing it")


def _csv_member(archive: zipfile.ZipFile, label: str) -> zipfile.ZipInfo:
    """The single CSV member of an archive."""
    members = [
        m for m in archive.infolist()
        if not m.is_dir() and m.filename.lower().endswith(".csv")
        and not m.filename.startswith("__MACOSX/")
    ]
    if len(members) != 1:
        names = ", ".join(m.filename for m in archive.infolist()) or "nothing"
        raise DataFormatError(f"{label}: expected one CSV file in the zip, found {names}")
    if members[0].file_size > _MAX_MEMBER_BYTES:
        raise DataFormatError(f"{label}: {members[0].filename} is implausibly large")
    return members[0]


def _decode(raw: bytes) -> str:
    # The library writes ASCII; latin-1 as fallback never fails, so odd bytes end up
    # in a parse error with a line number rather than a UnicodeDecodeError.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def dataset_name(file_name: str) -> str:
    """``"F-F_Research_Data_Factors_daily_CSV.zip"`` -> ``"F-F_Research_Data_Factors_daily"``."""
    stem = Path(file_name).stem
    return stem[:-4] if stem.upper().endswith("_CSV") else stem


def read_french_path(path: str | PathLike[str]) -> FrenchFile:
    """Parse a library file on disk: a ``.zip`` archive or an unzipped ``.csv``/``.CSV``.

    Raises
    ------
    DataUnavailableError
        When the file does not exist or cannot be read.
    DataFormatError
        For another extension or an unparsable file.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".zip", ".csv"):
        raise DataFormatError(f"{file}: expected a .zip or .csv file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DataUnavailableError(f"{file}: cannot read file ({exc.strerror or exc})") from exc
    name = dataset_name(file.name)
    try:
        if suffix == ".zip":
            return read_french_zip(data, name)
        return parse_french_csv(_decode(data), name)
    except DataFormatError as exc:
        raise DataFormatError(f"{file.name}: {exc}") from exc

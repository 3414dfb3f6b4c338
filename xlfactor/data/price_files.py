"""Adjusted daily prices from Yahoo-format CSV files saved by the user.

``PriceFiles(path)`` reads either a folder of ``<TICKER>.csv`` files (names matched
case-insensitively) or one CSV file. The layout of each file is decided from its header
lines, never guessed from the values:

(a) classic Yahoo download, ``Date,Open,High,Low,Close,Adj Close,Volume``:
    the ``Adj Close`` column (split- and dividend-adjusted) is used;
(b) yfinance ``auto_adjust=True`` output, ``Date,Open,High,Low,Close,Volume``:
    ``Close`` is used, it is already split- and dividend-adjusted;
(c) the three-row header that yfinance's ``download()`` writes
    (``Price,...`` / ``Ticker,AAPL,...`` / ``Date,,,``): ``('Adj Close', ticker)`` when
    present, else ``('Close', ticker)``; one file may hold several tickers.

Column names are compared without case, blanks and punctuation (``Adj_Close``,
``adj close``, ``AdjClose``, ``Adj. Close``, ``Adjusted Close`` and Yahoo's web-table
``Adj Close**`` are all the adjusted close); a name that appears twice is refused. A file
with ``Close`` and no adjusted close is taken as split- and dividend-adjusted only when its
header is exactly one yfinance writes (the note says it is assumed); any other such file
also gets a warning that its returns may leave out dividends.

A file re-saved by Excel is read as well: a byte-order mark, CRLF line ends, ``;`` or tab
as the separator (with a decimal comma), empty columns and rows after the data, and dates
written ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (also with ``.`` or ``-``): the order is what
the file's own dates prove (a first field above 12 is a day), or what ``dayfirst`` says;
a file whose dates cannot decide is refused with both readings named
(:func:`xlfactor.domain.dates.parse_date_texts`). ISO dates (optionally with a midnight
time and UTC offset, as yfinance writes tz-aware data) keep the day as written.

A ticker's file is found by listing the folder and comparing names; user text is never
joined into a path. In a folder, one file that cannot be read (or a link that cannot be
followed) costs only its own ticker: it is left out with its error in the warnings.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from xlfactor.data.base import PriceData, PriceSource
from xlfactor.domain.dates import (
    DAY_FIRST,
    MONTH_FIRST,
    DateTextError,
    inclusive_range,
    parse_date_texts,
)
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    UnknownTickerError,
    XlFactorError,
)
from xlfactor.domain.tickers import is_valid_ticker, normalize_ticker, normalize_tickers

SOURCE_NAME = "Yahoo-format CSV files"

CLASSIC = "classic"  # (a) Date,...,Adj Close,...
AUTO_ADJUSTED = "auto_adjusted"  # (b) Date,...,Close,... without Adj Close
MULTI_HEADER = "multi_header"  # (c) Price / Ticker / Date header rows

# Tokens Yahoo and pandas write for "no value" (Yahoo's old CSVs used "null").
_MISSING_TOKENS = frozenset({"", "null", "NaN", "nan", "NA", "N/A"})
#: The adjusted-close and close columns, by their name without case, blanks or punctuation.
ADJ_CLOSE_NAMES = frozenset({"adjclose", "adjustedclose"})
CLOSE_NAME = "close"
#: Headers yfinance writes for auto-adjusted prices (``auto_adjust=True``, the default of
#: ``download()`` since 0.2.51 and of ``Ticker.history()``): their Close is taken as
#: adjusted; any other file with a Close and no adjusted close gets a warning too.
_YFINANCE_AUTO_HEADERS = (
    ("Date", "Open", "High", "Low", "Close", "Volume"),
    ("Date", "Open", "High", "Low", "Close", "Volume", "Dividends", "Stock Splits"),
    ("Date", "Open", "High", "Low", "Close", "Volume", "Dividends", "Stock Splits",
     "Capital Gains"),
)
#: Separators a saved CSV may use: Excel writes ";" where the decimal mark is a comma.
_DELIMITERS = (",", ";", "\t")


def canonical_column(name: str) -> str:
    """A column name without case, blanks or punctuation: ``Adj_Close`` -> ``adjclose``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True)
class PriceColumn:
    """One ticker's adjusted prices read from a file, before date filtering.

    Attributes
    ----------
    ticker : str
        Canonical symbol.
    prices : pandas.Series
        Float prices in the file's quote currency, tz-naive midnight dates named
        ``"date"``, sorted, blank rows dropped.
    note : str
        Which column of which file the prices came from and how they are adjusted.
    warning : str
        ``""``, or what a user must know about the prices (closes that may not be
        dividend-adjusted).
    """

    ticker: str
    prices: pd.Series
    note: str
    warning: str = ""


class PriceFiles(PriceSource):
    """Total-return daily prices from Yahoo-format CSV files.

    Parameters
    ----------
    path : str or os.PathLike
        A folder holding ``<TICKER>.csv`` files, or a single CSV file (layout (c) may
        hold several tickers; layouts (a) and (b) hold the ticker named by the file).
    dayfirst : bool, optional
        How dates written ``01/03/2021`` are read: ``True`` day first, ``False`` month
        first, ``None`` (default) as each file's own dates prove, refusing a file whose
        dates cannot decide.
    """

    name = SOURCE_NAME

    def __init__(self, path: str | os.PathLike[str], dayfirst: bool | None = None) -> None:
        self.path = Path(path)
        self.dayfirst = dayfirst

    def get_prices(self, tickers: Sequence[str], start: date, end: date) -> PriceData:
        """Adjusted closes for ``tickers`` on the file dates in ``[start, end]``.

        Parameters
        ----------
        tickers : sequence of str or str
            Symbols (or one separated string). A request's tickers arrive normalised;
            they are checked again here, cheaply, because this is where text becomes a
            file name (the source is public on its own too).
        start, end : datetime.date
            First and last calendar day wanted, both inclusive.

        Returns
        -------
        PriceData
            One float column per ticker found (request order), tz-naive midnight
            ``DatetimeIndex`` named ``"date"``; tickers without a file, without rows in
            the range, or whose file cannot be read are listed in ``missing``, each with
            its error in ``reasons`` (the file's own, naming file and line). ``notes``
            say which column of which file each ticker came from; ``warnings`` hold each
            unreadable file's error and each close that may not be dividend-adjusted.

        Raises
        ------
        InvalidInputError
            Malformed tickers or dates.
        UnknownTickerError
            No requested ticker has a file with prices in the range.
        DataUnavailableError
            ``path`` does not exist or cannot be read.
        DataFormatError
            No requested ticker has prices and a file has an unknown header,
            unparseable, ambiguous or duplicate dates, non-numeric or non-positive
            prices (its message names the file and line).
        """
        symbols = normalize_tickers(tickers)
        first, last = inclusive_range(start, end)
        columns, errors = self._columns(symbols)
        kept = {t: _in_range(c.prices, first, last) for t, c in columns.items()}
        kept = {t: s for t, s in kept.items() if not s.empty}
        missing = [t for t in symbols if t not in kept]
        if len(missing) == len(symbols):
            if errors:
                raise DataFormatError("; ".join(str(errors[t]) for t in symbols if t in errors))
            raise UnknownTickerError(self._nothing_found(missing, columns, first, last))
        notes = tuple(columns[t].note for t in symbols if t in kept)
        notes += tuple(self._missing_note(t, columns, errors, first, last) for t in missing)
        warnings = tuple(columns[t].warning for t in symbols if t in kept and columns[t].warning)
        warnings += tuple(f"{t}: left out: {errors[t]}" for t in symbols if t in errors)
        return PriceData(
            prices=_frame(kept, symbols),
            source=f"{SOURCE_NAME} ({self.path})",
            missing=tuple(missing),
            notes=notes,
            warnings=warnings,
            reasons=self._reasons(missing, columns, errors, first, last),
        )

    def _columns(self, symbols: list[str]
                 ) -> tuple[dict[str, PriceColumn], dict[str, XlFactorError]]:
        """The prices of every requested ticker that has a file, and the error of each
        ticker whose file cannot be read (a folder only: one file is all or nothing)."""
        if self.path.is_dir():
            return self._columns_from_folder(symbols)
        if self.path.is_file():
            wanted = set(symbols)
            found = read_price_file(self.path, self.dayfirst)
            return {c.ticker: c for c in found if c.ticker in wanted}, {}
        raise DataUnavailableError(f"price file or folder not found: {self.path}")

    def _columns_from_folder(self, symbols: list[str]
                             ) -> tuple[dict[str, PriceColumn], dict[str, XlFactorError]]:
        files = _ticker_files(self.path)
        found: dict[str, PriceColumn] = {}
        errors: dict[str, XlFactorError] = {}
        for ticker in symbols:
            path = files.get(ticker)
            if isinstance(path, XlFactorError):
                errors[ticker] = path
            elif path is not None:
                try:
                    found[ticker] = _column_for(path, ticker, self.dayfirst)
                except (DataFormatError, DataUnavailableError) as exc:
                    errors[ticker] = exc
        return found, errors

    def _nothing_found(
        self,
        missing: list[str],
        columns: dict[str, PriceColumn],
        first: pd.Timestamp,
        last: pd.Timestamp,
    ) -> str:
        """Message for UnknownTickerError: tickers without a file vs. without rows in range."""
        absent = [t for t in missing if t not in columns]
        present = [t for t in missing if t in columns]
        parts = []
        if absent:
            label = "unknown ticker" if len(absent) == 1 else "unknown tickers"
            where = "no matching .csv file in" if self.path.is_dir() else "not in"
            parts.append(f"{label} {_quoted(absent)} ({where} {self.path})")
        if present:
            parts.append(f"no prices for {_quoted(present)} in {first.date()}..{last.date()}")
        return "; ".join(parts)

    @staticmethod
    def _reasons(
        missing: list[str], columns: dict[str, PriceColumn], errors: dict[str, XlFactorError],
        first: pd.Timestamp, last: pd.Timestamp
    ) -> dict[str, XlFactorError]:
        """The error of each ticker left out of an answer that has others: its file's own
        (naming the file and line), or that its file has no row in the range. A ticker
        without a file has none: it is an unknown ticker (:meth:`PriceData.missing_error`)."""
        reasons: dict[str, XlFactorError] = {}
        for ticker in missing:
            if ticker in errors:
                reasons[ticker] = errors[ticker]
            elif ticker in columns:
                reasons[ticker] = UnknownTickerError(
                    f"no prices for {ticker!r} in {first.date()}..{last.date()}")
        return reasons

    def _missing_note(
        self, ticker: str, columns: dict[str, PriceColumn], errors: dict[str, XlFactorError],
        first: pd.Timestamp, last: pd.Timestamp
    ) -> str:
        """One line for ``PriceData.notes`` explaining why ``ticker`` is missing."""
        if ticker in errors:
            return f"{ticker}: {errors[ticker]}"
        if ticker in columns:
            return f"{ticker}: no prices in {first.date()}..{last.date()}"
        if self.path.is_dir():
            return f"{ticker}: no price file found in {self.path}"
        return f"{ticker}: not in {self.path}"


# -- reading a CSV file as text ------------------------------------------------------------
@dataclass(frozen=True)
class CsvText:
    """The rows of one CSV file as text, blank rows left out.

    Attributes
    ----------
    name : str
        The file's name, for messages.
    rows : list of list of str
        Each non-blank row's fields, as written.
    lines : list of int
        The 1-based file line each row starts on.
    delimiter : str
        The separator the header row uses (``,``, ``;`` or a tab).
    """

    name: str
    rows: list[list[str]]
    lines: list[int]
    delimiter: str

    def error(self, row: int, message: str) -> DataFormatError:
        """An error naming the file and the line of ``rows[row]``."""
        return DataFormatError(f"{self.name} line {self.lines[row]}: {message}")


def read_csv_text(path: str | os.PathLike[str], what: str = "price file") -> CsvText:
    """Every non-blank row of a CSV file, its separator found from its first line.

    Reads UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark (Excel's
    "Unicode text") and, failing UTF-8, Windows-1252 (Excel's "CSV" on Windows); any line
    end. A row whose fields are all blank (Excel writes ``,,,`` for emptied rows) is left
    out.

    ``what`` names the file in the message when it cannot be read.

    Raises
    ------
    DataFormatError
        Not text, or malformed CSV (the message names the file).
    DataUnavailableError
        The file cannot be read.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataUnavailableError(f"cannot read {what} {path}: {exc.strerror}") from exc
    text = _decode(raw, path.name)
    first = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first.count)  # "," on a tie (no separator at all)
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        start = 1
        for row in reader:
            if row and (row[0].strip() or "".join(row).strip()):
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFormatError(f"{path.name} line {reader.line_num}: malformed CSV ({exc})"
                              ) from exc
    return CsvText(path.name, rows, lines, delimiter)


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{name}: not a text CSV file") from exc
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise DataFormatError(f"{name}: not a text CSV file")


def header_names(text: CsvText, row: int = 0) -> list[str]:
    """The names of a header row, trailing empty columns left out; a name that appears
    twice (compared as :func:`canonical_column` does) is refused: pandas would rename the
    second ``Adj Close`` to ``Adj Close.1`` and read the first without a word."""
    names = [field.strip() for field in text.rows[row]] if text.rows else []
    while names and not names[-1]:
        names.pop()
    seen: dict[str, str] = {}
    for name in names:
        key = canonical_column(name)
        if key and key in seen:
            raise text.error(row, f"the column {name!r} appears twice in the header"
                             + (f" (as {seen[key]!r} too)" if seen[key] != name else ""))
        seen[key] = name
    return names


def body_fields(text: CsvText, width: int, skip: int) -> list[list[str]]:
    """The data rows after ``skip`` header rows, each cut to ``width`` fields.

    Fields past the header's last named column must be blank (Excel's empty trailing
    columns); a row with fewer fields than the header has names for, or a value past them,
    is an error naming its line: a cut or damaged row is never read short.
    """
    body = text.rows[skip:]
    for i, row in enumerate(body):
        if len(row) != width and (len(row) < width or "".join(row[width:]).strip()):
            raise text.error(skip + i, f"{len(row)} fields, the header has {width} "
                             "(a cut or damaged row)")
    return [row[:width] for row in body]


def parse_numbers(cells: Sequence[str], text: CsvText, skip: int, what: str) -> np.ndarray:
    """Floats from text cells (NaN for a blank or ``null`` cell); text and infinities are
    errors naming the line. With a ``;`` or tab separator a decimal comma is read
    (``121,35``); a file that mixes ``,`` and ``.`` as decimal marks is refused."""
    stripped = pd.Series([c.strip() for c in cells], dtype=object)
    blank = stripped.isin(_MISSING_TOKENS).to_numpy()
    if text.delimiter != ",":
        comma = stripped.str.contains(",", regex=False).to_numpy()
        if comma.any():
            dot = np.flatnonzero(stripped.str.contains(".", regex=False).to_numpy())
            if dot.size:
                at = int(dot[0])
                why = ("has both '.' and ',' (a thousands separator?)" if comma[at] else
                       "has a decimal point where other rows have a decimal comma")
                raise text.error(skip + at, f"{what} {stripped[at][:30]!r} {why}")
            stripped = stripped.str.replace(",", ".", regex=False)
    values = pd.to_numeric(stripped.where(~blank), errors="coerce").to_numpy(dtype="float64")
    bad = ~blank & ~np.isfinite(values)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise text.error(skip + at, f"non-numeric {what} {stripped[at][:30]!r}")
    return values


#: How a price file's reader says the order of its dates.
_SAY_PRICE_ORDER = "PriceFiles(path, dayfirst=True or False)"


def parse_date_cells(cells: Sequence[str], text: CsvText, skip: int, dayfirst: bool | None,
                     *, midnight_only: bool, say: str = _SAY_PRICE_ORDER
                     ) -> tuple[pd.DatetimeIndex, str]:
    """:func:`~xlfactor.domain.dates.parse_date_texts` with errors naming file and line."""
    try:
        return parse_date_texts(cells, dayfirst, midnight_only=midnight_only, say=say)
    except DateTextError as exc:
        if exc.row is None:
            raise DataFormatError(f"{text.name}: {exc}") from None
        raise text.error(skip + exc.row, str(exc)) from None


# -- the three layouts -----------------------------------------------------------------------
def read_price_file(path: str | os.PathLike[str], dayfirst: bool | None = None
                    ) -> list[PriceColumn]:
    """Read every ticker's adjusted prices from one Yahoo-format CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. For layouts (a) and (b) the ticker is the file name without
        ``.csv``; a name that is not a valid ticker gives an empty list.
    dayfirst : bool, optional
        As for :class:`PriceFiles`.

    Returns
    -------
    list of PriceColumn
        One entry per ticker in the file.

    Raises
    ------
    DataFormatError
        Unknown header or invalid content (naming the file and line).
    DataUnavailableError
        The file cannot be read.
    """
    path = Path(path)
    text = read_csv_text(path)
    layout = _layout(text)
    if layout == MULTI_HEADER:
        return _read_multi_header(text, dayfirst)
    if not is_valid_ticker(path.stem):
        return []
    return [_read_single(text, normalize_ticker(path.stem), layout, dayfirst)]


def detect_layout(path: str | os.PathLike[str]) -> str:
    """Which of the three Yahoo CSV layouts ``path`` has, from its header lines.

    Returns
    -------
    str
        :data:`CLASSIC`, :data:`AUTO_ADJUSTED` or :data:`MULTI_HEADER`.

    Raises
    ------
    DataFormatError
        When the header matches none of them.
    """
    return _layout(read_csv_text(path))


def _layout(text: CsvText) -> str:
    header = [canonical_column(c) for c in text.rows[0]] if text.rows else []
    if header[:1] == ["date"] and ADJ_CLOSE_NAMES & set(header):
        return CLASSIC
    if header[:1] == ["date"] and CLOSE_NAME in header:
        return AUTO_ADJUSTED
    if _is_multi_header(text.rows[:3]):
        return MULTI_HEADER
    shown = text.delimiter.join(c.strip() for c in text.rows[0])[:60] if text.rows else ""
    raise DataFormatError(
        f"{text.name}: not a Yahoo price file (header {shown!r}; expected "
        "'Date,...,Adj Close,...', 'Date,...,Close,...' or the yfinance "
        "'Price' / 'Ticker' / 'Date' header rows)"
    )


def _is_multi_header(rows: list[list[str]]) -> bool:
    """Whether ``rows`` are yfinance's ``Price`` / ``Ticker`` / ``Date,,,`` header rows."""
    if len(rows) < 3:
        return False
    price, ticker, date_row = ([canonical_column(c) for c in row] for row in rows)
    return (
        price[:1] == ["price"]
        and ticker[:1] == ["ticker"]
        and date_row[:1] == ["date"]
        and not any(date_row[1:])
        and len(price) == len(ticker)
    )


def _read_single(text: CsvText, ticker: str, layout: str, dayfirst: bool | None
                 ) -> PriceColumn:
    """Layouts (a) and (b): one ticker per file."""
    names = header_names(text)
    keys = [canonical_column(n) for n in names]
    wanted = ADJ_CLOSE_NAMES if layout == CLASSIC else {CLOSE_NAME}
    col = next(i for i, k in enumerate(keys) if k in wanted)
    body = body_fields(text, len(names), skip=1)
    prices, blank, order = _parse_prices([r[0] for r in body], [r[col] for r in body],
                                         text, 1, dayfirst)
    known = tuple(names) in _YFINANCE_AUTO_HEADERS
    note, warning = _note(ticker, text.name, names[col], layout == CLASSIC, known, blank, order)
    return PriceColumn(ticker, prices, note, warning)


def _read_multi_header(text: CsvText, dayfirst: bool | None) -> list[PriceColumn]:
    """Layout (c): one ``(field, ticker)`` column per ticker."""
    width = len(text.rows[0])
    fields = [canonical_column(f) for f in text.rows[0]]
    tickers = [t.strip() for t in text.rows[1]]
    adjusted = bool(ADJ_CLOSE_NAMES & set(fields[1:]))
    wanted = ADJ_CLOSE_NAMES if adjusted else {CLOSE_NAME}
    columns = [j for j in range(1, width) if fields[j] in wanted]
    if not columns:
        raise DataFormatError(f"{text.name}: no 'Close' or 'Adj Close' column")
    seen: dict[tuple[str, str], int] = {}
    for j in range(1, width):
        key = (fields[j], tickers[j].upper())
        if key in seen and fields[j]:
            raise text.error(0, f"ticker {tickers[j][:24]!r} appears twice under "
                             f"{text.rows[0][j].strip()!r}")
        seen[key] = j
    body = body_fields(text, width, skip=3)
    dates = [r[0] for r in body]
    found = []
    for j in columns:
        if not is_valid_ticker(tickers[j]):
            raise DataFormatError(f"{text.name}: invalid ticker {tickers[j][:24]!r} in header")
        ticker = normalize_ticker(tickers[j])
        prices, blank, order = _parse_prices(dates, [r[j] for r in body], text, 3, dayfirst)
        note, warning = _note(ticker, text.name, text.rows[0][j].strip(), adjusted, True,
                              blank, order)
        found.append(PriceColumn(ticker, prices, note, warning))
    return found


def _note(ticker: str, file_name: str, column: str, adjusted: bool, yfinance: bool,
          blank: list[str], order: str) -> tuple[str, str]:
    """Which column was used and what adjustment it carries (said, or assumed); and a
    warning when a plain close may leave dividends out."""
    warning = ""
    if adjusted:
        text = f"{ticker}: {column!r} from {file_name} (split- and dividend-adjusted)"
    elif yfinance:
        text = (f"{ticker}: {column!r} from {file_name}, a yfinance auto-adjusted file "
                "(already split- and dividend-adjusted, as yfinance writes this layout; "
                "assumed, there is no 'Adj Close' to confirm it)")
    else:
        text = (f"{ticker}: {column!r} from {file_name}, no adjusted close in the file: "
                "taken as split- and dividend-adjusted")
        warning = (f"{ticker}: {file_name} has {column!r} and no 'Adj Close': its closes are "
                   "taken as split- and dividend-adjusted; if they are raw closes the "
                   "returns leave out dividends")
    if order in (DAY_FIRST, MONTH_FIRST):
        text += f"; dates read {order}"
    if blank:
        shown = ", ".join(blank[:3]) + (" ..." if len(blank) > 3 else "")
        text += f"; {len(blank)} row{'s' if len(blank) > 1 else ''} without a price ({shown})"
    return text, warning


def _parse_prices(dates: list[str], cells: list[str], text: CsvText, skip: int,
                  dayfirst: bool | None) -> tuple[pd.Series, list[str], str]:
    """Validated float prices indexed by date, ``line N (date)`` of each row without
    a price (a blank or ``null`` cell: read, and left out of the series, so that the
    returns on both sides of it are missing), and how the dates were read.

    ``skip`` is the number of header rows before the first data row.
    """
    if not cells:
        raise DataFormatError(f"{text.name}: no data rows")
    index, order = parse_date_cells(dates, text, skip, dayfirst, midnight_only=True)
    values = parse_numbers(cells, text, skip, "price")
    non_positive = values <= 0
    if non_positive.any():
        at = int(np.flatnonzero(non_positive)[0])
        raise text.error(skip + at, f"non-positive price {float(values[at])} on "
                         f"{index[at].date()}")
    missing = np.flatnonzero(np.isnan(values))
    blank = [f"line {text.lines[skip + i]} ({index[i].date()})" for i in missing]
    prices = pd.Series(values, index=index.rename("date"), dtype="float64").dropna()
    prices = prices.sort_index()
    duplicated = prices.index.duplicated()
    if duplicated.any():
        day = prices.index[duplicated][0].date()
        raise DataFormatError(f"{text.name}: date {day} appears more than once")
    return prices, blank, order


# -- folders -----------------------------------------------------------------------------------
def _ticker_files(folder: Path) -> dict[str, Path | XlFactorError]:
    """Map ticker -> ``<ticker>.csv`` file in ``folder`` (case-insensitive names), or the
    error of an entry that cannot be followed (a looping or dangling link, no access):
    that ticker fails alone, the others are read."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise DataUnavailableError(f"cannot list price folder {folder}: {exc.strerror}") from exc
    files: dict[str, Path | XlFactorError] = {}
    for entry in entries:
        stem, suffix = os.path.splitext(entry.name)
        if suffix.lower() != ".csv" or not is_valid_ticker(stem):
            continue
        try:
            usable: bool | XlFactorError = entry.is_file()
        except OSError as exc:
            usable = DataUnavailableError(f"cannot open price file {entry.name} in {folder}: "
                                          f"{exc.strerror}")
        if usable is False:
            continue
        ticker = stem.upper()
        if ticker in files:
            other = files[ticker]
            shown = other.name if isinstance(other, Path) else "another"
            raise DataFormatError(
                f"two price files for {ticker} in {folder}: {shown}, {entry.name}"
            )
        files[ticker] = Path(entry.path) if usable is True else usable  # type: ignore[assignment]
    return files


def _column_for(path: Path, ticker: str, dayfirst: bool | None) -> PriceColumn:
    """The ``ticker`` column of the file named after it."""
    for column in read_price_file(path, dayfirst):
        if column.ticker == ticker:
            return column
    raise DataFormatError(f"{path.name}: file holds no prices for {ticker}")


def _in_range(prices: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    return prices.loc[(prices.index >= first) & (prices.index <= last)]


def _frame(columns: dict[str, pd.Series], symbols: list[str]) -> pd.DataFrame:
    """Outer-joined price columns in request order."""
    ordered = {t: columns[t] for t in symbols if t in columns}
    frame = pd.concat(ordered, axis=1, sort=True)
    frame.index.name = "date"
    frame.columns.name = None
    return frame


def _quoted(symbols: Sequence[str]) -> str:
    return ", ".join(repr(s) for s in symbols)

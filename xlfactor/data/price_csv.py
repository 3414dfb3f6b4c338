"""The parser of Yahoo-format CSV price files: text to validated price columns.

The layout of each file is decided from its header
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

Finding a ticker's file and answering requests is
:class:`xlfactor.data.price_files.PriceFiles`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xlfactor.domain.dates import (
    DAY_FIRST,
    MONTH_FIRST,
    DateTextError,
    parse_date_texts,
)
from xlfactor.domain.errors import DataFormatError, DataUnavailableError
from xlfactor.domain.tickers import is_valid_ticker, normalize_ticker

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

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

A ticker's file is found by listing the folder and comparing names; user text is never
joined into a path. Dates are read as written (exchange-local calendar days; a time of
``00:00:00`` with a UTC offset, as yfinance writes for tz-aware data, is accepted and the
offset ignored).
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from xlfactor.data.base import PriceData, PriceSource
from xlfactor.domain.dates import inclusive_range
from xlfactor.domain.errors import DataFormatError, DataUnavailableError, UnknownTickerError
from xlfactor.domain.tickers import is_valid_ticker, normalize_ticker, normalize_tickers

SOURCE_NAME = "Yahoo-format CSV files"

CLASSIC = "classic"  # (a) Date,...,Adj Close,...
AUTO_ADJUSTED = "auto_adjusted"  # (b) Date,...,Close,... without Adj Close
MULTI_HEADER = "multi_header"  # (c) Price / Ticker / Date header rows

# Daily dates as Yahoo and pandas write them; a midnight time with an offset comes from a
# tz-aware yfinance index and still names the exchange-local day.
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]00:00:00(?:Z|[+-]\d{2}:?\d{2})?)?")
# Tokens Yahoo and pandas write for "no value" (Yahoo's old CSVs used "null").
_MISSING_TOKENS = frozenset({"", "null", "NaN", "nan", "NA", "N/A"})


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
    """

    ticker: str
    prices: pd.Series
    note: str


class PriceFiles(PriceSource):
    """Total-return daily prices from Yahoo-format CSV files.

    Parameters
    ----------
    path : str or os.PathLike
        A folder holding ``<TICKER>.csv`` files, or a single CSV file (layout (c) may
        hold several tickers; layouts (a) and (b) hold the ticker named by the file).
    """

    name = SOURCE_NAME

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

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
            ``DatetimeIndex`` named ``"date"``; tickers without a file or without rows
            in the range are listed in ``missing``. ``notes`` say which column of
            which file each ticker came from.

        Raises
        ------
        InvalidInputError
            Malformed tickers or dates.
        UnknownTickerError
            No requested ticker has prices in the range.
        DataUnavailableError
            ``path`` does not exist or cannot be read.
        DataFormatError
            A file has an unknown header, unparseable or duplicate dates,
            non-numeric or non-positive prices.
        """
        symbols = normalize_tickers(tickers)
        first, last = inclusive_range(start, end)
        columns = self._columns(symbols)
        kept = {t: _in_range(c.prices, first, last) for t, c in columns.items()}
        kept = {t: s for t, s in kept.items() if not s.empty}
        missing = [t for t in symbols if t not in kept]
        if len(missing) == len(symbols):
            raise UnknownTickerError(self._nothing_found(missing, columns, first, last))
        notes = tuple(columns[t].note for t in symbols if t in kept)
        notes += tuple(self._missing_note(t, columns, first, last) for t in missing)
        return PriceData(
            prices=_frame(kept, symbols),
            source=f"{SOURCE_NAME} ({self.path})",
            missing=tuple(missing),
            notes=notes,
        )

    def _columns(self, symbols: list[str]) -> dict[str, PriceColumn]:
        """Read the prices of every requested ticker that has a file."""
        if self.path.is_dir():
            return self._columns_from_folder(symbols)
        if self.path.is_file():
            wanted = set(symbols)
            return {c.ticker: c for c in read_price_file(self.path) if c.ticker in wanted}
        raise DataUnavailableError(f"price file or folder not found: {self.path}")

    def _columns_from_folder(self, symbols: list[str]) -> dict[str, PriceColumn]:
        files = _ticker_files(self.path)
        found: dict[str, PriceColumn] = {}
        for ticker in symbols:
            path = files.get(ticker)
            if path is not None:
                found[ticker] = _column_for(path, ticker)
        return found

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

    def _missing_note(
        self, ticker: str, columns: dict[str, PriceColumn], first: pd.Timestamp, last: pd.Timestamp
    ) -> str:
        """One line for ``PriceData.notes`` explaining why ``ticker`` is missing."""
        if ticker in columns:
            return f"{ticker}: no prices in {first.date()}..{last.date()}"
        if self.path.is_dir():
            return f"{ticker}: no price file found in {self.path}"
        return f"{ticker}: not in {self.path}"


def read_price_file(path: str | os.PathLike[str]) -> list[PriceColumn]:
    """Read every ticker's adjusted prices from one Yahoo-format CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. For layouts (a) and (b) the ticker is the file name without
        ``.csv``; a name that is not a valid ticker gives an empty list.

    Returns
    -------
    list of PriceColumn
        One entry per ticker in the file.

    Raises
    ------
    DataFormatError
        Unknown header or invalid content.
    DataUnavailableError
        The file cannot be read.
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout == MULTI_HEADER:
        return _read_multi_header(path)
    if not is_valid_ticker(path.stem):
        return []
    return [_read_single(path, normalize_ticker(path.stem), layout)]


def detect_layout(path: str | os.PathLike[str]) -> str:
    """Which of the three Yahoo CSV layouts ``path`` has, from its first three lines.

    Returns
    -------
    str
        :data:`CLASSIC`, :data:`AUTO_ADJUSTED` or :data:`MULTI_HEADER`.

    Raises
    ------
    DataFormatError
        When the header matches none of them.
    """
    path = Path(path)
    rows = _head_rows(path, 3)
    header = [cell.strip() for cell in rows[0]] if rows else []
    if header[:1] == ["Date"] and "Adj Close" in header:
        return CLASSIC
    if header[:1] == ["Date"] and "Close" in header:
        return AUTO_ADJUSTED
    if _is_multi_header(rows):
        return MULTI_HEADER
    shown = ",".join(header)[:60]
    raise DataFormatError(
        f"{path.name}: not a Yahoo price file (header {shown!r}; expected "
        "'Date,...,Adj Close,...', 'Date,...,Close,...' or the yfinance "
        "'Price' / 'Ticker' / 'Date' header rows)"
    )


def _is_multi_header(rows: list[list[str]]) -> bool:
    """Whether ``rows`` are yfinance's ``Price`` / ``Ticker`` / ``Date,,,`` header rows."""
    if len(rows) < 3:
        return False
    price, ticker, date_row = ([c.strip() for c in row] for row in rows)
    return (
        price[:1] == ["Price"]
        and ticker[:1] == ["Ticker"]
        and date_row[:1] == ["Date"]
        and not any(date_row[1:])
        and len(price) == len(ticker)
    )


def _head_rows(path: Path, count: int) -> list[list[str]]:
    """The first ``count`` CSV rows of ``path``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(itertools.islice(csv.reader(handle), count))
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path.name}: not a text CSV file") from exc
    except csv.Error as exc:
        raise DataFormatError(f"{path.name}: malformed CSV header ({exc})") from exc
    except OSError as exc:
        raise DataUnavailableError(f"cannot read price file {path}: {exc.strerror}") from exc


def _read_table(path: Path, **options: object) -> pd.DataFrame:
    """``pandas.read_csv`` of ``path`` as text cells, with errors mapped to ours."""
    try:
        # Text cells: validation below must see what the file says, not pandas' guess.
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **options)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path.name}: cannot parse CSV ({exc})") from exc
    except OSError as exc:
        raise DataUnavailableError(f"cannot read price file {path}: {exc.strerror}") from exc


def check_row_widths(path: Path, header_rows: int) -> None:
    """Every data row has as many fields as the header: a cut or damaged row is an error
    naming its line, never a row read short (pandas would fill the missing fields with
    blanks, or take a truncated number as the price)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            for _ in range(header_rows - 1):
                next(reader, None)
            width = len(header)
            for row in reader:
                if row and len(row) != width:
                    raise DataFormatError(
                        f"{path.name} line {reader.line_num}: {len(row)} fields, the header "
                        f"has {width} (a cut or damaged row)")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{path.name}: cannot parse CSV ({exc})") from exc
    except OSError as exc:
        raise DataUnavailableError(f"cannot read price file {path}: {exc.strerror}") from exc


def _read_single(path: Path, ticker: str, layout: str) -> PriceColumn:
    """Layouts (a) and (b): one ticker per file."""
    check_row_widths(path, header_rows=1)
    table = _read_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    column = "Adj Close" if layout == CLASSIC else "Close"
    if table.columns.duplicated().any():
        raise DataFormatError(f"{path.name}: duplicate column names in the header")
    if "Date" not in table.columns or column not in table.columns:
        raise DataFormatError(f"{path.name}: no 'Date' and {column!r} columns")
    prices, blank = _parse_prices(table["Date"], table[column], path.name, first_line=2)
    return PriceColumn(ticker, prices, _note(ticker, path.name, column, blank))


def _read_multi_header(path: Path) -> list[PriceColumn]:
    """Layout (c): one ``(field, ticker)`` column per ticker."""
    check_row_widths(path, header_rows=3)
    table = _read_table(path, header=[0, 1], index_col=0)
    if table.index.name != "Date":  # pandas must have taken the "Date,,," row as the index name
        raise DataFormatError(f"{path.name}: third header row is not 'Date'")
    fields = [str(f).strip() for f in table.columns.get_level_values(0)]
    table.columns = pd.MultiIndex.from_arrays(
        [fields, [str(t).strip() for t in table.columns.get_level_values(1)]]
    )
    column = "Adj Close" if "Adj Close" in fields else "Close"
    if column not in fields:
        raise DataFormatError(f"{path.name}: no 'Close' or 'Adj Close' column")
    dates = pd.Series(table.index, index=table.index)
    found = []
    for raw_ticker in table[column].columns:
        if not is_valid_ticker(raw_ticker):
            raise DataFormatError(f"{path.name}: invalid ticker {raw_ticker[:24]!r} in header")
        ticker = normalize_ticker(raw_ticker)
        cells = table[(column, raw_ticker)]
        if isinstance(cells, pd.DataFrame):
            raise DataFormatError(f"{path.name}: ticker {ticker} appears twice under {column}")
        prices, blank = _parse_prices(dates, cells, path.name, first_line=4)
        found.append(PriceColumn(ticker, prices, _note(ticker, path.name, column, blank)))
    return found


def _note(ticker: str, file_name: str, column: str, blank: list[str]) -> str:
    """Say which column was used, what adjustment it carries, and which rows had no price."""
    if column == "Adj Close":
        text = f"{ticker}: 'Adj Close' from {file_name} (split- and dividend-adjusted)"
    else:
        text = (f"{ticker}: 'Close' from {file_name}, a yfinance auto-adjusted file "
                "(already split- and dividend-adjusted)")
    if blank:
        shown = ", ".join(blank[:3]) + (" ..." if len(blank) > 3 else "")
        text += f"; {len(blank)} row{'s' if len(blank) > 1 else ''} without a price ({shown})"
    return text


def _parse_prices(dates: pd.Series, cells: pd.Series, file_name: str, first_line: int
                  ) -> tuple[pd.Series, list[str]]:
    """Validated float prices indexed by date, and ``line N (date)`` of each row without
    a price (a blank or ``null`` cell: read, and left out of the series, so that the
    returns on both sides of it are missing).

    ``first_line`` is the 1-based file line of the first data row, for error messages.
    """
    if len(cells) == 0:
        raise DataFormatError(f"{file_name}: no data rows")
    index = _parse_dates(dates.to_numpy(dtype=object), file_name, first_line)
    values = _parse_values(cells.to_numpy(dtype=object), index, file_name)
    blank = [f"line {first_line + i} ({index[i].date()})" for i in np.flatnonzero(np.isnan(values))]
    prices = pd.Series(values, index=index, dtype="float64").dropna().sort_index()
    duplicated = prices.index.duplicated()
    if duplicated.any():
        day = prices.index[duplicated][0].date()
        raise DataFormatError(f"{file_name}: date {day} appears more than once")
    return prices, blank


def _parse_dates(texts: np.ndarray, file_name: str, first_line: int) -> pd.DatetimeIndex:
    """Daily dates written as ``YYYY-MM-DD`` (optionally ``00:00:00`` and an offset)."""
    stripped = [str(t).strip() for t in texts]
    for offset, text in enumerate(stripped):
        if not _DATE_RE.fullmatch(text):
            raise DataFormatError(
                f"{file_name}: unparseable date {text[:30]!r} on line {first_line + offset}"
            )
    parsed = pd.to_datetime([t[:10] for t in stripped], format="%Y-%m-%d", errors="coerce")
    if parsed.isna().any():
        offset = int(np.flatnonzero(parsed.isna())[0])
        raise DataFormatError(
            f"{file_name}: invalid date {stripped[offset]!r} on line {first_line + offset}"
        )
    return pd.DatetimeIndex(parsed).as_unit("ns").rename("date")


def _parse_values(texts: np.ndarray, index: pd.DatetimeIndex, file_name: str) -> np.ndarray:
    """Prices as floats (NaN for blank cells); reject text, infinities and values <= 0."""
    stripped = pd.Series([str(t).strip() for t in texts], dtype=object)
    blank = stripped.isin(_MISSING_TOKENS).to_numpy()
    values = pd.to_numeric(stripped.where(~blank), errors="coerce").to_numpy(dtype="float64")
    bad = ~blank & ~np.isfinite(values)
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{file_name}: non-numeric price {stripped[at][:30]!r} on {index[at].date()}"
        )
    non_positive = ~blank & (values <= 0)
    if non_positive.any():
        at = int(np.flatnonzero(non_positive)[0])
        raise DataFormatError(
            f"{file_name}: non-positive price {float(values[at])} on {index[at].date()}"
        )
    return values


def _ticker_files(folder: Path) -> dict[str, Path]:
    """Map ticker -> ``<ticker>.csv`` file in ``folder`` (case-insensitive names)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise DataUnavailableError(f"cannot list price folder {folder}: {exc.strerror}") from exc
    files: dict[str, Path] = {}
    for entry in entries:
        stem, suffix = os.path.splitext(entry.name)
        if suffix.lower() != ".csv" or not is_valid_ticker(stem) or not entry.is_file():
            continue
        ticker = stem.upper()
        if ticker in files:
            raise DataFormatError(
                f"two price files for {ticker} in {folder}: {files[ticker].name}, {entry.name}"
            )
        files[ticker] = Path(entry.path)
    return files


def _column_for(path: Path, ticker: str) -> PriceColumn:
    """The ``ticker`` column of the file named after it."""
    for column in read_price_file(path):
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

"""Adjusted daily prices from Yahoo-format CSV files saved by the user.

``PriceFiles(path)`` reads either a folder of ``<TICKER>.csv`` files (names matched
case-insensitively) or one CSV file. The layout of each
file and how it is read are :mod:`xlfactor.data.price_csv`.

A ticker's file is found by listing the folder and comparing names; user text is never
joined into a path. In a folder, one file that cannot be read (or a link that cannot be
followed) costs only its own ticker: it is left out with its error in the warnings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from xlfactor.data.base import PriceData, PriceSource
from xlfactor.data.price_csv import (  # noqa: F401 - re-exported: the parser's public names
    ADJ_CLOSE_NAMES,
    AUTO_ADJUSTED,
    CLASSIC,
    CLOSE_NAME,
    MULTI_HEADER,
    CsvText,
    PriceColumn,
    body_fields,
    canonical_column,
    detect_layout,
    header_names,
    parse_date_cells,
    parse_numbers,
    read_csv_text,
    read_price_file,
)
from xlfactor.domain.dates import inclusive_range
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    UnknownTickerError,
    XlFactorError,
)
from xlfactor.domain.tickers import is_valid_ticker, normalize_tickers

SOURCE_NAME = "Yahoo-format CSV files"


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

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
from xlfactor.data.memo import Memo
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

#: What names a saved file's contents without reading it: path, size in bytes, mtime (ns).
FileStamp = tuple[str, int, int]


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
        # Memos under the policy of xlfactor.data.memo: a file is parsed again only when
        # its path, size or modification time changed; a folder listed again when its
        # own modification time did (an entry added, removed or renamed).
        self._parsed = Memo("parsed price files", 256)
        self._listing = Memo("price folder listing", 1)
        self._answers = Memo("saved-file price answers", 256)

    def version(self, tickers: Sequence[str]) -> tuple[object, ...] | None:
        """What an answer for ``tickers`` would be read from, without reading it: the
        stamp (path, size, mtime in ns) of the folder and of each ticker's file (None
        for a ticker without one), or of the single file. None when the folder or file
        cannot be examined (the answer then says why).

        Equal versions mean equal answers for the same tickers and dates.
        """
        try:
            if self.path.is_dir():
                files = self._ticker_files()
                return (_stamp(self.path), *(
                    _stamp(f) if isinstance(f := files.get(t), Path) else None
                    for t in normalize_tickers(tickers)))
            return (_stamp(self.path),)
        except (OSError, XlFactorError):
            return None

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
        key = (tuple(symbols), first, last)
        version = self.version(symbols)  # taken before reading: a change meanwhile misses
        hit = self._answers.get(key, version) if version is not None else None
        if hit is not None:
            return hit
        answer = self._answer(symbols, first, last, version)
        if version is not None:
            self._answers.put(key, answer, version)
        return answer

    def _answer(self, symbols: list[str], first: pd.Timestamp, last: pd.Timestamp,
                version: tuple[object, ...] | None) -> PriceData:
        """:meth:`get_prices` without the memo of answers."""
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
            version=version,
        )

    def _columns(self, symbols: list[str]
                 ) -> tuple[dict[str, PriceColumn], dict[str, XlFactorError]]:
        """The prices of every requested ticker that has a file, and the error of each
        ticker whose file cannot be read (a folder only: one file is all or nothing)."""
        if self.path.is_dir():
            return self._columns_from_folder(symbols)
        if self.path.is_file():
            wanted = set(symbols)
            found = self._read(self.path)
            return {c.ticker: c for c in found if c.ticker in wanted}, {}
        raise DataUnavailableError(f"price file or folder not found: {self.path}")

    def _columns_from_folder(self, symbols: list[str]
                             ) -> tuple[dict[str, PriceColumn], dict[str, XlFactorError]]:
        files = self._ticker_files()
        found: dict[str, PriceColumn] = {}
        errors: dict[str, XlFactorError] = {}
        for ticker in symbols:
            path = files.get(ticker)
            if isinstance(path, XlFactorError):
                errors[ticker] = path
            elif path is not None:
                try:
                    found[ticker] = _column_for(self._read(path), path, ticker)
                except (DataFormatError, DataUnavailableError) as exc:
                    errors[ticker] = exc
        return found, errors

    def _read(self, path: Path) -> list[PriceColumn]:
        """:func:`read_price_file` of ``path``, parsed again only when its stamp changed."""
        stamp = _stamp(path)
        found = self._parsed.get(str(path), stamp)
        if found is None:
            found = read_price_file(path, self.dayfirst)
            self._parsed.put(str(path), found, stamp)  # the stamp from before the read
        return found

    def _ticker_files(self) -> dict[str, Path | XlFactorError]:
        """:func:`_ticker_files` of the folder, listed again only when its stamp changed."""
        stamp = _stamp(self.path)
        files = self._listing.get(str(self.path), stamp)
        if files is None:
            files = _ticker_files(self.path)
            if not any(isinstance(f, XlFactorError) for f in files.values()):
                # an entry that cannot be followed may mend without the folder changing
                self._listing.put(str(self.path), files, stamp)
        return files

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


def _stamp(path: Path) -> FileStamp:
    """Path, size in bytes and modification time in ns: one ``stat``, nothing read."""
    stat = os.stat(path)
    return (str(path), stat.st_size, stat.st_mtime_ns)


def _column_for(columns: list[PriceColumn], path: Path, ticker: str) -> PriceColumn:
    """The ``ticker`` column among ``columns``, read from ``path``, the file named after it."""
    for column in columns:
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

"""Data containers and the common interface of every data source.

Conventions shared by all sources
---------------------------------
* Dates are a tz-naive ``DatetimeIndex`` named ``"date"`` at midnight. Daily rows are
  trading days; monthly rows are labelled with the **last calendar day** of the month;
  weekly rows with the last calendar day of the week (Friday).
* Factor returns are **decimals per period** (0.0123 = 1.23 % per day/week/month), with
  canonical column names from :mod:`xlfactor.domain.models` plus ``RF``.
* Prices are total-return prices: closes adjusted for splits **and** dividends, so
  ``P[t] / P[t-1] - 1`` is the total simple return.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

import pandas as pd

from xlfactor.domain.errors import UnknownTickerError, XlFactorError


@dataclass(frozen=True)
class FactorData:
    """Factor returns from one source and release.

    Attributes
    ----------
    returns : DataFrame
        Decimal returns per period; columns are canonical factor names and ``RF``.
    frequency : {"D", "W", "M"}
    source : str
        Human-readable origin, e.g. ``"Kenneth French Data Library"``.
    release : str
        The data release, e.g. ``"202510 CRSP"``; ``""`` when unknown.
    stale : bool
        True when a refresh failed and this is older cached data.
    notes : tuple of str
        Where the data came from, file by file.
    warnings : tuple of str
        What a user comparing numbers must know (e.g. factors compounded from daily).
    """

    returns: pd.DataFrame
    frequency: str
    source: str
    release: str = ""
    stale: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PriceData:
    """Total-return prices (split- and dividend-adjusted closes), one column per ticker.

    ``missing`` lists requested tickers for which the source returned no data at all;
    ``reasons`` holds, for each of them that the source can explain, the error saying why
    (the class tells an unknown ticker from a bad file or a refused response, and the
    text names the file and line or the response). :meth:`missing_error` reads it.
    """

    prices: pd.DataFrame
    source: str
    stale: bool = False
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    reasons: Mapping[str, XlFactorError] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Kept without the tracebacks of where they were caught: those frames (a whole
        # file's text among their locals) would live as long as a memoised answer.
        kept = MappingProxyType({t: fresh_error(e) for t, e in self.reasons.items()})
        object.__setattr__(self, "reasons", kept)

    def missing_error(self, ticker: str) -> XlFactorError:
        """Why ``ticker`` has no prices: the source's reason, or ``unknown ticker``.

        Returns a fresh copy each time (see :func:`fresh_error`), so that an answer
        kept in a memo can be raised from again and again.
        """
        return missing_error(ticker, self.reasons)

    def missing_tickers(self) -> MissingTickers:
        """:attr:`missing` with the reason of each ticker attached."""
        return MissingTickers(self.missing, self.reasons)


def missing_error(ticker: str, reasons: Mapping[str, XlFactorError]) -> XlFactorError:
    """The reason for ``ticker`` in ``reasons`` (a fresh copy), else ``unknown ticker``."""
    reason = reasons.get(ticker)
    if reason is None:
        return UnknownTickerError(f"unknown ticker {ticker!r}")
    return fresh_error(reason)


def fresh_error(error: XlFactorError) -> XlFactorError:
    """A copy of ``error`` with no traceback, cause or context of its own.

    A stored exception raised twice would collect the frames of every raise (and keep
    them alive); a copy of the same class and text is raised instead.
    """
    try:
        twin = copy.copy(error)
    except Exception:  # a class whose arguments cannot rebuild it: reuse, cleaned
        twin = error
    twin.__traceback__ = twin.__cause__ = twin.__context__ = None
    return twin


class MissingTickers(tuple):  # type: ignore[type-arg]  # tuple[str, ...] with reasons
    """The tickers of an answer without price data (request order), each with its reason.

    A tuple of the names, so ``if missing``, ``name in missing`` and ``missing[0]`` read
    as they do on :attr:`PriceData.missing`; :meth:`error` says why a ticker is missing.
    """

    _reasons: Mapping[str, XlFactorError]

    def __new__(cls, names: Sequence[str] = (),
                reasons: Mapping[str, XlFactorError] | None = None) -> MissingTickers:
        self = super().__new__(cls, tuple(names))
        self._reasons = MappingProxyType(
            {t: r for t, r in (reasons or {}).items() if t in self})
        return self

    def __reduce__(self) -> tuple[type, tuple[tuple[str, ...], dict[str, XlFactorError]]]:
        # copy and pickle (pandas deep-copies DataFrame.attrs) rebuild names and reasons
        return (type(self), (tuple(self), dict(self._reasons)))

    @property
    def reasons(self) -> Mapping[str, XlFactorError]:
        """Ticker -> the error its source gave (read only); tickers without one absent."""
        return self._reasons

    def error(self, ticker: str | None = None) -> XlFactorError:
        """Why ``ticker`` (default: the first missing one) has no prices, as a fresh error.

        Raises
        ------
        LookupError
            ``ticker`` is not missing, or no ticker is.
        """
        name = self[0] if ticker is None and self else ticker
        if name is None or name not in self:
            raise LookupError(f"{ticker!r} is not a missing ticker")
        return missing_error(name, self._reasons)


class PriceSource(ABC):
    """Something that returns adjusted prices for tickers over a date range."""

    name: str = "prices"

    @abstractmethod
    def get_prices(self, tickers: Sequence[str], start: date, end: date) -> PriceData:
        """Adjusted prices for ``tickers`` on trading days in ``[start, end]`` (both inclusive)."""


class FactorSource(ABC):
    """Something that returns Fama-French factor returns."""

    name: str = "factors"

    @abstractmethod
    def get_factors(self, factors: Sequence[str], frequency: str, region: str = "US") -> FactorData:
        """Factor returns with at least the columns ``factors`` and ``RF`` at ``frequency``.

        The full available history is returned; callers cut the date range. ``region``
        names a French-library region (``"US"``, ``"Europe"``...); a source without
        regional data raises for anything but ``"US"``.
        Raise :class:`~xlfactor.domain.errors.DataUnavailableError` when the source cannot
        provide the frequency or a factor.
        """

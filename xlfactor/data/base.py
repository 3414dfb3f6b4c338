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

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd


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

    ``missing`` lists requested tickers for which the source returned no data at all.
    """

    prices: pd.DataFrame
    source: str
    stale: bool = False
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)


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

"""A factor-regression request, normalised once at the edge.

Every edge (a worksheet cell, the CLI, a call to :func:`xlfactor.fit`) turns what the user
typed into a :class:`Request` with :meth:`Request.build`; everything below takes the
request as it is: tickers are valid upper-case symbols, the model is resolved, the period
is two midnights, the frequency is ``D``/``W``/``M`` and the region canonical.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from xlfactor.domain.dates import resolve_period
from xlfactor.domain.errors import InvalidInputError
from xlfactor.domain.frequency import check_frequency
from xlfactor.domain.models import ModelSpec, resolve_model
from xlfactor.domain.options import FitOptions
from xlfactor.domain.regions import canonical_region
from xlfactor.domain.tickers import normalize_tickers

#: Pass as ``tickers`` to :meth:`Request.build` for a request of factor data only, or to
#: add tickers normalised elsewhere with :meth:`Request.with_tickers`.
NO_TICKERS = object()


@dataclass(frozen=True)
class Request:
    """What to regress on what, over which period.

    Attributes
    ----------
    tickers : tuple of str
        Yahoo symbols, normalised, distinct, in the order given.
    model : ModelSpec
        The factor model (its ``factors`` in model order).
    start, end : pandas.Timestamp
        Inclusive sample bounds, tz-naive midnights.
    freq : {"D", "W", "M"}
        Return frequency.
    region : str
        Canonical factor region (``"US"``, ``"Europe"``...).
    compound_factors : bool
        Compound daily factors to ``freq`` instead of using the published file.
    options : FitOptions
        Standard errors and inference.
    """

    tickers: tuple[str, ...]
    model: ModelSpec
    start: pd.Timestamp
    end: pd.Timestamp
    freq: str = "D"
    region: str = "US"
    compound_factors: bool = False
    options: FitOptions = field(default_factory=FitOptions)

    @classmethod
    def build(
        cls,
        tickers: object,
        model: str | ModelSpec | list[str] | tuple[str, ...] | None = "FF3",
        start: object = None,
        end: object = None,
        freq: str | None = "D",
        *,
        region: str | None = None,
        factor_frequency: str | None = None,
        options: FitOptions | None = None,
        today: date | None = None,
        **fit_options: Any,
    ) -> Request:
        """Validate and normalise a user's request; the one place this is done.

        Parameters
        ----------
        tickers : str or sequence
            One ticker, a comma-separated string, or a (nested) list; blanks ignored.
        model : str, ModelSpec or sequence of str
            ``CAPM``, ``FF3``, ``CARHART4``, ``FF5``, ``FF6`` or a factor list.
        start, end : date-like, optional
            Inclusive bounds; see :func:`xlfactor.domain.dates.resolve_period`.
        freq : {"D", "W", "M"} or a word such as ``"monthly"``
            Return frequency (blank is daily).
        region : str, optional
            Factor region (default US).
        factor_frequency : {None, "D"}
            ``"D"`` compounds daily factors instead of using a published file.
        options : FitOptions, optional
            Estimation options; or give them as keywords (``se``, ``lags``,
            ``small_sample``, ``use_t``, ``conf_level``, ``min_obs``).
        today : datetime.date, optional
            The day the defaults are counted from (default: today).

        Raises
        ------
        InvalidInputError, UnknownModelError
            Checked in the order model, frequency, period, tickers, region, factor
            frequency, options.
        """
        spec = resolve_model(model)
        frequency = check_frequency(freq)
        first, last = resolve_period(start, end, today=today)
        names = () if tickers is NO_TICKERS else tuple(normalize_tickers(tickers))
        place = canonical_region(region)
        compound = compound_requested(factor_frequency)
        if options is None:
            options = FitOptions.build(**fit_options)
        elif fit_options:
            raise InvalidInputError("give the options either as FitOptions or as keywords")
        return cls(names, spec, first, last, frequency, place, compound, options)

    def with_tickers(self, tickers: tuple[str, ...]) -> Request:
        """The same request for other (already normalised) tickers."""
        return replace(self, tickers=tuple(tickers))

    @property
    def factors(self) -> tuple[str, ...]:
        """The model's factor names, in model order."""
        return self.model.factors

    @property
    def data_key(self) -> tuple:
        """Everything that decides the data of the request and its labels (not how it is
        estimated): the whole model, since its name labels the results."""
        return (self.tickers, self.model, self.freq, self.start, self.end,
                self.region, self.compound_factors)


def compound_requested(factor_frequency: str | None) -> bool:
    """Whether ``factor_frequency`` asks to compound daily factors (only ``"D"`` can)."""
    if factor_frequency is None:
        return False
    if check_frequency(factor_frequency) != "D":
        raise InvalidInputError(f"factor_frequency can only be 'D' (compound daily factors), "
                                f"not {factor_frequency!r}")
    return True

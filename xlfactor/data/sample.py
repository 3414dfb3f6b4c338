"""The offline sample: real monthly data shipped inside the ``linearmodels`` package.

``linearmodels.datasets.french`` holds monthly Fama-French factors (Mkt-RF, SMB, HML),
momentum and RF from 1949-01 to 2017-03 in decimals, with twelve industry portfolios and
size/value and size/momentum portfolios (raw returns). xlfactor reads the file directly
(importing linearmodels itself costs seconds) and exposes it through the same interfaces
as the network sources: factors as :class:`FactorSource`, portfolios as a
:class:`PriceSource` of total-return indices (cumulated returns, start value 1).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from xlfactor.data.base import FactorData, FactorSource, PriceData, PriceSource
from xlfactor.domain.errors import DataUnavailableError, InvalidInputError, UnknownTickerError
from xlfactor.domain.tickers import normalize_ticker

SOURCE = "offline sample (linearmodels.datasets.french, monthly 1949-2017)"
RELEASE = "as bundled with linearmodels"
_FACTOR_COLUMNS = {"MktRF": "MKT", "SMB": "SMB", "HML": "HML", "Mom": "MOM", "RF": "RF"}


def sample_path() -> Path:
    """Location of ``french.csv.bz2`` inside the installed linearmodels package."""
    spec = importlib.util.find_spec("linearmodels")
    if spec is None or spec.origin is None:
        raise DataUnavailableError("the offline sample needs the 'linearmodels' package")
    path = Path(spec.origin).parent / "datasets" / "french" / "french.csv.bz2"
    if not path.is_file():
        raise DataUnavailableError(f"offline sample file missing: {path}")
    return path


@functools.lru_cache(maxsize=1)
def load_sample() -> pd.DataFrame:
    """All sample columns, monthly, indexed by month-end date, decimals per month."""
    raw = pd.read_csv(sample_path())
    dates = pd.to_datetime(raw.pop("dates")) + pd.offsets.MonthEnd(0)
    frame = raw.set_axis(pd.DatetimeIndex(dates, name="date")).astype(float)
    return frame.rename(columns=_FACTOR_COLUMNS)


def sample_portfolios() -> list[str]:
    """Names of the sample's portfolios usable as tickers (industries, size/value, size/mom)."""
    return [c for c in load_sample().columns if c not in _FACTOR_COLUMNS.values()]


class SampleFactors(FactorSource):
    """Monthly MKT, SMB, HML, MOM and RF from the offline sample."""

    name = SOURCE

    def get_factors(self, factors: Sequence[str], frequency: str, region: str = "US") -> FactorData:
        from xlfactor.domain.regions import canonical_region

        if canonical_region(region) != "US":
            raise DataUnavailableError("the offline sample has US factors only")
        data = load_sample()
        missing = [f for f in factors if f not in data.columns]
        if missing:
            raise DataUnavailableError(
                f"the offline sample has no {', '.join(missing)} factor (it has MKT, SMB, HML, MOM)"
            )
        if frequency != "M":
            # the request, not the data, is at fault: a usage error (exit 2, #VALUE!)
            raise InvalidInputError("the offline sample is monthly only: use freq M")
        return FactorData(data[[*factors, "RF"]].copy(), "M", SOURCE, RELEASE)


class SamplePortfolios(PriceSource):
    """Sample portfolios as total-return indices: ``NODUR``, ``HLTH``, ``S1V1``...

    The index starts at 1 at the end of 1948-12 so that the 1949-01 return is kept.
    """

    name = SOURCE

    def get_prices(self, tickers: Sequence[str], start: date, end: date) -> PriceData:
        data = load_sample()
        by_upper = {c.upper(): c for c in sample_portfolios()}
        wanted = [normalize_ticker(t) for t in tickers]
        found = [t for t in wanted if t in by_upper]
        if not found:
            raise UnknownTickerError(
                f"unknown sample portfolio {wanted[0]!r}; valid: {', '.join(sorted(by_upper))}"
            )
        returns = data[[by_upper[t] for t in found]].set_axis(found, axis=1)
        base = pd.DataFrame(1.0, index=[returns.index[0] - pd.offsets.MonthEnd(1)], columns=found)
        index = pd.concat([base, (1.0 + returns).cumprod()])
        index.index.name = "date"
        window = index[(index.index >= pd.Timestamp(start) - pd.offsets.MonthEnd(1))
                       & (index.index <= pd.Timestamp(end))]
        missing = tuple(t for t in wanted if t not in by_upper)
        return PriceData(window, SOURCE, missing=missing)

"""The public Python API: fetch, align and regress in one call.

>>> import xlfactor
>>> res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2023-01-01")   # doctest: +SKIP
>>> res.params                                                         # doctest: +SKIP

Dates are inclusive on both ends. Returns are simple total returns in decimals per
period; the dependent variable is the excess return over the risk-free rate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np
import pandas as pd

from xlfactor.data.base import FactorData, FactorSource, PriceData, PriceSource
from xlfactor.data.memo import BoundedMemo
from xlfactor.data.settings import Settings
from xlfactor.domain.dates import resolve_period
from xlfactor.domain.errors import InvalidInputError, UnknownTickerError, XlFactorError
from xlfactor.domain.frequency import FREQUENCY_WORDS, check_frequency
from xlfactor.domain.models import ModelSpec, resolve_model
from xlfactor.domain.tickers import normalize_tickers, one_ticker
from xlfactor.engine.align import AlignedSample, align, require_overlap
from xlfactor.engine.model import FactorModel
from xlfactor.engine.results import EstimationInfo, FactorResults

#: Largest sample (dates x assets) kept in the in-process memos; bigger requests, such as a
#: whole universe, are recomputed rather than held in memory.
MEMO_MAX_CELLS = 250_000
#: Days of prices fetched before ``start`` so the first return in the window can be formed.
PRICE_BUFFER_DAYS = 10


# -- sources ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sources:
    """The price and factor sources a call uses."""

    prices: PriceSource
    factors: FactorSource


@functools.lru_cache(maxsize=8)
def _sources_for(settings: Settings) -> Sources:
    from xlfactor.data.sample import SampleFactors, SamplePortfolios

    if settings.sample:
        return Sources(SamplePortfolios(), SampleFactors())
    store = None
    if settings.price_dir is None or settings.french_dir is None:
        from xlfactor.data.store import Store, TolerantStore

        store = TolerantStore(Store(settings.cache_dir))
    if settings.price_dir is not None:
        from xlfactor.data.price_files import PriceFiles

        prices: PriceSource = PriceFiles(settings.price_dir)
    else:
        from xlfactor.data.yahoo import YahooPrices

        prices = YahooPrices(
            store=store, ttl_hours=settings.price_ttl_hours, offline=settings.offline,
            net_wait=settings.net_wait, retry_after=settings.retry_after,
        )
    if settings.french_dir is not None:
        from xlfactor.data.french import FrenchFiles

        factors: FactorSource = FrenchFiles(settings.french_dir)
    else:
        from xlfactor.data.french import FrenchLibrary

        factors = FrenchLibrary(
            settings.french_url, store=store, ttl_days=settings.factor_ttl_days,
            offline=settings.offline, timeout=settings.net_wait,
            retry_after=settings.retry_after,
        )
    return Sources(prices, factors)


def get_sources(settings: Settings | None = None) -> Sources:
    """Sources configured by ``settings`` (default: from the environment), reused per process
    so that parsed factor files and open cache connections serve every later call."""
    return _sources_for(settings or Settings.from_env())


def _pick(sources: Sources | None, prices: PriceSource | None, factors: FactorSource | None,
          settings: Settings | None) -> Sources:
    base = sources or (None if prices and factors else get_sources(settings))
    return Sources(prices or base.prices, factors or base.factors)


# -- data --------------------------------------------------------------------------------
def load_factors(
    model: str | ModelSpec | Sequence[str] | None = "FF3",
    freq: str = "D",
    *,
    region: str | None = None,
    sources: Sources | None = None,
    factor_source: FactorSource | None = None,
    settings: Settings | None = None,
    factor_frequency: str | None = None,
) -> FactorData:
    """Full-history factor data for a model at ``freq``: the published file first.

    Weekly and monthly regressions use the library's own weekly/monthly factors where it
    publishes them (monthly for every family and region, weekly for US FF3): long-short
    factors such as SMB and HML are not the compounded product of their daily values, and
    the published numbers are what papers and other tools use. Daily factors are
    compounded (see :mod:`xlfactor.engine.align`) only where no file is published, or
    when ``factor_frequency="D"`` asks for it; the data's notes say which was done.
    """
    from xlfactor.data.reachability import SourceUnreachableError
    from xlfactor.domain.errors import FileMissingError, NotPublishedError
    from xlfactor.domain.regions import canonical_region

    spec = resolve_model(model)
    freq = check_frequency(freq)
    if factor_frequency is not None and check_frequency(factor_frequency) != "D":
        raise InvalidInputError(f"factor_frequency can only be 'D' (compound daily factors), "
                                f"not {factor_frequency!r}")
    compound = factor_frequency is not None
    src = factor_source or _pick(sources, None, None, settings).factors
    place = canonical_region(region)
    kw = {} if place == "US" else {"region": place}
    why = "as requested"
    if freq != "D" and not compound:
        try:
            data = src.get_factors(spec.factors, freq, **kw)
        except (NotPublishedError, FileMissingError) as exc:
            why = (f"the library publishes no {FREQUENCY_WORDS[freq]} file for this model"
                   if isinstance(exc, NotPublishedError)
                   else f"no {FREQUENCY_WORDS[freq]} file in the folder of saved files")
        except SourceUnreachableError as exc:
            try:  # offline: the cached daily files still give an answer, said as such
                daily = src.get_factors(spec.factors, "D", **kw)
            except XlFactorError:
                raise exc from None
            note = (f"factors compounded from cached daily data: the {FREQUENCY_WORDS[freq]} "
                    f"file could not be had ({exc.reason})")
            return _with_notes(daily, (note,), (note,))
        else:
            return _with_notes(data, (f"factors: the published {FREQUENCY_WORDS[freq]} files",))
    data = src.get_factors(spec.factors, "D", **kw)
    if freq == "D":
        return data
    note = f"factors compounded from daily data ({why})"
    return _with_notes(data, (note,), (note,))


def _with_notes(data: FactorData, notes: tuple[str, ...], warnings: tuple[str, ...] = ()
                ) -> FactorData:
    """``data`` with notes added: the same object while ``data`` is (sources hand back the
    same object until their data change, and the sample memo relies on identity)."""
    key = (id(data), notes, warnings)
    hit = _NOTED.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    noted = replace(data, notes=(*data.notes, *notes), warnings=(*data.warnings, *warnings))
    _NOTED.put(key, (data, noted))
    return noted


#: Factor data with notes added, by the identity of the data they were added to.
_NOTED = BoundedMemo(32)




def factor_returns(
    model: str | ModelSpec | Sequence[str] | None = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    **kw,
) -> pd.DataFrame:
    """Factor returns (decimals per period) and ``RF`` over ``[start, end]`` at ``freq``.

    ``attrs`` carries ``source``, ``release`` and ``stale``.
    """
    spec = resolve_model(model)
    freq = check_frequency(freq)
    s, e = resolve_period(start, end)
    data = load_factors(spec, freq, **kw)
    empty_prices = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    sample = align(empty_prices, data.returns, data.frequency, spec.factors, freq, s, e)
    out = pd.concat([sample.factors, sample.rf], axis=1)
    out.attrs.update(source=data.source, release=data.release, stale=data.stale)
    return out


def load_prices(
    tickers: object, start: pd.Timestamp, end: pd.Timestamp, *, prices: PriceSource
) -> PriceData:
    """Adjusted prices with a buffer before ``start`` so the first return can be formed."""
    names = normalize_tickers(tickers)
    return prices.get_prices(names, (start - timedelta(days=PRICE_BUFFER_DAYS)).date(), end.date())


def _build_sample(
    tickers: object,
    model: str | ModelSpec | Sequence[str] | None = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    *,
    sources: Sources | None = None,
    price_source: PriceSource | None = None,
    factor_source: FactorSource | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
    region: str | None = None,
    factor_frequency: str | None = None,
) -> tuple[AlignedSample, EstimationInfo, tuple[str, ...]]:
    """Fetch and align (shared, memoised result: internal callers must not modify it)."""
    spec = resolve_model(model)
    freq = check_frequency(freq)
    s, e = resolve_period(start, end)
    names = normalize_tickers(tickers)
    src = _pick(sources, price_source, factor_source, settings)
    step = progress or (lambda label: None)
    from xlfactor.domain.regions import canonical_region

    place = canonical_region(region)
    step(f"factors ({spec.name}{'' if place == 'US' else ', ' + place})")
    fdata = load_factors(spec, freq, region=place, factor_source=src.factors,
                         factor_frequency=factor_frequency)
    step(f"prices ({len(names)} ticker{'s' if len(names) > 1 else ''})")
    pdata = load_prices(names, s, e, prices=src.prices)
    step("alignment")
    key = (tuple(names), spec.factors, freq, s, e, place)
    hit = _SAMPLES.get(key)
    if hit is not None and hit[0] is pdata and hit[1] is fdata:
        return hit[2]
    built = _align_and_label(names, spec, freq, s, e, pdata, fdata, place)
    if built[0].excess.size <= MEMO_MAX_CELLS:  # worksheet-sized, not whole universes
        _SAMPLES.put(key, (pdata, fdata, built))
    return built


#: Aligned samples by request, valid while the sources hand back the very same data objects
#: (their own memos do that until the cached data change): recalculating cells skip alignment.
#: Shared: never handed to callers (see :func:`build_sample`), so nobody can edit them.
_SAMPLES = BoundedMemo(128)


def build_sample(*args, **kwargs) -> tuple[AlignedSample, EstimationInfo, tuple[str, ...]]:
    """Fetch and align: excess returns and factors ready for :class:`FactorModel`.

    Takes the arguments of :func:`fit` (without ``se``/``lags``). Returns the sample, the
    labels describing it, and the tickers without any price data. Every argument is
    validated before any data are requested; ``progress`` is called with a label as each
    stage starts. The frames are the caller's own copies.
    """
    sample, info, missing = _build_sample(*args, **kwargs)
    own = replace(sample, excess=sample.excess.copy(), factors=sample.factors.copy(),
                  rf=sample.rf.copy())
    return own, info, missing


def _align_and_label(names, spec, freq, s, e, pdata: PriceData, fdata: FactorData, region="US"):
    sample = align(pdata.prices, fdata.returns, fdata.frequency, spec.factors, freq, s, e)
    sample = replace(sample, excess=sample.excess.reindex(columns=names))
    require_overlap(sample, f" for {', '.join(names)}")
    from xlfactor.engine.checks import shortened_sample, unadjusted_splits

    warnings = (*pdata.warnings, *fdata.warnings, *sample.warnings,
                *unadjusted_splits(pdata.prices, s, e),
                *shortened_sample(pdata.prices, fdata.returns, sample, s, e))
    info = EstimationInfo(
        model=spec.name, factors=spec.factors, frequency=freq,
        start=sample.factors.index[0], end=sample.factors.index[-1],
        price_source=pdata.source, factor_source=fdata.source, release=fdata.release,
        stale=pdata.stale or fdata.stale, notes=(*pdata.notes, *fdata.notes), region=region,
        warnings=tuple(dict.fromkeys(warnings)),
    )
    if info.warnings:
        from xlfactor.status import note_warnings

        note_warnings(info.warnings)
    if info.stale:
        from xlfactor.status import note_stale

        for data in (pdata, fdata):
            if data.stale:
                note_stale(data.source, data.notes)
    return sample, info, tuple(pdata.missing)


def asset_returns(
    tickers: object, start: object = None, end: object = None, freq: str = "D",
    *, excess: bool = False, **kw,
) -> pd.DataFrame:
    """Asset total returns (or excess returns) per period, aligned to the factor calendar.

    Tickers without any price data are left out and listed in ``attrs["missing"]``; when
    none has data, :class:`~xlfactor.domain.errors.UnknownTickerError` is raised.
    """
    sample, info, missing = _build_sample(tickers, "CAPM", start, end, freq, **kw)
    present = [c for c in sample.excess.columns if c not in missing]
    if not present:
        raise UnknownTickerError(f"unknown ticker {missing[0]!r}")
    data = sample.excess[present]
    out = data.copy() if excess else data.add(sample.rf, axis=0)
    out.attrs.update(source=info.price_source, stale=info.stale, missing=tuple(missing))
    return out


# -- estimation --------------------------------------------------------------------------
def fit(
    tickers: object,
    model: str | ModelSpec | Sequence[str] | None = "FF3",
    start: object = None,
    end: object = None,
    freq: str = "D",
    se: str = "classical",
    lags: int | None = None,
    *,
    min_obs: int | None = None,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    sources: Sources | None = None,
    price_source: PriceSource | None = None,
    factor_source: FactorSource | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
    region: str | None = None,
    factor_frequency: str | None = None,
    small_sample: bool = False,
) -> FactorResults:
    """Regress the excess returns of ``tickers`` on a factor model.

    Parameters
    ----------
    tickers : str or sequence
        One ticker, a comma-separated string, or a (nested) list; blanks are ignored.
    model : str or sequence
        ``CAPM``, ``FF3``, ``CARHART4``, ``FF5``, ``FF6`` or a factor list ("MKT,SMB,MOM").
    start, end : date-like, optional
        Inclusive sample bounds; defaults: three years to the last complete trading day.
    freq : {"D", "W", "M"}
        Return frequency. Weekly and monthly asset returns run from the last close of one
        period to the last close of the next; the factors are the library's published
        weekly/monthly files where they exist (see :func:`load_factors`).
    factor_frequency : {None, "D"}
        ``"D"`` compounds daily factors to ``freq`` instead of using a published file.
    se : {"classical", "HC0", "HC1", "HC2", "HC3", "HAC"}
        Standard-error type; ``lags`` sets Newey-West lags (default rule if omitted).
    small_sample : bool
        Stata's convention for HAC (and HC0): covariance times n / (n - k), t inference.
        Off by default, as in statsmodels and R's ``sandwich::NeweyWest``.
    region : str, optional
        French-library factor region: US (default), Developed, Developed ex US, Europe,
        Japan, Asia Pacific ex Japan, North America, Emerging.

    Returns
    -------
    FactorResults
        Tickers without price data appear in ``failed`` (an error is raised only when
        no ticker can be estimated).
    """
    sample, info, missing = _build_sample(
        tickers, model, start, end, freq, sources=sources, price_source=price_source,
        factor_source=factor_source, settings=settings, progress=progress, region=region,
        factor_frequency=factor_frequency,
    )
    key = (id(sample), se, lags, use_t, conf_level, min_obs, small_sample)
    hit = _FITS.get(key)
    if hit is not None and hit[0] is sample:  # same data, same options: same answer
        return hit[1].with_info()
    present = [c for c in sample.excess.columns if c not in missing]
    if not present:
        raise UnknownTickerError(f"unknown ticker {missing[0]!r}")
    dependent = sample.excess if len(present) == sample.excess.shape[1] else sample.excess[present]
    model_obj = FactorModel(dependent, sample.factors, min_obs=min_obs)
    res = model_obj.fit(se, lags, use_t=use_t, conf_level=conf_level, info=info,
                        small_sample=small_sample)
    for name in missing:
        res.failed[name] = UnknownTickerError(f"unknown ticker {name!r}")
    if sample.excess.size <= MEMO_MAX_CELLS:  # fits keep their T x N residuals
        _FITS.put(key, (sample, res))
    return res.with_info()


#: Fitted results by (aligned sample object, options). The sample objects come from
#: ``_SAMPLES`` and are replaced whenever the underlying data change, so a hit is exact.
_FITS = BoundedMemo(64)


def regress(
    y: object,
    x: object,
    names: Sequence[str] | None = None,
    se: str = "classical",
    lags: int | None = None,
    *,
    use_t: bool | None = None,
    conf_level: float = 0.95,
    small_sample: bool = False,
) -> FactorResults:
    """OLS of each column of ``y`` on ``x`` plus a constant: any data, no dates needed.

    Parameters
    ----------
    y : array-like, Series or DataFrame
        One column per dependent variable (each is regressed on its own, in one batch).
    x : array-like, Series or DataFrame
        One column per regressor.
    names : sequence of str, optional
        Regressor labels; default the DataFrame's columns, else ``x1, x2...``.
    se, lags, use_t, conf_level, small_sample
        As in :func:`fit`.

    Returns
    -------
    FactorResults
        Rows labelled by ``y``'s columns (``y`` or ``y1, y2...`` for arrays), residuals on
        ``y``'s index. When both ``y`` and ``x`` carry an index they are aligned on it
        (inner join); otherwise they must have the same number of rows. Rows with a missing
        value in ``x`` are dropped for every column; a missing ``y`` value drops the row for
        that column only.

    Raises
    ------
    InvalidInputError
        A cell that is not a number (named by row and column), mismatched shapes, labels.
    """
    dep = _frame(y, "y", "y")
    fac = _frame(x, "X", "x")
    if _has_index(y) and _has_index(x):
        dep, fac = dep.align(fac, join="inner", axis=0)
    elif len(dep) != len(fac):
        raise InvalidInputError(f"y has {len(dep)} rows but X has {len(fac)}")
    else:
        fac.index = dep.index
    if names is not None:
        labels = [str(n) for n in names]
        if len(labels) != fac.shape[1]:
            raise InvalidInputError(f"{len(labels)} labels for {fac.shape[1]} X columns")
        fac.columns = labels
    if len(set(fac.columns)) != fac.shape[1]:
        raise InvalidInputError("labels must be distinct")
    info = EstimationInfo(model="regression", factors=tuple(map(str, fac.columns)),
                          excess=False)
    return FactorModel(dep, fac).fit(se, lags, use_t=use_t, conf_level=conf_level, info=info,
                                     small_sample=small_sample)


def _has_index(data: object) -> bool:
    return isinstance(data, (pd.Series, pd.DataFrame))


def _frame(data: object, what: str, prefix: str) -> pd.DataFrame:
    """``data`` as a float DataFrame, labels kept; numbers checked in one pass."""
    if isinstance(data, pd.Series):
        data = data.to_frame(data.name if data.name is not None else prefix)
    if isinstance(data, pd.DataFrame):
        values = _matrix(data.to_numpy(), what)
        return pd.DataFrame(values, index=data.index,
                            columns=[str(c) for c in data.columns.tolist()], copy=False)
    values = _matrix(data, what)
    if values.shape[1] == 1:
        columns = [prefix]
    else:
        columns = [f"{prefix}{i + 1}" for i in range(values.shape[1])]
    # copy=False: pandas would otherwise copy the whole block, for nothing
    return pd.DataFrame(values, index=pd.RangeIndex(1, values.shape[0] + 1, name="row"),
                        columns=columns, copy=False)


def _matrix(data: object, what: str) -> np.ndarray:
    """A 2-D float array; blanks and None become NaN. Numeric arrays pass through without a
    per-element loop; other input is checked vectorised, naming the first bad cell."""
    # Lists (cell ranges) keep each cell's own type: numpy would turn True into 1.0.
    arr = np.asarray(data) if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.size == 0:
        raise InvalidInputError(f"{what} must be a non-empty column or table of numbers")
    if arr.dtype.kind in "fiu":  # infinities are refused by the model, in its one pass
        return arr.astype(float, copy=False)
    if arr.dtype.kind == "b":
        raise InvalidInputError(f"{what} row 1, column 1: {arr.flat[0]!r} is not a number")
    out = _object_matrix(arr.astype(object, copy=False), what)
    bad = np.isinf(out)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"{what} row {i + 1}, column {j + 1}: missing or non-finite value {float(out[i, j])!r}")
    return out


_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _object_matrix(arr: np.ndarray, what: str) -> np.ndarray:
    flat = arr.ravel()
    kinds = np.fromiter((type(v) for v in flat), dtype=object, count=flat.size)
    blank = np.fromiter((v is None or (type(v) is str and not v.strip()) for v in flat),
                        dtype=bool, count=flat.size)
    numeric = np.fromiter((issubclass(k, _NUMBER_TYPES) and not issubclass(k, (bool, np.bool_))
                           for k in kinds), dtype=bool, count=flat.size)
    bad = ~(blank | numeric)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        i, j = divmod(pos, arr.shape[1])
        raise InvalidInputError(f"{what} row {i + 1}, column {j + 1}: {flat[pos]!r} is not a number")
    out = np.full(flat.size, np.nan)
    out[numeric] = flat[numeric].astype(float)
    return out.reshape(arr.shape)


def rolling(
    ticker: str,
    model: str | ModelSpec | Sequence[str] | None = "FF3",
    window: int | None = 252,
    start: object = None,
    end: object = None,
    freq: str = "D",
    se: str = "classical",
    lags: int | None = None,
    *,
    with_std_errors: bool = False,
    **kw,
) -> pd.DataFrame:
    """Rolling-window (or expanding, ``window=None``) alpha and betas of one ticker.

    Rows are the last date of each window; columns ``alpha`` and the factors (and with
    ``with_std_errors`` their standard errors as ``se_<name>``), plus ``r2`` and ``nobs``.
    """
    from xlfactor.engine.rolling import rolling_ols

    spec = resolve_model(model)
    name = one_ticker(ticker)
    sample, info, missing = _build_sample([name], spec, start, end, freq, **kw)
    if missing:
        raise UnknownTickerError(f"unknown ticker {missing[0]!r}")
    data = pd.concat([sample.excess[name], sample.factors], axis=1).dropna()
    X = np.column_stack([np.ones(len(data)), data[list(spec.factors)].to_numpy()])
    out = rolling_ols(data[name].to_numpy(), X, window, cov_type=se, lags=lags)
    coefs = ["alpha", *spec.factors]
    dates = data.index[out["end"]]
    frame = pd.DataFrame(out["params"][:, 0, :], index=dates, columns=coefs)
    if with_std_errors:
        for i, c in enumerate(coefs):
            frame[f"se_{c}"] = out["std_errors"][:, 0, i]
    frame["r2"] = out["rsquared"][:, 0]
    frame["nobs"] = out["nobs"].astype(int)
    frame.attrs.update(info=info)
    return frame

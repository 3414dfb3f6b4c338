"""From a :class:`~xlfactor.domain.request.Request` to data, an aligned sample and a fit.

The request arrives normalised; this module picks the sources, loads factors and prices,
aligns them (:mod:`xlfactor.engine.align`), runs the data checks and the model, and
memoises samples and fits under the policy of :mod:`xlfactor.data.memo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from xlfactor.data.base import FactorData, FactorSource, MissingTickers, PriceData, PriceSource
from xlfactor.data.memo import MEMO_MAX_CELLS, Memo
from xlfactor.data.settings import Settings
from xlfactor.domain.errors import XlFactorError
from xlfactor.domain.frequency import FREQUENCY_WORDS
from xlfactor.domain.request import Request
from xlfactor.engine.align import AlignedSample, align, require_overlap
from xlfactor.engine.model import FactorModel
from xlfactor.engine.results import EstimationInfo, FactorResults

#: Days of prices fetched before ``start`` so the first return in the window can be formed.
PRICE_BUFFER_DAYS = 10

Progress = Callable[[str], None]


# -- sources ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sources:
    """The price and factor sources a call uses."""

    prices: PriceSource
    factors: FactorSource


def _build_sources(settings: Settings) -> Sources:
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
            download_wait=settings.download_wait, max_bytes=settings.chart_max_bytes,
        )
    if settings.french_dir is not None:
        from xlfactor.data.french import FrenchFiles

        factors: FactorSource = FrenchFiles(settings.french_dir)
    else:
        from xlfactor.data.french import FrenchLibrary

        factors = FrenchLibrary(
            settings.french_url, store=store, ttl_days=settings.factor_ttl_days,
            offline=settings.offline, timeout=settings.net_wait,
            retry_after=settings.retry_after, download_wait=settings.download_wait,
            max_bytes=settings.french_max_bytes,
        )
    return Sources(prices, factors)


#: Configured sources by settings: parsed files and open cache connections serve every call.
_SOURCES = Memo("sources", 8)


def get_sources(settings: Settings | None = None) -> Sources:
    """Sources configured by ``settings`` (default: from the environment), one per process.

    Parameters
    ----------
    settings : Settings, optional
        Where data come from; default :meth:`Settings.from_env`.
    """
    settings = settings or Settings.from_env()
    found = _SOURCES.get(settings)
    if found is None:
        found = _build_sources(settings)
        _SOURCES.put(settings, found)
    return found


def pick_sources(sources: Sources | None = None, prices: PriceSource | None = None,
                 factors: FactorSource | None = None, settings: Settings | None = None
                 ) -> Sources:
    """The sources of a call: ``sources``, with either side replaced when given."""
    base = sources or (None if prices and factors else get_sources(settings))
    return Sources(prices or base.prices, factors or base.factors)


#: The keyword arguments that choose sources, as the API functions accept them.
SOURCE_KEYWORDS = ("sources", "price_source", "factor_source", "settings")


def sources_from(keywords: dict[str, object]) -> Sources:
    """The sources named by keyword arguments (see :data:`SOURCE_KEYWORDS`, all optional).

    Raises
    ------
    TypeError
        For any other keyword, as a function signature would.
    """
    unknown = sorted(set(keywords) - set(SOURCE_KEYWORDS))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    return pick_sources(keywords.get("sources"), keywords.get("price_source"),  # type: ignore[arg-type]
                        keywords.get("factor_source"), keywords.get("settings"))  # type: ignore[arg-type]


# -- data ------------------------------------------------------------------------------
def load_factors(request: Request, source: FactorSource) -> FactorData:
    """Full-history factor data for the request's model, region and frequency.

    Weekly and monthly regressions use the library's own weekly/monthly factors where it
    publishes them (monthly for every family and region, weekly for US FF3): long-short
    factors such as SMB and HML are not the compounded product of their daily values, and
    the published numbers are what papers and other tools use. Daily factors are
    compounded (see :mod:`xlfactor.engine.align`) only where no file is published, or
    when the request asks for it (``compound_factors``); the data's notes say which.
    """
    from xlfactor.data.reachability import SourceUnreachableError
    from xlfactor.domain.errors import FileMissingError, NotPublishedError

    factors, freq = request.factors, request.freq
    kw = {} if request.region == "US" else {"region": request.region}
    words = FREQUENCY_WORDS[freq]
    why = "as requested"
    if freq != "D" and not request.compound_factors:
        try:
            data = source.get_factors(factors, freq, **kw)
        except (NotPublishedError, FileMissingError) as exc:
            why = (f"the library publishes no {words} file for this model"
                   if isinstance(exc, NotPublishedError)
                   else f"no {words} file in the folder of saved files")
        except SourceUnreachableError as exc:
            try:  # offline: the cached daily files still give an answer, said as such
                daily = source.get_factors(factors, "D", **kw)
            except XlFactorError:
                raise exc from None
            note = (f"factors compounded from cached daily data: the {words} "
                    f"file could not be had ({exc.reason})")
            return _with_notes(daily, (note,), (note,))
        else:
            return _with_notes(data, (f"factors: the published {words} files",))
    data = source.get_factors(factors, "D", **kw)
    if freq == "D":
        return data
    note = f"factors compounded from daily data ({why})"
    return _with_notes(data, (note,), (note,))


#: Factor data with notes added, valid while the data they were added to are the same.
_NOTED = Memo("noted factor data", 32)


def _with_notes(data: FactorData, notes: tuple[str, ...], warnings: tuple[str, ...] = ()
                ) -> FactorData:
    """``data`` with notes added: the same object while ``data`` is, so that the sample
    memo (keyed on identity) hits."""
    key = (id(data), notes, warnings)
    noted = _NOTED.get(key, data)
    if noted is None:
        noted = replace(data, notes=(*data.notes, *notes), warnings=(*data.warnings, *warnings))
        _NOTED.put(key, noted, data)
    return noted


def load_prices(request: Request, source: PriceSource) -> PriceData:
    """Adjusted prices of the request's tickers, with a buffer before ``start`` so that
    the first return in the window can be formed."""
    first = (request.start - timedelta(days=PRICE_BUFFER_DAYS)).date()
    return source.get_prices(list(request.tickers), first, request.end.date())


# -- samples and fits ----------------------------------------------------------------------
#: The aligned sample, its labels, and the tickers without price data, each with the error
#: its source gave (:class:`~xlfactor.data.base.MissingTickers`, a tuple of the names).
Sample = tuple[AlignedSample, EstimationInfo, MissingTickers]

#: Aligned samples by request data; served while the price and factor objects are the same.
#: Shared: never handed to callers as they are (see :func:`own_sample`).
_SAMPLES = Memo("aligned samples", 128)
#: Fits by request; served while the aligned sample is the same object.
_FITS = Memo("fits", 64)


def shared_sample(request: Request, sources: Sources | None = None,
                  progress: Progress | None = None) -> Sample:
    """Fetch and align: the sample, its labels, and the tickers without price data
    (``missing.error(ticker)`` says why each is missing: its file's error, a refused
    response, or an unknown ticker).

    The result may be shared with other callers: do not modify it (see
    :func:`own_sample`). ``progress`` is called with a label as each stage starts.
    """
    src = sources or get_sources()
    step = progress or (lambda label: None)
    region = "" if request.region == "US" else ", " + request.region
    step(f"factors ({request.model.name}{region})")
    fdata = load_factors(request, src.factors)
    step(f"prices ({len(request.tickers)} ticker{'s' if len(request.tickers) > 1 else ''})")
    pdata = load_prices(request, src.prices)
    step("alignment")
    token = (pdata, fdata)
    hit = _SAMPLES.get(request.data_key, token)
    if hit is not None:
        return hit
    built = _align_and_label(request, pdata, fdata)
    if built[0].excess.size <= MEMO_MAX_CELLS:  # worksheet-sized, not whole universes
        _SAMPLES.put(request.data_key, built, token)
    return built


def own_sample(request: Request, sources: Sources | None = None,
               progress: Progress | None = None) -> Sample:
    """:func:`shared_sample` with frames that are the caller's own copies."""
    sample, info, missing = shared_sample(request, sources, progress)
    own = replace(sample, excess=sample.excess.copy(), factors=sample.factors.copy(),
                  rf=sample.rf.copy())
    return own, info, missing


def _align_and_label(request: Request, pdata: PriceData, fdata: FactorData) -> Sample:
    names, s, e = list(request.tickers), request.start, request.end
    sample = align(pdata.prices, fdata.returns, fdata.frequency, request.factors,
                   request.freq, s, e)
    sample = replace(sample, excess=sample.excess.reindex(columns=names))
    require_overlap(sample, f" for {', '.join(names)}")
    from xlfactor.engine.checks import one_off_jumps, shortened_sample, unadjusted_splits

    warnings = (*pdata.warnings, *fdata.warnings, *sample.warnings,
                *unadjusted_splits(pdata.prices, s, e), *one_off_jumps(pdata.prices, s, e),
                *shortened_sample(pdata.prices, fdata.returns, sample, s, e))
    info = EstimationInfo(
        model=request.model.name, factors=request.factors, frequency=request.freq,
        start=sample.factors.index[0], end=sample.factors.index[-1],
        price_source=pdata.source, factor_source=fdata.source, release=fdata.release,
        stale=pdata.stale or fdata.stale, notes=(*pdata.notes, *fdata.notes),
        region=request.region, warnings=tuple(dict.fromkeys(warnings)),
    )
    record_served(info, pdata, fdata)
    return sample, info, pdata.missing_tickers()


def record_served(info: EstimationInfo, *data: PriceData | FactorData) -> None:
    """Tell the status report (FACTOR_INFO, ``xlfactor info``) what a fit was given: its
    data warnings, and each of ``data`` that was served stale."""
    from xlfactor.status import note_stale, note_warnings

    if info.warnings:
        note_warnings(info.warnings)
    for served in data:
        if served.stale:
            note_stale(served.source, served.notes)


def estimate(request: Request, sources: Sources | None = None,
             progress: Progress | None = None) -> FactorResults:
    """Fit the request's model to its tickers' excess returns.

    Returns
    -------
    FactorResults
        Tickers without price data appear in ``failed``, each with the error its source
        gave (a bad file names its line; a ticker no source knows is an
        :class:`~xlfactor.domain.errors.UnknownTickerError`).

    Raises
    ------
    XlFactorError
        When no ticker has price data: the first ticker's error.
    """
    sample, info, missing = shared_sample(request, sources, progress)
    opts = request.options
    key = (request.data_key, opts)
    hit = _FITS.get(key, sample)
    if hit is not None:  # same data, same options: same answer
        return hit.with_info()
    present = [c for c in sample.excess.columns if c not in missing]
    if not present:
        raise missing.error()
    dependent = sample.excess if len(present) == sample.excess.shape[1] else sample.excess[present]
    model = FactorModel(dependent, sample.factors, min_obs=opts.min_obs)
    res = model.fit(opts.se, opts.lags, use_t=opts.use_t, conf_level=opts.conf_level,
                    info=info, small_sample=opts.small_sample)
    for name in missing:
        res.failed[name] = missing.error(name)
    if sample.excess.size <= MEMO_MAX_CELLS:  # fits keep their T x N residuals
        _FITS.put(key, res, sample)
    return res.with_info()


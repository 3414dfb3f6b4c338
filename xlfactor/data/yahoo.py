"""Adjusted daily prices from Yahoo Finance through yfinance.

All requested tickers are fetched with **one** ``yfinance.download`` call (yfinance then
issues its HTTP requests per ticker on worker threads). Prices are yfinance's
``auto_adjust=True`` closes: split- and dividend-adjusted, i.e. total-return prices in the
quote currency (pence for London ``.L`` listings). Dates are exchange-local trading days.

yfinance is imported inside functions so that importing this module (and the Excel
add-in that imports it) stays fast.

The download itself (worker thread, quieting yfinance, its failure record, the raw frame
turned into close series) is in :mod:`xlfactor.data.yahoo_download`; what a failure means
is in :mod:`xlfactor.data.yahoo_failures`. :func:`download_call_count` and
:func:`reset_download_call_count` (the benchmarks' download counter) and
:func:`to_naive_dates` are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

from xlfactor.data.base import PriceData, PriceSource
from xlfactor.data.memo import Memo
from xlfactor.data.reachability import REACHABILITY, SourceUnreachableError
from xlfactor.data.settings import CHART_MAX_BYTES, DOWNLOAD_WAIT, check_bytes, check_number
from xlfactor.data.yahoo_download import (  # noqa: F401 - re-exports, see below
    # download_call_count, reset_download_call_count and to_naive_dates are re-exported:
    # benchmarks and tests use them from here.
    clip,
    close_series,
    download,
    download_call_count,
    reset_download_call_count,
    to_naive_dates,
)
from xlfactor.data.yahoo_failures import (
    SOURCE_NAME,
    Reasons,
    missing_note,
    missing_reason,
    quote_list,
    raise_on_faults,
    refusal_errors,
    refused_charts,
    unknown_message,
)
from xlfactor.domain.dates import inclusive_range
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    InvalidInputError,
    UnknownTickerError,
    XlFactorError,
)
from xlfactor.domain.tickers import normalize_tickers

#: Distinct (tickers, range) answers kept in memory per source.
MEMO_SIZE = 256

#: Per ticker, yfinance's failure text, or the error refusing the response Yahoo sent for it.


class YahooPrices(PriceSource):
    """Total-return daily prices from Yahoo Finance.

    Parameters
    ----------
    store : object, optional
        A price cache; when None (the default) every call goes to Yahoo. The cache
        is consulted through :meth:`_cached` and filled through :meth:`_save`.
    ttl_hours : float, default 12.0
        Age in hours after which cached prices count as stale.
    offline : bool, default False
        Never contact Yahoo; only cached prices can be returned.
    net_wait : float, default 4.0
        Seconds without any answer from Yahoo after which the download is abandoned and
        Yahoo counts as unreachable (see :mod:`xlfactor.data.reachability`).
    retry_after : float, optional
        Seconds during which Yahoo is not asked again after that (default: the
        process-wide setting).
    download_wait : float, optional
        Seconds one request may take in all (default
        :data:`~xlfactor.data.settings.DOWNLOAD_WAIT`).
    max_bytes : int, optional
        Largest chart response accepted, in bytes (default
        :data:`~xlfactor.data.settings.CHART_MAX_BYTES`).
    """

    name = SOURCE_NAME

    def __init__(self, *, store: Any = None, ttl_hours: float = 12.0, offline: bool = False,
                 net_wait: float = 4.0, retry_after: float | None = None,
                 download_wait: float = DOWNLOAD_WAIT, max_bytes: int = CHART_MAX_BYTES):
        try:
            hours = float(ttl_hours)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"ttl_hours must be a number, got {ttl_hours!r}") from exc
        if not hours > 0:  # also rejects NaN
            raise InvalidInputError(f"ttl_hours must be positive, got {ttl_hours!r}")
        self.store = store
        self.ttl_hours = hours
        self.offline = bool(offline)
        self.net_wait = check_number(net_wait, "net_wait", label="net_wait")
        self.retry_after = retry_after
        self.download_wait = check_number(download_wait, "download_wait", label="download_wait")
        self.max_bytes = check_bytes(max_bytes, "chart_max_bytes", label="max_bytes")
        # Repeated cells reuse one assembled answer while the cached series are unchanged
        # (the policy of xlfactor.data.memo).
        self._answers = Memo("Yahoo answers", MEMO_SIZE)

    def get_prices(self, tickers: Sequence[str], start: date, end: date) -> PriceData:
        """Adjusted closes for ``tickers`` on trading days in ``[start, end]``.

        Parameters
        ----------
        tickers : sequence of str or str
            Yahoo symbols (or one separated string). A request's tickers arrive
            normalised; they are checked again here, cheaply, because this is where
            text turns into a network request (the source is public on its own too).
        start, end : datetime.date
            First and last calendar day wanted, both inclusive, in each exchange's
            local calendar.

        Returns
        -------
        PriceData
            ``prices`` has one float column per ticker that has data (request order),
            a tz-naive midnight ``DatetimeIndex`` named ``"date"``, and NaN where a
            ticker did not trade on a date another one did. Tickers without any
            data are listed in ``missing``, with Yahoo's reason in ``notes`` and, where
            it is more than an unknown symbol, in ``reasons`` (a response refused for
            that ticker alone is a DataFormatError there; a cached copy of it is served
            instead when there is one, marked stale).

        Raises
        ------
        InvalidInputError
            Malformed tickers or ``start`` after ``end``.
        UnknownTickerError
            None of the tickers has data in the range.
        DataFormatError
            None of the tickers has data, and a response was refused (the wrong symbol,
            no adjusted closes): every refusal is named.
        DataUnavailableError
            Rate limiting, a network fault, or offline mode without cached data.
        """
        symbols = normalize_tickers(tickers)
        first, last = inclusive_range(start, end)
        memo_key = (tuple(symbols), first, last)
        versions = self._versions(symbols)
        hit = self._answers.get(memo_key, versions)
        if hit is not None:
            return hit
        result = self._get_prices(symbols, first, last)
        problem = getattr(self.store, "problem", None)
        if problem:
            result = replace(result, warnings=(*result.warnings, problem))
        # Not memoised: stale answers (retry soon) and answers with missing tickers (Yahoo
        # sometimes reports a symbol "possibly delisted" only for a while).
        if versions is not None and not result.stale and not result.missing:
            # Remember under the versions now stored (a fetch above just replaced them).
            self._answers.put(memo_key, result, self._versions(symbols),
                              expires=self._memo_expiry(symbols, last))
        return result

    def _versions(self, symbols: list[str]) -> tuple[str | None, ...] | None:
        """Cache versions of the tickers' series: a cheap test that nothing changed."""
        if self.store is None:
            return None
        return tuple(self.store.version(_cache_key(t)) for t in symbols)

    def _memo_expiry(self, symbols: list[str], last: pd.Timestamp) -> float:
        """Unix time until which a memoised answer may be reused without revalidation."""
        expiry = float("inf")
        for ticker in symbols:
            cached = self._cached(ticker)
            if cached is None or self.offline:
                continue
            if last >= pd.Timestamp(cached.fetched_at.date()):  # not settled: TTL applies
                expiry = min(expiry, cached.fetched_at.timestamp() + self.ttl_hours * 3600.0)
        return expiry

    def _get_prices(self, symbols: list[str], first: pd.Timestamp, last: pd.Timestamp) -> PriceData:
        cached = {t: c for t in symbols if (c := self._cached(t)) is not None}
        series = {t: c.prices for t, c in cached.items() if self._serves(c, first, last)}
        to_fetch = [t for t in symbols if t not in series]
        reasons: Reasons = {}
        stale_note = ""
        if to_fetch:
            try:
                lo = min([first, *(cached[t].start for t in to_fetch if t in cached)])
                hi = max([last, *(cached[t].end for t in to_fetch if t in cached)])
                fetched, reasons = self._fetch(to_fetch, lo, hi)
                series.update(fetched)
                stale_note = _serve_refused(reasons, cached, series)
            except DataUnavailableError as exc:
                fallback = {t: cached[t].prices for t in to_fetch if t in cached}
                if len(fallback) < len(to_fetch):
                    if isinstance(exc, SourceUnreachableError):
                        lacking = [t for t in to_fetch if t not in cached]
                        raise exc.nothing_cached(f"prices for {quote_list(lacking)}") from exc
                    raise
                series.update(fallback)
                stale_note = _stale_note(exc, [cached[t] for t in fallback])
        prices = _assemble(series, symbols, first, last)
        result = _result(prices, symbols, reasons, first, last)
        short = [t for t in symbols if t in cached and self.offline
                 and (cached[t].start > first or cached[t].end < last)]
        if short and not stale_note:
            stale_note = ("STALE: offline mode: cached prices of " + ", ".join(short)
                          + " do not cover the whole requested period")
        if stale_note:
            result = replace(result, stale=True, notes=(*result.notes, stale_note))
        return result

    def _serves(self, cached: CachedPrices, first: pd.Timestamp, last: pd.Timestamp) -> bool:
        """Whether a cached series answers ``[first, last]`` without asking Yahoo.

        It must cover the range, and be either younger than ``ttl_hours`` or fetched after
        the range ended (closes before the fetch day are final). Offline, any copy serves.
        """
        if self.offline:
            return True
        if cached.start > first or cached.end < last:
            return False
        if cached.age_hours < -0.1:  # stamped in the future: a wrong clock, not fresh data
            return False
        fetched_day = pd.Timestamp(cached.fetched_at.date())
        return cached.age_hours < self.ttl_hours or last < fetched_day

    def _fetch(
        self, symbols: list[str], first: pd.Timestamp, last: pd.Timestamp
    ) -> tuple[dict[str, pd.Series], Reasons]:
        """Download ``symbols`` from Yahoo; return the series found and per-ticker reasons:
        yfinance's failure text, or the error refusing a ticker's response (that ticker is
        left out, the others are kept)."""
        if self.offline:
            raise DataUnavailableError(
                f"offline mode: no cached Yahoo Finance prices for {quote_list(symbols)}"
            )
        REACHABILITY.check(SOURCE_NAME)
        try:
            fetched = download(symbols, first, last, self.net_wait,
                               transfer_wait=self.download_wait, max_bytes=self.max_bytes)
            # A response for another symbol, or without dividend adjustment, is never used
            # nor cached (yahoo_failures explains why).
            refused = refused_charts(symbols, fetched.charts)
            series = {t: clip(s, first, last)
                      for t, s in close_series(fetched.frame, symbols).items()
                      if t not in refused}
            series = {t: s for t, s in series.items() if not s.empty}
            for ticker, values in series.items():  # what arrived is kept, whatever failed
                self._save(ticker, values, first, last)
            raise_on_faults(symbols, series, fetched.failures)
        except SourceUnreachableError as exc:
            REACHABILITY.report(exc, self.retry_after)
            raise
        return series, {**fetched.failures, **refusal_errors(refused)}

    def _cached(self, ticker: str) -> CachedPrices | None:
        """The cached series of ``ticker`` with the range it was fetched for, or None."""
        if self.store is None:
            return None
        hit = self.store.get_frame(_cache_key(ticker))
        if hit is None or "close" not in hit.frame.columns:
            return None
        return CachedPrices(
            prices=hit.frame["close"].rename(ticker),
            start=pd.Timestamp(hit.meta["start"]),
            end=pd.Timestamp(hit.meta["end"]),
            fetched_at=hit.fetched_at,
        )

    def _save(self, ticker: str, series: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> None:
        """Replace the cached series of ``ticker`` by a fresh download of ``[start, end]``.

        A whole replacement, never a merge: Yahoo rescales the adjusted history after
        every dividend, so closes from two downloads must not be spliced together.
        """
        if self.store is None:
            return
        frame = series.astype(float).to_frame("close")
        meta = {"start": start.date().isoformat(), "end": end.date().isoformat(),
                "source": SOURCE_NAME}
        self.store.put_frame(_cache_key(ticker), frame, meta)


@dataclass(frozen=True)
class CachedPrices:
    """A cached download: prices and the inclusive range ``[start, end]`` it was asked for."""

    prices: pd.Series
    start: pd.Timestamp
    end: pd.Timestamp
    fetched_at: datetime

    @property
    def age_hours(self) -> float:
        return (datetime.now(timezone.utc) - self.fetched_at).total_seconds() / 3600.0


def _cache_key(ticker: str) -> str:
    # Tickers are validated against a strict pattern before they reach here.
    return f"yahoo:{ticker}"


def _serve_refused(reasons: Reasons, cached: dict[str, CachedPrices],
                   series: dict[str, pd.Series]) -> str:
    """Put the cached copy of each ticker whose response was refused into ``series``; the
    STALE note saying so (``""`` when none was served). A refused ticker without a copy
    stays out: it is missing, its refusal its reason."""
    notes = []
    for ticker, reason in reasons.items():
        if isinstance(reason, XlFactorError) and ticker in cached:
            series[ticker] = cached[ticker].prices
            notes.append(_stale_note(reason, [cached[ticker]]))
    return "; ".join(notes)


def _stale_note(exc: Exception, copies: list[CachedPrices]) -> str:
    oldest = min(c.fetched_at for c in copies)
    return (f"STALE: Yahoo Finance refresh failed ({exc}); serving cached prices "
            f"fetched {oldest:%Y-%m-%d %H:%M} UTC")


def _assemble(
    series: dict[str, pd.Series], symbols: list[str], first: pd.Timestamp, last: pd.Timestamp
) -> pd.DataFrame:
    """One column per ticker with data in ``[first, last]``, in request order."""
    columns: dict[str, pd.Series] = {}
    for ticker in symbols:
        values = series.get(ticker)
        if values is None:
            continue
        values = clip(values, first, last)
        if not values.empty:
            columns[ticker] = values
    if not columns:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date", dtype="datetime64[ns]"))
    frame = pd.concat(columns, axis=1, sort=True)
    frame.index.name = "date"
    frame.columns.name = None
    return frame


def _result(
    prices: pd.DataFrame,
    symbols: list[str],
    reasons: Reasons,
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> PriceData:
    """Wrap ``prices`` in PriceData, or raise when nothing came back: UnknownTickerError,
    or a DataFormatError naming every refused response when there is one."""
    missing = [t for t in symbols if t not in prices.columns]
    errors = {t: missing_reason(t, reasons, first, last) for t in missing}
    errors = {t: e for t, e in errors.items() if e is not None}
    if len(missing) == len(symbols):
        refused = [t for t in missing if isinstance(errors.get(t), DataFormatError)]
        others = [t for t in missing if t not in refused]
        if not refused:
            raise UnknownTickerError(unknown_message(others, reasons, first, last))
        parts = [str(errors[t]) for t in refused]
        if others:
            parts.append(unknown_message(others, reasons, first, last))
        raise DataFormatError("; ".join(parts))
    notes = tuple(missing_note(t, reasons, first, last) for t in missing)
    notes += ("prices are Yahoo Finance closes adjusted for splits and dividends",)
    return PriceData(prices=prices, source=SOURCE_NAME, missing=tuple(missing), notes=notes,
                     reasons=errors)

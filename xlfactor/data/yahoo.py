"""Adjusted daily prices from Yahoo Finance through yfinance.

All requested tickers are fetched with **one** ``yfinance.download`` call (yfinance then
issues its HTTP requests per ticker on worker threads). Prices are yfinance's
``auto_adjust=True`` closes: split- and dividend-adjusted, i.e. total-return prices in the
quote currency (pence for London ``.L`` listings). Dates are exchange-local trading days.

yfinance is imported inside functions so that importing this module (and the Excel
add-in that imports it) stays fast.

Counting downloads
------------------
:func:`download_call_count` returns how many times this module has called
``yfinance.download`` in the current process; :func:`reset_download_call_count` sets it
back to zero. Benchmarks read it before and after a workload.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd

from xlfactor.data.base import PriceData, PriceSource
from xlfactor.data.reachability import REACHABILITY, SourceUnreachableError
from xlfactor.domain.dates import inclusive_range
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    InvalidInputError,
    UnknownTickerError,
)
from xlfactor.domain.tickers import normalize_tickers

SOURCE_NAME = "Yahoo Finance (yfinance)"
#: Distinct (tickers, range) answers kept in memory per source.
MEMO_SIZE = 256

# yfinance's download() reads process-wide state that we change while it runs (its
# logger's propagation, its hide_exceptions switch): the first download in flight sets
# it, the last one to finish restores it.
_QUIET_LOCK = threading.Lock()
_quiet_depth = 0
_quiet_saved: tuple[bool, Any, list] | None = None
_COUNTER_LOCK = threading.Lock()
_download_calls = 0

# yfinance reports per-ticker failures only as log lines "['T1', 'T2']: <repr of error>".
_FAILED_LINE_RE = re.compile(r"^(\[[^\]]*\]): (.+)$", re.DOTALL)
# Error classes that mean "Yahoo has nothing for this symbol", as opposed to a fault.
_NOT_FOUND_MARKERS = (
    "YFTzMissingError",
    "YFPricesMissingError",
    "YFTickerMissingError",
    "possibly delisted",
    "No data found",
)
_RATE_LIMIT_MARKERS = ("YFRateLimitError", "Too Many Requests", "Rate limited")
# Failures to reach Yahoo at all, as curl and requests word them (curl error numbers 5, 6,
# 7 and 28: proxy or host not resolved, no connection, timed out).
_UNREACHABLE_RE = re.compile(
    r"curl: \((?:5|6|7|28)\)|Could not resolve|Failed to connect|Connection refused|"
    r"timed out|ConnectTimeout|ReadTimeout|ConnectionError|NameResolutionError")
# The HTTPError yfinance raises when its quote-summary fallback (used to find the time
# zone of a symbol the chart API does not know) answers 4xx: an unknown symbol, not a fault.
_CLIENT_ERROR_RE = re.compile(r"HTTP Error 4(?!29)\d\d")


def download_call_count() -> int:
    """Number of ``yfinance.download`` calls made by this module in this process."""
    return _download_calls


def reset_download_call_count() -> None:
    """Set the ``yfinance.download`` call counter back to zero."""
    global _download_calls
    with _COUNTER_LOCK:
        _download_calls = 0


def _count_download() -> None:
    global _download_calls
    with _COUNTER_LOCK:
        _download_calls += 1


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
    """

    name = SOURCE_NAME

    def __init__(self, *, store: Any = None, ttl_hours: float = 12.0, offline: bool = False,
                 net_wait: float = 4.0, retry_after: float | None = None):
        try:
            hours = float(ttl_hours)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"ttl_hours must be a number, got {ttl_hours!r}") from exc
        if not hours > 0:  # also rejects NaN
            raise InvalidInputError(f"ttl_hours must be positive, got {ttl_hours!r}")
        self.store = store
        self.ttl_hours = hours
        self.offline = bool(offline)
        self.net_wait = float(net_wait)
        self.retry_after = retry_after
        # (tickers, first, last) -> (cache versions, expiry, PriceData): repeated cells
        # reuse one assembled answer while the cached series are unchanged.
        self._memo: dict[tuple, tuple[tuple | None, float, PriceData]] = {}

    def get_prices(self, tickers: Sequence[str], start: date, end: date) -> PriceData:
        """Adjusted closes for ``tickers`` on trading days in ``[start, end]``.

        Parameters
        ----------
        tickers : sequence of str or str
            Yahoo symbols (or one separated string); normalised and validated with
            :func:`xlfactor.domain.tickers.normalize_tickers` before any request.
        start, end : datetime.date
            First and last calendar day wanted, both inclusive, in each exchange's
            local calendar.

        Returns
        -------
        PriceData
            ``prices`` has one float column per ticker that has data (request order),
            a tz-naive midnight ``DatetimeIndex`` named ``"date"``, and NaN where a
            ticker did not trade on a date another one did. Tickers without any
            data are listed in ``missing``, with Yahoo's reason in ``notes``.

        Raises
        ------
        InvalidInputError
            Malformed tickers or ``start`` after ``end``.
        UnknownTickerError
            None of the tickers has data in the range.
        DataUnavailableError
            Rate limiting, a network fault, or offline mode without cached data.
        """
        symbols = normalize_tickers(tickers)
        first, last = inclusive_range(start, end)
        memo_key = (tuple(symbols), first, last)
        versions = self._versions(symbols)
        hit = self._memo.get(memo_key)
        if hit is not None and hit[0] == versions and time.time() < hit[1]:
            return hit[2]
        result = self._get_prices(symbols, first, last)
        problem = getattr(self.store, "problem", None)
        if problem:
            result = replace(result, warnings=(*result.warnings, problem))
        # Not memoised: stale answers (retry soon) and answers with missing tickers (Yahoo
        # sometimes reports a symbol "possibly delisted" only for a while).
        if versions is not None and not result.stale and not result.missing:
            # Remember under the versions now stored (a fetch above just replaced them).
            if len(self._memo) >= MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[memo_key] = (self._versions(symbols), self._memo_expiry(symbols, last),
                                    result)
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
        reasons: dict[str, str] = {}
        stale_note = ""
        if to_fetch:
            try:
                lo = min([first, *(cached[t].start for t in to_fetch if t in cached)])
                hi = max([last, *(cached[t].end for t in to_fetch if t in cached)])
                fetched, reasons = self._fetch(to_fetch, lo, hi)
                series.update(fetched)
            except DataUnavailableError as exc:
                fallback = {t: cached[t].prices for t in to_fetch if t in cached}
                if len(fallback) < len(to_fetch):
                    if isinstance(exc, SourceUnreachableError):
                        lacking = [t for t in to_fetch if t not in cached]
                        raise exc.nothing_cached(f"prices for {_quote_list(lacking)}") from exc
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
    ) -> tuple[dict[str, pd.Series], dict[str, str]]:
        """Download ``symbols`` from Yahoo; return the series found and per-ticker reasons."""
        if self.offline:
            raise DataUnavailableError(
                f"offline mode: no cached Yahoo Finance prices for {_quote_list(symbols)}"
            )
        REACHABILITY.check(SOURCE_NAME)
        try:
            raw, log_lines = _download(symbols, first, last, self.net_wait)
            reasons = _failure_reasons(log_lines)
            series = {t: _clip(s, first, last) for t, s in _close_series(raw, symbols).items()}
            series = {t: s for t, s in series.items() if not s.empty}
            for ticker, values in series.items():  # what arrived is kept, whatever failed
                self._save(ticker, values, first, last)
            _raise_on_faults(symbols, series, reasons, log_lines)
        except SourceUnreachableError as exc:
            REACHABILITY.report(exc, self.retry_after)
            raise
        return series, reasons

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


def _stale_note(exc: Exception, copies: list[CachedPrices]) -> str:
    oldest = min(c.fetched_at for c in copies)
    return (f"STALE: Yahoo Finance refresh failed ({exc}); serving cached prices "
            f"fetched {oldest:%Y-%m-%d %H:%M} UTC")


def _download(
    symbols: list[str], first: pd.Timestamp, last: pd.Timestamp, wait: float = 4.0
) -> tuple[pd.DataFrame | None, list[str]]:
    """Run the single batched ``yfinance.download`` call; return its frame and log lines.

    yfinance's own ``timeout`` does not bound every request it makes (against a server
    that accepts connections and never answers, one ticker took 70 s with ``timeout=3``),
    so the call runs on a worker thread watched from here: when no request has started or
    finished for ``wait`` seconds, the call is abandoned and Yahoo counts as unreachable.
    An abandoned worker ends on its own later; nothing waits for it.
    """
    import yfinance as yf

    try:
        session = _WatchedSession.create()
    except Exception as exc:  # noqa: BLE001 - a yfinance without the session helpers
        raise DataUnavailableError(
            f"Yahoo Finance: this yfinance version is not supported ({type(exc).__name__}: "
            f"{exc}); install the version xlfactor requires") from exc
    outcome: dict[str, Any] = {"log": []}

    def work() -> None:
        try:
            with _quiet_yfinance() as log_lines:
                outcome["log"] = log_lines
                outcome["raw"] = yf.download(
                    list(symbols),
                    start=first.strftime("%Y-%m-%d"),
                    # yfinance's end is exclusive, ours inclusive
                    end=(last + timedelta(days=1)).strftime("%Y-%m-%d"),
                    interval="1d",
                    auto_adjust=True,
                    actions=False,
                    threads=True,
                    progress=False,
                    multi_level_index=True,
                    group_by="column",
                    session=session,
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    _count_download()
    worker = threading.Thread(target=work, name="xlfactor-yfinance", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.02)
        if worker.is_alive() and session.idle_seconds() > wait:
            session.abandon()
            raise SourceUnreachableError(SOURCE_NAME, f"no answer within {wait:g} s")
    _raise_download_error(outcome.get("error"))
    return outcome.get("raw"), list(outcome["log"])


def _raise_download_error(exc: BaseException | None) -> None:
    from yfinance.exceptions import YFRateLimitError

    if exc is None:
        return
    if isinstance(exc, YFRateLimitError):
        raise DataUnavailableError(_rate_limit_message()) from exc
    if not isinstance(exc, Exception):
        raise exc
    if _UNREACHABLE_RE.search(f"{type(exc).__name__}: {exc}"):
        raise SourceUnreachableError(SOURCE_NAME, _unreachable_reason(str(exc))) from exc
    raise DataUnavailableError(
        f"Yahoo Finance request failed: {type(exc).__name__}: {exc}") from exc


class _WatchedSession:
    """Builds the HTTP session handed to yfinance, stamped on every response."""

    @staticmethod
    def create() -> Any:
        from yfinance._http import new_session

        session = new_session()
        base = type(session)
        watched = type("WatchedSession", (base,), {
            "request": _stamped_request,
            "idle_seconds": lambda self: time.monotonic() - self._xlfactor_last,
            "abandon": _abandon,
        })
        session.__class__ = watched
        session._xlfactor_last = time.monotonic()
        return session


def _stamped_request(self: Any, *args: Any, **kwargs: Any) -> Any:
    self._xlfactor_last = time.monotonic()  # a request starting is activity too
    try:
        return super(type(self), self).request(*args, **kwargs)
    finally:
        self._xlfactor_last = time.monotonic()


def _abandon(self: Any) -> None:
    """Close the session so the abandoned worker's pending requests end sooner."""
    with contextlib.suppress(Exception):
        self.close()


def _rate_limit_message() -> str:
    return "Yahoo Finance rate limit reached (too many requests); try again later"


@contextlib.contextmanager
def _quiet_yfinance() -> Iterator[list[str]]:
    """Capture yfinance's log output instead of printing it; surface its exceptions.

    Yields the list that receives the messages of the WARNING+ records yfinance logs
    while the block runs (every download in flight receives every message: failure lines
    name their tickers). While any block is active, yfinance's logger does not propagate
    and its ``hide_exceptions`` switch is off, so that a per-ticker failure is reported
    with its exception class (a network fault is otherwise indistinguishable from an
    unknown symbol); the last block to end restores both.
    """
    global _quiet_depth, _quiet_saved
    collector = _Collector()
    logger = logging.getLogger("yfinance")
    with _QUIET_LOCK:
        if _quiet_depth == 0:
            _quiet_saved = (logger.propagate, _set_hide_exceptions(False),
                            list(warnings.filters))
            logger.propagate = False
            # yfinance's own deprecation noise (pandas 3 ``inplace=``)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"yfinance")
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"yfinance")
        _quiet_depth += 1
        logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        with _QUIET_LOCK:
            logger.removeHandler(collector)
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                logger.propagate = _quiet_saved[0]
                _set_hide_exceptions(_quiet_saved[1])
                warnings.filters[:] = _quiet_saved[2]
                warnings._filters_mutated()  # type: ignore[attr-defined]


_NO_SWITCH = object()


def _set_hide_exceptions(value: Any) -> Any:
    """Set ``yfinance.config.debug.hide_exceptions`` (if this yfinance has it); return
    the previous value."""
    try:
        from yfinance.config import YfConfig
    except ImportError:  # yfinance < 1.0 has no config object
        return _NO_SWITCH
    previous = YfConfig.debug.hide_exceptions
    if value is not _NO_SWITCH:
        YfConfig.debug.hide_exceptions = value
    return previous


class _Collector(logging.Handler):
    """Logging handler that keeps message texts (records come from yfinance's threads)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError, KeyError):  # bad %-args must not break the download
            text = str(record.msg)
        with self._guard:
            self.messages.append(text.strip())


def _failure_reasons(log_lines: list[str]) -> dict[str, str]:
    """Map ticker -> yfinance's failure text, parsed from its "Failed download" lines."""
    reasons: dict[str, str] = {}
    for line in log_lines:
        match = _FAILED_LINE_RE.match(line)
        if not match:
            continue
        try:
            names = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            continue
        if isinstance(names, list):
            for name in names:
                reasons[str(name).upper()] = match.group(2).strip()
    return reasons


def _is_not_found(reason: str) -> bool:
    """Whether a yfinance failure text means "no data for this symbol"."""
    return any(m in reason for m in _NOT_FOUND_MARKERS) or bool(_CLIENT_ERROR_RE.search(reason))


def _raise_on_faults(
    symbols: list[str], series: dict[str, pd.Series], reasons: dict[str, str], log: list[str]
) -> None:
    """Raise DataUnavailableError when a ticker failed for a reason other than "no data"."""
    failed = [t for t in symbols if t not in series]
    if not failed:
        return
    if any(m in line for line in log for m in _RATE_LIMIT_MARKERS):
        raise DataUnavailableError(_rate_limit_message())
    faults = {t: reasons[t] for t in failed if t in reasons and not _is_not_found(reasons[t])}
    if faults and not series and all(_UNREACHABLE_RE.search(r) for r in faults.values()):
        raise SourceUnreachableError(SOURCE_NAME, _unreachable_reason(next(iter(faults.values()))))
    if faults:
        detail = "; ".join(f"{t}: {_shorten(r)}" for t, r in faults.items())
        raise DataUnavailableError(f"Yahoo Finance request failed ({detail})")


def _unreachable_reason(text: str) -> str:
    """A few plain words for a connection-level failure text."""
    if re.search(r"curl: \((?:5|6)\)|Could not resolve|NameResolution", text):
        return "host name not found: no network or no DNS"
    if re.search(r"curl: \(7\)|Failed to connect|Connection refused", text):
        return "connection refused"
    if re.search(r"curl: \(28\)|timed out|Timeout", text):
        return "timed out"
    if "ConnectionError" in text:
        return "connection failed"
    return _shorten(text, 80)


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _close_series(raw: pd.DataFrame | None, symbols: list[str]) -> dict[str, pd.Series]:
    """The non-empty ('Close', ticker) series of a download() frame, keyed by ticker."""
    if raw is None or raw.empty:
        return {}
    if not isinstance(raw.columns, pd.MultiIndex) or "Close" not in raw.columns.get_level_values(0):
        # a yfinance change, not a missing ticker: say so rather than report "unknown"
        raise DataFormatError("unexpected yfinance download() layout: no ('Close', ticker) columns")
    closes = raw["Close"]
    found: dict[str, pd.Series] = {}
    for ticker in symbols:
        if ticker not in closes.columns:
            continue
        values = pd.to_numeric(closes[ticker], errors="coerce").dropna()
        if not values.empty:
            values.index = to_naive_dates(values.index)
            found[ticker] = values.rename(ticker)
    return found


def to_naive_dates(index: pd.Index) -> pd.DatetimeIndex:
    """Exchange-local calendar dates as a tz-naive midnight index named ``"date"``.

    A tz-aware index is stripped of its zone *without* conversion, so a bar stamped
    ``2020-01-02 00:00+09:00`` stays on 2 January (converting to UTC first would move
    it to 1 January).
    """
    dates = pd.DatetimeIndex(index)
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    return dates.normalize().as_unit("ns").rename("date")


def _clip(values: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Float prices within ``[first, last]``, sorted, one row per date (the last one)."""
    values = values[~values.index.duplicated(keep="last")].sort_index()
    return values.loc[(values.index >= first) & (values.index <= last)].astype("float64")


def _assemble(
    series: dict[str, pd.Series], symbols: list[str], first: pd.Timestamp, last: pd.Timestamp
) -> pd.DataFrame:
    """One column per ticker with data in ``[first, last]``, in request order."""
    columns: dict[str, pd.Series] = {}
    for ticker in symbols:
        values = series.get(ticker)
        if values is None:
            continue
        values = _clip(values, first, last)
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
    reasons: dict[str, str],
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> PriceData:
    """Wrap ``prices`` in PriceData, or raise UnknownTickerError when nothing came back."""
    missing = [t for t in symbols if t not in prices.columns]
    if len(missing) == len(symbols):
        raise UnknownTickerError(_unknown_message(missing, reasons, first, last))
    notes = tuple(_missing_note(t, reasons, first, last) for t in missing)
    notes += ("prices are Yahoo Finance closes adjusted for splits and dividends",)
    return PriceData(prices=prices, source=SOURCE_NAME, missing=tuple(missing), notes=notes)


def _missing_note(
    ticker: str, reasons: dict[str, str], first: pd.Timestamp, last: pd.Timestamp
) -> str:
    """One line for ``PriceData.notes`` explaining why ``ticker`` is missing."""
    if _symbol_unknown(reasons.get(ticker, "")):
        return f"{ticker}: unknown ticker (no price data from Yahoo Finance)"
    return f"{ticker}: no price data from Yahoo Finance in {first.date()}..{last.date()}"


def _unknown_message(
    missing: list[str], reasons: dict[str, str], first: pd.Timestamp, last: pd.Timestamp
) -> str:
    """Message naming the tickers, telling unknown symbols from empty date ranges."""
    unknown = [t for t in missing if _symbol_unknown(reasons.get(t, ""))]
    empty = [t for t in missing if t not in unknown]
    parts = []
    if unknown:
        label = "unknown ticker" if len(unknown) == 1 else "unknown tickers"
        parts.append(f"{label} {_quote_list(unknown)} (no price data from Yahoo Finance)")
    if empty:
        parts.append(
            f"no price data from Yahoo Finance for {_quote_list(empty)} "
            f"in {first.date()}..{last.date()}"
        )
    return "; ".join(parts)


def _symbol_unknown(reason: str) -> bool:
    """Whether yfinance's failure text says the symbol itself is unknown to Yahoo.

    ``YFPricesMissingError`` without Yahoo's own explanation means the symbol was
    found (it has a time zone) but the range holds no bars; no reason at all means
    Yahoo sent bars, all outside the range.
    """
    return (
        "YFTzMissingError" in reason
        or "No data found" in reason
        or bool(_CLIENT_ERROR_RE.search(reason))
    )


def _quote_list(symbols: Sequence[str]) -> str:
    return ", ".join(repr(s) for s in symbols)

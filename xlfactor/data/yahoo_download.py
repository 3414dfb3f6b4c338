"""One batched ``yfinance.download`` call: run, watched, quieted, and its failures read.

:func:`download` fetches all requested tickers with **one** ``yfinance.download`` call
(yfinance then issues its HTTP requests per ticker on threads of its own), on a worker
thread watched from the caller's, and returns the raw frame with yfinance's failure text
per ticker. :func:`close_series` turns the raw frame into one close series per ticker.
What a failure means is decided in :mod:`xlfactor.data.yahoo_failures`.

yfinance is imported inside functions so that importing this module (and the Excel add-in
that imports it) stays fast.

Bounds and what each response says it is
-----------------------------------------
The session handed to yfinance is ours (:class:`_WatchedSession`): every request it sends
gets a whole-transfer timeout (curl's total-time limit, at most ``transfer_wait``
seconds) and a size cap (curl's ``MAXFILESIZE``, enforced while the body streams), and
every chart response it receives is read for what it says it is (:class:`ChartFacts`:
the symbol in ``chart.result[0].meta``, whether adjusted closes came), so that the
caller can refuse a response for another symbol or without dividend adjustment.

Counting downloads
------------------
:func:`download_call_count` returns how many times this module has called
``yfinance.download`` in the current process; :func:`reset_download_call_count` sets it
back to zero. Benchmarks read it before and after a workload.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import math
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from xlfactor.data.counting import CallCounter
from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.data.settings import CHART_MAX_BYTES, DOWNLOAD_WAIT, cap_text
from xlfactor.data.yahoo_failures import SOURCE_NAME, ChartFacts, raise_download_error
from xlfactor.domain.errors import DataFormatError, DataUnavailableError

# yfinance's download() reads process-wide state that we change while it runs (its
# logger's propagation, its hide_exceptions switch): the first download in flight sets
# it, the last one to finish restores it.
_QUIET_LOCK = threading.Lock()
_quiet_depth = 0
_quiet_saved: tuple[bool, Any, list] | None = None
_DOWNLOADS = CallCounter()

# One line of the failure summary download() logs: "['T1', 'T2']: <error text>".
_FAILED_LINE_RE = re.compile(r"^(\[[^\]]*\]): (.+)$", re.DOTALL)
# The path of a chart request; the symbol is the last segment, URL-encoded.
_CHART_PATH_RE = re.compile(r"/v8/finance/chart/([^/]+)$")
# libcurl's CURLE_FILESIZE_EXCEEDED: the body passed MAXFILESIZE.
_CURLE_FILESIZE_EXCEEDED = 63


class ResponseTooLarge(Exception):
    """A Yahoo response passed the size cap; not an OSError, so yfinance never retries it."""


def download_call_count() -> int:
    """Number of ``yfinance.download`` calls made by this module in this process.

    Returns
    -------
    int
        Calls since the process started or since :func:`reset_download_call_count`.
    """
    return _DOWNLOADS.value()


def reset_download_call_count() -> None:
    """Set the ``yfinance.download`` call counter back to zero."""
    _DOWNLOADS.reset()


@dataclass(frozen=True)
class Download:
    """What one ``yfinance.download`` call returned.

    Attributes
    ----------
    frame : pandas.DataFrame or None
        The raw frame, ``('Close', ticker)`` columns among others.
    failures : dict of str to str
        yfinance's failure text per upper-case ticker, e.g.
        ``{"ZZZZ": "HTTPError('HTTP Error 404: Not Found')"}``; tickers that did not
        fail are absent.
    charts : dict of str to ChartFacts
        What the history response for each upper-case requested symbol said it was;
        symbols whose history response never arrived are absent.
    """

    frame: pd.DataFrame | None
    failures: dict[str, str] = field(default_factory=dict)
    charts: dict[str, ChartFacts] = field(default_factory=dict)


def download(
    symbols: list[str], first: pd.Timestamp, last: pd.Timestamp, wait: float = 4.0, *,
    transfer_wait: float = DOWNLOAD_WAIT, max_bytes: int = CHART_MAX_BYTES,
) -> Download:
    """Run the single batched ``yfinance.download`` call for ``[first, last]``.

    yfinance's own ``timeout`` does not bound every request it makes (against a server
    that accepts connections and never answers, one ticker took 70 s with ``timeout=3``),
    so the call runs on a worker thread watched from here: when no request has started or
    finished for ``wait`` seconds, the call is abandoned and Yahoo counts as unreachable.
    An abandoned worker ends on its own later; nothing waits for it.

    Parameters
    ----------
    symbols : list of str
        Validated, upper-case Yahoo symbols.
    first, last : pandas.Timestamp
        First and last day wanted, both inclusive.
    wait : float, default 4.0
        Seconds without any HTTP activity after which the call is abandoned.
    transfer_wait : float
        Seconds one request may take in all, however steadily its answer arrives.
    max_bytes : int
        Largest response body accepted, in bytes; a larger one ends the transfer.

    Returns
    -------
    Download
        The raw frame and the per-ticker failure texts.

    Raises
    ------
    SourceUnreachableError
        No activity for ``wait`` seconds, or a connection-level failure of the call.
    DataUnavailableError
        A rate limit or other exception escaping ``yfinance.download``, or a yfinance
        without the session helpers used here.
    """
    import yfinance as yf

    try:
        session = _WatchedSession.create(transfer_wait, max_bytes)
    except Exception as exc:  # a yfinance without the session helpers
        raise DataUnavailableError(
            f"Yahoo Finance: this yfinance version is not supported ({type(exc).__name__}: "
            f"{exc}); install the version xlfactor requires") from exc
    outcome: dict[str, Any] = {}
    _forget_yfinance_responses()

    def work() -> None:
        try:
            with _quiet_yfinance() as failure_log:
                outcome["failures"] = failure_log.failures
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

    _DOWNLOADS.add()
    worker = threading.Thread(target=work, name="xlfactor-yfinance", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.02)
        if worker.is_alive() and session.idle_seconds() > wait:
            session.abandon()
            raise SourceUnreachableError(SOURCE_NAME, f"no answer within {wait:g} s")
    # The worker has ended (join orders its writes before these reads), and the failure
    # log was filled only by it, before download() returned: complete, and ours alone.
    if "error" in outcome:
        raise_download_error(outcome["error"])
    return Download(outcome.get("raw"), dict(outcome.get("failures", {})),
                    session.chart_facts())


def _forget_yfinance_responses() -> None:
    """Empty yfinance's in-process memo of responses (``YfData.cache_get``).

    yfinance answers a repeated request for a past date range from that memo, without
    sending it, so the response would not pass through the watched session and could not
    be checked (:class:`ChartFacts`). xlfactor keeps its own cache; the memo adds nothing.
    """
    from yfinance.data import YfData

    clear = getattr(YfData.cache_get, "cache_clear", None)
    if callable(clear):
        clear()


class _WatchedSession:
    """Builds the HTTP session handed to yfinance: stamped on every response, bounded in
    time and size, reading what each chart response says it is."""

    @staticmethod
    def create(transfer_wait: float = DOWNLOAD_WAIT, max_bytes: int = CHART_MAX_BYTES) -> Any:
        """A session of yfinance's own backend (curl_cffi, else requests), watched.

        With curl_cffi both bounds are libcurl's own (total-time limit, ``MAXFILESIZE``,
        which stops a transfer as soon as it passes the cap). The requests fallback has
        neither: its timeout bounds each read, and a body is checked only once received.
        """
        from yfinance._http import new_session

        session = new_session()
        base = type(session)
        watched = type("WatchedSession", (base,), {
            "request": _stamped_request,
            "idle_seconds": lambda self: time.monotonic() - self._xlfactor_last,
            "abandon": _abandon,
            "chart_facts": _chart_facts,
        })
        session.__class__ = watched
        session._xlfactor_last = time.monotonic()
        session._xlfactor_wait = float(transfer_wait)
        session._xlfactor_max_bytes = int(max_bytes)
        session._xlfactor_charts = {}
        session._xlfactor_lock = threading.Lock()
        # curl_cffi's option names, from the module that defines its Session (curl_cffi
        # is yfinance's dependency, not one of ours, so it is not imported by name here).
        curl_opt = getattr(sys.modules.get(base.__module__), "CurlOpt", None)
        curl_options = getattr(session, "curl_options", None)
        if curl_opt is not None and isinstance(curl_options, dict):
            curl_options[curl_opt.MAXFILESIZE_LARGE] = int(max_bytes)
        return session


def _stamped_request(self: Any, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
    self._xlfactor_last = time.monotonic()  # a request starting is activity too
    kwargs["timeout"] = _bounded_timeout(kwargs.get("timeout"), self._xlfactor_wait)
    chart = _chart_symbol(url)
    try:
        response = super(type(self), self).request(method, url, *args, **kwargs)
    except OSError as exc:
        if chart is not None and getattr(exc, "code", None) == _CURLE_FILESIZE_EXCEEDED:
            raise ResponseTooLarge(_too_large_text(self._xlfactor_max_bytes)) from exc
        raise
    finally:
        self._xlfactor_last = time.monotonic()
    if chart is not None:
        if len(response.content or b"") > self._xlfactor_max_bytes:  # the requests fallback
            raise ResponseTooLarge(_too_large_text(self._xlfactor_max_bytes))
        _note_chart(self, chart, kwargs.get("params"), response)
    return response


def _bounded_timeout(given: Any, transfer_wait: float) -> Any:
    """``given`` (seconds, a (connect, read) pair or None) cut to ``transfer_wait`` in all."""
    if isinstance(given, tuple):
        connect, read = given
        return (min(connect, transfer_wait), min(read, transfer_wait))
    if isinstance(given, (int, float)) and math.isfinite(given) and given > 0:
        return min(float(given), transfer_wait)
    return transfer_wait


def _too_large_text(max_bytes: int) -> str:
    return (f"response larger than {cap_text('chart_max_bytes', max_bytes)}; the transfer "
            "was stopped")


def _chart_symbol(url: str) -> str | None:
    """The upper-case symbol of a chart request URL, or None for any other request."""
    match = _CHART_PATH_RE.search(urlsplit(str(url)).path)
    return unquote(match.group(1)).upper() if match else None


def _note_chart(session: Any, symbol: str, params: Any, response: Any) -> None:
    """Record what a history chart response (one with a period) says it is."""
    if not isinstance(params, dict) or "period1" not in params:
        return  # the time-zone lookup (range=1d) or another call: not the history
    if getattr(response, "status_code", 0) != 200:
        return
    facts = read_chart_facts(response.content)
    with session._xlfactor_lock:
        session._xlfactor_charts[symbol] = facts


def _chart_facts(self: Any) -> dict[str, ChartFacts]:
    with self._xlfactor_lock:
        return dict(self._xlfactor_charts)


def read_chart_facts(body: bytes | str) -> ChartFacts:
    """What a chart response body says it is.

    Parameters
    ----------
    body : bytes or str
        The JSON body of ``GET /v8/finance/chart/{symbol}``.

    Returns
    -------
    ChartFacts
        The symbol of ``chart.result[0].meta`` (None if absent), the number of bars
        (timestamps) and whether ``indicators.adjclose[0].adjclose`` holds a list.
        A body that is not such JSON gives ``ChartFacts(None, 0, False)``: yfinance
        reports that response's failure itself.
    """
    try:
        result = json.loads(body)["chart"]["result"][0]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return ChartFacts(None, 0, False)
    if not isinstance(result, dict):
        return ChartFacts(None, 0, False)
    meta = result.get("meta") if isinstance(result.get("meta"), dict) else {}
    symbol = meta.get("symbol")
    stamps = result.get("timestamp")
    indicators = result.get("indicators") if isinstance(result.get("indicators"), dict) else {}
    adjusted = indicators.get("adjclose")
    has_adjclose = (isinstance(adjusted, list) and bool(adjusted)
                    and isinstance(adjusted[0], dict)
                    and isinstance(adjusted[0].get("adjclose"), list))
    return ChartFacts(symbol if isinstance(symbol, str) else None,
                      len(stamps) if isinstance(stamps, list) else 0, has_adjclose)


def _abandon(self: Any) -> None:
    """Close the session so the abandoned worker's pending requests end sooner."""
    with contextlib.suppress(Exception):
        self.close()


@contextlib.contextmanager
def _quiet_yfinance() -> Iterator[_FailureLog]:
    """Keep yfinance's log output off the console; surface its exceptions.

    Yields the :class:`_FailureLog` of the download the calling thread is about to run.
    While any block is active, yfinance's logger does not propagate and its
    ``hide_exceptions`` switch is off, so that a per-ticker failure is recorded with its
    exception class (a network fault is otherwise indistinguishable from an unknown
    symbol); the last block to end restores both, and the warning filters.
    """
    global _quiet_depth, _quiet_saved
    failure_log = _FailureLog()
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
        logger.addHandler(failure_log)
    try:
        yield failure_log
    finally:
        with _QUIET_LOCK:
            logger.removeHandler(failure_log)
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


class _FailureLog(logging.Handler):
    """yfinance's per-ticker failure record of one ``download()`` call, read off its log.

    Why the log and not ``yfinance.shared._ERRORS``: in yfinance 1.7 ``download()`` keeps
    the record (ticker -> error text, plus tracebacks) in a per-call ``multi._DownloadCtx``
    it does not return; ``shared._ERRORS`` and ``shared._TRACEBACKS`` still exist but are
    never written (``test_yfinance_failure_record_shape`` pins both facts). The record
    leaves ``download()`` only as the summary it logs at ERROR level just before
    returning, one line per distinct error text::

        2 Failed downloads:
        ['ZZZZ', 'QQQQQ']: YFTzMissingError('possibly delisted; no timezone found')

    Only records of the thread that created this handler count: the summary is logged by
    the thread that called ``download()``, so lines of a concurrent download (or of
    yfinance's per-ticker threads) never leak into this record. ERROR level also drops the
    DEBUG traceback lines, which have the same ``[...]: text`` shape.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._thread = threading.get_ident()
        self.failures: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        # (thread is None only when logging.logThreads is off: then no line can be told
        # apart, and keeping them all is what a lone download needs)
        if record.thread is not None and record.thread != self._thread:
            return
        try:
            text = record.getMessage()
        except (TypeError, ValueError, KeyError):  # bad %-args must not break the download
            text = str(record.msg)
        # strip(): with yfinance's debug logging on, its messages come indented
        match = _FAILED_LINE_RE.match(text.strip())
        if not match:
            return
        try:
            names = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return
        if isinstance(names, list):
            for name in names:
                self.failures[str(name).upper()] = match.group(2).strip()


def close_series(raw: pd.DataFrame | None, symbols: list[str]) -> dict[str, pd.Series]:
    """The non-empty ``('Close', ticker)`` series of a ``download()`` frame.

    Parameters
    ----------
    raw : pandas.DataFrame or None
        The frame ``yfinance.download`` returned (``group_by="column"``, multi-level).
    symbols : list of str
        The tickers to look for.

    Returns
    -------
    dict of str to pandas.Series
        Numeric closes without NaN, on a tz-naive exchange-local date index (see
        :func:`to_naive_dates`), for each ticker that has any; keyed by ticker.

    Raises
    ------
    DataFormatError
        A non-empty frame without ``('Close', ticker)`` columns.
    """
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

    Parameters
    ----------
    index : pandas.Index
        Datetime-like labels, tz-aware or naive.

    Returns
    -------
    pandas.DatetimeIndex
        Midnight timestamps in nanoseconds, tz-naive, named ``"date"``.
    """
    dates = pd.DatetimeIndex(index)
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    return dates.normalize().as_unit("ns").rename("date")


def clip(values: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Float prices within ``[first, last]``, sorted, one row per date.

    Parameters
    ----------
    values : pandas.Series
        Prices on a date index, possibly unsorted or with repeated dates.
    first, last : pandas.Timestamp
        Inclusive bounds.

    Returns
    -------
    pandas.Series
        float64 prices; of rows on the same date, the last one is kept.
    """
    values = values[~values.index.duplicated(keep="last")].sort_index()
    return values.loc[(values.index >= first) & (values.index <= last)].astype("float64")

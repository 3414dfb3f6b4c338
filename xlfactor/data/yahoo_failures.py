"""What a failed Yahoo Finance download means: unknown symbol, rate limit, outage or fault.

yfinance describes each failed ticker by one text, the ``repr`` of the exception it caught
(``"HTTPError('HTTP Error 404: Not Found')"``) or its own soft-error message (``"possibly
delisted; no timezone found"``); :mod:`xlfactor.data.yahoo_download` collects those texts
per ticker. This module turns them, and any exception escaping ``yfinance.download``
itself, into the project's errors:

==============================  ============================================================
failure                         outcome
==============================  ============================================================
unknown symbol, empty range     the ticker is *missing* (a note; UnknownTickerError if all)
rate limit                      DataUnavailableError (cached prices are served stale)
connection-level, no ticker     SourceUnreachableError (remembered: cells fail fast)
other fault                     DataUnavailableError naming each failed ticker
response for another symbol     that ticker is *missing* with a DataFormatError naming both
                                symbols (nothing is kept); raised if no ticker has data
bars without adjusted closes    the same, for the ticker without adjusted closes: see below
==============================  ============================================================

What a chart response says it is (:class:`ChartFacts`) is checked against what was asked
(:func:`refused_charts`). A response whose ``meta.symbol`` is another symbol is refused: its
prices belong to another security. A response with price bars but without
``indicators.adjclose`` is refused too: yfinance would silently use its closes, which are
adjusted for splits but not for dividends, so every return would omit the dividends (and
alpha would be understated by the dividend yield) while being labelled total-return. Every
daily answer Yahoo gives, for shares, funds, indices, currencies and crypto alike, carries
``adjclose`` (all the recorded bodies in ``tests/data/yahoo_chart_json`` do), so its absence
means a damaged or altered answer, not a kind of security. Either refusal is a fault of
that ticker alone (:func:`refusal_errors`): a cached copy is served, marked STALE, when
there is one; otherwise the ticker is missing with the refusal as its reason, and the
other tickers of the call are answered.

yfinance is never imported at module level, so that importing the Excel add-in stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

import pandas as pd

from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.domain.errors import (
    DataFormatError,
    DataUnavailableError,
    UnknownTickerError,
    XlFactorError,
    shorten,
)

SOURCE_NAME = "Yahoo Finance (yfinance)"

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


@dataclass(frozen=True)
class ChartFacts:
    """What one chart response says it is.

    Attributes
    ----------
    symbol : str or None
        ``chart.result[0].meta.symbol`` as Yahoo sent it; None when absent.
    bars : int
        Number of timestamps (price bars) in the response.
    has_adjclose : bool
        Whether ``indicators.adjclose[0].adjclose`` is present (split- and
        dividend-adjusted closes).
    """

    symbol: str | None
    bars: int
    has_adjclose: bool


def refused_charts(symbols: Sequence[str], charts: Mapping[str, ChartFacts]) -> dict[str, str]:
    """Why the response for each asked symbol must not be used; symbols that pass are absent.

    Parameters
    ----------
    symbols : sequence of str
        The upper-case symbols asked for.
    charts : mapping of str to ChartFacts
        What each symbol's history response said (see
        :func:`xlfactor.data.yahoo_download.read_chart_facts`).

    Returns
    -------
    dict of str to str
        Symbol -> reason, a phrase completing "Yahoo Finance's response for 'AAPL': it ...".
    """
    refused: dict[str, str] = {}
    for symbol in symbols:
        facts = charts.get(symbol)
        if facts is None or facts.bars == 0:
            continue  # no bars: nothing could be misused (an unknown ticker or empty range)
        if facts.symbol is None:
            refused[symbol] = "does not say which symbol it is for (no meta.symbol)"
        elif facts.symbol.upper() != symbol.upper():
            refused[symbol] = f"is for {facts.symbol!r}, not {symbol!r}"
        elif not facts.has_adjclose:
            refused[symbol] = ("has no adjusted closes (no adjclose): its closes omit "
                               "dividends, so its returns would be wrong")
    return refused


def refusal_errors(refused: Mapping[str, str]) -> dict[str, DataFormatError]:
    """The error of each refused response, for its ticker alone.

    Parameters
    ----------
    refused : mapping of str to str
        Symbol -> reason, as :func:`refused_charts` gives them.

    Returns
    -------
    dict of str to DataFormatError
        Symbol -> ``Yahoo Finance: refused the response for 'AAPL': it ...``.
    """
    return {t: DataFormatError(f"Yahoo Finance: refused the response for {t!r}: it {why}")
            for t, why in refused.items()}


def raise_download_error(exc: BaseException) -> NoReturn:
    """Re-raise an exception that escaped ``yfinance.download`` as one of ours.

    Parameters
    ----------
    exc : BaseException
        What ``yfinance.download`` raised (not a per-ticker failure: those it records).

    Raises
    ------
    DataUnavailableError
        A rate limit, or any other :class:`Exception`.
    SourceUnreachableError
        A connection-level failure (no DNS, refused, timed out).
    BaseException
        ``exc`` itself when it is not an :class:`Exception` (e.g. KeyboardInterrupt).
    """
    from yfinance.exceptions import YFRateLimitError

    if isinstance(exc, YFRateLimitError):
        raise DataUnavailableError(_rate_limit_message()) from exc
    if not isinstance(exc, Exception):
        raise exc
    if _UNREACHABLE_RE.search(f"{type(exc).__name__}: {exc}"):
        raise SourceUnreachableError(SOURCE_NAME, _unreachable_reason(str(exc))) from exc
    raise DataUnavailableError(
        f"Yahoo Finance request failed: {type(exc).__name__}: {exc}") from exc


def raise_on_faults(
    symbols: Sequence[str], found: Mapping[str, pd.Series], failures: Mapping[str, str]
) -> None:
    """Raise when a ticker without data failed for a reason other than "no data".

    Parameters
    ----------
    symbols : sequence of str
        The tickers asked for.
    found : mapping of str to pandas.Series
        The tickers that brought prices (already saved: what arrived is kept).
    failures : mapping of str to str
        yfinance's failure text per ticker for this download.

    Raises
    ------
    DataUnavailableError
        A rate limit on any ticker, or a fault other than "no data" on a missing one.
    SourceUnreachableError
        Nothing arrived and every fault is connection-level: Yahoo itself is unreachable
        (when one ticker arrived, Yahoo is reachable and the fault is that ticker's).
    """
    failed = [t for t in symbols if t not in found]
    if not failed:
        return
    # Any rate-limited ticker means the next request would be refused too.
    if any(m in text for text in failures.values() for m in _RATE_LIMIT_MARKERS):
        raise DataUnavailableError(_rate_limit_message())
    faults = {t: failures[t] for t in failed if t in failures and not _is_not_found(failures[t])}
    if faults and not found and all(_UNREACHABLE_RE.search(r) for r in faults.values()):
        raise SourceUnreachableError(SOURCE_NAME, _unreachable_reason(next(iter(faults.values()))))
    if faults:
        detail = "; ".join(f"{t}: {shorten(r)}" for t, r in faults.items())
        raise DataUnavailableError(f"Yahoo Finance request failed ({detail})")


def symbol_unknown(reason: str) -> bool:
    """Whether yfinance's failure text says the symbol itself is unknown to Yahoo.

    Parameters
    ----------
    reason : str
        yfinance's failure text for one ticker; ``""`` when it recorded none.

    Returns
    -------
    bool
        True for a missing time zone, Yahoo's "No data found" or a 4xx answer (other than
        429) from the quote-summary fallback. ``YFPricesMissingError`` without Yahoo's own
        explanation means the symbol was found (it has a time zone) but the range holds no
        bars; no reason at all means Yahoo sent bars, all outside the range: both False.
    """
    return (
        "YFTzMissingError" in reason
        or "No data found" in reason
        or bool(_CLIENT_ERROR_RE.search(reason))
    )


def _is_not_found(reason: str) -> bool:
    """Whether a failure text means "no data for this symbol" (unknown or empty range)."""
    return any(m in reason for m in _NOT_FOUND_MARKERS) or bool(_CLIENT_ERROR_RE.search(reason))


def _rate_limit_message() -> str:
    return "Yahoo Finance rate limit reached (too many requests); try again later"


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
    return shorten(text, 80)


# -- why tickers are missing, in words ------------------------------------------------------
#: Per ticker: yfinance's failure text, or the refusal of its response.
Reasons = dict[str, str | XlFactorError]


def missing_reason(ticker: str, reasons: Reasons, first: pd.Timestamp, last: pd.Timestamp
                    ) -> XlFactorError | None:
    """Why ``ticker`` is missing, for ``PriceData.reasons``: its refused response, or an
    empty range; None for a symbol Yahoo does not know (an unknown ticker, said so)."""
    reason = reasons.get(ticker, "")
    if isinstance(reason, XlFactorError):
        return reason
    if symbol_unknown(reason):
        return None
    return UnknownTickerError(f"no price data from Yahoo Finance for {ticker!r} "
                              f"in {first.date()}..{last.date()}")


def failure_text(reason: str | XlFactorError) -> str:
    """yfinance's failure text; ``""`` for a refusal (the symbol was known)."""
    return reason if isinstance(reason, str) else ""


def missing_note(
    ticker: str, reasons: Reasons, first: pd.Timestamp, last: pd.Timestamp
) -> str:
    """One line for ``PriceData.notes`` explaining why ``ticker`` is missing."""
    reason = reasons.get(ticker, "")
    if isinstance(reason, XlFactorError):
        return f"{ticker}: {reason}"
    if symbol_unknown(reason):
        return f"{ticker}: unknown ticker (no price data from Yahoo Finance)"
    return f"{ticker}: no price data from Yahoo Finance in {first.date()}..{last.date()}"


def unknown_message(
    missing: list[str], reasons: Reasons, first: pd.Timestamp, last: pd.Timestamp
) -> str:
    """Message naming the tickers, telling unknown symbols from empty date ranges."""
    unknown = [t for t in missing if symbol_unknown(failure_text(reasons.get(t, "")))]
    empty = [t for t in missing if t not in unknown]
    parts = []
    if unknown:
        label = "unknown ticker" if len(unknown) == 1 else "unknown tickers"
        parts.append(f"{label} {quote_list(unknown)} (no price data from Yahoo Finance)")
    if empty:
        parts.append(
            f"no price data from Yahoo Finance for {quote_list(empty)} "
            f"in {first.date()}..{last.date()}"
        )
    return "; ".join(parts)


def quote_list(symbols: Sequence[str]) -> str:
    return ", ".join(repr(s) for s in symbols)

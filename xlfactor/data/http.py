"""Small HTTPS download helper shared by the data sources.

Only the standard library is used (``urllib.request``), so xlfactor needs no HTTP
dependency. Downloads are HTTPS-only; plain ``http://`` is accepted for loopback hosts
alone, which is what the offline test servers use. Transient faults (timeouts, refused or
dropped connections, truncated bodies, HTTP 429/500/502/503/504) are retried a bounded
number of times, waiting by exponential backoff or by the server's ``Retry-After``; anything
else fails at once, including a host name that does not resolve. Every failure surfaces as
:class:`~xlfactor.domain.errors.DataUnavailableError` naming the source and a short cause,
or as its subclass :class:`~xlfactor.data.reachability.SourceUnreachableError` when the
server never answered, which the sources record as an outage.

Every HTTP request made here, redirects included, increments a process-wide counter
(:func:`request_count`), which benchmarks and tests read.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from xlfactor.data.counting import CallCounter
from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.domain.errors import DataUnavailableError

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

#: Statuses worth retrying: rate limiting and the usual transient server faults.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

#: Statuses whose numeric ``Retry-After`` header replaces the backoff (RFC 9110, 10.2.3).
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})

#: Upper bound of any single wait between attempts, in seconds.
MAX_DELAY = 30.0

#: The sleep used between attempts (seconds). Module-level so tests can replace it.
sleep: Callable[[float], None] = time.sleep

_REQUESTS = CallCounter()


def request_count() -> int:
    """Number of HTTP requests made by this process since start or the last reset.

    Returns
    -------
    int
        Attempts are counted whether or not they succeed; followed redirects count too.
    """
    return _REQUESTS.value()


def reset_request_count() -> None:
    """Set the counter read by :func:`request_count` back to zero."""
    _REQUESTS.reset()


def user_agent() -> str:
    """The ``User-Agent`` header sent with every request.

    Returns
    -------
    str
        ``"xlfactor/<version>"``, or ``"xlfactor/0"`` when the version is unknown.
    """
    # Read the already-imported package instead of importing it, so this module never
    # takes part in an import cycle with xlfactor/__init__.py.
    version = getattr(sys.modules.get("xlfactor"), "__version__", None) or "0"
    return f"xlfactor/{version}"


def check_url(
    url: str, *, source: str, allow_http_hosts: frozenset[str] = LOOPBACK_HOSTS
) -> None:
    """Raise unless ``url`` is HTTPS, or plain HTTP to one of ``allow_http_hosts``.

    Parameters
    ----------
    url : str
        The URL to check; nothing is fetched.
    source : str
        Name of the data source, used in the error message.
    allow_http_hosts : frozenset of str
        Host names (case-insensitive; IPv6 with or without brackets) allowed over HTTP.

    Raises
    ------
    DataUnavailableError
        For any other scheme or host, or a URL without a host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    allowed = {h.lower().strip("[]") for h in allow_http_hosts}
    if host and (scheme == "https" or (scheme == "http" and host in allowed)):
        return
    raise DataUnavailableError(
        f"{source}: refusing to download {url!r}: only https:// URLs are allowed"
    )


class _GuardedRedirect(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to URLs that pass :func:`check_url`, counting each one.

    Without this an HTTPS URL could be redirected to plain HTTP, defeating the rule.
    """

    def __init__(self, source: str, allow_http_hosts: frozenset[str]) -> None:
        super().__init__()
        self.source = source
        self.allow_http_hosts = allow_http_hosts

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            check_url(newurl, source=self.source, allow_http_hosts=self.allow_http_hosts)
        except DataUnavailableError:
            fp.close()
            raise
        _REQUESTS.add()
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# ---------------------------------------------------------------------------- retrying
#
# A hand-written loop rather than urllib3.util.Retry (checked against urllib3 2.7):
# - Retry works only inside urllib3's connection pool, so using it means replacing
#   urllib.request and making urllib3 a direct dependency, just to retry.
# - It has no whole-call deadline: it cannot stop starting attempts or waits, or shorten
#   each attempt's timeout, once `deadline` seconds have passed. The sources pass
#   deadline=timeout so that a silent server holds an Excel cell for one wait, not four.
# - The sources record outages (reachability.py) only when the server never answered at
#   all: a timeout after a 503 is not an outage. Retry reports only its last error.
# - It retries a failed DNS lookup as a connection error; that is pointless here.
# - It waits 0 s before the first retry, rejects a fractional or negative Retry-After
#   (InvalidHeader) and sleeps with time.sleep, which tests cannot replace.
# Getting this from Retry would take a subclass overriding most of it, plus a pool.


class _TransientError(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(self, cause: str, *, answered: bool, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.answered = answered  # the server sent an HTTP response: it is reachable
        self.retry_after = retry_after  # seconds the server asked us to wait, if any


def fetch_bytes(
    url: str,
    *,
    source: str,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 0.5,
    allow_http_hosts: frozenset[str] = LOOPBACK_HOSTS,
    deadline: float | None = None,
) -> bytes:
    """Download ``url`` and return the response body.

    Parameters
    ----------
    url : str
        An ``https://`` URL (``http://`` only to a host in ``allow_http_hosts``).
    source : str
        Human-readable name of the data source, used in error messages.
    timeout : float
        Socket timeout of each attempt, in seconds (connect and each read).
    retries : int
        Retries after the first attempt, so at most ``retries + 1`` requests.
    backoff : float
        Wait before the first retry, in seconds; doubles for each further retry. A numeric
        ``Retry-After`` (seconds) on HTTP 429 or 503 replaces it. Every wait is capped at
        :data:`MAX_DELAY` seconds.
    allow_http_hosts : frozenset of str
        Host names for which plain HTTP is accepted.
    deadline : float, optional
        Seconds, counted from the call, after which no attempt starts; a wait that would
        end past it is not begun, and each attempt's timeout is cut to what remains. A
        download that keeps receiving data is not cut off (the timeout applies to each
        socket operation). None: no deadline.

    Returns
    -------
    bytes
        The complete body of a 2xx response.

    Raises
    ------
    DataUnavailableError
        On a refused URL, a non-retryable status (e.g. 404), a failed TLS certificate check,
        or when every attempt failed and at least one got an HTTP answer, e.g.
        ``"Kenneth French Data Library: HTTP 503 after 4 attempts (<url>)"``.
    SourceUnreachableError
        When no attempt got an HTTP answer: timeouts, refused or dropped connections, or
        a host name that does not resolve (not retried: it will not resolve a second later).
    """
    check_url(url, source=source, allow_http_hosts=allow_http_hosts)
    opener = urllib.request.build_opener(_GuardedRedirect(source, allow_http_hosts))
    end = math.inf if deadline is None else time.monotonic() + deadline
    attempts = max(0, int(retries)) + 1
    made = 0
    answered = False  # some attempt got an HTTP response: the server is there, no outage
    while True:
        made += 1
        try:
            return _attempt(opener, url, min(timeout, max(end - time.monotonic(), 0.05)), source)
        except _TransientError as exc:
            failure = exc
        answered = answered or failure.answered
        wait = failure.retry_after
        if wait is None:
            wait = backoff * 2.0 ** (made - 1)
        wait = min(wait, MAX_DELAY)
        if made == attempts or time.monotonic() + wait >= end:
            break  # no waiting out the deadline just to give up after it
        sleep(wait)
    tries = f"{made} attempt{'s' if made != 1 else ''}"
    if not answered:
        raise SourceUnreachableError(source, f"{failure.cause} after {tries}")
    raise DataUnavailableError(f"{source}: {failure.cause} after {tries} ({url})")


def _attempt(opener: urllib.request.OpenerDirector, url: str, timeout: float, source: str) -> bytes:
    """One request; raises :class:`_TransientError` for faults worth retrying."""
    _REQUESTS.add()
    request = urllib.request.Request(url, headers={"User-Agent": user_agent()})
    try:
        with opener.open(request, timeout=timeout) as response:
            # read() raises IncompleteRead when the body is shorter than Content-Length.
            return response.read()
    except urllib.error.HTTPError as exc:
        raise _status_error(exc, url, source) from exc
    except urllib.error.URLError as exc:
        raise _network_error(exc.reason, url, source) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _network_error(exc, url, source) from exc


def _status_error(exc: urllib.error.HTTPError, url: str, source: str) -> Exception:
    """Classify an HTTP error status as transient or final."""
    retry_after = _retry_after(exc.headers) if exc.code in RETRY_AFTER_STATUSES else None
    reason = str(exc.reason or "").strip()
    exc.close()  # the error object holds the open response
    if exc.code in RETRY_STATUSES:
        return _TransientError(f"HTTP {exc.code}", answered=True, retry_after=retry_after)
    status = f"HTTP {exc.code} {reason}" if reason else f"HTTP {exc.code}"
    return DataUnavailableError(f"{source}: {status} ({url})")


def _retry_after(headers: Message | None) -> float | None:
    """A numeric ``Retry-After`` in seconds, or None (HTTP-dates are ignored)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _network_error(reason: object, url: str, source: str) -> Exception:
    """Classify a connection-level failure; certificate and DNS errors are final."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        return DataUnavailableError(f"{source}: TLS certificate verification failed ({url})")
    if isinstance(reason, socket.gaierror):
        return SourceUnreachableError(source, "host name not found: no network or no DNS")
    answered = isinstance(reason, http.client.IncompleteRead)
    return _TransientError(_describe(reason), answered=answered)


def _describe(reason: object) -> str:
    """A few words for an exception or URLError reason."""
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, http.client.IncompleteRead):
        got = len(reason.partial)
        return f"truncated response ({got} of {got + (reason.expected or 0)} bytes)"
    if isinstance(reason, (ConnectionError, http.client.RemoteDisconnected)):
        return "connection lost"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return f"network error: {reason}"

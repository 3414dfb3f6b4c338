"""Small HTTPS download helper shared by the data sources.

Only the standard library is used (``urllib.request``), so xlfactor needs no HTTP
dependency. Downloads are HTTPS-only; plain ``http://`` is accepted for loopback hosts
alone, which is what the offline test servers use. Transient faults (timeouts, dropped
connections, truncated bodies, HTTP 429/500/502/503/504) are retried a bounded number of
times with exponential backoff; anything else fails at once. Every failure surfaces as
:class:`~xlfactor.domain.errors.DataUnavailableError` naming the source and a short cause.

Every HTTP request made here, redirects included, increments a process-wide counter
(:func:`request_count`), which benchmarks and tests read.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.domain.errors import DataUnavailableError

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

#: Statuses worth retrying: rate limiting and the usual transient server faults.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

#: Upper bound of any single wait between attempts, in seconds.
MAX_DELAY = 30.0

#: The sleep used between attempts (seconds). Module-level so tests can replace it.
sleep: Callable[[float], None] = time.sleep

_count_lock = threading.Lock()
_count = 0


def request_count() -> int:
    """Number of HTTP requests made by this process since start or the last reset.

    Returns
    -------
    int
        Attempts are counted whether or not they succeed; followed redirects count too.
    """
    with _count_lock:
        return _count


def reset_request_count() -> None:
    """Set the request counter back to zero."""
    global _count
    with _count_lock:
        _count = 0


def _count_request() -> None:
    global _count
    with _count_lock:
        _count += 1


def user_agent() -> str:
    """The ``User-Agent`` header value, ``"xlfactor/<version>"``."""
    # Read the already-imported package instead of importing it, so this module never
    # takes part in an import cycle with xlfactor/__init__.py.
    version = getattr(sys.modules.get("xlfactor"), "__version__", None) or "0"
    return f"xlfactor/{version}"


class _TransientError(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(self, cause: str, retry_after: float | None = None,
                 unreachable: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after
        # The server never answered (as opposed to answering with an error status).
        self.unreachable = unreachable


def check_url(
    url: str, *, source: str, allow_http_hosts: frozenset[str] = LOOPBACK_HOSTS
) -> None:
    """Raise unless ``url`` is HTTPS, or plain HTTP to one of ``allow_http_hosts``.

    Raises
    ------
    DataUnavailableError
        For any other scheme or host; no request is made.
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
    """Follows redirects only to URLs that pass :func:`check_url`.

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
        _count_request()
        return super().redirect_request(req, fp, code, msg, headers, newurl)


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
        Wait before the first retry, in seconds; doubles for each further retry,
        capped at :data:`MAX_DELAY`. A numeric ``Retry-After`` on HTTP 429 replaces it
        (also capped).
    allow_http_hosts : frozenset of str
        Host names for which plain HTTP is accepted.
    deadline : float, optional
        Seconds after the call started when no new attempt starts and no wait begins;
        each attempt's timeout is cut to what remains. A download that is making
        progress is not cut off (the timeout applies to each socket operation).

    Returns
    -------
    bytes
        The complete body of a 2xx response.

    Raises
    ------
    DataUnavailableError
        On a refused URL, a non-retryable status (e.g. 404), or when every attempt failed,
        e.g. ``"Kenneth French Data Library: HTTP 503 after 4 attempts (<url>)"``.
    SourceUnreachableError
        When the server never answered: timeouts, refused or dropped connections, a
        host name that does not resolve (not retried: it will not resolve a second later).
    """
    check_url(url, source=source, allow_http_hosts=allow_http_hosts)
    opener = urllib.request.build_opener(_GuardedRedirect(source, allow_http_hosts))
    started = time.monotonic()

    def remaining() -> float:
        return math.inf if deadline is None else deadline - (time.monotonic() - started)

    attempts = max(0, int(retries)) + 1
    failure = _TransientError("no attempt made")
    made = 0
    answered = False  # some attempt got an HTTP answer: the server is there
    for attempt in range(attempts):
        if attempt:
            if remaining() <= 0:
                break
            sleep(min(_delay(attempt - 1, backoff, failure.retry_after), remaining()))
            if remaining() <= 0:
                break
        try:
            made += 1
            return _attempt(opener, url, min(timeout, max(remaining(), 0.05)), source)
        except _TransientError as exc:
            failure = exc
            answered = answered or not exc.unreachable
    tries = f"{made} attempt{'s' if made != 1 else ''}"
    if failure.unreachable and not answered:
        raise SourceUnreachableError(source, f"{failure.cause} after {tries}")
    raise DataUnavailableError(f"{source}: {failure.cause} after {tries} ({url})")


def _delay(failed_attempt: int, backoff: float, retry_after: float | None) -> float:
    """Seconds to wait after the 0-based ``failed_attempt``."""
    if retry_after is not None:
        return min(retry_after, MAX_DELAY)
    return min(backoff * 2.0**failed_attempt, MAX_DELAY)


def _attempt(opener: urllib.request.OpenerDirector, url: str, timeout: float, source: str) -> bytes:
    """One request; raises :class:`_TransientError` for faults worth retrying."""
    _count_request()
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
    retry_after = _retry_after(exc.headers) if exc.code == 429 else None
    reason = str(exc.reason or "").strip()
    exc.close()  # the error object holds the open response
    if exc.code in RETRY_STATUSES:
        return _TransientError(f"HTTP {exc.code}", retry_after)
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
    """Classify a connection-level failure; only certificate errors are final."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        return DataUnavailableError(f"{source}: TLS certificate verification failed ({url})")
    if isinstance(reason, socket.gaierror):
        return SourceUnreachableError(source, "host name not found: no network or no DNS")
    answered = isinstance(reason, http.client.IncompleteRead)
    return _TransientError(_describe(reason), unreachable=not answered)


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

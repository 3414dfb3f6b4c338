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

Every response is bounded in time and size while it streams: each attempt, from the
connection to the last byte, must end within ``transfer_wait`` seconds (a watchdog shuts
the socket down when it does not, so a server sending one byte a second is cut off), and a
body larger than ``max_bytes`` is refused as soon as the cap is passed (or at once, from
its ``Content-Length``), never buffered whole.

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
from dataclasses import dataclass, replace
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from xlfactor.data.counting import CallCounter
from xlfactor.data.reachability import SourceUnreachableError
from xlfactor.data.settings import (
    DOWNLOAD_WAIT,
    FRENCH_MAX_BYTES,
    cap_text,
    check_bytes,
    check_number,
)
from xlfactor.domain.errors import DataUnavailableError

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

#: Statuses worth retrying: rate limiting and the usual transient server faults.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

#: Statuses whose numeric ``Retry-After`` header replaces the backoff (RFC 9110, 10.2.3).
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})

#: Upper bound of any single wait between attempts, in seconds.
MAX_DELAY = 30.0

#: Bytes asked of the socket per read; small enough that the size cap is exact to 64 KiB.
READ_CHUNK = 64 * 1024

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
    transfer_wait: float = DOWNLOAD_WAIT,
    max_bytes: int = FRENCH_MAX_BYTES,
    cap_setting: str = "french_max_bytes",
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
        end past it is not begun, and each attempt's timeout is cut to what remains.
        With a deadline the whole call also ends within ``max(deadline, transfer_wait)``
        seconds: each attempt's ``transfer_wait`` is cut to what remains of that.
        None: no deadline.
    transfer_wait : float
        Seconds one attempt may take from connecting to its last byte, however steadily
        the server sends (``timeout`` only bounds each socket operation). An attempt cut
        off by it is not repeated.
    max_bytes : int
        Largest body accepted, in bytes; a larger one is refused while it streams.
    cap_setting : str
        The setting (a key of :data:`xlfactor.data.settings.LIMITS`) that sets
        ``max_bytes``: checked against its range and named when a body is refused.

    Returns
    -------
    bytes
        The complete body of a 2xx response.

    Raises
    ------
    DataUnavailableError
        On a refused URL, a non-retryable status (e.g. 404), a failed TLS certificate check,
        a body larger than ``max_bytes``, or when every attempt failed and at least one got
        an HTTP answer, e.g.
        ``"Kenneth French Data Library: HTTP 503 after 4 attempts (<url>)"``.
    SourceUnreachableError
        When no attempt got an HTTP answer: timeouts, refused or dropped connections, or
        a host name that does not resolve (not retried: it will not resolve a second later),
        or an attempt cut off after ``transfer_wait`` seconds.
    """
    check_url(url, source=source, allow_http_hosts=allow_http_hosts)
    limits = _Limits(source, check_number(transfer_wait, "download_wait", label="transfer_wait"),
                     check_bytes(max_bytes, cap_setting, label="max_bytes"), cap_setting)
    began = time.monotonic()
    end = math.inf if deadline is None else began + deadline
    # A retry begun late in the deadline may not stream for a whole transfer_wait more:
    # the caller waits for the call, not for each attempt.
    finish = math.inf if deadline is None else began + max(deadline, limits.transfer_wait)
    attempts = max(0, int(retries)) + 1
    made = 0
    answered = False  # some attempt got an HTTP response: the server is there, no outage
    now = began
    while True:
        made += 1
        try:
            return _attempt(url, min(timeout, max(end - now, 0.05)),
                            _cut(limits, finish - now), allow_http_hosts)
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
        now = time.monotonic()
    tries = f"{made} attempt{'s' if made != 1 else ''}"
    if not answered:
        raise SourceUnreachableError(source, f"{failure.cause} after {tries}")
    raise DataUnavailableError(f"{source}: {failure.cause} after {tries} ({url})")


@dataclass(frozen=True)
class _Limits:
    """What bounds one attempt: its source's name, whole-transfer seconds, body bytes."""

    source: str
    transfer_wait: float
    max_bytes: int
    #: the setting that sets ``max_bytes``, named when a response is refused by its size
    cap_setting: str


def _cut(limits: _Limits, seconds_left: float) -> _Limits:
    """``limits`` whose transfer wait ends by the call's end (at least 0.05 s)."""
    if seconds_left >= limits.transfer_wait:
        return limits
    return replace(limits, transfer_wait=max(seconds_left, 0.05))


class _Watchdog:
    """Shuts down the sockets of one attempt once its ``seconds`` are up.

    Each socket is watched through a duplicate of its descriptor: ``shutdown()`` acts on
    the connection, not the descriptor, so it also ends a read blocked in another thread
    on the original, before or after TLS wraps it (wrapping detaches the original).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._lock = threading.Lock()
        self._duplicates: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            for duplicate in self._duplicates:
                duplicate.close()
            self._duplicates.clear()

    def watch(self, sock: socket.socket) -> None:
        duplicate = sock.dup()
        with self._lock:
            self._duplicates.append(duplicate)
            if self.fired:
                _shut(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for duplicate in self._duplicates:
                _shut(duplicate)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its owner: nothing left to stop


def _watched_connection(base: type[http.client.HTTPConnection], watchdog: _Watchdog
                        ) -> Callable[..., http.client.HTTPConnection]:
    """``base`` whose every new socket is watched by ``watchdog``."""

    def create(*args: object, **kwargs: object) -> http.client.HTTPConnection:
        connection = base(*args, **kwargs)  # type: ignore[arg-type]
        opener = connection._create_connection  # type: ignore[attr-defined]

        def watched_socket(*a: object, **k: object) -> socket.socket:
            sock = opener(*a, **k)
            watchdog.watch(sock)
            return sock

        connection._create_connection = watched_socket  # type: ignore[attr-defined]
        return connection

    return create


class _Watched:
    """Mixin for the standard handlers: their connections watched (see :class:`_Watchdog`)."""

    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def do_open(self, http_class: Any, req: urllib.request.Request, **kwargs: Any
                ) -> http.client.HTTPResponse:
        # Wrapping the class given, not naming one, keeps the standard https_open (and
        # the arguments it passes, which differ between Python versions).
        return super().do_open(  # type: ignore[misc]
            _watched_connection(http_class, self.watchdog), req, **kwargs)


class _WatchedHTTP(_Watched, urllib.request.HTTPHandler):
    """The standard handler, watched."""


class _WatchedHTTPS(_Watched, urllib.request.HTTPSHandler):
    """The standard TLS handler (default context, certificates checked), watched."""


def _attempt(url: str, timeout: float, limits: _Limits, allow_http_hosts: frozenset[str]
             ) -> bytes:
    """One request; raises :class:`_TransientError` for faults worth retrying."""
    _REQUESTS.add()
    source = limits.source
    request = urllib.request.Request(url, headers={"User-Agent": user_agent()})
    received = [0]
    with _Watchdog(limits.transfer_wait) as watchdog:
        opener = urllib.request.build_opener(
            _GuardedRedirect(source, allow_http_hosts), _WatchedHTTP(watchdog),
            _WatchedHTTPS(watchdog))
        try:
            with opener.open(request, timeout=timeout) as response:
                body = _read_body(response, limits, received)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # (URLError and HTTPError are OSErrors; ValueError: http.client reading a
            # socket the watchdog has shut down.) Whatever broke, a fired watchdog broke it.
            if watchdog.fired:
                raise _too_slow(limits, received[0]) from exc
            if isinstance(exc, urllib.error.HTTPError):
                raise _status_error(exc, url, source) from exc
            if isinstance(exc, urllib.error.URLError):
                raise _network_error(exc.reason, url, source) from exc
            if isinstance(exc, ValueError):
                raise
            raise _network_error(exc, url, source) from exc
        if watchdog.fired:  # a body without a length ends "normally" when shut down
            raise _too_slow(limits, received[0])
        return body


def _read_body(response: http.client.HTTPResponse, limits: _Limits, received: list[int]
               ) -> bytes:
    """The body, read chunk by chunk; refused once it passes ``limits.max_bytes``.

    ``received[0]`` is kept at the byte count so far, for the caller's messages.
    """
    declared = _content_length(response)
    if declared is not None and declared > limits.max_bytes:
        raise _too_large(limits, declared, declared=True)
    chunks: list[bytes] = []
    while True:
        # read1: at most one socket read, so a slow sender cannot hold a large read open
        # and every chunk is counted as it arrives.
        chunk = response.read1(READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        received[0] += len(chunk)
        if received[0] > limits.max_bytes:
            raise _too_large(limits, received[0], declared=False)
    body = b"".join(chunks)
    missing = getattr(response, "length", None)
    if missing:  # the connection ended before Content-Length bytes came
        raise http.client.IncompleteRead(body, missing)
    return body


def _content_length(response: http.client.HTTPResponse) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _too_large(limits: _Limits, size: int, *, declared: bool) -> DataUnavailableError:
    how = (f"declares {size} bytes" if declared
           else f"passed {limits.max_bytes} bytes while streaming ({size} read)")
    return DataUnavailableError(
        f"{limits.source}: response refused: it {how}, more than "
        f"{cap_text(limits.cap_setting, limits.max_bytes)}")


def _too_slow(limits: _Limits, size: int) -> SourceUnreachableError:
    return SourceUnreachableError(
        limits.source, f"no complete answer within {limits.transfer_wait:.3g} s "
        f"({size} bytes of the body received); the download was cut off")


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

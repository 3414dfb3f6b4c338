"""Remember that a data source is unreachable, so a sheet fails fast instead of freezing.

Excel recalculates worksheet functions one after another on its calculation thread. When
the network is down, or a server accepts connections and never answers, every cell that
needs a download would otherwise wait out its own timeouts: fifty cells, fifty waits.
Instead, the first failure to reach a source opens an *outage* for that source; until it
ends (``retry_after`` seconds later, or :func:`clear`, which the Refresh button calls)
every request to the source fails at once with :class:`SourceUnreachableError`, and the
sources serve their cached copies marked STALE where they have them.

Only failures to *reach* a source open an outage (no answer in time, name resolution,
refused or dropped connections); an HTTP 404 or an unknown ticker does not. The record is
per process: Excel's UDF server is one long-lived process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from xlfactor.domain.errors import DataUnavailableError

#: Seconds an outage lasts before the next request tries the network again.
DEFAULT_RETRY_AFTER = 60.0


class SourceUnreachableError(DataUnavailableError):
    """A source could not be reached: no answer in time, no route, no name resolution.

    Attributes
    ----------
    source : str
        The source's display name, e.g. ``"Yahoo Finance"``.
    reason : str
        A few words, e.g. ``"no answer within 4 s"``.
    missing : str or None
        What could not be served from the cache instead, e.g. ``"prices for 'AAPL'"``;
        when given, the message tells the user what to do.
    """

    def __init__(self, source: str, reason: str, missing: str | None = None) -> None:
        if missing is None:
            text = f"{source} unreachable ({reason})"
        else:
            text = (f"offline: {source} unreachable ({reason}) and no cached {missing}; "
                    "press Refresh when online")
        super().__init__(text)
        self.source = source
        self.reason = reason
        self.missing = missing

    def nothing_cached(self, missing: str) -> SourceUnreachableError:
        """The same outage, as the error of a request the cache could not answer."""
        return SourceUnreachableError(self.source, self.reason, missing)


@dataclass(frozen=True)
class Outage:
    """An unreachable source: why, and until when (``time.monotonic()`` seconds)."""

    source: str
    reason: str
    until: float


class Reachability:
    """The outages of one process, shared by every source object and thread."""

    def __init__(self, retry_after: float = DEFAULT_RETRY_AFTER) -> None:
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._outages: dict[str, Outage] = {}

    def check(self, source: str) -> None:
        """Raise :class:`SourceUnreachableError` while ``source`` has an open outage."""
        with self._lock:
            outage = self._outages.get(source)
            if outage is not None and time.monotonic() >= outage.until:
                del self._outages[source]
                outage = None
        if outage is not None:
            raise SourceUnreachableError(source, outage.reason)

    def report(self, error: SourceUnreachableError, retry_after: float | None = None) -> None:
        """Open (or extend) an outage for the error's source."""
        seconds = self.retry_after if retry_after is None else retry_after
        with self._lock:
            self._outages[error.source] = Outage(error.source, error.reason,
                                                 time.monotonic() + seconds)

    def clear(self, source: str | None = None) -> None:
        """End the outage of ``source``, or of every source."""
        with self._lock:
            if source is None:
                self._outages.clear()
            else:
                self._outages.pop(source, None)

    def outages(self) -> list[Outage]:
        """The open outages, for ``FACTOR_INFO`` and ``xlfactor info``."""
        now = time.monotonic()
        with self._lock:
            return [o for o in self._outages.values() if o.until > now]


#: The process-wide record.
REACHABILITY = Reachability()


def clear() -> None:
    """Forget every outage: the next request to each source tries the network again."""
    REACHABILITY.clear()


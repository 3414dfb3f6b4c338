"""What callers see of the cache besides :class:`~xlfactor.data.store.Store` itself.

Where the cache lives, what a read returns and the warning raised when damaged data is
dropped. Every other module of the package builds on these names, so this one imports
none of them.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "CACHE_ENV_VAR",
    "CACHE_FILENAME",
    "FUTURE_SLACK_SECONDS",
    "CacheWarning",
    "CacheEvent",
    "CachedFrame",
    "cache_events",
    "default_cache_dir",
    "report",
]

#: Environment variable naming the cache directory (see :func:`default_cache_dir`).
CACHE_ENV_VAR = "XLFACTOR_CACHE_DIR"
#: Name of the SQLite database file inside the cache directory.
CACHE_FILENAME = "cache.sqlite3"
#: Seconds an entry may be stamped in the future before it counts as suspect (see
#: :attr:`CachedFrame.age_seconds`).
FUTURE_SLACK_SECONDS = 300.0


class CacheWarning(UserWarning):
    """The cache found damaged or foreign data, dropped it and carried on."""


@dataclass(frozen=True)
class CacheEvent:
    """Something the cache did to a file or an entry that a user should hear of.

    Attributes
    ----------
    when : datetime
        When it happened (UTC; the latest time, if it happened more than once).
    path : str
        The database file concerned.
    text : str
        The full sentence, as in the :class:`CacheWarning` raised with it.
    """

    when: datetime
    path: str
    text: str


# Warnings are filtered (cells silence them all), so what the cache repaired, moved aside or
# could only read is also kept here, newest last, for FACTOR_INFO and ``xlfactor info``.
_EVENTS: OrderedDict[tuple[str, str], datetime] = OrderedDict()
_EVENTS_LOCK = threading.Lock()
MAX_EVENTS = 20


def report(path: Path | str, text: str, *, stacklevel: int = 2) -> None:
    """Warn with a :class:`CacheWarning` and remember the event for :func:`cache_events`.

    Parameters
    ----------
    path : Path or str
        The database file concerned.
    text : str
        A complete sentence naming the file and saying what was done.
    stacklevel : int, default 2
        As for :func:`warnings.warn`, counted from the caller of this function.
    """
    key = (str(path), text)
    with _EVENTS_LOCK:
        _EVENTS.pop(key, None)
        _EVENTS[key] = datetime.now(timezone.utc)
        while len(_EVENTS) > MAX_EVENTS:
            _EVENTS.popitem(last=False)
    warnings.warn(text, CacheWarning, stacklevel=stacklevel + 1)


def cache_events() -> list[CacheEvent]:
    """What the cache of this process repaired, moved aside or refused, oldest first."""
    with _EVENTS_LOCK:
        return [CacheEvent(when, path, text) for (path, text), when in _EVENTS.items()]


def clear_cache_events() -> None:
    """Forget the events of :func:`cache_events` (tests start from none)."""
    with _EVENTS_LOCK:
        _EVENTS.clear()


def default_cache_dir() -> Path:
    """Directory of the shared cache.

    Returns
    -------
    Path
        ``$XLFACTOR_CACHE_DIR`` when set and non-empty, else the per-user cache
        directory from ``platformdirs.user_cache_dir("xlfactor")``.
    """
    configured = os.environ.get(CACHE_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # only needed when no directory is configured

    return Path(platformdirs.user_cache_dir("xlfactor"))


@dataclass(frozen=True, eq=False)
class CachedFrame:
    """A frame read from the cache.

    Attributes
    ----------
    frame : DataFrame
        The caller's own copy; mutating it does not affect the cache.
    meta : dict
        The JSON metadata stored with the frame (a fresh dict on every read).
    fetched_at : datetime
        When the frame was stored, timezone-aware UTC.
    """

    frame: pd.DataFrame
    meta: dict[str, Any]
    fetched_at: datetime

    @property
    def age_seconds(self) -> float:
        """Seconds elapsed since :attr:`fetched_at`; infinite for an entry stamped more
        than :data:`FUTURE_SLACK_SECONDS` in the future (a clock that was wrong when it was
        written): such an entry is suspect and refreshed, never fresh forever."""
        age = (datetime.now(timezone.utc) - self.fetched_at).total_seconds()
        return math.inf if age < -FUTURE_SLACK_SECONDS else age

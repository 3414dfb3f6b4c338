"""What callers see of the cache besides :class:`~xlfactor.data.store.Store` itself.

Where the cache lives, what a read returns and the warning raised when damaged data is
dropped. Every other module of the package builds on these names, so this one imports
none of them.
"""

from __future__ import annotations

import math
import os
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
    "CachedFrame",
    "default_cache_dir",
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

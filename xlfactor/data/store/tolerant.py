"""The cache as the data sources use it: a cache that fails never costs the data."""

from __future__ import annotations

from typing import Any

import pandas as pd

from xlfactor.data.store.cache import Store
from xlfactor.data.store.common import CachedFrame
from xlfactor.domain.errors import CacheError

__all__ = ["TolerantStore"]


class TolerantStore:
    """The cache as the data sources use it: a cache that fails never costs the data.

    Wraps a :class:`Store`. A read that fails (an unreadable file, a folder that cannot be
    created) answers "not cached"; a write that fails (a read-only file or folder, a full
    disk) keeps the freshly downloaded data in memory only. Either way :attr:`problem`
    says what happened, in words the sources pass on as a warning, until the operation
    that failed succeeds again.

    Parameters
    ----------
    store : Store
        The cache to wrap; attributes other than the ones below (``info()``, ``keys()``,
        ``clear()``...) are the store's own and raise as it does.

    Attributes
    ----------
    store : Store
        The wrapped cache.
    problem : str or None
        A sentence on the last failure, or None once the failing operation works again.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.problem: str | None = None
        self._failed_operation: str | None = None  # "read" or "written", with problem

    def _failed(self, what: str, exc: CacheError) -> None:
        self._failed_operation = what
        self.problem = (f"the cache could not be {what} ({exc}); data are served from memory "
                        "and downloaded again next time")

    def _recovered(self) -> None:
        self._failed_operation = self.problem = None

    def get_frame(self, key: str) -> CachedFrame | None:
        """:meth:`Store.get_frame`, or None when the cache cannot be read.

        A successful read clears a past read failure from :attr:`problem`, not a write
        failure.
        """
        try:
            hit = self.store.get_frame(key)
        except CacheError as exc:
            self._failed("read", exc)
            return None
        if self._failed_operation == "read":
            self._recovered()  # reading works again: a past read failure is history
        return hit

    def version(self, key: str) -> str | None:
        """:meth:`Store.version`, or None when the cache cannot be read.

        Unlike :meth:`get_frame`, a successful call leaves :attr:`problem` as it is.
        """
        try:
            return self.store.version(key)
        except CacheError as exc:
            self._failed("read", exc)
            return None

    def put_frame(self, key: str, frame: pd.DataFrame, meta: dict[str, Any] | None = None
                  ) -> None:
        """:meth:`Store.put_frame`, recording a failure in :attr:`problem` instead of raising.

        A successful write clears :attr:`problem`, whatever failed before.
        """
        try:
            self.store.put_frame(key, frame, meta)
        except CacheError as exc:
            self._failed("written", exc)
        else:
            self._recovered()

    def __getattr__(self, name: str) -> Any:  # info(), keys(), clear()... as the store has them
        return getattr(self.store, name)

"""The memo policy: what this process remembers between calls, and for how long.

The SQLite store (:mod:`xlfactor.data.store`) is the one durable cache; everything below
is in-process memory in front of it, so that a workbook recalculating hundreds of cells
does the fetching, parsing, alignment and fitting once. Every memo is a :class:`Memo`
and follows one rule:

    **An entry is served only while the data it was built from are the same.**

Each entry carries a *token* naming those data, and a lookup passes the current token;
tokens compare by identity for data objects and by value for plain values (versions,
file stamps). An entry may also carry an expiry (wall-clock seconds) for data whose
freshness is a matter of age. A token mismatch or expiry is a miss, never a wrong answer.

==========================  =============================  ==================================
memo (module)               key                            served while
==========================  =============================  ==================================
decoded frames (store)      cache key                      the row's digest is unchanged
Yahoo answers (yahoo)       tickers, first and last day    the store versions of every
                                                           ticker are unchanged and the TTL
                                                           of unsettled prices has not
                                                           passed; answers with missing
                                                           tickers or stale data are never
                                                           kept (Yahoo's "possibly
                                                           delisted" can be transient)
parsed French files         file name                      the same file: cached copy not
(french)                                                   older than its TTL (5 minutes for
                                                           a stale copy), or a saved file
                                                           with the same path, size, mtime
combined factor sets        factors, frequency, region     the parsed files are the same
(french)                                                   objects
noted factor data           factor data, notes             the factor data object is the same
(pipeline)
aligned samples (pipeline)  :attr:`Request.data_key`       the price and factor data objects
                                                           are the same (Yahoo and the French
                                                           library hand back the same object
                                                           until their data change; saved
                                                           files and the offline sample build
                                                           new ones, so theirs are rebuilt)
fits (pipeline)             data key and fit options       the aligned sample is the same
                                                           object
==========================  =============================  ==================================

Samples and fits larger than :data:`MEMO_MAX_CELLS` (whole universes) are not kept. The
configured sources are kept per :class:`~xlfactor.data.settings.Settings` in a memo of
their own (the eight most recent settings). New data need no clearing: they change the
tokens. Tests start
from nothing with :func:`forget_all`. Pure functions of their arguments (settings from
the environment's values, the bundled offline sample) use :func:`functools.lru_cache`:
nothing there can go stale.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: Largest sample (dates x assets) kept in the sample and fit memos.
MEMO_MAX_CELLS = 250_000

#: Token parts compared by value; anything else (frames, data objects) by identity.
_VALUES = (str, bytes, int, float, bool, type(None), date, datetime)

_ALL: weakref.WeakSet[Memo] = weakref.WeakSet()


def same_token(a: object, b: object) -> bool:
    """Whether two tokens name the same data (identity for objects, value for plain parts)."""
    if a is b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_token(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and isinstance(a, _VALUES) and a == b


@dataclass
class _Entry:
    value: Any
    token: object
    expires: float | None
    weight: int


class Memo:
    """A bounded, thread-safe, least-recently-used memo that follows the policy above.

    Parameters
    ----------
    name : str
        What the memo holds, for reports.
    size : int
        Most entries kept.
    max_weight : int, optional
        Most total weight kept (with ``weigh``), e.g. bytes of decoded frames.
    weigh : callable, optional
        The weight of a value; values heavier than ``max_weight`` are not kept.
    """

    def __init__(self, name: str, size: int = 128, *, max_weight: int | None = None,
                 weigh: Callable[[Any], int] | None = None) -> None:
        self.name = name
        self.size = size
        self.max_weight = max_weight
        self._weigh = weigh
        self._weight = 0
        self._data: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.add(self)

    def get(self, key: Hashable, token: object = None) -> Any:
        """The value under ``key`` if its token matches and it has not expired, else None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry.expires is not None and time.time() >= entry.expires:
                self._drop(key)
                return None
            if not same_token(entry.token, token):
                return None
            self._data.move_to_end(key)
            return entry.value

    def put(self, key: Hashable, value: Any, token: object = None, *,
            expires: float | None = None) -> None:
        """Remember ``value`` under ``key``, valid while ``token`` holds and until
        ``expires`` (Unix seconds; None: no expiry)."""
        weight = self._weigh(value) if self._weigh is not None else 0
        with self._lock:
            self._drop(key)
            if self.max_weight is not None and weight > self.max_weight:
                return
            self._data[key] = _Entry(value, token, expires, weight)
            self._weight += weight
            while len(self._data) > self.size or (
                    self.max_weight is not None and self._weight > self.max_weight):
                self._drop(next(iter(self._data)))

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (no error if absent)."""
        with self._lock:
            self._drop(key)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
            self._weight = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._data.pop(key, None)
        if entry is not None:
            self._weight -= entry.weight

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, {len(self)}/{self.size} entries)"


def forget_all() -> None:
    """Clear every memo of this process (the durable cache is untouched)."""
    for memo in list(_ALL):
        memo.clear()

"""Persistent local cache of time-series frames in SQLite.

Several Excel instances (each its own Python process) share one cache file, and any of
them may be killed at any moment, so the store is built around three guarantees:

* **Atomic rows.** A frame is written as one row in one transaction; a crash leaves
  either the old row or the new one. Every payload carries a SHA-256 digest that is
  checked on read, so a damaged row is quarantined (with a :class:`CacheWarning`) and
  fetched again instead of served; a damaged file gives up only the rows it cannot prove.
* **No code execution from the cache.** Frames are serialised as a JSON header plus raw
  little-endian ``int64`` / ``float64`` bytes, never pickled, so a foreign or tampered
  cache file can at worst be rejected.
* **Locks never reach the user.** SQLite's busy timeout is backed by an application-level
  retry with jittered backoff; only after that is exhausted does a
  :class:`~xlfactor.domain.errors.CacheError` surface.

Modules
-------
common
    Location of the cache, :class:`CachedFrame` and :class:`CacheWarning`.
codec
    Frame <-> payload bytes, the payload digest and the bound on decompression.
sqlite
    Connections, transactions, busy/corruption classification, schema and pragmas,
    the check of a file and what is done with one that fails it (salvaged and replaced,
    moved aside, or used read-only).
salvage
    The verifiable entries of a damaged file, read page by page.
cache
    :class:`Store` and its in-process memo of decoded frames.
tolerant
    :class:`TolerantStore`, the store as the data sources use it.

The constants re-exported here are copies: to change what the store does with one (as a
test may), patch it in the module that defines it.
"""

from __future__ import annotations

from xlfactor.data.store.cache import Store
from xlfactor.data.store.codec import MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES
from xlfactor.data.store.common import (
    CACHE_ENV_VAR,
    CACHE_FILENAME,
    CachedFrame,
    CacheWarning,
    default_cache_dir,
)
from xlfactor.data.store.common import FUTURE_SLACK_SECONDS as FUTURE_SLACK_SECONDS
from xlfactor.data.store.sqlite import APPLICATION_ID, SCHEMA_VERSION
from xlfactor.data.store.tolerant import TolerantStore

# The same list as when the store was a single module: MAX_PAYLOAD_BYTES and
# FUTURE_SLACK_SECONDS stay importable by name (the "as" above re-exports them) without
# joining "import *".
__all__ = [
    "APPLICATION_ID",
    "CACHE_ENV_VAR",
    "CACHE_FILENAME",
    "SCHEMA_VERSION",
    "CacheWarning",
    "CachedFrame",
    "Store",
    "TolerantStore",
    "default_cache_dir",
]

"""What FACTOR_INFO and ``xlfactor info`` report: version, settings, cache contents."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

# What this process has served stale (a refresh failed and cached data were used),
# so FACTOR_INFO and ``xlfactor info`` can say so after the fact.
_STALE: dict[str, tuple[datetime, str]] = {}
_LOCK = threading.Lock()


def note_stale(source: str, notes: tuple[str, ...]) -> None:
    """Remember that ``source`` served stale data, with its explanatory notes."""
    text = "; ".join(n for n in notes if "STALE" in n) or "refresh failed, cached data used"
    with _LOCK:
        _STALE[source] = (datetime.now(timezone.utc), text)


# The latest data warnings of this process (returns left out, unadjusted-looking prices,
# shortened samples...), newest last, so FACTOR_INFO can list them after the fact.
_WARNINGS: dict[str, datetime] = {}
MAX_WARNINGS = 10


def note_warnings(warnings: tuple[str, ...]) -> None:
    """Remember the data warnings of a regression for FACTOR_INFO and ``xlfactor info``."""
    now = datetime.now(timezone.utc)
    with _LOCK:
        for text in warnings:
            _WARNINGS.pop(text, None)
            _WARNINGS[text] = now
        while len(_WARNINGS) > MAX_WARNINGS:
            _WARNINGS.pop(next(iter(_WARNINGS)))


def warning_rows() -> list[list[Any]]:
    with _LOCK:
        items = list(_WARNINGS.items())
    return [["Data warning", f"{when:%Y-%m-%d %H:%M} UTC: {text}"] for text, when in items]


def stale_rows() -> list[list[Any]]:
    with _LOCK:
        items = sorted(_STALE.items())
    if not items:
        return [["Stale data", "none served"]]
    return [[f"STALE: {source}", f"{when:%Y-%m-%d %H:%M} UTC: {text}"] for source, (when, text) in items]


def status_rows() -> list[list[Any]]:
    """Label/value rows describing this installation and its cached data."""
    from xlfactor import __version__
    from xlfactor.data.settings import Settings

    settings = Settings.from_env()
    rows: list[list[Any]] = [["Version", __version__]]
    if settings.sample:
        rows.append(["Data", "offline sample (linearmodels.datasets.french, monthly 1949-2017)"])
    rows.append(["Prices", str(settings.price_dir) if settings.price_dir else "Yahoo Finance (yfinance)"])
    rows.append(["Factors", str(settings.french_dir) if settings.french_dir else settings.french_url])
    rows.append(["Offline mode", "on" if settings.offline else "off"])
    rows.extend(cache_rows(settings))
    rows.extend(stale_rows())
    rows.extend(outage_rows())
    rows.extend(warning_rows())
    return rows


def outage_rows() -> list[list[Any]]:
    """Sources this process currently treats as unreachable, and until when."""
    import time

    from xlfactor.data.reachability import REACHABILITY

    now = time.monotonic()
    return [[f"Unreachable: {o.source}",
             f"{o.reason}; asked again in {o.until - now:.0f} s or on Refresh"]
            for o in REACHABILITY.outages()]


def cache_rows(settings) -> list[list[Any]]:
    from xlfactor.data.store import Store

    store = Store(settings.cache_dir)
    try:
        info = store.info()
    except Exception as err:  # noqa: BLE001 - report, never fail, in a status listing
        return [["Cache", f"unavailable: {err}"], *cache_problem_rows(store)]
    rows: list[list[Any]] = [
        ["Cache file", str(info.get("path", ""))],
        ["Cache entries", info.get("entries", 0)],
        ["Cache size (MB)", round(info.get("size_bytes", 0) / 1e6, 3)],
    ]
    if info.get("read_only"):
        rows.append(["Cache mode", f"read-only: the cache {info['read_only']}"])
    rows.extend(cache_problem_rows(store))
    newest = info.get("newest_fetched_at")
    rows.append(["Last fetch (UTC)", f"{newest.astimezone(timezone.utc):%Y-%m-%d %H:%M}" if newest else "never"])
    for key in store.keys("french:"):
        hit = store.get_frame(key)
        if hit is not None:
            rows.append([f"Release {key.split(':', 1)[1]}",
                         f"{hit.meta.get('release', '?')} (fetched {hit.fetched_at:%Y-%m-%d})"])
    return rows


#: Moved-aside cache files listed at most (the newest).
MAX_MOVED_ASIDE = 5


def cache_problem_rows(store) -> list[list[Any]]:
    """What the cache repaired, moved aside, quarantined or could only read.

    Three sources, so that a repair made by another process (another Excel instance, a
    scheduled job) shows too: the files moved aside in the cache folder, the damaged
    entries in the file's quarantine table, and this process's cache events with their
    full sentences.
    """
    from xlfactor.data.store.common import cache_events
    from xlfactor.data.store.sqlite import moved_aside_files

    rows: list[list[Any]] = []
    for path in moved_aside_files(store.path)[:MAX_MOVED_ASIDE]:
        try:
            seen = path.stat()
        except OSError:  # deleted since the listing: nothing left to report
            continue
        stamp = datetime.fromtimestamp(seen.st_mtime, tz=timezone.utc)
        rows.append(["Cache moved aside", f"{path.name} ({seen.st_size / 1e6:.3f} MB, "
                     f"last written {stamp:%Y-%m-%d %H:%M} UTC): a damaged or foreign cache "
                     "file, kept for inspection; delete it when no longer needed"])
    try:
        quarantined = store.quarantined()
    except Exception:  # noqa: BLE001 - the cache row above already says it is unusable
        quarantined = []
    for entry in quarantined[:MAX_MOVED_ASIDE]:
        rows.append(["Cache quarantine", f"{entry['moved_at']:%Y-%m-%d %H:%M} UTC: entry "
                     f"{entry['key']!r} set aside ({entry['reason']}) and fetched again"])
    for event in cache_events():
        rows.append(["Cache warning", f"{event.when:%Y-%m-%d %H:%M} UTC: {event.text}"])
    return rows

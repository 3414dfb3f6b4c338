"""What FACTOR_INFO and ``xlfactor info`` report: version, settings, cache contents."""

from __future__ import annotations

from datetime import timezone
from typing import Any


def status_rows() -> list[list[Any]]:
    """Label/value rows describing this installation and its cached data."""
    from . import __version__
    from .config import Settings

    settings = Settings.from_env()
    rows: list[list[Any]] = [["Version", __version__]]
    if settings.sample:
        rows.append(["Data", "offline sample (linearmodels.datasets.french, monthly 1949-2017)"])
    rows.append(["Prices", str(settings.price_dir) if settings.price_dir else "Yahoo Finance (yfinance)"])
    rows.append(["Factors", str(settings.french_dir) if settings.french_dir else settings.french_url])
    rows.append(["Offline mode", "on" if settings.offline else "off"])
    rows.extend(cache_rows(settings))
    return rows


def cache_rows(settings) -> list[list[Any]]:
    from .store import Store

    store = Store(settings.cache_dir)
    try:
        info = store.info()
    except Exception as err:  # noqa: BLE001 - report, never fail, in a status listing
        return [["Cache", f"unavailable: {err}"]]
    rows: list[list[Any]] = [
        ["Cache file", str(info.get("path", ""))],
        ["Cache entries", info.get("entries", 0)],
        ["Cache size (MB)", round(info.get("size_bytes", 0) / 1e6, 3)],
    ]
    newest = info.get("newest_fetched_at")
    rows.append(["Last fetch (UTC)", f"{newest.astimezone(timezone.utc):%Y-%m-%d %H:%M}" if newest else "never"])
    for key in store.keys("french:"):
        hit = store.get_frame(key)
        if hit is not None:
            rows.append([f"Release {key.split(':', 1)[1]}",
                         f"{hit.meta.get('release', '?')} (fetched {hit.fetched_at:%Y-%m-%d})"])
    return rows

"""Settings: where data come from and where they are cached.

Settings are explicit: they come from keyword arguments or from environment variables,
never from anything a spreadsheet cell contains.

=========================  =========================================================
``XLFACTOR_CACHE_DIR``     cache directory (default: the user's cache dir, ``xlfactor``)
``XLFACTOR_OFFLINE``       ``1``: serve cached data only, make no network request
``XLFACTOR_FRENCH_URL``    base URL of the Kenneth French library (tests use loopback)
``XLFACTOR_PRICE_DIR``     use Yahoo-format CSV files in this folder instead of Yahoo
``XLFACTOR_FRENCH_DIR``    use French zips/CSVs saved in this folder instead of the web
``XLFACTOR_SOURCE``        ``sample``: use the bundled offline sample for everything
``XLFACTOR_PRICE_TTL``     hours before cached prices are refreshed (default 12)
``XLFACTOR_FACTOR_TTL``    days before cached factor files are refreshed (default 7)
``XLFACTOR_NET_WAIT``      seconds without an answer before a source counts as
                           unreachable (default 4)
``XLFACTOR_RETRY_AFTER``   seconds an unreachable source is not asked again (default
                           60; the Refresh button asks at once)
=========================  =========================================================
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

FRENCH_BASE_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Where data come from and how long cached copies stay fresh.

    Attributes
    ----------
    cache_dir : Path or None
        Cache directory; ``None`` means the platform default.
    offline : bool
        Serve only cached data; any needed download becomes an error.
    french_url : str
        Base URL of the French library (must be HTTPS, or HTTP on loopback).
    price_dir, french_dir : Path or None
        Local folders replacing Yahoo Finance / the French library.
    sample : bool
        Use the bundled offline sample (monthly, 1949-2017) for prices and factors.
    price_ttl_hours, factor_ttl_days : float
        Age after which cached prices / factor files are downloaded again. When a
        refresh fails, the cached copy is served and marked stale.
    net_wait : float
        Seconds a source may stay silent (no connection, no byte of an answer) before it
        counts as unreachable. Short, because Excel waits for every cell.
    retry_after : float
        Seconds during which an unreachable source is not asked again: the other cells
        of the sheet fail at once, or serve cached data marked STALE.
    """

    cache_dir: Path | None = None
    offline: bool = False
    french_url: str = FRENCH_BASE_URL
    price_dir: Path | None = None
    french_dir: Path | None = None
    sample: bool = False
    price_ttl_hours: float = 12.0
    factor_ttl_days: float = 7.0
    net_wait: float = 4.0
    retry_after: float = 60.0

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        base = _settings_from_env(tuple(os.environ.get(k, "") for k in ENV_VARS))
        if not any(v is not None for v in overrides.values()):
            return base
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


#: The environment variables that make up :class:`Settings`.
ENV_VARS = ("XLFACTOR_CACHE_DIR", "XLFACTOR_OFFLINE", "XLFACTOR_FRENCH_URL", "XLFACTOR_PRICE_DIR",
            "XLFACTOR_FRENCH_DIR", "XLFACTOR_SOURCE", "XLFACTOR_PRICE_TTL", "XLFACTOR_FACTOR_TTL",
            "XLFACTOR_NET_WAIT", "XLFACTOR_RETRY_AFTER")


@functools.lru_cache(maxsize=16)
def _settings_from_env(values: tuple[str, ...]) -> Settings:
    """Settings for one snapshot of the environment (cached: every cell asks for them)."""
    env = dict(zip(ENV_VARS, values))
    return Settings(
        cache_dir=_folder(env["XLFACTOR_CACHE_DIR"]),
        offline=_flag(env["XLFACTOR_OFFLINE"]),
        french_url=env["XLFACTOR_FRENCH_URL"] or FRENCH_BASE_URL,
        price_dir=_folder(env["XLFACTOR_PRICE_DIR"]),
        french_dir=_folder(env["XLFACTOR_FRENCH_DIR"]),
        sample=env["XLFACTOR_SOURCE"].strip().lower() == "sample",
        price_ttl_hours=_number(env, "XLFACTOR_PRICE_TTL", 12.0),
        factor_ttl_days=_number(env, "XLFACTOR_FACTOR_TTL", 7.0),
        net_wait=_number(env, "XLFACTOR_NET_WAIT", 4.0),
        retry_after=_number(env, "XLFACTOR_RETRY_AFTER", 60.0),
    )


def _folder(text: str) -> Path | None:
    """A folder named in an environment variable: blanks trimmed, ``~`` expanded."""
    text = text.strip()
    return Path(text).expanduser() if text else None


def _number(env: dict[str, str], name: str, default: float) -> float:
    text = env[name].strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:  # also NaN
        from xlfactor.domain.errors import InvalidInputError

        raise InvalidInputError(f"environment variable {name} must be a positive number, got {text!r}")
    return value

"""Settings: where data come from and where they are cached.

Settings are explicit: they come from keyword arguments or from environment variables,
never from anything a spreadsheet cell contains.

============================  =========================================================
``XLFACTOR_CACHE_DIR``        cache directory (default: the user's cache dir, ``xlfactor``)
``XLFACTOR_OFFLINE``          ``1``: serve cached data only, make no network request
``XLFACTOR_FRENCH_URL``       base URL of the Kenneth French library (tests use loopback)
``XLFACTOR_PRICE_DIR``        use Yahoo-format CSV files in this folder instead of Yahoo
``XLFACTOR_FRENCH_DIR``       use French zips/CSVs saved in this folder instead of the web
``XLFACTOR_SOURCE``           ``sample``: use the bundled offline sample for everything
``XLFACTOR_PRICE_TTL``        hours before cached prices are refreshed (default 12)
``XLFACTOR_FACTOR_TTL``       days before cached factor files are refreshed (default 7)
``XLFACTOR_NET_WAIT``         seconds without an answer before a source counts as
                              unreachable (default 4)
``XLFACTOR_RETRY_AFTER``      seconds an unreachable source is not asked again (default
                              60; the Refresh button asks at once)
``XLFACTOR_DOWNLOAD_WAIT``    seconds one whole download (every byte of one response) may
                              take before it is cut off (default 30)
``XLFACTOR_FRENCH_MAX_MB``    megabytes (2**20 bytes) a French library file may have
                              (default 32; the largest published zips are under 10)
``XLFACTOR_CHART_MAX_MB``     megabytes a Yahoo chart response may have (default 16; a
                              60-year daily history is about 2)
============================  =========================================================

Every numeric setting is checked when settings are made, from the environment or in code:
a value that is not a finite number within its range (:data:`LIMITS`) is refused with an
:class:`~xlfactor.domain.errors.InvalidInputError` naming the variable and the range.
"""

from __future__ import annotations

import functools
import os
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

FRENCH_BASE_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"

_MB = 1 << 20

#: Default of :attr:`Settings.download_wait`, in seconds.
DOWNLOAD_WAIT = 30.0
#: Default caps of one response, in bytes (:attr:`Settings.french_max_bytes`,
#: :attr:`Settings.chart_max_bytes`).
FRENCH_MAX_BYTES = 32 * _MB
CHART_MAX_BYTES = 16 * _MB


@dataclass(frozen=True)
class Limit:
    """The accepted range ``(0, upper]`` of one numeric setting.

    Attributes
    ----------
    env : str
        The environment variable that sets it.
    unit : str
        What the number counts, for messages ("seconds", "hours", "days", "MB").
    upper : float
        Largest accepted value; values must also be finite and greater than 0.
    """

    env: str
    unit: str
    upper: float


#: The numeric settings: field name -> environment variable and accepted range. The upper
#: bounds keep every derived quantity (socket timeouts, monotonic deadlines, byte counts)
#: representable; values beyond them are typing mistakes, not wishes.
LIMITS: dict[str, Limit] = {
    "price_ttl_hours": Limit("XLFACTOR_PRICE_TTL", "hours", 24.0 * 366 * 100),
    "factor_ttl_days": Limit("XLFACTOR_FACTOR_TTL", "days", 366.0 * 100),
    "net_wait": Limit("XLFACTOR_NET_WAIT", "seconds", 3600.0),
    "retry_after": Limit("XLFACTOR_RETRY_AFTER", "seconds", 7 * 86400.0),
    "download_wait": Limit("XLFACTOR_DOWNLOAD_WAIT", "seconds", 3600.0),
    "french_max_bytes": Limit("XLFACTOR_FRENCH_MAX_MB", "MB", 4096.0),
    "chart_max_bytes": Limit("XLFACTOR_CHART_MAX_MB", "MB", 4096.0),
}

# Settings held in bytes are given in MB in the environment.
_IN_MB = frozenset({"french_max_bytes", "chart_max_bytes"})


def cap_text(name: str, max_bytes: int) -> str:
    """``the 32 MB allowed (XLFACTOR_FRENCH_MAX_MB)``: a size cap and the setting that
    sets it, for the message of a response refused by its size."""
    return f"the {max_bytes / _MB:g} MB allowed ({LIMITS[name].env})"


def check_number(value: object, name: str, *, label: str | None = None) -> float:
    """``value`` as a float within the range of the setting ``name``.

    Parameters
    ----------
    value : object
        A number (or numeric text) in the setting's unit (MB for byte settings).
    name : str
        A key of :data:`LIMITS`.
    label : str, optional
        How the message names the value (default: the environment variable).

    Returns
    -------
    float
        The value, finite and in ``(0, upper]``.

    Raises
    ------
    InvalidInputError
        If ``value`` is not a number, is NaN or infinite, not positive, or above the range.
    """
    limit = LIMITS[name]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if math.isfinite(number) and 0 < number <= limit.upper:
        return number
    from xlfactor.domain.errors import InvalidInputError

    raise InvalidInputError(
        f"{label or limit.env} must be a number of {limit.unit} greater than 0 and at most "
        f"{limit.upper:g}, got {value!r}")


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
    download_wait : float
        Seconds one whole response (headers and every byte of the body) may take; a
        server that keeps sending slowly is cut off after it, however steadily it sends.
    french_max_bytes, chart_max_bytes : int
        Bytes one French library file / one Yahoo chart response may have; a larger one
        is refused as soon as the cap is passed, while it streams.

    Raises
    ------
    InvalidInputError
        A numeric setting outside its range (:data:`LIMITS`), named by its field.
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
    download_wait: float = DOWNLOAD_WAIT
    french_max_bytes: int = FRENCH_MAX_BYTES
    chart_max_bytes: int = CHART_MAX_BYTES

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name not in LIMITS:
                continue
            value = getattr(self, item.name)
            if item.name in _IN_MB:
                label = f"Settings.{item.name} (in MB)"
                megabytes = check_number(value / _MB if _is_real(value) else value,
                                         item.name, label=label)
                object.__setattr__(self, item.name,
                                   whole_bytes(megabytes, label=label, given=value))
            else:
                object.__setattr__(self, item.name,
                                   check_number(value, item.name, label=f"Settings.{item.name}"))

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        base = _settings_from_env(tuple(os.environ.get(k, "") for k in ENV_VARS))
        if not any(v is not None for v in overrides.values()):
            return base
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


#: The environment variables that make up :class:`Settings`.
ENV_VARS = ("XLFACTOR_CACHE_DIR", "XLFACTOR_OFFLINE", "XLFACTOR_FRENCH_URL", "XLFACTOR_PRICE_DIR",
            "XLFACTOR_FRENCH_DIR", "XLFACTOR_SOURCE", "XLFACTOR_PRICE_TTL", "XLFACTOR_FACTOR_TTL",
            "XLFACTOR_NET_WAIT", "XLFACTOR_RETRY_AFTER", "XLFACTOR_DOWNLOAD_WAIT",
            "XLFACTOR_FRENCH_MAX_MB", "XLFACTOR_CHART_MAX_MB")


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
        price_ttl_hours=_number(env, "price_ttl_hours", 12.0),
        factor_ttl_days=_number(env, "factor_ttl_days", 7.0),
        net_wait=_number(env, "net_wait", 4.0),
        retry_after=_number(env, "retry_after", 60.0),
        download_wait=_number(env, "download_wait", DOWNLOAD_WAIT),
        french_max_bytes=_bytes(env, "french_max_bytes", FRENCH_MAX_BYTES),
        chart_max_bytes=_bytes(env, "chart_max_bytes", CHART_MAX_BYTES),
    )


def _folder(text: str) -> Path | None:
    """A folder named in an environment variable: blanks trimmed, ``~`` expanded."""
    text = text.strip()
    return Path(text).expanduser() if text else None


def check_bytes(value: object, name: str, *, label: str) -> int:
    """``value`` as a whole number of bytes within the range of the MB setting ``name``.

    Raises
    ------
    InvalidInputError
        If ``value`` is not an integer from 1 to the setting's upper bound in bytes.
    """
    upper = int(LIMITS[name].upper * _MB)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= upper:
        return value
    from xlfactor.domain.errors import InvalidInputError

    raise InvalidInputError(f"{label} must be a whole number of bytes from 1 to {upper}, "
                            f"got {value!r}")


def whole_bytes(megabytes: float, *, label: str, given: object) -> int:
    """``megabytes`` (already checked by :func:`check_number`) as whole bytes, at least 1.

    A cap is rounded down to whole bytes; one below a byte would round to 0, a cap that
    refuses every download or chart, so it is refused with the setting's name.

    Raises
    ------
    InvalidInputError
        If ``megabytes`` is less than one byte (1/1048576 MB).
    """
    count = int(megabytes * _MB)
    if count >= 1:
        return count
    from xlfactor.domain.errors import InvalidInputError

    raise InvalidInputError(f"{label} must be at least 1 byte ({1 / _MB:.3g} MB), "
                            f"got {given!r}")


def _bytes(env: dict[str, str], name: str, default: int) -> int:
    """The MB setting ``name`` from its environment variable, in bytes; ``default`` (bytes)
    if unset."""
    variable = LIMITS[name].env
    text = env[variable].strip()
    if not text:
        return default
    return whole_bytes(check_number(text, name), label=variable, given=text)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(env: dict[str, str], name: str, default: float) -> float:
    """The setting ``name`` from its environment variable, checked; ``default`` if unset."""
    variable = LIMITS[name].env
    text = env[variable].strip()
    return check_number(text, name) if text else default

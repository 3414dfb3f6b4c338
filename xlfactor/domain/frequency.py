"""Return frequencies: daily, weekly, monthly.

A frequency is one of the letters ``D``, ``W`` and ``M`` everywhere below the edges;
:func:`check_frequency` turns what users type into one of them.
"""

from __future__ import annotations

from typing import Literal

from xlfactor.domain.errors import InvalidInputError

Frequency = Literal["D", "W", "M"]

FREQUENCIES = ("D", "W", "M")


def check_frequency(freq: str | None) -> str:
    """Normalise ``"d"``, ``"daily"``, ``"W"``, ``"monthly"``... to ``D``/``W``/``M``."""
    key = "D" if freq is None or str(freq).strip() == "" else str(freq).strip().upper()
    key = {"DAILY": "D", "WEEKLY": "W", "MONTHLY": "M", "1D": "D", "1WK": "W", "1MO": "M"}.get(
        key, key
    )
    if key not in FREQUENCIES:
        raise InvalidInputError(f"unknown frequency {str(freq).strip()!r}; use D, W or M")
    return key


#: The word for each frequency, as messages and file names use it.
FREQUENCY_WORDS = {"D": "daily", "W": "weekly", "M": "monthly"}

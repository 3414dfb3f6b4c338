"""Ticker symbol parsing and validation.

Every ticker that reaches a price source passes through :func:`normalize_ticker` first, so
sources can rely on a symbol being short, upper-case ASCII and free of path separators,
spaces or spreadsheet-formula characters before it is put into a URL or compared with a
file name.

Accepted symbols follow Yahoo Finance conventions: an optional leading ``^`` (indices such
as ``^GSPC``), then a letter or digit, then letters, digits, ``.``, ``-``, ``=`` or ``^``;
at most 20 characters in total. Examples: ``AAPL``, ``BRK-B``, ``EURUSD=X``, ``OCDO.L``,
``BTC-USD``, ``7203.T``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

from xlfactor.domain.errors import InvalidInputError

MAX_TICKER_LENGTH = 20

# Validated *before* upper-casing: str.upper() maps some non-ASCII letters to ASCII
# ("ß" -> "SS", "ﬁ" -> "FI"), which would let unicode input slip through.
_TICKER_RE = re.compile(r"\^?[A-Za-z0-9][A-Za-z0-9.=^-]*", re.ASCII)

# Only commas and semicolons separate tickers inside one string; any other character,
# inner spaces included ("NO DUR" is one bad ticker, not two), is part of a symbol and
# must pass the pattern. Line breaks separate too: pasted columns arrive that way.
_SEPARATORS_RE = re.compile(r"[,;\r\n]+")

# Excel hands over 2-D ranges; a little headroom, but no unbounded recursion.
_MAX_NESTING = 4

_REPR_LIMIT = 24


def _safe_repr(value: object) -> str:
    """``repr`` of ``value`` cut to a readable length, for error messages."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > _REPR_LIMIT:
        return repr(text[:_REPR_LIMIT]) + "..."
    return repr(text)


def is_valid_ticker(s: object) -> bool:
    """Whether ``s`` is an acceptable ticker symbol as written (surrounding blanks allowed).

    Parameters
    ----------
    s : object
        Candidate symbol. Anything but a ``str`` is invalid.

    Returns
    -------
    bool
        True when the stripped text matches the ticker pattern and has at most
        20 characters.
    """
    if not isinstance(s, str):
        return False
    text = s.strip()
    return len(text) <= MAX_TICKER_LENGTH and _TICKER_RE.fullmatch(text) is not None


def normalize_ticker(raw: object) -> str:
    """Validate one ticker and return it stripped and upper-cased.

    Parameters
    ----------
    raw : str or int
        The symbol as typed. Integers (and integral floats, which is how Excel passes a
        number typed into a cell) are accepted as their decimal digits.

    Returns
    -------
    str
        The canonical symbol, e.g. ``"brk-b "`` -> ``"BRK-B"``.

    Raises
    ------
    InvalidInputError
        When ``raw`` is empty or not a valid symbol.
    """
    text = _cell_text(raw)
    if text is None or not text.strip():
        raise InvalidInputError("empty ticker")
    if not is_valid_ticker(text):
        raise InvalidInputError(
            f"invalid ticker {_safe_repr(text.strip())}: use letters, digits and . - = ^ "
            f"(at most {MAX_TICKER_LENGTH} characters)"
        )
    return text.strip().upper()


def normalize_tickers(raw: object) -> list[str]:
    """Parse a ticker list as it arrives from Excel, Python or the command line.

    Parameters
    ----------
    raw : str or nested sequence
        A single symbol, a string of symbols separated by commas, semicolons or line
        breaks, or (nested) lists/tuples of such strings, e.g. an Excel range as a
        list of rows. ``None``, ``""`` and NaN cells are blanks and are skipped.

    Returns
    -------
    list of str
        Canonical symbols, de-duplicated, in first-seen order.

    Raises
    ------
    InvalidInputError
        When no ticker is given or any item is not a valid symbol.
    """
    seen: dict[str, None] = {}
    for token in _tokens(raw, depth=0):
        seen.setdefault(normalize_ticker(token), None)
    if not seen:
        raise InvalidInputError("no tickers given")
    return list(seen)


def one_ticker(raw: object) -> str:
    """The single ticker of a one-ticker function (rolling, attribution...), or a clear error."""
    names = normalize_tickers(raw)
    if len(names) != 1:
        raise InvalidInputError(f"one ticker expected, got {len(names)}: {', '.join(names)}")
    return names[0]


def split_tickers(raw: object) -> list[str]:
    """The raw, unvalidated symbol strings in ``raw`` (blanks skipped), in order.

    Lets a caller validate symbols one by one, e.g. to report a bad ticker in its own
    row while the others are computed.
    """
    return list(_tokens(raw, depth=0))


def _tokens(raw: object, depth: int) -> Iterable[str]:
    """Yield the raw symbol strings contained in ``raw``, blanks skipped."""
    if depth > _MAX_NESTING:
        raise InvalidInputError("ticker list is nested too deeply")
    items = _as_list(raw)
    if items is not None:
        for item in items:
            yield from _tokens(item, depth + 1)
        return
    text = _cell_text(raw)
    if text is not None:
        yield from (part.strip() for part in _SEPARATORS_RE.split(text) if part.strip())


def _as_list(raw: object) -> list[Any] | None:
    """``raw`` as a list when it is a container of cells, else None."""
    if isinstance(raw, (list, tuple)):
        return list(raw)
    tolist = getattr(raw, "tolist", None)
    # numpy arrays and pandas objects from xlwings converters; scalars' tolist() gives a
    # scalar back, which the caller then treats as a cell.
    if callable(tolist) and not isinstance(raw, (str, bytes)):
        try:
            converted = tolist()
        except Exception as exc:  # a foreign object with a broken tolist()
            raise InvalidInputError(f"unsupported ticker value {_safe_repr(raw)}") from exc
        return converted if isinstance(converted, list) else None
    return None


def _cell_text(raw: object) -> str | None:
    """The text of one cell, or None for a blank cell."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    # bool is an int subclass, but TRUE/FALSE in a ticker cell is a mistake
    if isinstance(raw, bool) or type(raw).__name__ == "bool_":
        raise InvalidInputError(f"invalid ticker {_safe_repr(raw)}")
    if isinstance(raw, numbers.Integral):
        return str(int(raw))
    if isinstance(raw, numbers.Real):
        value = float(raw)
        if math.isnan(value):
            return None
        if value.is_integer() and value >= 0:
            return str(int(value))
    raise InvalidInputError(
        f"invalid ticker {_safe_repr(raw)} (a {type(raw).__name__}, expected text)"
    )

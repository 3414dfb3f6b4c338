"""Cell adapters: Excel-shaped inputs in, rectangular 2-D lists out, errors as short text.

Every public function here backs one worksheet function in :mod:`xlfactor.udfs` and
never raises: a failure becomes a one-cell answer such as ``#N/A unknown ticker 'ZZZZ'``.
Missing numbers are written as the text ``#N/A`` (classic UDFs cannot return a real error
value, and an empty cell would read as zero in arithmetic).
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from xlfactor.domain.errors import InvalidInputError, XlFactorError

NA = "#N/A"
Table = list[list[Any]]
#: Excel's cell errors by their XlCVError number (Microsoft's ``XlCVError`` enumeration;
#: the first seven are the ones xlwings' Windows engine knows).
XL_ERROR_NUMBERS = {
    2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?",
    2036: "#NUM!", 2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!",
    2047: "#BLOCKED!", 2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!",
}
#: The same errors as COM hands them to Python when xlwings' ``err_to_str`` conversion is
#: not applied: a plain integer, the VT_ERROR code 0x800A0000 + the number (signed), e.g.
#: -2146826246 for #N/A, -2146826281 for #DIV/0!. As data it would be a huge number.
EXCEL_ERROR_CODES = {0x800A0000 - 2**32 + n: text for n, text in XL_ERROR_NUMBERS.items()}
EXCEL_ERRORS = tuple(XL_ERROR_NUMBERS.values())
MAX_MESSAGE = 250
_CODES = r"#(?:N/A|VALUE!|REF!|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)"
#: A cell that says something was not computed: an Excel error code followed by words (a
#: worksheet function's message), also inside a label ("JNJ: #N/A unknown ticker"), or
#: FACTOR_COMPARE's "not fitted: ..." for a model it could not fit. A bare "#N/A" inside a
#: table is a value that does not apply (a residual's t statistic), not a failure.
_ERROR_TEXT = re.compile(rf"(?:^|: ){_CODES} \S|^not fitted: ")
_BARE_CODE = re.compile(rf"{_CODES}")


# -- error handling --------------------------------------------------------------------
def error_cell(err: BaseException) -> Table:
    """A one-cell answer describing ``err`` (never a traceback)."""
    if isinstance(err, XlFactorError):
        text = err.cell_message()
    elif isinstance(err, MemoryError):
        text = "#NUM! not enough memory for this request"
    else:
        text = f"#VALUE! unexpected {type(err).__name__}: {err}"
    return [[text[:MAX_MESSAGE]]]


def cell_safe(func: Callable[..., Table]) -> Callable[..., Table]:
    """Turn any exception into an error cell; silence library warnings."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Table:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return func(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - a cell must never see a traceback
            return error_cell(err)

    return wrapper


def error_words(err: BaseException) -> str:
    """The error in words, without the Excel error code that cell messages start with."""
    return without_code(str(error_cell(err)[0][0]))


def without_code(message: str) -> str:
    """A cell message without its leading Excel error code."""
    code, _, rest = str(message).partition(" ")
    return rest if code.startswith("#") and rest else str(message)


def error_text(value: Any) -> bool:
    """Whether a table cell says that something was not computed (see ``_ERROR_TEXT``)."""
    return isinstance(value, str) and _ERROR_TEXT.search(value) is not None


def failed_anchor(value: Any) -> bool:
    """Whether a table's first cell is an error in place of the whole table: a message,
    or a bare Excel error code (as a formula such as ``=INDEX(...)`` past a table gives)."""
    return error_text(value) or (isinstance(value, str) and
                                 _BARE_CODE.fullmatch(value.strip()) is not None)


# -- argument parsing --------------------------------------------------------------------
def reject_error_values(value: Any, what: str) -> None:
    """Refuse Excel error values in an argument, whatever the conversion delivered them:
    text such as ``#N/A`` (xlwings' ``err_to_str``) or the bare COM error code (an integer,
    see :data:`EXCEL_ERROR_CODES`), which would otherwise be used as a number."""
    if not isinstance(value, (list, tuple)):
        _refuse_error(value, what, "")
        return
    for i, row in enumerate(value):
        if not isinstance(row, (list, tuple)):
            _refuse_error(row, what, f" (cell {i + 1})")
            continue
        for j, cell in enumerate(flatten(row)):
            _refuse_error(cell, what, (i, j))


def _refuse_error(cell: Any, what: str, where: str | tuple[int, int]) -> None:
    error = excel_error(cell)
    if error is not None:
        if isinstance(where, tuple):  # formatted only here: ranges have many cells
            where = f" (row {where[0] + 1}, column {where[1] + 1})"
        raise InvalidInputError(f"{what} contains the Excel error {error}{where}")


def excel_error(cell: Any) -> str | None:
    """The Excel error a cell value stands for (``#N/A``...), or None for a real value."""
    if isinstance(cell, str):
        text = cell.strip().upper()
        return text if text in EXCEL_ERRORS else None
    if type(cell) in (int, float) and cell in EXCEL_ERROR_CODES:  # bool is no error code
        return EXCEL_ERROR_CODES[int(cell)]
    return None


def flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [c for v in value for c in flatten(v)]
    return [value]


def scalar(value: Any, what: str) -> Any:
    """A single value from a cell argument (a 1x1 range arrives as a scalar or [[v]])."""
    reject_error_values(value, what)
    cells = flatten(value)
    filled = [c for c in cells if c is not None and not (isinstance(c, str) and not c.strip())]
    if len(filled) > 1:
        raise InvalidInputError(f"{what} must be a single value, got {len(filled)} cells")
    return filled[0] if filled else None


def text_arg(value: Any, what: str) -> str | None:
    v = scalar(value, what)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise InvalidInputError(f"{what} must be text, got {v!r}")
    return str(v).strip()


def bool_arg(value: Any, default: bool, what: str) -> bool:
    v = scalar(value, what)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE", "YES", "NO", "1", "0"):
        return v.strip().upper() in ("TRUE", "YES", "1")
    raise InvalidInputError(f"{what} must be TRUE or FALSE, got {v!r}")


def int_arg(value: Any, default: int | None, what: str, minimum: int = 1) -> int | None:
    v = scalar(value, what)
    if v is None:
        return default
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            raise InvalidInputError(f"{what} must be a whole number, got {v!r}") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not float(v).is_integer():
        raise InvalidInputError(f"{what} must be a whole number, got {v!r}")
    if v < minimum:
        raise InvalidInputError(f"{what} must be at least {minimum}, got {int(v)}")
    return int(v)


def date_arg(value: Any, what: str) -> Any:
    """A date cell (datetime), an Excel serial number or an ISO string, as one value; blank
    gives None. The request parses it (:func:`xlfactor.domain.dates.parse_date`): ISO text
    with a UTC offset keeps its wall-clock date, as a date cell does.
    """
    return scalar(value, what)


def tickers_arg(value: Any) -> list[str]:
    from xlfactor.domain.tickers import normalize_tickers

    reject_error_values(value, "tickers")
    return normalize_tickers(value)


# -- output ------------------------------------------------------------------------------
def clean(value: Any) -> Any:
    """A cell value: NaN/inf become ``#N/A`` text; numpy scalars become Python numbers."""
    if value is None:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return NA
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def rectangle(rows: Sequence[Sequence[Any]]) -> Table:
    """Pad rows with blanks to one width and clean every value."""
    width = max((len(r) for r in rows), default=1)
    return [[clean(v) for v in r] + [""] * (width - len(r)) for r in rows] or [[""]]


def with_header(header: Sequence[Any], rows: list[list[Any]], show: bool) -> Table:
    return rectangle(([list(header)] if show else []) + rows)


def error_row(name: str, err: BaseException, width: int) -> list[Any]:
    """A ticker's own row: its message first, ``#N/A`` after, so the other rows still compute."""
    message = error_cell(err)[0][0]
    return [inert_text(name), message] + [NA] * max(width - 2, 0)


#: First characters that make a spreadsheet treat text as a formula once it is exported to
#: CSV and opened again (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def inert_text(text: str) -> str:
    """``text`` echoed from the user's input, made inert: a leading formula trigger gets an
    apostrophe (an invalid ticker such as ``=cmd|' /c calc'!A1`` is shown, never re-run)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def cell_text(value: Any) -> str:
    """A label typed into a cell, as Excel displays it: ``2019`` (sent as 2019.0) -> "2019"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


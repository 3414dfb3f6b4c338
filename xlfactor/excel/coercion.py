"""Excel's values and coercion rules, without Excel: error values, the conversions between
numbers, text, booleans and dates that Excel applies to operands and arguments, and its
operators. :mod:`xlfactor.excel.evaluate` computes formulas with them.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from xlfactor.excel.formula import Binary, Percent, Unary, UnsupportedFormula, column_number


EPOCH = dt.datetime(1899, 12, 30)  # serial 0; absorbs Excel's fictitious 1900-02-29
NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*%?\s*")


@dataclass(frozen=True)
class ExcelError:
    """An Excel error value such as ``#DIV/0!``; ``str()`` gives the code."""

    code: str

    def __str__(self) -> str:
        return self.code


class CircularReference(ValueError):
    """Defined names that refer to each other, e.g. ``A`` is ``=B+1`` and ``B`` is ``=A``."""


class Resolver(Protocol):
    """Where the evaluator gets cell values and defined names from."""

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        """Values of ``address`` (``"B5"`` or ``"B5:B14"``) on ``sheet``, as rows.

        The evaluator never looks at other cells' formulas: a cell holding a formula yields
        whatever the resolver decides, e.g. a cached value or the result of evaluating the
        formula by calling back :meth:`Evaluator.evaluate` (the resolver then guards
        against cycles between cells). For a range spanning whole columns or rows
        (:func:`~xlfactor.excel.formula.is_whole_lines`) it may stop after the sheet's last
        value: the evaluator treats the cells left out as blank.
        """

    def defined_name(self, name: str, sheet: str) -> str | None:
        """Refers-to text of ``name`` seen from ``sheet`` (sheet-level first), else None."""


class Area:
    """Values read through a reference; ``single`` marks a one-cell reference like ``A1``.

    Kept apart from array values because Excel treats text and booleans in references
    differently from typed arguments (``SUM(A1)`` ignores text "2", ``SUM("2")`` adds 2).
    ``shape`` is the size the reference names; ``rows`` may stop short of it where the
    resolver left out the blank rows and columns past the sheet's last value (a whole
    column ``A:A`` is a million rows to Excel, a few dozen here), so every count and
    position uses ``shape`` and a cell past ``rows`` is blank.
    """

    __slots__ = ("rows", "single", "shape")

    def __init__(self, rows: list[list[Any]], single: bool,
                 shape: tuple[int, int] | None = None) -> None:
        self.rows, self.single = rows, single
        self.shape = shape if shape is not None else (len(rows), len(rows[0]) if rows else 0)


CORNER = re.compile(r"([A-Z]+)([0-9]+)")


def named_shape(address: str) -> tuple[int, int]:
    """Rows and columns of an address such as ``"B5:C14"`` (``"B5"`` is 1 x 1)."""
    corners = [CORNER.fullmatch(part) for part in address.split(":")]
    (c1, r1), (c2, r2) = ((column_number(m[1]), int(m[2])) for m in (corners[0], corners[-1]))
    return abs(r2 - r1) + 1, abs(c2 - c1) + 1


class ErrorRaised(Exception):
    """Carries an Excel error out of nested coercions to the enclosing operator/function."""

    def __init__(self, error: ExcelError) -> None:
        super().__init__(error.code)
        self.error = error


def fail(code: str) -> ErrorRaised:
    return ErrorRaised(ExcelError(code))


def public_value(value: Any) -> Any:
    if isinstance(value, Area):
        return value.rows[0][0] if value.single else [list(row) for row in value.rows]
    return value


def as_rows(value: Any) -> list[list[Any]] | None:
    if isinstance(value, Area):
        return value.rows
    return value if isinstance(value, list) else None


def aligned(values: list[Any]) -> list[Any]:
    """Arguments for a worksheet function, with the ranges a resolver cut short (whole
    columns read to their own last value) padded with blank rows and columns to the
    longest of them: to Excel ``A:A`` and ``B:D`` are equally long, so rows pair up."""
    short = [v for v in values if isinstance(v, Area) and v.rows is not None
             and (len(v.rows), len(v.rows[0]) if v.rows else 0) != v.shape]
    if len(short) < 2:
        return values
    height = max(len(v.rows) for v in short)
    width = max(len(v.rows[0]) if v.rows else 0 for v in short)
    out = []
    for v in values:
        if any(v is s for s in short):
            rows_, cols_ = min(height, v.shape[0]), min(width, v.shape[1])
            rows = [[cell_at(v.rows, i, j) for j in range(cols_)] for i in range(rows_)]
            v = Area(rows, v.single, v.shape)
        out.append(v)
    return out


def shape_of(value: Any) -> tuple[int, int] | None:
    """Rows and columns of a range or array (a range's named size), None for a scalar."""
    if isinstance(value, Area):
        return value.shape
    return (len(value), len(value[0]) if value else 0) if isinstance(value, list) else None


def cell_at(rows: list[list[Any]], i: int, j: int) -> Any:
    """The value at 0-based ``(i, j)``; blank past the rows a resolver returned."""
    return rows[i][j] if i < len(rows) and j < len(rows[i]) else None


def as_scalar(value: Any) -> Any:
    shape = shape_of(value)
    if shape is None:
        return value
    if shape == (1, 1):
        return cell_at(as_rows(value) or [], 0, 0)
    raise UnsupportedFormula("array arithmetic (a range where one value is expected)")


def serial(value: dt.date | dt.time) -> float:
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return (value - EPOCH) / dt.timedelta(days=1)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, dt.date, dt.time)) and not isinstance(value, bool)


def as_number(value: Any) -> float:
    value = as_scalar(value)
    if isinstance(value, ExcelError):
        raise ErrorRaised(value)
    if value is None or isinstance(value, bool):
        return float(bool(value))
    if isinstance(value, (dt.date, dt.time)):
        return serial(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and NUMERIC_TEXT.fullmatch(value):
        text = value.strip()
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if math.isfinite(number):  # "1e999" is text to Excel, not infinity
            return number
    raise fail("#VALUE!")


def format_number(x: float) -> str:
    """Number as text the way ``&`` shows it: up to 15 significant digits, 1E+20 style."""
    text = f"{x + 0.0:.15g}"  # + 0.0 turns -0.0 into 0.0
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}E{exponent[0]}{exponent[1:].zfill(2)}"
    return text


def as_text(value: Any) -> str:
    value = as_scalar(value)
    if isinstance(value, ExcelError):
        raise ErrorRaised(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    return format_number(as_number(value))  # dates show as their serial number, as in Excel


def as_bool(value: Any) -> bool:
    value = as_scalar(value)
    if isinstance(value, str):
        if value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
        raise fail("#VALUE!")
    return as_number(value) != 0


def flat_args(args: tuple[Any, ...]) -> Iterator[tuple[Any, bool]]:
    """Each value of the arguments, flagged True when typed directly (not in a range/array)."""
    for arg in args:
        rows = as_rows(arg)
        if rows is None:
            yield arg, True
        else:
            for row in rows:
                for value in row:
                    yield value, False


def numbers_in(args: tuple[Any, ...]) -> list[float]:
    """The numbers SUM/MIN/MAX/AVERAGE see: typed values coerce, ranges keep only numbers."""
    out = []
    for value, direct in flat_args(args):
        if isinstance(value, ExcelError):
            raise ErrorRaised(value)
        if direct or is_number(value):
            out.append(as_number(value))
    return out


# --- operators --------------------------------------------------------------------------

def power(x: float, y: float) -> float:
    if x == 0 and y <= 0:
        raise fail("#NUM!" if y == 0 else "#DIV/0!")
    if x < 0 and y != int(y):
        raise fail("#NUM!")  # Python would return a complex number
    try:
        return x**y
    except OverflowError:
        raise fail("#NUM!") from None


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": power}


def arithmetic(op: str, a: Any, b: Any) -> float:
    x, y = as_number(a), as_number(b)
    if op == "/" and y == 0:
        raise fail("#DIV/0!")
    result = _ARITHMETIC[op](x, y)
    if not math.isfinite(result):  # overflow to inf: Excel says #NUM!
        raise fail("#NUM!")
    return result


def rank(value: Any) -> int:
    # Excel orders types as numbers < text < logicals, whatever the values
    return 2 if isinstance(value, bool) else 1 if isinstance(value, str) else 0


def compare(op: str, a: Any, b: Any) -> bool:
    a, b = as_scalar(a), as_scalar(b)
    for side in (a, b):
        if isinstance(side, ExcelError):
            raise ErrorRaised(side)
    # A blank cell takes the type of the other side: it equals 0, "" and FALSE
    blank = {0: 0.0, 1: "", 2: False}
    a = blank[rank(b)] if a is None else a
    b = blank[rank(a)] if b is None else b
    if rank(a) != rank(b):
        x, y = rank(a), rank(b)
    elif isinstance(a, str):
        x, y = a.casefold(), b.casefold()  # type: ignore[assignment]
    else:
        x, y = as_number(a), as_number(b)  # type: ignore[assignment]
    return {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def operate(node: Unary | Binary | Percent, values: list[Any]) -> Any:
    if isinstance(node, Percent):
        return as_number(values[0]) / 100
    if isinstance(node, Unary):
        # Excel's unary plus returns its operand untouched (=+"a" is "a")
        return -as_number(values[0]) if node.op == "-" else values[0]
    if node.op == "&":
        return as_text(values[0]) + as_text(values[1])
    if node.op in _ARITHMETIC:
        return arithmetic(node.op, *values)
    return compare(node.op, *values)

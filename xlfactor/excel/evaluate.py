"""Evaluate parsed formulas with Excel's coercion rules, without Excel.

Values are Python scalars (``None`` for a blank cell, ``int``/``float``, ``str``, ``bool``,
``datetime``, :class:`ExcelError`) or 2-D lists of rows for ranges and arrays. Element-wise
array arithmetic is out of scope: an operator given a range larger than 1x1 raises
:class:`~xlfactor.excel.formula.UnsupportedFormula`.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import Any, Protocol

from xlfactor.excel.formula import (
    ArrayConst,
    Binary,
    Call,
    ErrorLiteral,
    Literal,
    Missing,
    Name,
    Node,
    Percent,
    Ref,
    Unary,
    UnsupportedFormula,
    column_number,
    parse,
)

_EPOCH = dt.datetime(1899, 12, 30)  # serial 0; absorbs Excel's fictitious 1900-02-29
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*%?\s*")


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


class _Area:
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


_CORNER = re.compile(r"([A-Z]+)([0-9]+)")


def _named_shape(address: str) -> tuple[int, int]:
    """Rows and columns of an address such as ``"B5:C14"`` (``"B5"`` is 1 x 1)."""
    corners = [_CORNER.fullmatch(part) for part in address.split(":")]
    (c1, r1), (c2, r2) = ((column_number(m[1]), int(m[2])) for m in (corners[0], corners[-1]))
    return abs(r2 - r1) + 1, abs(c2 - c1) + 1


class _Raise(Exception):
    """Carries an Excel error out of nested coercions to the enclosing operator/function."""

    def __init__(self, error: ExcelError) -> None:
        super().__init__(error.code)
        self.error = error


def _fail(code: str) -> _Raise:
    return _Raise(ExcelError(code))


def _public(value: Any) -> Any:
    if isinstance(value, _Area):
        return value.rows[0][0] if value.single else [list(row) for row in value.rows]
    return value


def _rows(value: Any) -> list[list[Any]] | None:
    if isinstance(value, _Area):
        return value.rows
    return value if isinstance(value, list) else None


def _aligned(values: list[Any]) -> list[Any]:
    """Arguments for a worksheet function, with the ranges a resolver cut short (whole
    columns read to their own last value) padded with blank rows and columns to the
    longest of them: to Excel ``A:A`` and ``B:D`` are equally long, so rows pair up."""
    short = [v for v in values if isinstance(v, _Area) and v.rows is not None
             and (len(v.rows), len(v.rows[0]) if v.rows else 0) != v.shape]
    if len(short) < 2:
        return values
    height = max(len(v.rows) for v in short)
    width = max(len(v.rows[0]) if v.rows else 0 for v in short)
    out = []
    for v in values:
        if any(v is s for s in short):
            rows_, cols_ = min(height, v.shape[0]), min(width, v.shape[1])
            rows = [[_at(v.rows, i, j) for j in range(cols_)] for i in range(rows_)]
            v = _Area(rows, v.single, v.shape)
        out.append(v)
    return out


def _shape(value: Any) -> tuple[int, int] | None:
    """Rows and columns of a range or array (a range's named size), None for a scalar."""
    if isinstance(value, _Area):
        return value.shape
    return (len(value), len(value[0]) if value else 0) if isinstance(value, list) else None


def _at(rows: list[list[Any]], i: int, j: int) -> Any:
    """The value at 0-based ``(i, j)``; blank past the rows a resolver returned."""
    return rows[i][j] if i < len(rows) and j < len(rows[i]) else None


def _scalar(value: Any) -> Any:
    shape = _shape(value)
    if shape is None:
        return value
    if shape == (1, 1):
        return _at(_rows(value) or [], 0, 0)
    raise UnsupportedFormula("array arithmetic (a range where one value is expected)")


def _serial(value: dt.date | dt.time) -> float:
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return (value - _EPOCH) / dt.timedelta(days=1)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, dt.date, dt.time)) and not isinstance(value, bool)


def _num(value: Any) -> float:
    value = _scalar(value)
    if isinstance(value, ExcelError):
        raise _Raise(value)
    if value is None or isinstance(value, bool):
        return float(bool(value))
    if isinstance(value, (dt.date, dt.time)):
        return _serial(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        text = value.strip()
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if math.isfinite(number):  # "1e999" is text to Excel, not infinity
            return number
    raise _fail("#VALUE!")


def _format_number(x: float) -> str:
    """Number as text the way ``&`` shows it: up to 15 significant digits, 1E+20 style."""
    text = f"{x + 0.0:.15g}"  # + 0.0 turns -0.0 into 0.0
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}E{exponent[0]}{exponent[1:].zfill(2)}"
    return text


def _text(value: Any) -> str:
    value = _scalar(value)
    if isinstance(value, ExcelError):
        raise _Raise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    return _format_number(_num(value))  # dates show as their serial number, as in Excel


def _bool(value: Any) -> bool:
    value = _scalar(value)
    if isinstance(value, str):
        if value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
        raise _fail("#VALUE!")
    return _num(value) != 0


def _flat(args: tuple[Any, ...]) -> Iterator[tuple[Any, bool]]:
    """Each value of the arguments, flagged True when typed directly (not in a range/array)."""
    for arg in args:
        rows = _rows(arg)
        if rows is None:
            yield arg, True
        else:
            for row in rows:
                for value in row:
                    yield value, False


def _numbers(args: tuple[Any, ...]) -> list[float]:
    """The numbers SUM/MIN/MAX/AVERAGE see: typed values coerce, ranges keep only numbers."""
    out = []
    for value, direct in _flat(args):
        if isinstance(value, ExcelError):
            raise _Raise(value)
        if direct or _is_number(value):
            out.append(_num(value))
    return out


# --- operators --------------------------------------------------------------------------

def _power(x: float, y: float) -> float:
    if x == 0 and y <= 0:
        raise _fail("#NUM!" if y == 0 else "#DIV/0!")
    if x < 0 and y != int(y):
        raise _fail("#NUM!")  # Python would return a complex number
    try:
        return x**y
    except OverflowError:
        raise _fail("#NUM!") from None


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": _power}


def _arithmetic(op: str, a: Any, b: Any) -> float:
    x, y = _num(a), _num(b)
    if op == "/" and y == 0:
        raise _fail("#DIV/0!")
    result = _ARITHMETIC[op](x, y)
    if not math.isfinite(result):  # overflow to inf: Excel says #NUM!
        raise _fail("#NUM!")
    return result


def _rank(value: Any) -> int:
    # Excel orders types as numbers < text < logicals, whatever the values
    return 2 if isinstance(value, bool) else 1 if isinstance(value, str) else 0


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _scalar(a), _scalar(b)
    for side in (a, b):
        if isinstance(side, ExcelError):
            raise _Raise(side)
    # A blank cell takes the type of the other side: it equals 0, "" and FALSE
    blank = {0: 0.0, 1: "", 2: False}
    a = blank[_rank(b)] if a is None else a
    b = blank[_rank(a)] if b is None else b
    if _rank(a) != _rank(b):
        x, y = _rank(a), _rank(b)
    elif isinstance(a, str):
        x, y = a.casefold(), b.casefold()  # type: ignore[assignment]
    else:
        x, y = _num(a), _num(b)  # type: ignore[assignment]
    return {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def _operate(node: Unary | Binary | Percent, values: list[Any]) -> Any:
    if isinstance(node, Percent):
        return _num(values[0]) / 100
    if isinstance(node, Unary):
        # Excel's unary plus returns its operand untouched (=+"a" is "a")
        return -_num(values[0]) if node.op == "-" else values[0]
    if node.op == "&":
        return _text(values[0]) + _text(values[1])
    if node.op in _ARITHMETIC:
        return _arithmetic(node.op, *values)
    return _compare(node.op, *values)


# --- built-in functions -----------------------------------------------------------------

def _index(array: Any, row: Any = None, col: Any = None) -> Any:
    if isinstance(array, ExcelError):
        raise _Raise(array)
    rows = _rows(array) or [[array]]
    n_rows, n_cols = _shape(array) or (1, 1)
    r = 0 if row is None else int(_num(row))
    c = None if col is None else int(_num(col))
    if c is None:  # INDEX(r, n) walks along a one-row or one-column range
        r, c = (1, r) if n_rows == 1 else (r, 1 if n_cols == 1 else 0)
    if r < 0 or c < 0:
        raise _fail("#VALUE!")
    if r > n_rows or c > n_cols:
        raise _fail("#REF!")
    width = max((len(line) for line in rows), default=0)
    picked = [[_at(rows, i, j) for j in (range(width) if c == 0 else [c - 1])]
              for i in (range(len(rows)) if r == 0 else [r - 1])]
    if isinstance(array, _Area):
        return _Area(picked, single=bool(r and c),
                     shape=(n_rows if r == 0 else 1, n_cols if c == 0 else 1))
    return picked[0][0] if r and c else picked


def _and_or(args: tuple[Any, ...], combine: Callable[[list[bool]], bool]) -> bool:
    seen = []
    for value, direct in _flat(args):
        if isinstance(value, ExcelError):
            raise _Raise(value)
        if direct and value is not None or isinstance(value, bool) or _is_number(value):
            seen.append(_bool(value))
    if not seen:  # only text and blanks in the ranges
        raise _fail("#VALUE!")
    return combine(seen)


def _count(args: tuple[Any, ...]) -> int:
    n = 0
    for value, direct in _flat(args):
        if direct and not isinstance(value, ExcelError):
            try:
                _num(value)
            except _Raise:
                continue
            n += 1
        elif _is_number(value):
            n += 1
    return n


def _round(x: Any, digits: Any = 0) -> float:
    # Decimal of the shortest repr rounds 2.675 to 2.68 like Excel; halves go away from zero
    places = max(-400, min(400, int(_num(digits))))  # beyond that no double changes
    exponent = Decimal(1).scaleb(-places)
    rounded = Decimal(repr(_num(x))).quantize(exponent, ROUND_HALF_UP, Context(prec=1000))
    return float(rounded)


def _date(year: Any, month: Any, day: Any) -> dt.datetime:
    y, m, d = (int(_num(v)) for v in (year, month, day))
    y += 1900 if 0 <= y < 1900 else 0  # Excel reads DATE(99,1,1) as 1999
    if not 1900 <= y <= 9999:
        raise _fail("#NUM!")
    y, m = divmod(y * 12 + m - 1, 12)  # months and days past the end roll over, as in Excel
    try:
        result = dt.datetime(y, m + 1, 1) + dt.timedelta(days=d - 1)
    except (ValueError, OverflowError):
        raise _fail("#NUM!") from None
    if result < dt.datetime(1900, 1, 1) or result.year > 9999:
        raise _fail("#NUM!")
    return result


def _average(*args: Any) -> float:
    numbers = _numbers(args)
    if not numbers:
        raise _fail("#DIV/0!")
    return sum(numbers) / len(numbers)


def _size(value: Any, axis: int) -> int:
    shape = _shape(value)
    if shape is None and isinstance(value, ExcelError):
        raise _Raise(value)
    return 1 if shape is None else shape[axis]


# name: (function of evaluated arguments, fewest arguments, most arguments)
_BUILTINS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "INDEX": (_index, 2, 3),
    "COUNTA": (lambda *a: sum(1 for v, d in _flat(a) if d or v is not None), 1, 255),
    "COUNT": (lambda *a: _count(a), 1, 255),
    "SUM": (lambda *a: float(math.fsum(_numbers(a))), 1, 255),
    "MIN": (lambda *a: min(_numbers(a), default=0.0), 1, 255),
    "MAX": (lambda *a: max(_numbers(a), default=0.0), 1, 255),
    "AVERAGE": (_average, 1, 255),
    "AND": (lambda *a: _and_or(a, all), 1, 255),
    "OR": (lambda *a: _and_or(a, any), 1, 255),
    "NOT": (lambda v: not _bool(v), 1, 1),
    "ISNUMBER": (lambda v: _is_number(_scalar(v)), 1, 1),
    "ISBLANK": (lambda v: _scalar(v) is None, 1, 1),
    "ISERROR": (lambda v: isinstance(_scalar(v), ExcelError), 1, 1),
    "ROWS": (lambda v: _size(v, 0), 1, 1),
    "COLUMNS": (lambda v: _size(v, 1), 1, 1),
    "ABS": (lambda v: abs(_num(v)), 1, 1),
    "ROUND": (_round, 2, 2),
    "DATE": (_date, 3, 3),
    "TODAY": (lambda: dt.datetime.combine(dt.date.today(), dt.time()), 0, 0),
    "LEN": (lambda v: len(_text(v)), 1, 1),
    "UPPER": (lambda v: _text(v).upper(), 1, 1),
    "LOWER": (lambda v: _text(v).lower(), 1, 1),
    # Excel's TRIM drops leading/trailing spaces and collapses inner runs to one space
    "TRIM": (lambda v: re.sub(" +", " ", _text(v)).strip(" "), 1, 1),
    "CONCAT": (lambda *a: "".join(_text(v) for v, _ in _flat(a)), 1, 253),
    "CONCATENATE": (lambda *a: "".join(_text(v) for v in a), 1, 255),
}
# Functions that see their argument trees, to evaluate only what they need: (fewest, most)
_LAZY = {"IF": (2, 3), "IFERROR": (2, 2)}


class Evaluator:
    """Compute parsed formulas against a workbook seen through a :class:`Resolver`.

    Parameters
    ----------
    resolver : Resolver
        Supplies cell values and defined names.
    functions : Mapping of str to callable
        Extra worksheet functions by (case-insensitive) name, e.g. ``{"FACTOR_BETAS": f}``;
        they take precedence over the built-ins. Each is called with its evaluated
        arguments positionally: an omitted argument (``F(a,,c)``, also a trailing
        ``F(a,)``) as None, a one-cell reference or a name referring to one as the scalar
        value, any range written with ``:`` as a 2-D list of rows (even ``A1:A1`` gives
        ``[[v]]``), error values as :class:`ExcelError`. Adapting to xlwings' own argument
        conventions (e.g. ``ndim=2``) is the caller's business.

    Notes
    -----
    Built-ins: IF, IFERROR (lazy: only the chosen branch is evaluated), INDEX, COUNTA,
    COUNT, SUM, MIN, MAX, AVERAGE, AND, OR, NOT, ISNUMBER, ISBLANK, ISERROR, ROWS, COLUMNS,
    ABS, ROUND, DATE, TODAY, LEN, UPPER, LOWER, TRIM, CONCAT, CONCATENATE. Any other
    function raises :class:`UnsupportedFormula`. A defined name is evaluated by parsing its
    refers-to text; names that refer to each other raise :class:`CircularReference`.
    Comparisons are exact on floats (Excel compares to 15 significant digits, so
    ``0.1+0.2=0.3`` is TRUE there and FALSE here).
    """

    def __init__(self, resolver: Resolver,
                 functions: Mapping[str, Callable[..., Any]] = MappingProxyType({})) -> None:
        self.resolver = resolver
        self.functions = {name.upper(): f for name, f in functions.items()}
        self._resolving: list[tuple[str, str]] = []  # names being evaluated, outermost first
        self._parsed: dict[str, Node] = {}

    def evaluate(self, node: Node, sheet: str) -> Any:
        """Value of ``node`` in a formula on ``sheet``.

        Parameters
        ----------
        node : Node
            A tree from :func:`~xlfactor.excel.formula.parse`.
        sheet : str
            The formula's sheet: unqualified references and sheet-level names resolve there.

        Returns
        -------
        Any
            A scalar, an :class:`ExcelError`, or a 2-D list of rows for a range or array.

        Raises
        ------
        UnsupportedFormula
            A function or construct outside the supported subset.
        CircularReference
            Defined names that refer to each other.
        """
        return _public(self._eval(node, sheet))

    def _eval(self, node: Node, sheet: str) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, ErrorLiteral):
            return ExcelError(node.code)
        if isinstance(node, Missing):
            return None
        if isinstance(node, Ref):
            rows = self.resolver.cells(node.sheet or sheet, node.address)
            return _Area(rows, single=":" not in node.address, shape=_named_shape(node.address))
        if isinstance(node, Name):
            return self._name(node, sheet)
        if isinstance(node, ArrayConst):
            return [[ExcelError(v.code) if isinstance(v, ErrorLiteral) else v for v in row]
                    for row in node.rows]
        if isinstance(node, Call):
            return self._call(node, sheet)
        operands = (node.left, node.right) if isinstance(node, Binary) else (node.operand,)
        try:
            return _operate(node, [self._eval(operand, sheet) for operand in operands])
        except _Raise as err:
            return err.error

    def _name(self, node: Name, sheet: str) -> Any:
        scope = node.sheet or sheet
        key = (node.name.upper(), scope)
        if key in self._resolving:
            chain = " -> ".join(name for name, _ in [*self._resolving, key])
            raise CircularReference(f"defined names refer to each other: {chain}")
        text = self.resolver.defined_name(node.name, scope)
        if text is None:
            return ExcelError("#NAME?")
        if text not in self._parsed:
            self._parsed[text] = parse(text)
        self._resolving.append(key)
        try:
            return self._eval(self._parsed[text], scope)
        finally:
            self._resolving.pop()

    def _call(self, node: Call, sheet: str) -> Any:
        name, args = node.name, node.args
        if name in self.functions:
            values = _aligned([self._eval(a, sheet) for a in args])
            return self.functions[name](*(_public(v) for v in values))
        if name not in _BUILTINS and name not in _LAZY:
            raise UnsupportedFormula(f"function {name} is not supported")
        low, high = _LAZY[name] if name in _LAZY else _BUILTINS[name][1:]
        if not low <= len(args) <= high:
            raise UnsupportedFormula(f"{name} takes {low} to {high} arguments, not {len(args)}")
        try:
            if name in _LAZY:
                return self._lazy(name, args, sheet)
            return _BUILTINS[name][0](*(self._eval(a, sheet) for a in args))
        except _Raise as err:
            return err.error

    def _lazy(self, name: str, args: tuple[Node, ...], sheet: str) -> Any:
        first = self._eval(args[0], sheet)
        if name == "IFERROR":
            rows = _rows(first)  # a range is not an error, unless it is one cell holding one
            one = rows is not None and len(rows) == 1 and len(rows[0]) == 1
            probe = rows[0][0] if one else first if rows is None else None  # type: ignore[index]
            if not isinstance(probe, ExcelError):
                return first
            chosen = args[1]
        elif _bool(first):
            chosen = args[1]
        elif len(args) == 3:
            chosen = args[2]
        else:
            return False  # IF(FALSE, x) is FALSE
        # An omitted branch, as in IF(c, x, ), gives 0 in Excel rather than a blank
        return 0 if isinstance(chosen, Missing) else self._eval(chosen, sheet)

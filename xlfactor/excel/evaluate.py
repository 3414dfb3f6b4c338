"""Evaluate parsed formulas with Excel's coercion rules, without Excel.

Values are Python scalars (``None`` for a blank cell, ``int``/``float``, ``str``, ``bool``,
``datetime``, :class:`ExcelError`) or 2-D lists of rows for ranges and arrays. Element-wise
array arithmetic is out of scope: an operator given a range larger than 1x1 raises
:class:`~xlfactor.excel.formula.UnsupportedFormula`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType
from typing import Any

from xlfactor.excel.coercion import (  # noqa: F401 - ExcelError and friends, as before
    Area,
    CircularReference,
    ErrorRaised,
    ExcelError,
    Resolver,
    aligned,
    as_bool,
    as_number,
    as_rows,
    as_scalar,
    as_text,
    cell_at,
    fail,
    flat_args,
    is_number,
    named_shape,
    numbers_in,
    operate,
    public_value,
    shape_of,
)
from xlfactor.excel.formula import (
    ArrayConst,
    Binary,
    Call,
    ErrorLiteral,
    Literal,
    Missing,
    Name,
    Node,
    Ref,
    UnsupportedFormula,
    parse,
)

# --- built-in functions -----------------------------------------------------------------

def _index(array: Any, row: Any = None, col: Any = None) -> Any:
    if isinstance(array, ExcelError):
        raise ErrorRaised(array)
    rows = as_rows(array) or [[array]]
    n_rows, n_cols = shape_of(array) or (1, 1)
    r = 0 if row is None else int(as_number(row))
    c = None if col is None else int(as_number(col))
    if c is None:  # INDEX(r, n) walks along a one-row or one-column range
        r, c = (1, r) if n_rows == 1 else (r, 1 if n_cols == 1 else 0)
    if r < 0 or c < 0:
        raise fail("#VALUE!")
    if r > n_rows or c > n_cols:
        raise fail("#REF!")
    width = max((len(line) for line in rows), default=0)
    picked = [[cell_at(rows, i, j) for j in (range(width) if c == 0 else [c - 1])]
              for i in (range(len(rows)) if r == 0 else [r - 1])]
    if isinstance(array, Area):
        return Area(picked, single=bool(r and c),
                     shape=(n_rows if r == 0 else 1, n_cols if c == 0 else 1))
    return picked[0][0] if r and c else picked


def _and_or(args: tuple[Any, ...], combine: Callable[[list[bool]], bool]) -> bool:
    seen = []
    for value, direct in flat_args(args):
        if isinstance(value, ExcelError):
            raise ErrorRaised(value)
        if direct and value is not None or isinstance(value, bool) or is_number(value):
            seen.append(as_bool(value))
    if not seen:  # only text and blanks in the ranges
        raise fail("#VALUE!")
    return combine(seen)


def _count(args: tuple[Any, ...]) -> int:
    n = 0
    for value, direct in flat_args(args):
        if direct and not isinstance(value, ExcelError):
            try:
                as_number(value)
            except ErrorRaised:
                continue
            n += 1
        elif is_number(value):
            n += 1
    return n


def _round(x: Any, digits: Any = 0) -> float:
    # Decimal of the shortest repr rounds 2.675 to 2.68 like Excel; halves go away from zero
    places = max(-400, min(400, int(as_number(digits))))  # beyond that no double changes
    exponent = Decimal(1).scaleb(-places)
    rounded = Decimal(repr(as_number(x))).quantize(exponent, ROUND_HALF_UP, Context(prec=1000))
    return float(rounded)


def _date(year: Any, month: Any, day: Any) -> dt.datetime:
    y, m, d = (int(as_number(v)) for v in (year, month, day))
    y += 1900 if 0 <= y < 1900 else 0  # Excel reads DATE(99,1,1) as 1999
    if not 1900 <= y <= 9999:
        raise fail("#NUM!")
    y, m = divmod(y * 12 + m - 1, 12)  # months and days past the end roll over, as in Excel
    try:
        result = dt.datetime(y, m + 1, 1) + dt.timedelta(days=d - 1)
    except (ValueError, OverflowError):
        raise fail("#NUM!") from None
    if result < dt.datetime(1900, 1, 1) or result.year > 9999:
        raise fail("#NUM!")
    return result


def _average(*args: Any) -> float:
    numbers = numbers_in(args)
    if not numbers:
        raise fail("#DIV/0!")
    return sum(numbers) / len(numbers)


def _size(value: Any, axis: int) -> int:
    shape = shape_of(value)
    if shape is None and isinstance(value, ExcelError):
        raise ErrorRaised(value)
    return 1 if shape is None else shape[axis]


# name: (function of evaluated arguments, fewest arguments, most arguments)
_BUILTINS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "INDEX": (_index, 2, 3),
    "COUNTA": (lambda *a: sum(1 for v, d in flat_args(a) if d or v is not None), 1, 255),
    "COUNT": (lambda *a: _count(a), 1, 255),
    "SUM": (lambda *a: float(math.fsum(numbers_in(a))), 1, 255),
    "MIN": (lambda *a: min(numbers_in(a), default=0.0), 1, 255),
    "MAX": (lambda *a: max(numbers_in(a), default=0.0), 1, 255),
    "AVERAGE": (_average, 1, 255),
    "AND": (lambda *a: _and_or(a, all), 1, 255),
    "OR": (lambda *a: _and_or(a, any), 1, 255),
    "NOT": (lambda v: not as_bool(v), 1, 1),
    "ISNUMBER": (lambda v: is_number(as_scalar(v)), 1, 1),
    "ISBLANK": (lambda v: as_scalar(v) is None, 1, 1),
    "ISERROR": (lambda v: isinstance(as_scalar(v), ExcelError), 1, 1),
    "ROWS": (lambda v: _size(v, 0), 1, 1),
    "COLUMNS": (lambda v: _size(v, 1), 1, 1),
    "ABS": (lambda v: abs(as_number(v)), 1, 1),
    "ROUND": (_round, 2, 2),
    "DATE": (_date, 3, 3),
    "TODAY": (lambda: dt.datetime.combine(dt.date.today(), dt.time()), 0, 0),
    "LEN": (lambda v: len(as_text(v)), 1, 1),
    "UPPER": (lambda v: as_text(v).upper(), 1, 1),
    "LOWER": (lambda v: as_text(v).lower(), 1, 1),
    # Excel's TRIM drops leading/trailing spaces and collapses inner runs to one space
    "TRIM": (lambda v: re.sub(" +", " ", as_text(v)).strip(" "), 1, 1),
    "CONCAT": (lambda *a: "".join(as_text(v) for v, _ in flat_args(a)), 1, 253),
    "CONCATENATE": (lambda *a: "".join(as_text(v) for v in a), 1, 255),
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
        #: Error messages of worksheet functions, for callers that report them.
        self.notes: list[str] = []
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
        return public_value(self._eval(node, sheet))

    def _eval(self, node: Node, sheet: str) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, ErrorLiteral):
            return ExcelError(node.code)
        if isinstance(node, Missing):
            return None
        if isinstance(node, Ref):
            rows = self.resolver.cells(node.sheet or sheet, node.address)
            return Area(rows, single=":" not in node.address, shape=named_shape(node.address))
        if isinstance(node, Name):
            return self._name(node, sheet)
        if isinstance(node, ArrayConst):
            return [[ExcelError(v.code) if isinstance(v, ErrorLiteral) else v for v in row]
                    for row in node.rows]
        if isinstance(node, Call):
            return self._call(node, sheet)
        operands = (node.left, node.right) if isinstance(node, Binary) else (node.operand,)
        try:
            return operate(node, [self._eval(operand, sheet) for operand in operands])
        except ErrorRaised as err:
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
            values = aligned([self._eval(a, sheet) for a in args])
            return self.functions[name](*(public_value(v) for v in values))
        if name not in _BUILTINS and name not in _LAZY:
            raise UnsupportedFormula(f"function {name} is not supported")
        low, high = _LAZY[name] if name in _LAZY else _BUILTINS[name][1:]
        if not low <= len(args) <= high:
            raise UnsupportedFormula(f"{name} takes {low} to {high} arguments, not {len(args)}")
        try:
            if name in _LAZY:
                return self._lazy(name, args, sheet)
            return _BUILTINS[name][0](*(self._eval(a, sheet) for a in args))
        except ErrorRaised as err:
            return err.error

    def _lazy(self, name: str, args: tuple[Node, ...], sheet: str) -> Any:
        first = self._eval(args[0], sheet)
        if name == "IFERROR":
            rows = as_rows(first)  # a range is not an error, unless it is one cell holding one
            one = rows is not None and len(rows) == 1 and len(rows[0]) == 1
            probe = rows[0][0] if one else first if rows is None else None  # type: ignore[index]
            if not isinstance(probe, ExcelError):
                return first
            chosen = args[1]
        elif as_bool(first):
            chosen = args[1]
        elif len(args) == 3:
            chosen = args[2]
        else:
            return False  # IF(FALSE, x) is FALSE
        # An omitted branch, as in IF(c, x, ), gives 0 in Excel rather than a blank
        return 0 if isinstance(chosen, Missing) else self._eval(chosen, sheet)

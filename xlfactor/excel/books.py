"""Two views of a workbook with one interface: a file read by openpyxl, and a live book in
Excel seen through xlwings.

Both give what :class:`~xlfactor.excel.evaluate.Evaluator` needs (cell values by range,
defined names) and the formulas of every sheet, so that the same code finds the tickers a
workbook's ``FACTOR_*`` formulas name (:mod:`xlfactor.excel.prefetch`) and computes those
formulas without Excel's calculation (:mod:`xlfactor.excel.values`).

Addresses are A1 style without ``$`` (``"B5:B14"``); sheet names as the workbook spells them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from xlfactor.excel.formula import (
    MAX_COL,
    MAX_ROW,
    UnsupportedFormula,
    column_letters,
    column_number,
    is_whole_lines,
)

#: The most cells one reference may read (a whole column of a sheet whose last value is in
#: row 1,048,576 would otherwise be a million Python rows per column).
MAX_READ_CELLS = 5_000_000


@dataclass(frozen=True)
class FormulaCell:
    """A cell holding a formula: where, the formula text (with ``=``), and for a formula
    saved as an array or spilled, the range its result occupied (``""`` if unknown)."""

    sheet: str
    address: str
    formula: str
    spill: str = ""

def calls_worksheet_function(formula: str) -> bool:
    """Whether the formula text calls one of xlfactor's worksheet functions (any case, as
    Excel reads names; ``_xludf.`` and like storage prefixes allowed).

    A name that merely contains ``FACTOR_`` is not such a call: ``=Risk_Factor_1*2`` (a
    defined name) and ``=MY_FACTOR_SUM(A1)`` (the user's own function) are the user's
    formulas, to be kept, never computed or replaced by an error text.
    """
    return _worksheet_call().search(formula) is not None


@functools.cache
def _worksheet_call() -> re.Pattern[str]:
    from xlfactor.excel.registry import FUNCTIONS

    names = "|".join(sorted(FUNCTIONS, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_.])(?:_xl(?:fn|udf|ws)\.)*(?:{names})\s*\(",
                      re.IGNORECASE)


#: The hidden sheet where values mode keeps the formulas it replaced by their tables
#: (:mod:`xlfactor.excel.values`); book scans skip it.
FORMULA_SHEET = "xlfactor_formulas"


class BookView(Protocol):
    """What the prefetch and the values mode read of a workbook."""

    def formula_cells(self, containing: str = "") -> Iterator[FormulaCell]:
        """Every formula of every sheet whose text contains ``containing`` (any case),
        sheet by sheet, row by row."""
        ...

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        """Values of a range as rows (a formula cell gives its computed value)."""
        ...

    def defined_name(self, name: str, sheet: str) -> str | None:
        """The refers-to text of a defined name visible from ``sheet``, without ``=``."""
        ...


_CELL = re.compile(r"([A-Z]{1,3})([0-9]+)")


def split_address(address: str) -> tuple[int, int, int, int]:
    """``"B5:C14"`` -> ``(min_row, min_col, max_row, max_col)``, 1-based."""
    corners = []
    for part in address.replace("$", "").upper().split(":")[:2]:
        match = _CELL.fullmatch(part)
        if match is None:
            raise ValueError(f"not a cell range: {address!r}")
        corners.append((int(match[2]), column_number(match[1])))
    (r1, c1), (r2, c2) = corners[0], corners[-1]
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def cell_address(row: int, col: int) -> str:
    return f"{column_letters(col)}{row}"


# -- a file ------------------------------------------------------------------------------------
class FileBook:
    """An ``.xlsx``/``.xlsm`` file read with openpyxl (formulas kept, as stored).

    Formula cells other than ``FACTOR_*`` anchors are computed on demand by ``evaluator``
    (see :meth:`attach`); values written with :meth:`put` (the tables of computed
    ``FACTOR_*`` formulas) are seen by later reads, so a formula that reads a spilled
    result gets it.

    Parameters
    ----------
    path : path-like
        The workbook. It is only read; :mod:`xlfactor.excel.values` saves a copy.
    """

    def __init__(self, path: str | Path) -> None:
        import openpyxl

        self.path = Path(path)
        self.workbook = openpyxl.load_workbook(self.path)
        self._written: dict[tuple[str, str], Any] = {}
        self._busy: set[tuple[str, str]] = set()
        self._extent: dict[tuple[str, Any], tuple[int, int]] = {}
        self.evaluator: Any = None

    def attach(self, evaluator: Any) -> None:
        """The evaluator that computes ordinary formula cells when they are read."""
        self.evaluator = evaluator

    def formula_cells(self, containing: str = "") -> Iterator[FormulaCell]:
        from openpyxl.worksheet.formula import ArrayFormula

        wanted = containing.upper()
        for ws in self.workbook.worksheets:
            # The cells the file holds, row by row; iter_rows would visit (and create) every
            # cell of the bounding box: 17 billion for one stray value at XFD1048576.
            for (_, _), cell in sorted(stored_cells(ws).items()):
                value = cell.value
                if isinstance(value, ArrayFormula):
                    found = FormulaCell(ws.title, cell.coordinate, value.text or "",
                                        value.ref or cell.coordinate)
                elif is_formula(cell):
                    found = FormulaCell(ws.title, cell.coordinate, value)
                else:
                    continue
                if wanted in found.formula.upper():
                    yield found

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        """Values of a range as rows; a range of whole columns or rows stops after its
        own last value (:meth:`extent`), as every cell past it is blank (the evaluator
        pads whole columns read together to one length, as Excel's are).

        Raises
        ------
        UnsupportedFormula
            More than :data:`MAX_READ_CELLS` cells to read.
        """
        top, left, bottom, right = split_address(address)
        if is_whole_lines(top, left, bottom, right):
            last_row, last_col = self.extent(sheet, (top, left, bottom, right))
            bottom = max(top, min(bottom, last_row)) if bottom == MAX_ROW else bottom
            right = max(left, min(right, last_col)) if right == MAX_COL else right
        size = (bottom - top + 1) * (right - left + 1)
        if size > MAX_READ_CELLS:
            raise UnsupportedFormula(
                f"{sheet}!{address} reads {size:,} cells to the sheet's last value; at most "
                f"{MAX_READ_CELLS:,} are read")
        return [[self._value(sheet, r, c) for c in range(left, right + 1)]
                for r in range(top, bottom + 1)]

    def extent(self, sheet: str, within: tuple[int, int, int, int] | None = None
               ) -> tuple[int, int]:
        """``(last row, last column)`` holding a value on ``sheet`` (inside the range
        ``within``, as ``(top, left, bottom, right)``), ``(1, 1)`` if none: found among
        the cells the file holds and the values put, never the bounding box."""
        key = (sheet, within)
        if key not in self._extent:
            top, left, bottom, right = within or (1, 1, MAX_ROW, MAX_COL)
            rows, cols = [1], [1]
            for (r, c), cell in stored_cells(self.workbook[sheet]).items():
                if cell.value is not None and top <= r <= bottom and left <= c <= right:
                    rows.append(r)
                    cols.append(c)
            for (name, address), value in self._written.items():
                r, c, _, _ = split_address(address)
                if name == sheet and value is not None and top <= r <= bottom \
                        and left <= c <= right:
                    rows.append(r)
                    cols.append(c)
            self._extent[key] = (max(rows), max(cols))
        return self._extent[key]

    def _value(self, sheet: str, row: int, col: int) -> Any:
        from openpyxl.worksheet.formula import ArrayFormula

        key = (sheet, cell_address(row, col))
        if key in self._written:
            return self._written[key]
        cell = stored_cells(self.workbook[sheet]).get((row, col))
        value = None if cell is None else cell.value
        if isinstance(value, ArrayFormula):
            return None  # a result not computed (yet): blank, as before a first refresh
        if cell is not None and is_formula(cell) and self.evaluator is not None:
            if key in self._busy:
                from xlfactor.excel.coercion import ExcelError

                return ExcelError("#REF!")  # a circular reference between cells
            from xlfactor.excel.formula import parse

            self._busy.add(key)
            try:
                return self.evaluator.evaluate(parse(value), sheet)
            finally:
                self._busy.discard(key)
        return value

    def defined_name(self, name: str, sheet: str) -> str | None:
        wanted = name.upper()
        scopes = []
        if sheet in self.workbook.sheetnames:
            scopes.append(self.workbook[sheet].defined_names)
        scopes.append(self.workbook.defined_names)
        for scope in scopes:
            for key, defined in scope.items():
                if key.upper() == wanted:
                    return defined.attr_text
        return None

    def put(self, sheet: str, row: int, col: int, value: Any) -> None:
        """Remember a computed value at a cell (what later reads of it see)."""
        self._written[(sheet, cell_address(row, col))] = value
        if value is not None:  # the extents of this sheet are found again when asked
            for key in [k for k in self._extent if k[0] == sheet]:
                del self._extent[key]


def stored_cells(ws: Any) -> dict[tuple[int, int], Any]:
    """The cells an openpyxl worksheet holds, by ``(row, column)``: only those the file
    had or that were written, not the bounding box (``ws.iter_rows`` and ``ws.cell``
    create a cell for every position they visit)."""
    return ws._cells  # noqa: SLF001 - openpyxl keeps no public view of its sparse store


def is_formula(cell: Any) -> bool:
    """Whether an openpyxl cell holds a formula; text that merely starts with ``=`` (typed
    after an apostrophe, or values mode's record of a formula) is text."""
    return cell.data_type == "f" and isinstance(cell.value, str) and cell.value.startswith("=")


def stored_value(ws: Any, row: int, col: int) -> Any:
    """The value at a cell, None for a cell the sheet does not hold; creates nothing."""
    cell = stored_cells(ws).get((row, col))
    return None if cell is None else cell.value


# -- a live book in Excel --------------------------------------------------------------------
class LiveBook:
    """A workbook open in Excel, through the xlwings object model (Windows or Mac).

    Only reads are made here: during a recalculation Excel lets a worksheet function read
    other cells but not write them. Values are Excel's own (computed) values.

    Parameters
    ----------
    book : xlwings.Book
        E.g. ``caller.sheet.book`` inside a worksheet function, or ``xw.Book.caller()``.
    skip_sheets : collection of str
        Sheets whose formulas are not read (values mode's own hidden sheet).
    """

    #: Sheets whose used range is larger than this are not scanned (a used range blown up
    #: by formatting to the last row would cost millions of cells over COM).
    MAX_CELLS_PER_SHEET = 500_000

    def __init__(self, book: Any, skip_sheets: frozenset[str] = frozenset()) -> None:
        self.book = book
        self.skip_sheets = skip_sheets
        self._names: dict[str, str] | None = None
        self.skipped: list[str] = []
        self.evaluator: Any = None  # the book's one evaluator (values.evaluator_of)

    def attach(self, evaluator: Any) -> None:
        """The evaluator of this book's formulas (cell values come from Excel)."""
        self.evaluator = evaluator

    @property
    def key(self) -> str:
        """The workbook's full name: one prefetch per open workbook."""
        return str(self.book.fullname)

    def formula_cells(self, containing: str = "") -> Iterator[FormulaCell]:
        wanted = containing.upper()
        for sheet in self.book.sheets:
            if sheet.name in self.skip_sheets:
                continue
            used = sheet.used_range
            rows, cols = used.shape
            if rows * cols > self.MAX_CELLS_PER_SHEET:
                self.skipped.append(f"{sheet.name}: used range of {rows * cols} cells not read")
                continue
            # formula2 is the dynamic-array formula; formula would add "@" operators
            grid = used.formula2
            if not isinstance(grid, (list, tuple)):
                grid = ((grid,),)
            elif grid and not isinstance(grid[0], (list, tuple)):
                grid = (tuple(grid),) if rows == 1 else tuple((g,) for g in grid)
            for i, row in enumerate(grid):
                for j, text in enumerate(row):
                    # filtered before _array_child: each of its questions is a COM round trip
                    if isinstance(text, str) and text.startswith("=") \
                            and wanted in text.upper():
                        address = cell_address(used.row + i, used.column + j)
                        if _array_child(sheet, address):
                            continue
                        yield FormulaCell(sheet.name, address, text)

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        """Values of a range as rows; whole columns or rows stop at the used range."""
        top, left, bottom, right = split_address(address)
        if is_whole_lines(top, left, bottom, right):
            used = self.book.sheets[sheet].used_range
            last_row = used.row + used.shape[0] - 1
            last_col = used.column + used.shape[1] - 1
            bottom = max(top, min(bottom, last_row)) if bottom == MAX_ROW else bottom
            right = max(left, min(right, last_col)) if right == MAX_COL else right
            address = f"{cell_address(top, left)}:{cell_address(bottom, right)}"
        value = self.book.sheets[sheet].range(address).options(ndim=2).value
        return [list(row) for row in value]

    def defined_name(self, name: str, sheet: str) -> str | None:
        if self._names is None:  # one pass over the names: each is a COM round trip
            self._names = {str(n.name).upper(): str(n.refers_to).lstrip("=")
                           for n in self.book.names}
        names = self._names
        for key in (f"{sheet}!{name}".upper(), f"'{sheet}'!{name}".upper(), name.upper()):
            if key in names:
                return names[key]
        return None


def _array_child(sheet: Any, address: str) -> bool:
    """Whether the cell is part of a legacy (Ctrl+Shift+Enter) array formula other than
    its top-left cell: every cell of such an array reports the same formula."""
    try:
        api = sheet.range(address).api
        if not api.HasArray:
            return False
        return str(api.CurrentArray.Cells(1, 1).Address).replace("$", "") != address
    except Exception:  # noqa: BLE001 - no COM (Mac, a stand-in): treat as a plain formula
        return False

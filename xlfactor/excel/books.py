"""Two views of a workbook with one interface: a file read by openpyxl, and a live book in
Excel seen through xlwings.

Both give what :class:`~xlfactor.excel.evaluate.Evaluator` needs (cell values by range,
defined names) and the formulas of every sheet, so that the same code finds the tickers a
workbook's ``FACTOR_*`` formulas name (:mod:`xlfactor.excel.prefetch`) and computes those
formulas without Excel's calculation (:mod:`xlfactor.excel.values`).

Addresses are A1 style without ``$`` (``"B5:B14"``); sheet names as the workbook spells them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class FormulaCell:
    """A cell holding a formula: where, the formula text (with ``=``), and for a formula
    saved as an array or spilled, the range its result occupied (``""`` if unknown)."""

    sheet: str
    address: str
    formula: str
    spill: str = ""


class BookView(Protocol):
    """What the prefetch and the values mode read of a workbook."""

    def formula_cells(self) -> Iterator[FormulaCell]:
        """Every formula of every sheet, sheet by sheet, row by row."""
        ...

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        """Values of a range as rows (a formula cell gives its computed value)."""
        ...

    def defined_name(self, name: str, sheet: str) -> str | None:
        """The refers-to text of a defined name visible from ``sheet``, without ``=``."""
        ...


def split_address(address: str) -> tuple[int, int, int, int]:
    """``"B5:C14"`` -> ``(min_row, min_col, max_row, max_col)``, 1-based."""
    from openpyxl.utils.cell import range_boundaries

    min_col, min_row, max_col, max_row = range_boundaries(address.replace("$", ""))
    return min_row, min_col, max_row, max_col


def cell_address(row: int, col: int) -> str:
    from openpyxl.utils.cell import get_column_letter

    return f"{get_column_letter(col)}{row}"


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
        self.evaluator: Any = None

    def attach(self, evaluator: Any) -> None:
        """The evaluator that computes ordinary formula cells when they are read."""
        self.evaluator = evaluator

    def formula_cells(self) -> Iterator[FormulaCell]:
        from openpyxl.worksheet.formula import ArrayFormula

        for ws in self.workbook.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    if isinstance(value, ArrayFormula):
                        yield FormulaCell(ws.title, cell.coordinate, value.text or "",
                                          value.ref or cell.coordinate)
                    elif isinstance(value, str) and value.startswith("="):
                        yield FormulaCell(ws.title, cell.coordinate, value)

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        top, left, bottom, right = split_address(address)
        return [[self._value(sheet, r, c) for c in range(left, right + 1)]
                for r in range(top, bottom + 1)]

    def _value(self, sheet: str, row: int, col: int) -> Any:
        from openpyxl.worksheet.formula import ArrayFormula

        key = (sheet, cell_address(row, col))
        if key in self._written:
            return self._written[key]
        value = self.workbook[sheet].cell(row=row, column=col).value
        if isinstance(value, ArrayFormula):
            return None  # a result not computed (yet): blank, as before a first refresh
        if isinstance(value, str) and value.startswith("=") and self.evaluator is not None:
            if key in self._busy:
                from .evaluate import ExcelError

                return ExcelError("#REF!")  # a circular reference between cells
            from .formula import parse

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


# -- a live book in Excel --------------------------------------------------------------------
class LiveBook:
    """A workbook open in Excel, through the xlwings object model (Windows or Mac).

    Only reads are made here: during a recalculation Excel lets a worksheet function read
    other cells but not write them. Values are Excel's own (computed) values.

    Parameters
    ----------
    book : xlwings.Book
        E.g. ``caller.sheet.book`` inside a worksheet function, or ``xw.Book.caller()``.
    """

    def __init__(self, book: Any) -> None:
        self.book = book

    @property
    def key(self) -> str:
        """The workbook's full name: one prefetch per open workbook."""
        return str(self.book.fullname)

    def formula_cells(self) -> Iterator[FormulaCell]:
        for sheet in self.book.sheets:
            used = sheet.used_range
            # formula2 is the dynamic-array formula; formula would add "@" operators
            grid = used.formula2
            if not isinstance(grid, (list, tuple)):
                grid = ((grid,),)
            elif grid and not isinstance(grid[0], (list, tuple)):
                grid = (tuple(grid),) if used.shape[0] == 1 else tuple((g,) for g in grid)
            for i, row in enumerate(grid):
                for j, text in enumerate(row):
                    if isinstance(text, str) and text.startswith("="):
                        yield FormulaCell(sheet.name, cell_address(used.row + i, used.column + j),
                                          text)

    def cells(self, sheet: str, address: str) -> list[list[Any]]:
        value = self.book.sheets[sheet].range(address).options(ndim=2).value
        return [list(row) for row in value]

    def defined_name(self, name: str, sheet: str) -> str | None:
        wanted = name.upper()
        local = f"{sheet}!{name}".upper()
        found = None
        for defined in self.book.names:
            full = str(defined.name).upper()
            if full == local or full == f"'{sheet.upper()}'!{wanted}":
                return _refers_to(defined)
            if full == wanted:
                found = _refers_to(defined)
        return found


def _refers_to(defined: Any) -> str:
    return str(defined.refers_to).lstrip("=")

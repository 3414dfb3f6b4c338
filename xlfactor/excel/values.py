"""Values mode: compute a workbook's ``FACTOR_*`` formulas in Python and write the numbers.

Classic worksheet functions need Excel for Windows and a trusted VBA bridge. Values mode
needs neither: every ``FACTOR_*`` formula is read, its arguments are evaluated
(:mod:`xlfactor.excel.evaluate`), the very functions behind the cells
(:mod:`xlfactor.udfs`, called with the arguments xlwings would hand them) compute the table,
and the table is written where the formula's result would spill. It serves

* the Refresh button on a Mac, or where the VBA project is not trusted
  (:func:`refresh_live`): the anchors' formulas are kept on a hidden sheet, so the next
  Refresh computes them again;
* ``xlfactor refresh BOOK.xlsm`` (:mod:`xlfactor.excel.file_refresh`): a values copy of a workbook file,
  for scheduled jobs and for people without Python. The original is never written.

Formulas other than ``FACTOR_*`` stay formulas: the application that opens the copy
computes them, from the values written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .books import FileBook, FormulaCell, LiveBook, cell_address, split_address

#: The hidden sheet where values mode keeps the formulas it replaced by their values.
FORMULA_SHEET = "xlfactor_formulas"
#: Values written for a table longer than this are cut (a sheet-sized answer, not a dump).
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Computed:
    """One ``FACTOR_*`` formula and the table it computed (rows of cell values)."""

    cell: FormulaCell
    table: list[list[Any]]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.table), max((len(r) for r in self.table), default=0)


@dataclass
class Report:
    """What a values refresh did."""

    computed: list[Computed] = field(default_factory=list)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """``Sheet!A1: #N/A ...`` for every formula whose answer is an error message."""
        return [f"{c.cell.sheet}!{c.cell.address}: {c.table[0][0]}" for c in self.computed
                if len(c.table) == 1 and len(c.table[0]) == 1 and _is_error_text(c.table[0][0])]


def _is_error_text(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("#") and " " in value


# -- computing ---------------------------------------------------------------------------------
def udf_arguments(function_name: str, values: Iterable[Any]) -> list[Any]:
    """Evaluated formula arguments as xlwings hands them to a worksheet function.

    Error values arrive as their text (the functions are declared ``err_to_str``); range
    arguments (:data:`xlfactor.udfs.RANGE_ARGUMENTS`) as 2-D lists even for one cell; other
    arguments as a scalar for one cell, a list for one row or column, else 2-D lists.
    """
    from .. import udfs
    from .evaluate import ExcelError
    from .prefetch import parameters

    names = parameters(function_name)
    out = []
    for i, value in enumerate(values):
        if isinstance(value, ExcelError):
            value = str(value)
        elif isinstance(value, list):
            value = [[str(v) if isinstance(v, ExcelError) else v for v in row] for row in value]
        name = names[i] if i < len(names) else ""
        out.append(_as_2d(value) if name in udfs.RANGE_ARGUMENTS else _as_xlwings(value))
    return out


def _as_2d(value: Any) -> Any:
    if value is None:
        return None
    return value if isinstance(value, list) else [[value]]


def _as_xlwings(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    if len(value) == 1 and len(value[0]) == 1:
        return value[0][0]
    if len(value) == 1:
        return list(value[0])
    if all(len(row) == 1 for row in value):
        return [row[0] for row in value]
    return value


def worksheet_functions() -> dict[str, Callable[..., Any]]:
    """``FACTOR_*`` name -> a callable taking evaluated formula arguments."""
    from .. import udfs

    def bind(name: str) -> Callable[..., Any]:
        func = getattr(udfs, name)
        return lambda *args: func(*udf_arguments(name, args))

    return {name: bind(name) for name in dir(udfs) if name.startswith("FACTOR_")}


def compute(book: FileBook | LiveBook, cells: Iterable[FormulaCell] | None = None
            ) -> list[Computed]:
    """Compute every ``FACTOR_*`` formula of ``book`` (or those in ``cells``), in order.

    A formula the evaluator cannot read becomes a one-cell table saying why, as a cell
    function's own error would.
    """
    from .evaluate import Evaluator, ExcelError
    from .formula import parse

    evaluator = Evaluator(book, worksheet_functions())
    if isinstance(book, FileBook):
        book.attach(evaluator)
    done = []
    for cell in cells if cells is not None else factor_formulas(book):
        try:
            value = evaluator.evaluate(parse(cell.formula), cell.sheet)
        except (ValueError, RecursionError) as err:
            value = f"#N/A values mode cannot compute this formula: {err}"[:250]
        if isinstance(value, ExcelError):
            value = str(value)
        table = _table(value)
        done.append(Computed(cell, table))
        if isinstance(book, FileBook):
            top, left, _, _ = split_address(cell.address)
            for i, row in enumerate(table):
                for j, item in enumerate(row):
                    book.put(cell.sheet, top + i, left + j, item)
    return done


def factor_formulas(book: FileBook | LiveBook) -> list[FormulaCell]:
    return [c for c in book.formula_cells() if "FACTOR_" in c.formula.upper()]


def _table(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        return [[value]]
    rows = [row if isinstance(row, list) else [row] for row in value][:MAX_ROWS]
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [None] * (width - len(r)) for r in rows]


def _prefetch(book: FileBook | LiveBook, report: Report) -> None:
    from ..errors import XlFactorError
    from . import prefetch

    try:
        prefetch.fetch(prefetch.plan(book))
    except XlFactorError as err:
        report.warnings.append(f"prefetch failed ({err}); each formula fetched on its own")


# -- a workbook open in Excel --------------------------------------------------------------
def refresh_live(book: Any) -> Report:
    """Values mode inside Excel (the Refresh button on a Mac): compute every ``FACTOR_*``
    formula of the xlwings ``book`` and write its table in place of the formula.

    The replaced formulas are kept on the hidden sheet :data:`FORMULA_SHEET` (sheet,
    cell, formula, rows and columns written), where the next refresh finds them again.
    """
    view = LiveBook(book)
    kept = _kept_formulas(book)
    current = {(c.sheet, c.address): c for c in factor_formulas(view)}
    for key, (cell, shape) in kept.items():
        if key not in current:  # its anchor holds last refresh's values
            current[key] = FormulaCell(cell.sheet, cell.address, cell.formula, _spill(cell, shape))
    report = Report()
    _prefetch(view, report)
    report.computed = compute(view, list(current.values()))
    for done in report.computed:
        sheet = book.sheets[done.cell.sheet]
        if done.cell.spill:
            sheet.range(done.cell.spill).clear_contents()
        top, left, _, _ = split_address(done.cell.address)
        sheet.range((top, left)).value = [[_live_value(v) for v in row] for row in done.table]
    _keep_formulas(book, report.computed)
    return report


def _spill(cell: FormulaCell, shape: tuple[int, int]) -> str:
    top, left, _, _ = split_address(cell.address)
    rows, cols = shape
    if rows < 1 or cols < 1:
        return ""
    return f"{cell.address}:{cell_address(top + rows - 1, left + cols - 1)}"


def _live_value(value: Any) -> Any:
    from ..export import neutralize

    return neutralize(value)


def _kept_formulas(book: Any) -> dict[tuple[str, str], tuple[FormulaCell, tuple[int, int]]]:
    names = [s.name for s in book.sheets]
    if FORMULA_SHEET not in names:
        return {}
    rows = book.sheets[FORMULA_SHEET].range("A1").options(ndim=2, expand="table").value or []
    kept = {}
    for row in rows[1:]:
        if len(row) >= 5 and row[0] and row[1] and isinstance(row[2], str):
            cell = FormulaCell(str(row[0]), str(row[1]), _formula_text(row[2]))
            kept[(cell.sheet, cell.address)] = (cell, (int(row[3] or 0), int(row[4] or 0)))
    return kept


def _formula_text(stored: str) -> str:
    # Kept with a leading apostrophe so that the hidden sheet holds text, not formulas.
    return stored.removeprefix("'")


def _keep_formulas(book: Any, computed: list[Computed]) -> None:
    names = [s.name for s in book.sheets]
    sheet = book.sheets[FORMULA_SHEET] if FORMULA_SHEET in names else \
        book.sheets.add(FORMULA_SHEET, after=book.sheets[len(names) - 1])
    rows = [["Sheet", "Cell", "Formula", "Rows", "Columns"]]
    rows += [[c.cell.sheet, c.cell.address, "'" + c.cell.formula, *c.shape] for c in computed]
    sheet.range("A1").options(ndim=2, expand="table").clear_contents()
    sheet.range("A1").value = rows
    sheet.visible = False

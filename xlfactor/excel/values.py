"""Values mode: compute a workbook's ``FACTOR_*`` formulas in Python and write the numbers.

Classic worksheet functions need Excel for Windows and a trusted VBA bridge. Values mode
needs neither: every ``FACTOR_*`` formula is read, its arguments are evaluated
(:mod:`xlfactor.excel.evaluate`), the very functions behind the cells
(:mod:`xlfactor.udfs`, called with the arguments xlwings would hand them) compute the table,
and the table is written where the formula's result would spill. It serves

* the Refresh button on a Mac, or where the VBA project is not trusted
  (:func:`refresh_live`): the anchors' formulas are kept on a hidden sheet, so the next
  Refresh computes them again;
* ``xlfactor refresh BOOK.xlsm`` (:mod:`xlfactor.excel.file_refresh`): a values copy
  of a workbook file, for scheduled jobs and for people without Python.

Formulas other than ``FACTOR_*`` stay formulas: the application that opens the copy
computes them, from the values written here. As in Excel, a table never overwrites data
in its way: the anchor then says ``#SPILL!`` and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlfactor.excel.books import (
    FORMULA_SHEET,
    FileBook,
    FormulaCell,
    LiveBook,
    calls_worksheet_function,
    cell_address,
    split_address,
)
from xlfactor.excel.calls import evaluator_of
from xlfactor.excel.sheet import (  # noqa: F401 - the cell-message tests, as before
    MAX_MESSAGE,
    error_text,
    failed_anchor,
)

#: The hidden sheet where values mode keeps the formulas it replaced by their values.
#: Values written for a table longer than this are cut (a sheet-sized answer, not a dump).
MAX_ROWS = 100_000
#: What a ``FACTOR_*`` formula that could not be computed at all leaves in a values copy.
NOT_COMPUTED = "#N/A not computed by xlfactor refresh: "


@dataclass(frozen=True)
class Computed:
    """One ``FACTOR_*`` formula and the table it computed (rows of cell values)."""

    cell: FormulaCell
    table: list[list[Any]]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.table), max((len(r) for r in self.table), default=0)

    @property
    def where(self) -> str:
        return f"{self.cell.sheet}!{self.cell.address}"

    @property
    def anchor(self) -> Any:
        return self.table[0][0] if self.table and self.table[0] else None

    @property
    def failed(self) -> bool:
        """The whole table is an error: its anchor says why (``#SPILL!``, ``#REF!``, a
        function's own message), as Excel would show in place of the result."""
        return failed_anchor(self.anchor)

    @property
    def problem(self) -> str | None:
        """The anchor's error for a failed table, else the first cell saying something
        was not computed; None for a complete table."""
        if self.failed:
            return str(self.anchor)
        return next((v for row in self.table for v in row if error_text(v)), None)


@dataclass
class Report:
    """What a values refresh did; ``computed`` holds the tables as written."""

    computed: list[Computed] = field(default_factory=list)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)
    #: ``Sheet!A1: reason`` for FACTOR_* formulas that were not computed at all and were
    #: replaced by an error text (the refresh stopped before computing them).
    not_computed: list[str] = field(default_factory=list)
    #: The template's refresh (:class:`xlfactor.excel.refresh.Outcome`), None otherwise.
    outcome: Any = None

    @property
    def failed(self) -> list[Computed]:
        """Tables that are one error in place of the result."""
        return [c for c in self.computed if c.failed]

    @property
    def partial(self) -> list[Computed]:
        """Tables with a result and some cells in error (a ticker's row, a model)."""
        return [c for c in self.computed if not c.failed and c.problem is not None]

    @property
    def complete(self) -> list[Computed]:
        return [c for c in self.computed if c.problem is None]

    @property
    def errors(self) -> list[str]:
        """``Sheet!A1: <message>`` for every table holding an error message (a whole-table
        error, or a row such as one ticker's ``#N/A unknown ticker``), and for every
        formula not computed."""
        return [*(f"{c.where}: {c.problem}" for c in self.computed if c.problem is not None),
                *self.not_computed]

    def lines(self) -> list[str]:
        """The errors, then the warnings: everything the user should read."""
        return [*self.errors, *self.warnings]


# -- computing ---------------------------------------------------------------------------------
def compute(book: FileBook | LiveBook, cells: Iterable[FormulaCell] | None = None
            ) -> list[Computed]:
    """Compute every ``FACTOR_*`` formula of ``book`` (or those in ``cells``), in order.

    Never raises for one formula: a formula the evaluator cannot read, or whose
    arguments a function refuses, becomes a one-cell table saying why, as the cell
    function's own error would.
    """
    from xlfactor.excel.evaluate import ExcelError
    from xlfactor.excel.formula import parse
    from xlfactor.excel.sheet import error_cell

    evaluator = evaluator_of(book)
    notes = evaluator.notes  # error messages of the FACTOR_* calls inside one formula
    done = []
    for cell in cells if cells is not None else factor_formulas(book):
        notes.clear()
        try:
            value = evaluator.evaluate(parse(cell.formula), cell.sheet)
        except (ValueError, RecursionError) as err:
            value = f"#N/A values mode cannot compute this formula: {err}"[:MAX_MESSAGE]
        except Exception as err:  # noqa: BLE001 - one formula must not stop the others
            value = error_cell(err)
        if isinstance(value, ExcelError):
            value = _error_message(value, notes)
        table = _table(value)
        done.append(Computed(cell, table))
        if isinstance(book, FileBook):
            top, left, _, _ = split_address(cell.address)
            for i, row in enumerate(table):
                for j, item in enumerate(row):
                    book.put(cell.sheet, top + i, left + j, item)
    return done


def _error_message(error: Any, notes: list[str]) -> str:
    """A formula whose result is a bare Excel error (``=INDEX(FACTOR_BETAS(...),2,3)`` past
    an error table gives ``#REF!``) says so in words, with the first message of a
    ``FACTOR_*`` call inside it: a bare code would not say what failed."""
    text = f"{error} the formula's result is an error"
    if notes:
        text += f"; inside it {notes[0]}"
    return text[:MAX_MESSAGE]


def factor_formulas(book: FileBook | LiveBook) -> list[FormulaCell]:
    # "FACTOR_" only narrows the scan (cheaply, over COM); the call decides
    return [c for c in book.formula_cells("FACTOR_") if calls_worksheet_function(c.formula)]


def _table(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        return [[value]]
    rows = [row if isinstance(row, list) else [row] for row in value][:MAX_ROWS]
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [None] * (width - len(r)) for r in rows]


def area(cell: FormulaCell, shape: tuple[int, int]) -> str:
    """The range a table of ``shape`` occupies from the cell's anchor."""
    top, left, _, _ = split_address(cell.address)
    rows, cols = max(shape[0], 1), max(shape[1], 1)
    return f"{cell.address}:{cell_address(top + rows - 1, left + cols - 1)}"


def in_the_way(cells: list[list[Any]], done: Computed, old: str) -> bool:
    """Whether the target area (rows of its current values) holds data that the table
    would overwrite: anything but the anchor and the previous result's area."""
    top, left, _, _ = split_address(done.cell.address)
    a, b, c, d = split_address(old) if old else (0, 0, -1, -1)
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            r, col = top + i, left + j
            if (i, j) == (0, 0) or (a <= r <= c and b <= col <= d):
                continue
            if value not in (None, ""):
                return True
    return False


def spill_message(target: str) -> list[list[Any]]:
    return [[f"#SPILL! values mode: the table needs {target}; cells in the way hold data"]]


# -- a workbook open in Excel --------------------------------------------------------------
def refresh_live(book: Any) -> Report:
    """Values mode inside Excel (the Refresh button on a Mac): compute every ``FACTOR_*``
    formula of the xlwings ``book`` and write its table in place of the formula.

    The formulas are recorded on the hidden sheet :data:`FORMULA_SHEET` *before* any
    table is written (anchor as a reference formula that Excel keeps up to date when rows,
    columns or sheets change; formula text; the size of the table written), so the next
    refresh finds them again. A kept anchor whose cell was cleared is dropped: deleting a
    table's values deletes the table. One table failing does not stop the others.
    """
    view = LiveBook(book, skip_sheets=frozenset({FORMULA_SHEET}))
    kept = _kept_formulas(book)
    current: dict[tuple[str, str], FormulaCell] = {}
    for c in factor_formulas(view):
        old = kept.get((c.sheet, c.address))  # a formula retyped over last refresh's table
        current[(c.sheet, c.address)] = FormulaCell(c.sheet, c.address, c.formula,
                                                    area(c, old[1]) if old else "")
    for key, (cell, shape) in kept.items():
        if key in current:
            continue
        anchor = book.sheets[cell.sheet].range(cell.address).value
        if anchor not in (None, ""):  # still holds last refresh's table
            current[key] = FormulaCell(cell.sheet, cell.address, cell.formula, area(cell, shape))
    report = Report()
    cells = list(current.values())
    _keep_formulas(book, [Computed(c, _old_shape(c)) for c in cells])
    from xlfactor.excel.prefetch import prefetch_for

    prefetch_for(view, cells, report)
    report.computed = compute(view, cells)
    written, shown = [], []
    for done in report.computed:
        try:
            written.append(_write_live(book, done))
            shown.append(written[-1])
        except Exception as err:  # noqa: BLE001 - one table must not stop the others
            report.warnings.append(f"{done.cell.sheet}!{done.cell.address} not written: {err}")
            written.append(done)  # its size, for the next refresh to clear
            shown.append(Computed(done.cell, [[f"#N/A not written: {err}"[:MAX_MESSAGE]]]))
    report.computed = shown  # what the sheets show, #SPILL! included
    _keep_formulas(book, written)
    report.warnings.extend(view.skipped)
    return report


def _old_shape(cell: FormulaCell) -> list[list[Any]]:
    """A placeholder table of the previous result's size (what to clear next time)."""
    if not cell.spill:
        return [[None]]
    top, left, bottom, right = split_address(cell.spill)
    return [[None] * (right - left + 1) for _ in range(bottom - top + 1)]


def _write_live(book: Any, done: Computed) -> Computed:
    from xlfactor.excel.export import neutralize

    sheet = book.sheets[done.cell.sheet]
    target = area(done.cell, done.shape)
    current = sheet.range(target).options(ndim=2).value
    if in_the_way(current, done, done.cell.spill):
        done = Computed(done.cell, spill_message(target))
    if done.cell.spill:
        sheet.range(done.cell.spill).clear_contents()
    top, left, _, _ = split_address(done.cell.address)
    sheet.range((top, left)).value = [[neutralize(v) for v in row] for row in done.table]
    return done


def _kept_formulas(book: Any) -> dict[tuple[str, str], tuple[FormulaCell, tuple[int, int]]]:
    """Anchor -> (its formula, the size of the table last written), from the hidden sheet."""
    from xlfactor.excel.formula import Ref, parse

    if FORMULA_SHEET not in [s.name for s in book.sheets]:
        return {}
    sheet = book.sheets[FORMULA_SHEET]
    used = sheet.used_range
    anchors = sheet.range((2, 1), (max(used.row + used.shape[0] - 1, 2), 1)).formula2
    values = sheet.range((2, 2), (max(used.row + used.shape[0] - 1, 2), 4)).options(
        ndim=2).value
    if not isinstance(anchors, (list, tuple)):
        anchors = ((anchors,),)
    kept = {}
    for anchor, row in zip(anchors, values):
        text = anchor[0] if isinstance(anchor, (list, tuple)) else anchor
        try:
            ref = parse(str(text))
        except ValueError:
            continue
        if not isinstance(ref, Ref) or ref.sheet is None or not isinstance(row[0], str):
            continue
        cell = FormulaCell(ref.sheet, ref.address.split(":")[0], row[0].removeprefix("'"))
        kept[(cell.sheet, cell.address)] = (cell, (int(row[1] or 0), int(row[2] or 0)))
    return kept


def _keep_formulas(book: Any, computed: list[Computed]) -> None:
    """Write the hidden sheet: ``=Sheet!A1`` anchors, formula texts, table sizes."""
    names = [s.name for s in book.sheets]
    active = _active_sheet(book)
    if FORMULA_SHEET in names:
        sheet = book.sheets[FORMULA_SHEET]
        sheet.used_range.clear_contents()
    else:
        sheet = book.sheets.add(FORMULA_SHEET, after=book.sheets[len(names) - 1])
    rows = [["Anchor", "Formula", "Rows", "Columns"]]
    rows += [[f"={_quoted(c.cell.sheet)}!{c.cell.address}", "'" + c.cell.formula, *c.shape]
             for c in computed]
    sheet.range("A1").value = rows
    sheet.visible = False
    if active is not None:
        _activate(active)


def _quoted(sheet: str) -> str:
    return sheet if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sheet) else \
        "'" + sheet.replace("'", "''") + "'"


def _active_sheet(book: Any) -> Any:
    try:
        return book.sheets.active
    except Exception:  # noqa: BLE001 - no active sheet to give back
        return None


def _activate(sheet: Any) -> None:
    try:
        sheet.activate()
    except Exception:  # noqa: BLE001, S110 - the user is at worst left on another sheet
        pass

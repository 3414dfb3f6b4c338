"""An in-memory stand-in for the slice of xlwings' object model that a workbook open in
Excel offers (``Book.sheets``, ``Sheet.used_range``, ``Range.formula2`` / ``.value`` /
``.options(ndim=2)`` / ``.clear_contents()``, ``Book.names`` with ``refers_to``),
loaded from a real workbook file with openpyxl.

It behaves as the xlwings documentation describes for Excel: reading ``value`` of a range
gives the stored values (formula cells give what Excel last computed, here what the file
holds: None for a formula never computed), ``formula2`` gives formula texts, and writing
``value`` of a one-cell range with a 2-D list fills the block from that cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula


class FakeBook:
    def __init__(self, path: Path, computed: dict[tuple[str, str], Any] | None = None) -> None:
        wb = load_workbook(path)
        self.fullname = str(path)
        self.formulas: dict[str, dict[tuple[int, int], str]] = {}
        self.values: dict[str, dict[tuple[int, int], Any]] = {}
        self.order: list[str] = []
        for ws in wb.worksheets:
            self._add(ws.title)
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    key = (cell.row, cell.column)
                    if isinstance(value, ArrayFormula):
                        self.formulas[ws.title][key] = value.text
                    elif isinstance(value, str) and value.startswith("="):
                        self.formulas[ws.title][key] = value
                    elif value is not None:
                        self.values[ws.title][key] = value
        for (sheet, address), value in (computed or {}).items():  # what Excel would compute
            col, row, _, _ = range_boundaries(address)
            self.values[sheet][(row, col)] = value
        self.sheets = FakeSheets(self)
        self.names = FakeNames([FakeName(self, n, d.attr_text)
                                for n, d in wb.defined_names.items()])
        self.app = FakeApp()
        self.pictures: dict[str, tuple[str, Any]] = {}  # picture name -> (sheet, image)
        self.active = self.order[0]
        self.hidden: set[str] = set()

    def _add(self, name: str) -> None:
        self.order.append(name)
        self.formulas[name] = {}
        self.values[name] = {}


class FakeApp:
    def __init__(self) -> None:
        self.status_bar: Any = False
        self.calculations = 0

    def calculate(self) -> None:
        self.calculations += 1


class FakeNames(list):
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for name in self:
                if name.name == key:
                    return name
            raise KeyError(key)
        return super().__getitem__(key)


class FakeName:
    def __init__(self, book: FakeBook, name: str, text: str) -> None:
        self.book = book
        self.name = name
        self.refers_to = "=" + text

    @property
    def refers_to_range(self) -> FakeRange:
        sheet, address = self.refers_to[1:].rsplit("!", 1)
        return self.book.sheets[sheet.strip("'")].range(address)


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book = book

    def __iter__(self):
        return iter(FakeSheet(self.book, n) for n in self.book.order)

    def __len__(self) -> int:
        return len(self.book.order)

    def __getitem__(self, key: str | int) -> FakeSheet:
        name = self.book.order[key] if isinstance(key, int) else key
        if name not in self.book.order:
            raise KeyError(name)
        return FakeSheet(self.book, name)

    def add(self, name: str, after: Any = None) -> FakeSheet:
        self.book._add(name)
        self.book.active = name  # as in Excel: a new sheet becomes the active one
        return FakeSheet(self.book, name)

    @property
    def active(self) -> FakeSheet:
        return FakeSheet(self.book, self.book.active)


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book = book
        self.name = name

    @property
    def visible(self) -> bool:
        return self.name not in self.book.hidden

    @visible.setter
    def visible(self, value: bool) -> None:
        (self.book.hidden.discard if value else self.book.hidden.add)(self.name)

    @property
    def pictures(self) -> FakePictures:
        return FakePictures(self)

    @property
    def used_range(self) -> FakeRange:
        keys = list(self.book.formulas[self.name]) + list(self.book.values[self.name])
        if not keys:
            return FakeRange(self, 1, 1, 1, 1)
        rows = [k[0] for k in keys]
        cols = [k[1] for k in keys]
        return FakeRange(self, min(rows), min(cols), max(rows), max(cols))

    def range(self, where: Any, corner: Any = None) -> FakeRange:
        if isinstance(where, tuple):
            last = corner if corner is not None else where
            return FakeRange(self, where[0], where[1], last[0], last[1])
        col1, row1, col2, row2 = range_boundaries(where.replace("$", ""))
        return FakeRange(self, row1, col1, row2, col2)

    def activate(self) -> None:
        self.book.active = self.name


class FakePictures:
    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet

    def add(self, image: Any, name: str = "", update: bool = False, anchor: Any = None,
            **_: Any) -> Any:
        self.sheet.book.pictures[name] = (self.sheet.name, image)
        return image


class FakeRange:
    def __init__(self, sheet: FakeSheet, top: int, left: int, bottom: int, right: int,
                 ndim: int | None = None, expand: str | None = None) -> None:
        self.sheet = sheet
        self.row, self.column, self.bottom, self.right = top, left, bottom, right
        self.ndim = ndim
        self.expand = expand

    @property
    def shape(self) -> tuple[int, int]:
        return self.bottom - self.row + 1, self.right - self.column + 1

    @property
    def address(self) -> str:
        return (f"${get_column_letter(self.column)}${self.row}:"
                f"${get_column_letter(self.right)}${self.bottom}")

    def options(self, ndim: int | None = None, expand: str | None = None) -> FakeRange:
        return FakeRange(self.sheet, self.row, self.column, self.bottom, self.right, ndim, expand)

    def _cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.row, self.bottom + 1)
                for c in range(self.column, self.right + 1)]

    def _table_extent(self) -> FakeRange:
        values = self.sheet.book.values[self.sheet.name]
        bottom, right = self.row, self.column
        while (bottom + 1, self.column) in values:
            bottom += 1
        while (self.row, right + 1) in values:
            right += 1
        return FakeRange(self.sheet, self.row, self.column, bottom, right, self.ndim)

    @property
    def value(self) -> Any:
        area = self._table_extent() if self.expand == "table" else self
        values = self.sheet.book.values[self.sheet.name]
        rows = [[values.get((r, c)) for c in range(area.column, area.right + 1)]
                for r in range(area.row, area.bottom + 1)]
        if self.ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        if len(rows) == 1:
            return rows[0]
        if all(len(r) == 1 for r in rows):
            return [r[0] for r in rows]
        return rows

    @value.setter
    def value(self, data: Any) -> None:
        book = self.sheet.book
        grid = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        for i, row in enumerate(grid):
            for j, item in enumerate(row):
                key = (self.row + i, self.column + j)
                book.formulas[self.sheet.name].pop(key, None)
                text = item if not (isinstance(item, str) and item.startswith("'")) else item[1:]
                if text is None:
                    book.values[self.sheet.name].pop(key, None)
                else:
                    book.values[self.sheet.name][key] = text

    @property
    def formula2(self) -> Any:
        formulas = self.sheet.book.formulas[self.sheet.name]
        values = self.sheet.book.values[self.sheet.name]
        rows = tuple(tuple(formulas.get((r, c), "" if values.get((r, c)) is None
                                        else str(values[(r, c)]))
                           for c in range(self.column, self.right + 1))
                     for r in range(self.row, self.bottom + 1))
        return rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else rows

    def clear_contents(self) -> None:
        area = self._table_extent() if self.expand == "table" else self
        for key in area._cells():
            self.sheet.book.values[self.sheet.name].pop(key, None)
            self.sheet.book.formulas[self.sheet.name].pop(key, None)


class FakeCaller:
    """What xlwings hands a worksheet function as ``caller``: the calling cell's Range."""

    def __init__(self, book: FakeBook, sheet: str, address: str = "A1") -> None:
        self.sheet = FakeSheet(book, sheet)
        self.address = address

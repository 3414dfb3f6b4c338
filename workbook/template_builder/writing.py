"""Small helpers for writing cells, defined names, spilled formulas and buttons."""

from __future__ import annotations

from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlfactor.excel.export import neutralize
from xlfactor.excel.tables import RowSpec


def put_text(ws: Worksheet, row: int, col: int, text: object, fmt: Format | None = None) -> None:
    """Write ``text`` as a string cell.

    Parameters
    ----------
    ws : Worksheet
        The sheet to write on.
    row, col : int
        Zero-based cell position.
    text : object
        Written as ``str(text)``; a leading ``=``, ``+``, ``-`` or ``@`` is neutralised, so
        text that comes from data (tickers) can never turn into a formula.
    fmt : Format, optional
        The cell's style.
    """
    ws.write_string(row, col, str(neutralize(str(text))), fmt)


def cell(row: int, col: int, absolute: bool = False) -> str:
    """The A1 reference of a zero-based cell position (``$A$1`` when ``absolute``)."""
    return xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)


def define(wb: Workbook, name: str, sheet: str, row: int, col: int,
           last_row: int | None = None, last_col: int | None = None) -> None:
    """Define a workbook-level name for a cell or, with ``last_row``, a range.

    Parameters
    ----------
    wb : Workbook
        The workbook that gets the name.
    name : str
        The defined name.
    sheet : str
        The sheet the cells are on (quoted in the reference when it needs quotes).
    row, col : int
        Zero-based top-left cell.
    last_row, last_col : int, optional
        Zero-based bottom-right cell; ``last_col`` defaults to ``col``.
    """
    ref = cell(row, col, absolute=True)
    if last_row is not None:
        ref += ":" + cell(last_row, col if last_col is None else last_col, absolute=True)
    quoted = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
    wb.define_name(name, f"={quoted}!{ref}")


def spill(ws: Worksheet, row: int, col: int, formula: str, fmt: Format | None = None) -> None:
    """Write a dynamic-array formula anchored at one cell.

    Only the anchor is given because Excel 365 sizes the spill itself from the result.
    """
    ws.write_dynamic_array_formula(row, col, row, col, formula, fmt)


def preformat(ws: Worksheet, first_row: int, last_row: int, col_formats: dict[int, Format]) -> None:
    """Style the blank cells a spilled table will land in.

    Spilled values take the format of the cell they land in, so the table's rows
    ``first_row`` to ``last_row`` get each column's style in ``col_formats`` up front.
    """
    for r in range(first_row, last_row + 1):
        for c, f in col_formats.items():
            ws.write_blank(r, c, None, f)


def excel_string(text: str) -> str:
    """``text`` as an Excel string literal (quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


def label_is(ref: str, label: str) -> str:
    """An Excel condition: the text in ``ref`` is ``label`` (case-insensitive, as Excel's ``=``)."""
    return f"{ref}={excel_string(label)}"


def label_starts(ref: str, start: str) -> str:
    """An Excel condition: the text in ``ref`` starts with ``start`` (case-insensitive)."""
    return f"LEFT({ref},{len(start)})={excel_string(start)}"


def label_criterion(spec: RowSpec, ref: str) -> str:
    """An Excel condition true when the label in ``ref`` is ``spec``'s row.

    The same test as :meth:`xlfactor.excel.tables.RowSpec.matches`, so a rule keyed on it
    formats exactly the rows the spec claims.
    """
    return label_starts(ref, spec.label) if spec.prefix else label_is(ref, spec.label)


def emphasise(wb: Workbook, ws: Worksheet, first: int, last: int, last_col: int,
              criterion: str, props: dict[str, Any]) -> None:
    """Style the rows of a spilled table whose label (column A) matches, wherever they land.

    Parameters
    ----------
    wb, ws : Workbook, Worksheet
        The workbook (which owns the style) and the sheet.
    first, last : int
        Zero-based rows the table may occupy.
    last_col : int
        Zero-based last column of the table.
    criterion : str
        An Excel formula with ``{r}`` for the first row's (1-based) number.
    props : dict
        XlsxWriter format properties of the emphasis.
    """
    ws.conditional_format(first, 0, last, last_col, {
        "type": "formula", "criteria": "=" + criterion.format(r=first + 1),
        "format": wb.add_format(props)})


def add_button(ws: Worksheet, row: int, col: int, caption: str, macro: str,
               width: int = 128, x_offset: int = 2) -> None:
    """Place a button at a zero-based cell that runs ``macro`` of the VBA project."""
    ws.insert_button(row, col, {"macro": macro, "caption": caption, "width": width,
                                "height": 26, "x_offset": x_offset, "y_offset": 2})


def page_setup(ws: Worksheet) -> None:
    """Print each sheet one page wide, landscape, so the render and printouts are legible."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)

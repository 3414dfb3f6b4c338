"""Memory and time of ``xlfactor refresh`` follow the cells a workbook holds, not its
bounding box: one stray value at XFD1048576 makes a sheet's box 17 billion cells, and a
whole-column argument ``A:A`` is a million rows to Excel.

Structural measures rather than a stopwatch: the number of cells openpyxl is asked to
visit (``Worksheet.cell`` creates one per position it is given) and tracemalloc's peak.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import statsmodels.api as sm
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from xlfactor.excel.books import FileBook
from xlfactor.excel.evaluate import Evaluator
from xlfactor.excel.file_refresh import refresh_file
from xlfactor.excel.formula import FormulaSyntaxError, Ref, parse

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "xlfactor_template.xlsm"
GOOD_TICKERS = ["AAPL", "MSFT", "XOM"]


class VisitBudget(BaseException):
    """Raised past the budget; a BaseException, so no ``except Exception`` hides it."""


@pytest.fixture()
def visits(monkeypatch):
    """Counts Worksheet.cell calls; more than 200,000 stop the test at once."""
    count = {"n": 0}
    original = Worksheet.cell

    def counted(self, row, column=None, value=None):
        count["n"] += 1
        if count["n"] > 200_000:
            raise VisitBudget(f"more than 200,000 cells visited, at row {row}")
        return original(self, row, column, value)

    monkeypatch.setattr(Worksheet, "cell", counted)
    return count


def template_with_stray_cells(tmp_path: Path) -> Path:
    wb = openpyxl.load_workbook(TEMPLATE)
    sheet, ref = wb.defined_names["Tickers"].attr_text.split("!")
    for i, (cell,) in enumerate(wb[sheet][ref.replace("$", "")]):
        cell.value = GOOD_TICKERS[i] if i < len(GOOD_TICKERS) else None
    for name in ("Betas", "Inputs", "Regress"):
        wb[name]["XFD1048576"] = "stray"
    path = tmp_path / "stray.xlsx"
    wb.save(path)
    return path


def test_a_far_stray_cell_costs_nothing_to_scan(tmp_path, visits):
    path = template_with_stray_cells(tmp_path)
    book = FileBook(path)
    loaded = visits["n"]  # openpyxl's loading of merged cells
    tracemalloc.start()
    try:
        found = list(book.formula_cells("FACTOR_"))
        extent = book.extent("Betas")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(found) == 12 and extent == (1_048_576, 16_384)
    assert peak < 5_000_000, peak  # bytes: the cells held, not the box
    assert visits["n"] == loaded


def test_the_template_with_a_far_stray_cell_refreshes(recorded_sources, tmp_path, visits):
    report = refresh_file(template_with_stray_cells(tmp_path))
    assert report.outcome.complete, report.outcome.message
    assert len(report.complete) == 12
    # the tables written (the longest, Factors, is 754 x 5) and nothing like the box
    assert visits["n"] < 50_000, visits["n"]
    out = openpyxl.load_workbook(report.output, read_only=True)
    assert out["Betas"]["XFD1048576"].value == "stray"


# -- whole columns and rows -------------------------------------------------------------------
@pytest.mark.parametrize(("text", "address"), [
    ("=SUM(A:A)", "A1:A1048576"), ("=SUM($B:$D)", "B1:D1048576"),
    ("=SUM(D:B)", "B1:D1048576"), ("=SUM(2:5)", "A2:XFD5"), ("=SUM($3:$3)", "A3:XFD3"),
])
def test_whole_lines_parse_as_the_range_they_name(text, address):
    assert parse(text).args == (Ref(None, address),)


def test_whole_lines_on_another_sheet_and_outside_the_sheet():
    assert parse("='My data'!C:C") == Ref("My data", "C1:C1048576")
    assert parse("=Inputs!$B:$B") == Ref("Inputs", "B1:B1048576")
    for text in ("=SUM(XFE:XFE)", "=SUM(0:3)", "=SUM(1:1048577)"):
        with pytest.raises(FormulaSyntaxError, match="outside the sheet"):
            parse(text)


@pytest.fixture()
def column_book(tmp_path) -> FileBook:
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    for i, v in enumerate([1, 2, 3], start=1):
        ws.cell(row=i, column=1, value=v)
    ws["A10"] = "x"
    ws["C2"] = 5
    path = tmp_path / "col.xlsx"
    wb.save(path)
    book = FileBook(path)
    book.attach(Evaluator(book))
    return book


@pytest.mark.parametrize(("text", "expected"), [
    # Excel's values for a sheet holding A1:A3 = 1, 2, 3, A10 = "x" and C2 = 5
    ("=SUM(A:A)", 6.0), ("=COUNTA(A:A)", 4), ("=COUNT(A:C)", 4), ("=COUNT(B:B)", 0),
    ("=ROWS(A:A)", 1_048_576), ("=COLUMNS(A:C)", 3), ("=COLUMNS(2:2)", 16_384),
    ("=ROWS(2:3)", 2), ("=SUM(2:2)", 7.0), ("=MAX(C:C)", 5.0),
    ("=INDEX(A:A,3)", 3), ("=INDEX(A:A,1048576)", None), ("=INDEX(2:2,1,16384)", None),
    ("=INDEX(A:A,0)", [[1], [2], [3], [None], [None], [None], [None], [None], [None], ["x"]]),
    ("=ROWS(INDEX(A:C,0,2))", 1_048_576), ("=COUNTA(INDEX(A:C,0,3))", 1),
])
def test_whole_lines_evaluate_as_in_excel(column_book, text, expected):
    assert column_book.evaluator.evaluate(parse(text), "S") == expected


def test_a_whole_column_reads_only_to_the_last_value(column_book):
    assert column_book.cells("S", "A1:A1048576") == [[1], [2], [3], *[[None]] * 6, ["x"]]
    assert column_book.cells("S", "A2:XFD2") == [[2, None, 5]]


def _regress_book(tmp_path: Path, formula: str) -> tuple[Path, np.ndarray, np.ndarray]:
    """The template's in-sheet regression data (Hlth excess on MKT, SMB, HML, 24 months)
    laid out from A1, header first, with ``formula`` in G1."""
    src = openpyxl.load_workbook(TEMPLATE)["Regress"]
    rows = [[c.value for c in row] for row in src["B5:E29"]]
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    for row in rows:
        ws.append(row)
    ws["G1"] = formula
    path = tmp_path / "regress.xlsx"
    wb.save(path)
    data = np.array(rows[1:], dtype=float)
    return path, data[:, 0], data[:, 1:]


@pytest.mark.parametrize("far", [None, "XFD1048576", "Z400000", "A30"])
def test_factor_regress_on_whole_columns(tmp_path, far):
    """With a value far away on the sheet, or one more x row than y rows (A30 is y's own
    column: a blank x row there, dropped as Excel's blanks are)."""
    path, y, x = _regress_book(tmp_path, "=FACTOR_REGRESS(A:A,B:D)")
    if far is not None:
        wb = openpyxl.load_workbook(path)
        wb["Data"][far] = "far" if far != "A30" else 0.01
        wb.save(path)
    report = refresh_file(path)
    assert report.errors == []
    out = openpyxl.load_workbook(report.output)["Data"]
    table = [[c.value for c in row] for row in out["G1:H5"]]
    assert [r[0] for r in table] == ["Coefficient", "alpha", "MKT", "SMB", "HML"]
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    assert [r[1] for r in table[1:]] == pytest.approx(fit.params, rel=1e-10)


def test_a_whole_column_of_tickers(recorded_sources, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Mine"
    ws["A1"], ws["A2"] = "AAPL", "MSFT"
    ws["C1"] = '=FACTOR_BETAS(A:A,"FF3","2021-01-01","2021-12-31")'
    path = tmp_path / "tickers.xlsx"
    wb.save(path)
    report = refresh_file(path)
    assert report.errors == []
    out = openpyxl.load_workbook(report.output)["Mine"]
    assert [out[f"C{r}"].value for r in (1, 2, 3, 4)] == ["Ticker", "AAPL", "MSFT", None]


def test_whole_columns_in_excel_values_mode_read_the_used_range(tmp_path):
    """The Refresh button on a Mac (xlwings' object model, here its stand-in): a whole
    column is read as far as the sheet's used range, not a million rows over COM."""
    from fake_xlwings import FakeBook

    from xlfactor.excel import values

    path, y, x = _regress_book(tmp_path, "=FACTOR_REGRESS(A:A,B:D)")
    book = FakeBook(path)
    report = values.refresh_live(book)
    assert report.errors == [] and report.warnings == []
    table = book.sheets["Data"].range("G1:H5").options(ndim=2).value
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    assert [r[1] for r in table[1:]] == pytest.approx(fit.params, rel=1e-10)


def test_a_whole_column_reference_too_large_to_read_is_refused(tmp_path, visits):
    """Whole columns whose last value is in row 1,048,576: 26 million cells are refused
    with a message, never allocated."""
    path = _book_with(tmp_path, {"A1": 1, "Z1048576": "far",
                                 "AB1": "=FACTOR_REGRESS(B:Z,A:A)"})
    report = refresh_file(path)
    (failed,) = report.failed
    assert failed.problem == ("#N/A values mode cannot compute this formula: "
                              "Data!B1:Z1048576 reads 26,214,400 cells to the sheet's last "
                              "value; at most 5,000,000 are read")


def _book_with(tmp_path: Path, cells: dict[str, object]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    for address, value in cells.items():
        ws[address] = value
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path

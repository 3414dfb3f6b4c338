"""Values mode: ``xlfactor refresh BOOK.xlsm`` and the Refresh button on a Mac.

The reference is the formula path: each ``FACTOR_*`` formula of the template called the way
Excel calls it, through xlwings' own argument and result conversion
(:func:`tools.registration.excel_call`). The values copy is read back by openpyxl, the
consumer that a scheduled job or a colleague without Python would use, and by LibreOffice.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from fake_xlwings import FakeBook
from openpyxl import Workbook
from tools import registration

from xlfactor.domain.errors import InvalidInputError
from xlfactor.excel import refresh as refresh_mod
from xlfactor.excel import values
from xlfactor.excel.books import split_address
from xlfactor.excel.file_refresh import refresh_file

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "xlfactor_template.xlsm"


@pytest.fixture()
def local_data(recorded_sources):
    return recorded_sources


def template_arguments(wb: openpyxl.Workbook, ws, text: str) -> tuple[str, list]:
    """The function and arguments of one of the template's FACTOR_* formulas, read here
    with openpyxl alone, as COM would hand them to xlwings (ranges as tuples of rows).

    Written for the template's own formulas (input names, TRUE, "table", INDEX(Tickers,1)),
    independently of xlfactor's formula evaluator; the Weights cells hold the template's
    equal-weight formula, whose value is computed here."""
    name, inner = re.fullmatch(r"=(\w+)\((.*)\)", text).groups()
    tickers = [row[0] for row in _named(wb, "Tickers")]
    args = []
    for token in re.findall(r'INDEX\(Tickers,1\)|"[^"]*"|[^,]+', inner):
        if token == "INDEX(Tickers,1)":
            args.append(tickers[0])
        elif token == "TRUE":
            args.append(True)
        elif token.startswith('"'):
            args.append(token.strip('"'))
        elif re.fullmatch(r"[A-Z]+[0-9]+:[A-Z]+[0-9]+", token):  # a range on the same sheet
            args.append(tuple(tuple(c.value for c in row) for row in ws[token]))
        elif token == "Weights":
            n = sum(1 for t in tickers if t not in (None, ""))
            args.append(tuple(("" if t in (None, "") else 1 / n,) for t in tickers))
        else:
            rows = _named(wb, token)
            args.append(rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 else
                        tuple(tuple(r) for r in rows))
    return name, args


def _named(wb: openpyxl.Workbook, name: str) -> list[list]:
    sheet, ref = wb.defined_names[name].attr_text.split("!")
    cells = wb[sheet.strip("'")][ref.replace("$", "")]
    if not isinstance(cells, tuple):
        return [[cells.value]]
    return [[c.value for c in row] for row in cells]


def formula_path(book_path: Path) -> dict[tuple[str, str], list[list]]:
    """Every FACTOR_* anchor's table as Excel's formula path computes it: arguments as the
    cells hold them, through xlwings' own conversion (registration.excel_call)."""
    wb = openpyxl.load_workbook(book_path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = getattr(cell.value, "text", None)
                if text and text.startswith("=FACTOR_"):
                    name, args = template_arguments(wb, ws, text)
                    out[(ws.title, cell.coordinate)] = registration.excel_call(name, *args)
    return out


def read_back(path: Path, sheet: str, address: str, shape: tuple[int, int]) -> list[list]:
    ws = openpyxl.load_workbook(path)[sheet]
    top, left, _, _ = split_address(address)
    return [[ws.cell(row=top + i, column=left + j).value for j in range(shape[1])]
            for i in range(shape[0])]


def same(a, b) -> bool:
    """Cell values equal as Excel shows them: None and "" are both an empty cell; dates
    as written; floats exactly (the same computation)."""
    a = None if a == "" else a
    b = None if b == "" else b
    if hasattr(a, "tzinfo") and hasattr(b, "tzinfo") and a is not None and b is not None:
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def test_values_copy_equals_the_formula_path(local_data, tmp_path):
    source = tmp_path / "book.xlsm"
    shutil.copy(TEMPLATE, source)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    report = refresh_file(source)
    assert report.output == tmp_path / "book-values.xlsx" and report.output.is_file()
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # original untouched
    expected = formula_path(source)
    assert len(expected) == len(report.computed) == 12
    for (sheet, address), table in expected.items():
        shape = (len(table), max(len(r) for r in table))
        got = read_back(report.output, sheet, address, shape)
        diff = [(i, j, a, b) for i, (ra, rb) in enumerate(zip(table, got))
                for j, (a, b) in enumerate(zip(ra, rb)) if not same(a, b)]
        assert diff == [], (sheet, address, diff[:3])


def test_values_copy_has_numbers_stamps_and_charts(local_data, tmp_path):
    source = tmp_path / "book.xlsm"
    shutil.copy(TEMPLATE, source)
    report = refresh_file(source)
    wb = openpyxl.load_workbook(report.output)
    betas = wb["Betas"]
    assert [betas.cell(row=6, column=c).value for c in range(1, 6)] == \
        ["Ticker", "Alpha", "MKT", "SMB", "HML"]
    assert betas.cell(row=7, column=1).value == "AAPL"
    assert isinstance(betas.cell(row=7, column=3).value, float)
    status = wb.defined_names["RefreshStatus"].attr_text.split("!")
    status_cell = wb[status[0]][status[1].replace("$", "")].value
    # JNJ has no price file: the tables that need every ticker failed, the others hold
    # a row saying why, and the status cell says which
    assert status_cell.startswith("INCOMPLETE: 3 of 4 tickers, FF3, daily")
    assert ("Not computed: tables failed: Portfolio, GRS (unknown ticker 'JNJ'); "
            "errors in tables: Betas, Alpha, Rsq, Tstats; "
            "JNJ not estimated (unknown ticker 'JNJ')") in status_cell
    pictures = {name: len(wb[name]._images) for name in ("Betas", "Rolling", "Factors",
                                                          "Analysis")}
    assert pictures == {"Betas": 1, "Rolling": 1, "Factors": 1, "Analysis": 1}
    # ordinary formulas stay formulas, for the application that opens the copy
    assert wb["Betas"]["D2"].value == "=StartDate"


def test_cli_refresh_as_documented(local_data, tmp_path):
    source = tmp_path / "BOOK.xlsm"
    shutil.copy(TEMPLATE, source)
    run = subprocess.run([sys.executable, "-m", "xlfactor.cli", "refresh", str(source)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         check=False)
    # JNJ has no price file: its rows are errors, so the exit status says so
    assert run.returncode == 1, run.stderr
    assert "wrote" in run.stdout and (tmp_path / "BOOK-values.xlsx").is_file()
    assert "error in Analysis!A29: #N/A unknown ticker 'JNJ'" in run.stderr


def test_any_workbook_with_factor_formulas(local_data, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Mine"
    ws["A1"] = "AAPL"
    ws["B1"] = '=FACTOR_BETAS(A1,"FF3","2020-01-01","2020-12-31")'
    ws["B5"] = "=FACTOR_MODELS()"
    ws["H1"] = "=C2*2"  # reads the spilled beta: stays a formula
    path = tmp_path / "mine.xlsx"
    wb.save(path)
    report = refresh_file(path, tmp_path / "out" / "numbers.xlsx")
    assert report.errors == []
    out = openpyxl.load_workbook(tmp_path / "out" / "numbers.xlsx")["Mine"]
    assert out["B2"].value == "AAPL" and isinstance(out["D2"].value, float)
    assert out["B5"].value == "Model" and out["B6"].value == "CAPM"
    assert out["H1"].value == "=C2*2"


def test_libreoffice_reads_the_copy(local_data, tmp_path):
    """A real spreadsheet application opens the copy and computes its formulas from the
    values written (the Betas sheet's context row reads the Inputs)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        from tools import basic_compile

        basic_compile.skip_or_fail("LibreOffice is not installed")
    source = tmp_path / "book.xlsm"
    shutil.copy(TEMPLATE, source)
    report = refresh_file(source)
    profile = tmp_path / "lo-profile"
    run = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,3",
         "--outdir", str(tmp_path / "csv"), str(report.output)],
        capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr
    betas = (tmp_path / "csv" / "book-values-Betas.csv").read_text(encoding="utf-8")
    lines = betas.splitlines()
    assert lines[1].startswith("Model,FF3,Period,")  # =IF(Model="","FF3",Model) computed
    aapl = next(line for line in lines if line.startswith("AAPL,"))
    assert aapl.split(",")[2].startswith("1.158434304709")  # its MKT beta, as displayed


@pytest.mark.parametrize("output, message", [
    ("book.xlsm", "an .xlsx file"),
    ("missing.xlsx", None),
])
def test_output_rules(tmp_path, output, message):
    source = tmp_path / "book.xlsm"
    if message is None:
        with pytest.raises(InvalidInputError, match="workbook not found"):
            refresh_file(tmp_path / "nothing.xlsm", tmp_path / output)
        return
    shutil.copy(TEMPLATE, source)
    with pytest.raises(InvalidInputError, match=message):
        refresh_file(source, tmp_path / output)


def test_the_copy_never_replaces_the_original(tmp_path):
    path = tmp_path / "book.xlsx"
    Workbook().save(path)
    with pytest.raises(InvalidInputError, match="must not replace"):
        refresh_file(path, path)


def test_not_a_workbook(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("hello")
    with pytest.raises(InvalidInputError, match="cannot read notes.xlsx as a workbook"):
        refresh_file(path)


# -- in Excel: the Refresh button in values mode ------------------------------------------------
def _kept(book: FakeBook) -> list[list]:
    return book.sheets[values.FORMULA_SHEET].range("A1").options(ndim=2, expand="table").value


def _values_refresh(book: FakeBook):
    return refresh_mod.refresh(book, values=values.refresh_live)


def test_refresh_button_in_values_mode_writes_and_keeps_formulas(local_data):
    book = FakeBook(TEMPLATE)
    first = _values_refresh(book)
    assert first.ok, first.message
    betas = book.sheets["Betas"].range("A6:E7").options(ndim=2).value
    assert betas[0] == ["Ticker", "Alpha", "MKT", "SMB", "HML"] and betas[1][0] == "AAPL"
    assert (6, 1) not in book.formulas["Betas"]  # the anchor holds values now
    kept = _kept(book)
    assert kept[0] == ["Anchor", "Formula", "Rows", "Columns"] and len(kept) == 13
    betas = "=FACTOR_BETAS(Tickers,Model,StartDate,EndDate,Freq,TRUE,Region)"
    assert kept[1][:2] == ["=Betas!A6", betas]
    assert kept[1][2:] == [5, 5]  # header + 4 tickers, Ticker + alpha + 3 betas
    assert values.FORMULA_SHEET in book.hidden and book.active == "How to"
    # the next refreshes find the same 12 formulas (the hidden sheet is not read as
    # formulas), and a shorter answer leaves no old rows behind
    book.values["Inputs"][(7, 2)] = None  # JNJ removed from the tickers
    book.values["Inputs"][(8, 2)] = None  # XOM removed
    for _ in range(2):
        again = _values_refresh(book)
        assert again.ok, again.message
        assert len(_kept(book)) == 13
    rows = book.sheets["Betas"].range("A6:A11").options(ndim=2).value
    assert [r[0] for r in rows] == ["Ticker", "AAPL", "MSFT", None, None, None]


def test_values_mode_never_overwrites_data_in_the_way(local_data):
    book = FakeBook(TEMPLATE)
    book.values["Betas"][(9, 3)] = "my note"  # inside where FACTOR_BETAS will spill
    _values_refresh(book)
    assert book.values["Betas"][(6, 1)].startswith("#SPILL! values mode: the table needs A6:E10")
    assert book.values["Betas"][(9, 3)] == "my note"


def test_a_table_whose_values_were_cleared_is_dropped(local_data):
    book = FakeBook(TEMPLATE)
    _values_refresh(book)
    book.sheets["Betas"].range("A6:E10").clear_contents()  # the user deletes the table
    _values_refresh(book)
    assert len(_kept(book)) == 12 and (6, 1) not in book.values["Betas"]


@pytest.mark.parametrize("cell, platform, mode", [
    (None, "darwin", "values"), (None, "win32", "formulas"), ("auto", "darwin", "values"),
    ("values", "win32", "values"), ("Formulas", "darwin", "formulas"),
])
def test_results_mode(cell, platform, mode):
    book = FakeBook(TEMPLATE)
    book.values["Inputs"][_results_cell(book)] = cell
    assert refresh_mod.results_mode(book, platform=platform) == mode


def test_results_mode_refuses_a_typo():
    book = FakeBook(TEMPLATE)
    book.values["Inputs"][_results_cell(book)] = "value"
    with pytest.raises(InvalidInputError, match="Results must be auto, formulas or values"):
        refresh_mod.results_mode(book, platform="darwin")


def _results_cell(book: FakeBook) -> tuple[int, int]:
    text = next(n.refers_to for n in book.names if n.name == refresh_mod.NAME_RESULTS)
    top, left, _, _ = split_address(text.split("!")[1])
    return top, left

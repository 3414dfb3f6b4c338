"""A failed job fails: ``xlfactor refresh`` and every command exit by one documented rule
(docs/reliability.md, "Exit codes": 0 all computed, 1 some not, 2 bad input, 3 nothing),
the values copy never holds a ``FACTOR_*`` formula, its summary counts what was written,
and the Inputs sheet's status cell says which tables failed.

Data: the recorded price files and French zips of ``tests/data`` (``recorded_sources``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName

from xlfactor import cli
from xlfactor.excel.file_refresh import refresh_file

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "xlfactor_template.xlsm"
#: The template's tickers with a price file each (the template's JNJ has none).
GOOD_TICKERS = ["AAPL", "MSFT", "XOM"]


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlfactor.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300, check=False)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any XLFACTOR_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLFACTOR_")}
    return {**env, **extra}


def named_cell(wb: openpyxl.Workbook, name: str):
    sheet, ref = wb.defined_names[name].attr_text.split("!")
    return wb[sheet.strip("'")][ref.replace("$", "").split(":")[0]]


def status_of(path: Path) -> str:
    return named_cell(openpyxl.load_workbook(path), "RefreshStatus").value


def factor_formulas_left(path: Path) -> list[str]:
    """Every cell of the file that is still a formula naming a FACTOR_* function."""
    wb = openpyxl.load_workbook(path)
    left = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = getattr(cell.value, "text", cell.value)
                if cell.data_type == "f" and "FACTOR_" in str(text).upper():
                    left.append(f"{ws.title}!{cell.coordinate}")
    return left


def anchors(path: Path) -> dict[str, object]:
    """``Out_*`` name -> the value at its anchor in the values copy."""
    wb = openpyxl.load_workbook(path)
    return {n: named_cell(wb, n).value for n in wb.defined_names if n.startswith("Out_")}


def template_copy(tmp_path: Path, tickers: list | None = None, name: str = "book.xlsx",
                  **cells) -> Path:
    """The template saved as a plain workbook, with its tickers (and other named input
    cells) replaced."""
    wb = openpyxl.load_workbook(TEMPLATE)
    if tickers is not None:
        sheet, ref = wb.defined_names["Tickers"].attr_text.split("!")
        column = wb[sheet][ref.replace("$", "")]
        for i, (cell,) in enumerate(column):
            cell.value = tickers[i] if i < len(tickers) else None
    for key, value in cells.items():
        named_cell(wb, key).value = value
    path = tmp_path / name
    wb.save(path)
    return path


# -- the template --------------------------------------------------------------------------------
def test_a_complete_refresh_exits_0_and_says_ok(recorded_sources, tmp_path):
    report = refresh_file(template_copy(tmp_path, GOOD_TICKERS))
    assert cli.refresh_status(report) == cli.EXIT_OK, report.errors
    assert len(report.complete) == 12 and not report.failed and not report.partial
    assert status_of(report.output).startswith("OK: 3 tickers, FF3, daily, 2021-01-04")
    assert factor_formulas_left(report.output) == []


def test_one_unknown_ticker_exits_1_and_the_status_names_the_failed_tables(
        recorded_sources, tmp_path):
    source = tmp_path / "BOOK.xlsm"
    shutil.copy(TEMPLATE, source)  # AAPL, MSFT, JNJ (no price file), XOM
    run = run_cli("refresh", str(source), env=dict(os.environ), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    # counted from what the copy holds: whole tables in error, tables with a row in error
    assert "12 FACTOR_* tables: 6 complete, 4 with cells in error, 2 failed" in run.stdout
    status = status_of(tmp_path / "BOOK-values.xlsx")
    assert status.startswith("INCOMPLETE: 3 of 4 tickers, FF3, daily")
    assert "tables failed: Portfolio, GRS (unknown ticker 'JNJ')" in status


def test_empty_cache_offline_exits_3_and_no_formula_is_left(tmp_path):
    """Nothing cached, offline: no data at all. Every FACTOR_* anchor says why in the copy
    (a colleague without Python would otherwise see #NAME?), the table that needs no
    market data (FACTOR_REGRESS) is still computed."""
    source = tmp_path / "BOOK.xlsm"
    shutil.copy(TEMPLATE, source)
    env = clean_env(XLFACTOR_CACHE_DIR=str(tmp_path / "empty-cache"))
    run = run_cli("refresh", str(source), "--offline", env=env, cwd=tmp_path)
    assert run.returncode == 3, (run.stdout, run.stderr)
    output = tmp_path / "BOOK-values.xlsx"
    assert factor_formulas_left(output) == []
    assert "12 FACTOR_* tables: 1 complete, 0 with cells in error, 11 failed" in run.stdout
    values = anchors(output)
    for name, value in values.items():
        if name != "Out_Regress":
            assert str(value).startswith("#N/A ") and "not cached" in str(value), name
    assert values["Out_Regress"] == "Coefficient"
    assert status_of(output).startswith("Refresh failed while loading data: ")


@pytest.mark.parametrize(("change", "words"), [
    ({"Freq": "Q"}, "Q"),
    ({"tickers": []}, "ticker"),
    ({"Tickers": '"AAPL"'}, "Tickers does not refer to a range of cells"),
])
def test_invalid_inputs_exit_2_and_every_formula_says_why(recorded_sources, tmp_path,
                                                          change, words):
    tickers = change.pop("tickers", GOOD_TICKERS)
    name_text = change.pop("Tickers", None)
    path = template_copy(tmp_path, tickers, **change)
    if name_text is not None:  # a name that is a constant, not a range
        wb = openpyxl.load_workbook(path)
        del wb.defined_names["Tickers"]
        wb.defined_names["Tickers"] = DefinedName("Tickers", attr_text=name_text)
        wb.save(path)
    report = refresh_file(path)
    assert cli.refresh_status(report) == cli.EXIT_USAGE
    assert not report.outcome.ok and words in report.outcome.message
    assert status_of(report.output).startswith("Refresh failed while ")
    assert factor_formulas_left(report.output) == []
    assert len(report.computed) == 12  # each formula computed, or its own reason written


def test_a_table_blocked_by_data_is_a_failure(recorded_sources, tmp_path):
    path = template_copy(tmp_path, GOOD_TICKERS)
    wb = openpyxl.load_workbook(path)
    wb["Betas"]["C9"] = "my note"  # inside where FACTOR_BETAS spills
    wb.save(path)
    report = refresh_file(path)
    assert cli.refresh_status(report) == cli.EXIT_INCOMPLETE
    assert [c.where for c in report.failed] == ["Betas!A6"]
    assert report.failed[0].problem.startswith("#SPILL! values mode: the table needs A6:E9")
    out = openpyxl.load_workbook(report.output)["Betas"]
    assert out["A6"].value.startswith("#SPILL!") and out["C9"].value == "my note"
    assert "tables failed: Betas (values mode: the table needs A6:E9" in \
        status_of(report.output)


def test_the_status_line_of_a_refresh_counts_the_written_tables(recorded_sources, tmp_path,
                                                              capsys):
    path = template_copy(tmp_path, GOOD_TICKERS)
    wb = openpyxl.load_workbook(path)
    wb["Betas"]["C9"] = "my note"
    wb.save(path)
    code = cli.main(["refresh", str(path), "-q"])
    assert code == cli.EXIT_INCOMPLETE
    out = capsys.readouterr()
    assert "12 FACTOR_* tables: 11 complete, 0 with cells in error, 1 failed" in out.out
    assert "error in Betas!A6: #SPILL!" in out.err


# -- any workbook ------------------------------------------------------------------------------
def _book(tmp_path: Path, formulas: dict[str, str]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Mine"
    for address, text in formulas.items():
        ws[address] = text
    path = tmp_path / "mine.xlsx"
    wb.save(path)
    return path


INDEX_OF_ERROR = '=INDEX(FACTOR_BETAS("ZZZZ","FF3","2021-01-01","2021-12-31"),2,3)'


def test_a_bare_excel_error_is_a_failure_that_says_why(recorded_sources, tmp_path):
    path = _book(tmp_path, {"A1": INDEX_OF_ERROR,
                            "A5": '=FACTOR_BETAS("AAPL","FF3","2021-01-01","2021-12-31")'})
    report = refresh_file(path)
    assert cli.refresh_status(report) == cli.EXIT_INCOMPLETE
    (failed,) = report.failed
    assert failed.where == "Mine!A1"
    assert failed.problem.startswith("#REF! the formula's result is an error; inside it "
                                     "FACTOR_BETAS says #N/A unknown ticker 'ZZZZ'")
    out = openpyxl.load_workbook(report.output)["Mine"]
    assert out["A1"].value == failed.problem and out["A6"].value == "AAPL"


def test_every_table_failed_exits_3(recorded_sources, tmp_path):
    report = refresh_file(_book(tmp_path, {"A1": INDEX_OF_ERROR}))
    assert cli.refresh_status(report) == cli.EXIT_NO_DATA


def test_a_workbook_without_factor_formulas_exits_0(recorded_sources, tmp_path):
    report = refresh_file(_book(tmp_path, {"A1": "=1+1"}))
    assert cli.refresh_status(report) == cli.EXIT_OK


# -- the values copy as a file ------------------------------------------------------------------
def test_the_copy_gets_the_users_umask_mode(recorded_sources, tmp_path):
    path = _book(tmp_path, {"A1": "=FACTOR_MODELS()"})
    old = os.umask(0o027)
    try:
        report = refresh_file(path)
    finally:
        os.umask(old)
    assert report.output.stat().st_mode & 0o777 == 0o640  # 0666 less the umask
    # written atomically: no temporary file left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine-values.xlsx", "mine.xlsx"]


def test_dates_are_dates_with_a_format_that_fits(recorded_sources, tmp_path):
    report = refresh_file(template_copy(tmp_path, GOOD_TICKERS))
    wb = openpyxl.load_workbook(report.output)
    for sheet in ("Rolling", "Factors"):
        ws = wb[sheet]
        cell = ws["A7"]
        assert cell.is_date and cell.number_format == "yyyy-mm-dd", sheet
        assert cell.value.hour == cell.value.minute == cell.value.second == 0
        dates = [ws.cell(row=r, column=1).value for r in range(7, 30)]
        assert all(d.time().isoformat() == "00:00:00" for d in dates)
        assert ws.column_dimensions["A"].width >= len("2021-01-04") + 2
    refreshed = named_cell(wb, "LastRefreshed")  # a time of day: the template's own format
    assert refreshed.is_date and refreshed.number_format.startswith("yyyy-mm-dd hh:mm")


def test_no_date_shows_as_hashes_in_libreoffice(recorded_sources, tmp_path):
    """Rendered by a real spreadsheet application: a value too wide for its column prints
    as ###. Read back from the PDF's text."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftotext = shutil.which("pdftotext")
    if soffice is None or pdftotext is None:
        from tools import basic_compile

        basic_compile.skip_or_fail("LibreOffice and pdftotext (poppler-utils) are needed")
    report = refresh_file(template_copy(tmp_path, GOOD_TICKERS))
    profile = tmp_path / "lo-profile"
    run = subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                          "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
                          str(report.output)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    text = subprocess.run([pdftotext, "-layout", str(tmp_path / "pdf" / "book-values.pdf"),
                           "-"], capture_output=True, text=True, check=True).stdout
    assert "2021-12-31" in text and "2021-01-04" in text  # Rolling's and Factors' first rows
    assert "###" not in text


# -- the other commands ----------------------------------------------------------------------
def test_betas_with_one_unknown_ticker_exits_1(recorded_sources, tmp_path):
    run = run_cli("betas", "AAPL", "ZZZZ", "--start", "2021-01-01", "--end", "2021-12-31",
                  "-q", env=dict(os.environ), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "AAPL" in run.stdout  # what was computed is printed
    assert "xlfactor: not computed: ZZZZ: " in run.stderr


def test_betas_with_no_known_ticker_exits_3(recorded_sources, tmp_path):
    run = run_cli("betas", "ZZZZ", "--start", "2021-01-01", "--end", "2021-12-31", "-q",
                  env=dict(os.environ), cwd=tmp_path)
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr


def test_factors_offline_with_nothing_cached_exits_3(tmp_path):
    env = clean_env(XLFACTOR_CACHE_DIR=str(tmp_path / "empty-cache"))
    run = run_cli("factors", "--offline", "-q", env=env, cwd=tmp_path)
    assert run.returncode == 3 and "not cached" in run.stderr, run.stderr


def test_usage_errors_exit_2(tmp_path):
    run = run_cli("refresh", str(tmp_path / "missing.xlsm"), env=clean_env(), cwd=tmp_path)
    assert run.returncode == 2 and "workbook not found" in run.stderr
    run = run_cli("betas", env=clean_env(), cwd=tmp_path)  # argparse: no ticker
    assert run.returncode == 2


def test_text_that_looks_like_a_formula_stays_text(recorded_sources, tmp_path):
    """A cell typed as '=FACTOR_MODELS() is text (values mode keeps its record of the
    formulas so): it is neither computed nor sealed, and text reading as a formula is
    not evaluated when another formula reads it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Mine"
    ws["A1"] = "=FACTOR_MODELS()"
    ws["A1"].data_type = "s"
    ws["B1"] = "=1+1"
    ws["B1"].data_type = "s"
    ws["C1"] = '=FACTOR_BETAS(B1,"FF3","2021-01-01","2021-12-31")'
    path = tmp_path / "text.xlsx"
    wb.save(path)
    report = refresh_file(path)
    assert [c.where for c in report.computed] == ["Mine!C1"]
    assert report.failed[0].problem.startswith("#VALUE! invalid ticker '=1+1'")
    out = openpyxl.load_workbook(report.output)["Mine"]
    assert out["A1"].value == "=FACTOR_MODELS()" and out["A1"].data_type == "s"


@pytest.mark.parametrize("args", [
    ["portfolio", "AAPL", "ZZZZ", "--weights", "50", "50"],
    ["grs", "AAPL", "ZZZZ"],
    ["rolling", "ZZZZ"],
    ["attribution", "ZZZZ"],
])
def test_commands_that_need_every_ticker_exit_3_without_it(recorded_sources, tmp_path, args):
    run = run_cli(*args, "--start", "2021-01-01", "--end", "2021-12-31", "-q",
                  env=dict(os.environ), cwd=tmp_path)
    assert run.returncode == 3, run.stderr
    assert "ZZZZ" in run.stderr and "Traceback" not in run.stderr


def test_a_narrow_column_is_widened_for_its_dates(recorded_sources, tmp_path):
    path = _book(tmp_path, {"B1": '=FACTOR_DATA("FF3","2021-01-01","2021-01-31","D")'})
    report = refresh_file(path)
    assert report.errors == []
    ws = openpyxl.load_workbook(report.output)["Mine"]
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    # Excel's default width (8.43 digits) shows ### for ten characters of a date
    assert ws.column_dimensions["B"].width >= 10.5
    assert ws.column_dimensions["C"].width in (None, 13)  # openpyxl's unset default


def test_only_calls_of_xlfactor_functions_are_computed_or_sealed(recorded_sources, tmp_path,
                                                                 capsys):
    """A defined name or a user's function whose name holds FACTOR_ is the user's formula:
    the values copy keeps it as written; real calls, in any case, are computed."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Mine"
    ws["A1"] = 0.25
    wb.defined_names["Risk_Factor_1"] = DefinedName("Risk_Factor_1", attr_text="Mine!$A$1")
    user = {"B1": "=Risk_Factor_1*2", "C1": "=MY_FACTOR_SUM(A1)", "D1": "=FACTOR_MINE(A1)",
            "E1": "=IF(A1>0,risk_factor_1,0)"}
    for address, text in user.items():
        ws[address] = text
    ws["A3"] = "=factor_models()"
    ws["A20"] = '=Factor_Betas("AAPL","FF3","2021-01-01","2021-12-31")'
    path = tmp_path / "mine.xlsx"
    wb.save(path)
    code = cli.main(["refresh", str(path), "-q"])
    assert code == cli.EXIT_OK, capsys.readouterr()
    out = openpyxl.load_workbook(tmp_path / "mine-values.xlsx")["Mine"]
    assert {a: out[a].value for a in user} == user
    assert all(out[a].data_type == "f" for a in user)
    assert out["A3"].value == "Model" and out["A21"].value == "AAPL", (
        out["A3"].value, out["A21"].value)


def test_a_frequency_the_offline_sample_lacks_is_a_usage_error(tmp_path):
    """The sample holds monthly data only: asking it for weekly is the request's fault."""
    run = run_cli("betas", "NoDur", "--source", "sample", "--freq", "W", "--start",
                  "1990-01-01", "--end", "2000-12-31", "-q", env=clean_env(), cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "the offline sample is monthly only: use freq M" in run.stderr
    assert "Traceback" not in run.stderr

"""Regenerate the template workbook: ``python workbook/generate.py [--out PATH]``.

Writes ``workbook/xlfactor_template.xlsm`` with XlsxWriter. The file is reproducible: a
fixed creation date, XlsxWriter's fixed zip timestamps and no clock or random input, so
two runs with the same xlwings version give the same bytes.

Macros
------
XlsxWriter cannot write VBA, only embed an existing ``vbaProject.bin``. The project is
taken, at generation time, from xlwings' ``quickstart_standalone.xlsm`` in the installed
xlwings package. It holds ``Module1.SampleCall`` (runs ``RunPython "import <name>;
<name>.main()"``, ``<name>`` being the workbook's file name without extension) and the
complete xlwings VBA module (``RunPython``, ``ImportPythonUDFs``...).

The standalone project is used rather than ``quickstart.xlsm``'s because the latter's
only link to ``RunPython`` is a VBA reference to the xlwings add-in at the path of the
machine that built it; when Excel cannot resolve that reference the whole project fails
to compile and no button works. The standalone project needs no add-in, and its
``ImportPythonUDFs`` lets a button import the worksheet functions. The price is that the
embedded VBA is tied to one xlwings version (it loads ``xlwings64-<version>.dll``), so the
Python environment needs that same xlwings version; re-running this script after an
xlwings upgrade re-embeds the matching VBA. The version is shown on the How to sheet.

The buttons therefore call ``SampleCall`` (Refresh, via ``xlfactor_template.py`` next to
the workbook, see :mod:`xlfactor.excel.refresh`) and ``ImportPythonUDFs`` (Import functions).

Settings sheet
--------------
xlwings reads workbook settings only from a sheet named exactly ``xlwings.conf``
(``GetConfigFromSheet`` opens ``Sheets("xlwings.conf")``); the quickstart ships it as
``_xlwings.conf``, which is how it is switched off. The template's sheet is active, so
``UDF Modules = xlfactor.udfs`` takes effect, and it holds only keys with a value: an
empty key there would override the add-in's setting (e.g. the interpreter) with nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlfactor import __version__ as XLFACTOR_VERSION
from xlfactor.analysis import COMPARE_MODELS
from xlfactor.domain.regions import REGIONS
from xlfactor.engine.portfolio import REBALANCING
from xlfactor.excel import refresh as R
from xlfactor.excel.export import neutralize

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "xlfactor_template.xlsm"

VBA_SOURCE = "quickstart_standalone.xlsm"
REFRESH_MACRO = "SampleCall"
IMPORT_MACRO = "ImportPythonUDFs"
UDF_MODULE = "xlfactor.udfs"
CONF_SHEET = "xlwings.conf"

#: Fixed document date: a real clock would make every regeneration differ.
CREATED = datetime(2025, 1, 1, 0, 0, 0)

DEFAULT_TICKERS = ("AAPL", "MSFT", "JNJ", "XOM")
TICKER_ROWS = 10
REGRESS_ASSET = "Hlth"
REGRESS_ASSET_TEXT = "health-care industry portfolio"
REGRESS_MONTHS = 24

SHEETS = ("How to", "Inputs", "Betas", "Stats", "Rolling", "Factors", "Analysis", "Regress",
          CONF_SHEET)

# Number formats. Dates are ISO so they read the same in every locale.
FMT_DATE = "yyyy-mm-dd"
FMT_MONTH = "yyyy-mm"
FMT_STAMP = 'yyyy-mm-dd hh:mm;;"never"'
FMT_ALPHA = "0.000%"
FMT_PCT = "0.00%"
FMT_PCT1 = "0.0%"
FMT_BETA = "0.000"
FMT_T = "0.00"
FMT_P = "0.000"
FMT_4 = "0.0000"
FMT_1 = "0.0"
FMT_INT = "0"
FMT_TINY = "0.0E+00"


# -- inputs to the generator ------------------------------------------------------------------
def xlwings_vba_project() -> tuple[bytes, str]:
    """The VBA project of the installed xlwings' standalone quickstart, and xlwings' version."""
    import xlwings

    source = Path(xlwings.__file__).resolve().parent / VBA_SOURCE
    with zipfile.ZipFile(source) as book:
        return book.read("xl/vbaProject.bin"), xlwings.__version__


@dataclass(frozen=True)
class RegressData:
    """The in-sheet example: monthly excess returns of one portfolio and three factors."""

    asset: str
    dates: list[datetime]
    excess: list[float]
    factors: dict[str, list[float]]


def regress_data(asset: str = REGRESS_ASSET, months: int = REGRESS_MONTHS) -> RegressData:
    """The last ``months`` months of the offline sample: ``asset`` minus RF, MKT, SMB, HML."""
    from xlfactor.data.sample import load_sample

    frame = load_sample().tail(months)
    # Rounded to the source's own precision so float noise from the subtraction does not
    # show up as digits in the cells.
    excess = (frame[asset] - frame["RF"]).round(6)
    return RegressData(
        asset=asset,
        dates=[d.to_pydatetime() for d in frame.index],
        excess=[float(v) for v in excess],
        factors={f: [float(v) for v in frame[f]] for f in ("MKT", "SMB", "HML")},
    )


# -- formats ------------------------------------------------------------------------------------
class Styles:
    """The workbook's cell formats, created once (XlsxWriter formats belong to a workbook)."""

    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": "Calibri", "font_size": 11}

        def fmt(**props: Any) -> Format:
            return wb.add_format({**base, **props})

        self.title = fmt(bold=True, font_size=16, font_color="#1F4E79")
        self.subtitle = fmt(italic=True, font_color="#595959")
        self.section = fmt(bold=True, font_color="#1F4E79", bottom=1, bottom_color="#1F4E79")
        self.header = fmt(bold=True, bg_color="#DDEBF7", bottom=1, align="center",
                          valign="vcenter", text_wrap=True)
        self.header_left = fmt(bold=True, bg_color="#DDEBF7", bottom=1)
        self.label = fmt(bold=True)
        self.label_mid = fmt(bold=True, valign="vcenter")
        self.context_label = fmt(font_color="#595959", align="right")
        self.context_value = fmt(bold=True, align="left")
        self.context_date = fmt(bold=True, align="left", num_format=f'{FMT_DATE};;"default"')
        self.context_stamp = fmt(bold=True, align="left", num_format=FMT_STAMP)
        self.note = fmt(font_color="#595959")
        self.note_wrap = fmt(font_color="#595959", text_wrap=True, valign="top")
        # Notes right after a right-aligned number (the Inputs weights) need a gap.
        self.note_indent = fmt(font_color="#595959", indent=1)
        self.text = fmt()
        self.text_wrap = fmt(text_wrap=True, valign="top")
        self.step = fmt(bold=True, font_color="#1F4E79", align="right", valign="top")
        self.name = fmt(font_color="#808080", italic=True)
        self.name_mid = fmt(font_color="#808080", italic=True, valign="vcenter")
        self.code = fmt(font_name="Consolas", font_color="#404040")
        input_box = {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"}
        self.input = fmt(**input_box)
        self.input_date = fmt(**input_box, num_format=FMT_DATE, align="left")
        self.input_int = fmt(**input_box, num_format=FMT_INT, align="left")
        self.input_pct = fmt(**input_box, num_format=FMT_PCT1)
        self.total_label = fmt(bold=True, align="right")
        self.total_pct = fmt(bold=True, num_format=FMT_PCT1, top=1, top_color="#BFBFBF")
        stamp_box = {"bg_color": "#F2F2F2", "border": 1, "border_color": "#BFBFBF"}
        self.stamp = fmt(**stamp_box, num_format=FMT_STAMP, align="left", valign="vcenter")
        self.stamp_text = fmt(**stamp_box, text_wrap=True, valign="vcenter")
        self.conf_key = fmt(bold=True, bg_color="#E2EFDA", border=1, border_color="#BFBFBF")
        self.conf_value = fmt(bg_color="#E2EFDA", border=1, border_color="#BFBFBF")
        self.conf_parked = fmt(font_color="#808080", border=1, border_color="#D9D9D9")
        self.date = fmt(num_format=FMT_DATE, align="left")
        self.month = fmt(num_format=FMT_MONTH, align="left")
        self.ticker = fmt(bold=True)
        self.nums = {code: fmt(num_format=code) for code in
                     (FMT_ALPHA, FMT_PCT, FMT_PCT1, FMT_BETA, FMT_T, FMT_P, FMT_4, FMT_1,
                      FMT_INT, FMT_TINY)}

    def num(self, code: str) -> Format:
        return self.nums[code]


# -- writing helpers ------------------------------------------------------------------------------
def put_text(ws: Worksheet, row: int, col: int, text: object, fmt: Format | None = None) -> None:
    """Write text as text: never a formula, whatever it starts with."""
    ws.write_string(row, col, str(neutralize(str(text))), fmt)


def cell(row: int, col: int, absolute: bool = False) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)


def define(wb: Workbook, name: str, sheet: str, row: int, col: int,
           last_row: int | None = None, last_col: int | None = None) -> None:
    """A workbook-level name for a cell or range (quoted sheet name when needed)."""
    ref = cell(row, col, absolute=True)
    if last_row is not None:
        ref += ":" + cell(last_row, col if last_col is None else last_col, absolute=True)
    quoted = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
    wb.define_name(name, f"={quoted}!{ref}")


def spill(ws: Worksheet, row: int, col: int, formula: str, fmt: Format | None = None) -> None:
    """A dynamic-array formula anchored at one cell; Excel 365 sizes the spill itself."""
    ws.write_dynamic_array_formula(row, col, row, col, formula, fmt)


def preformat(ws: Worksheet, first_row: int, last_row: int, col_formats: dict[int, Format]) -> None:
    """Format the cells a spilled table will land in (spilled values take the cell's format)."""
    for r in range(first_row, last_row + 1):
        for c, f in col_formats.items():
            ws.write_blank(r, c, None, f)


def add_button(ws: Worksheet, row: int, col: int, caption: str, macro: str,
               width: int = 128, x_offset: int = 2) -> None:
    ws.insert_button(row, col, {"macro": macro, "caption": caption, "width": width,
                                "height": 26, "x_offset": x_offset, "y_offset": 2})


def page_setup(ws: Worksheet) -> None:
    """Print each sheet one page wide, landscape, so the render and printouts are legible."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


# -- the formulas ------------------------------------------------------------------------------
# Every factor function that has a region takes the Region input as its last argument. The
# optional arguments before it are spelled out with their defaults (header TRUE, annualize
# TRUE, output "table") rather than left empty, so the formula reads the same in Excel and
# in any tool that evaluates it.
FIRST = f"INDEX({R.NAME_TICKERS},1)"
SAMPLE = f"{R.NAME_MODEL},{R.NAME_START},{R.NAME_END},{R.NAME_FREQ}"
REGION = R.NAME_REGION
F_BETAS = f"FACTOR_BETAS({R.NAME_TICKERS},{SAMPLE},TRUE,{REGION})"
F_ALPHA = f"FACTOR_ALPHA({R.NAME_TICKERS},{SAMPLE},TRUE,TRUE,{REGION})"
F_RSQ = f"FACTOR_RSQ({R.NAME_TICKERS},{SAMPLE},TRUE,{REGION})"
F_TSTATS = (f"FACTOR_TSTATS({R.NAME_TICKERS},{SAMPLE},{R.NAME_SE},{R.NAME_LAGS},TRUE,"
            f"{REGION})")
F_STATS = f"FACTOR_STATS({FIRST},{SAMPLE},{R.NAME_SE},{R.NAME_LAGS},{REGION})"
F_ROLLING = (f"FACTOR_ROLLING({FIRST},{R.NAME_MODEL},{R.NAME_WINDOW},{R.NAME_START},"
             f"{R.NAME_END},{R.NAME_FREQ},TRUE,{REGION})")
F_DATA = f"FACTOR_DATA({SAMPLE},TRUE,{REGION})"
F_ATTRIBUTION = f'FACTOR_ATTRIBUTION({FIRST},{SAMPLE},"table",TRUE,{REGION})'
F_COMPARE = (f"FACTOR_COMPARE({FIRST},{R.NAME_START},{R.NAME_END},{R.NAME_FREQ},{R.NAME_SE},"
             f"TRUE,{REGION})")
F_PORTFOLIO = (f"FACTOR_PORTFOLIO({R.NAME_TICKERS},{R.NAME_WEIGHTS},{SAMPLE},{R.NAME_REBALANCE},"
               f"TRUE,{REGION})")
F_GRS = f"FACTOR_GRS({R.NAME_TICKERS},{SAMPLE},{REGION})"


def shown(formula: str) -> str:
    """A formula as readers type it, for section headings."""
    return "=" + formula.replace(",", ", ")


# -- sheets ------------------------------------------------------------------------------------
def sheet_header(ws: Worksheet, st: Styles, title: str, button_col: int) -> None:
    """Title, the inputs in use and the refresh stamp (rows 1-4), and a Refresh button.

    The context cells reference the Inputs names, so every sheet says which model, period
    and data release its numbers belong to.
    """
    ws.set_row(0, 24)
    put_text(ws, 0, 0, title, st.title)
    put_text(ws, 1, 0, "Model", st.context_label)
    ws.write_formula(1, 1, f'IF({R.NAME_MODEL}="","FF3",{R.NAME_MODEL})', st.context_value)
    put_text(ws, 1, 2, "Period", st.context_label)
    ws.write_formula(1, 3, f"{R.NAME_START}", st.context_date)
    put_text(ws, 1, 4, "to", st.context_label)
    ws.write_formula(1, 5, f"{R.NAME_END}", st.context_date)
    put_text(ws, 1, 6, "Freq.", st.context_label)
    ws.write_formula(1, 7, f'IF({R.NAME_FREQ}="","D",{R.NAME_FREQ})', st.context_value)
    put_text(ws, 2, 0, "Refreshed", st.context_label)
    ws.merge_range(2, 1, 2, 2, "", st.context_stamp)
    ws.write_formula(2, 1, R.NAME_LAST_REFRESHED, st.context_stamp)
    put_text(ws, 2, 3, "Release", st.context_label)
    ws.merge_range(2, 4, 2, 7, "", st.context_value)
    ws.write_formula(2, 4, f'IF({R.NAME_RELEASE}="","(press Refresh)",{R.NAME_RELEASE})',
                     st.context_value)
    put_text(ws, 3, 0, "Factor region", st.context_label)
    ws.merge_range(3, 1, 3, 2, "", st.context_value)
    ws.write_formula(3, 1, f'IF({R.NAME_REGION}="","US",{R.NAME_REGION})', st.context_value)
    add_button(ws, 1, button_col, "Refresh", REFRESH_MACRO, width=110)


def table_block(wb: Workbook, ws: Worksheet, st: Styles, row: int, heading: str, formula: str,
                out_name: str, col_formats: dict[int, Format], rows: int,
                header_lines: int = 1) -> int:
    """A section heading, then a spilled FACTOR_* table with its cells pre-formatted.

    ``header_lines`` sets the header row's height for labels that wrap. Returns the first
    free row after the block.
    """
    put_text(ws, row, 0, heading, st.section)
    ws.set_row(row + 1, 15 * header_lines + 3)
    width = max(col_formats) + 1
    preformat(ws, row + 1, row + 1, {c: st.header for c in range(width)})
    preformat(ws, row + 2, row + rows, col_formats)
    spill(ws, row + 1, 0, formula, st.header)
    define(wb, out_name, ws.name, row + 1, 0)
    return row + rows + 2


def how_to_sheet(wb: Workbook, st: Styles, xlwings_version: str) -> None:
    ws = wb.add_worksheet("How to")
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 4)
    ws.set_column(1, 1, 18)
    ws.set_column(2, 2, 118)
    ws.set_row(0, 24)
    put_text(ws, 0, 1, "xlfactor: Fama-French factor regressions in Excel", st.title)
    put_text(ws, 1, 1, f"Template generated by workbook/generate.py (xlfactor {XLFACTOR_VERSION}) "
             f"with the VBA of xlwings {xlwings_version} embedded (standalone: no add-in "
             "reference).", st.subtitle)
    ws.set_row(2, 32)
    add_button(ws, 2, 1, "Import functions", IMPORT_MACRO, width=130)
    add_button(ws, 2, 2, "Refresh", REFRESH_MACRO, width=110, x_offset=20)

    steps_setup = [
        ("Install Python 3.10+ from python.org (not the Microsoft Store build, which Excel "
         "cannot start)."),
        ("xlfactor is not on PyPI: in a clone of its repository run  pip install \".[workbook]\"  "
         f"(or the wheel of  python -m build ). It brings xlwings {xlwings_version}, as this "
         "workbook's VBA needs."),
        ("Install the xlwings add-in:  xlwings addin install  (its ribbon tab sets the "
         "interpreter and imports functions; the macros themselves are embedded here)."),
        ("Set the interpreter: xlwings ribbon > Interpreter, or a row on the xlwings.conf sheet. "
         "Use the full path of python(w) in the environment that has xlfactor."),
        ("Windows: File > Options > Trust Center > Macro Settings > tick 'Trust access to the VBA "
         "project object model' (Import Functions writes a VBA module)."),
        "A downloaded workbook: right-click it > Properties > Unblock, or Excel blocks its macros.",
        ("Keep xlfactor_template.py next to this workbook, with the same name. After renaming the "
         "workbook, copy the .py to the new name: Refresh imports the module named like the file."),
        ("Windows: press Import functions (above, or ribbon > Import Functions). FACTOR_BETAS and "
         "the other functions then appear in the function wizard under the category xlfactor. "
         "Mac, or no trusted VBA access: skip this step and set Inputs > Results to values."),
    ]
    steps_use = [
        ("Edit the yellow cells on the Inputs sheet: tickers and portfolio weights, model, factor "
         "region, period, frequency, standard errors, rolling window, rebalancing."),
        ("Press Refresh (on Inputs or any result sheet). It downloads what the cache lacks, recalculates every "
         "FACTOR_* formula (values mode: computes them and writes the numbers) and redraws the "
         "charts; progress shows in the status bar."),
        ("Inputs > Status then says OK or why the refresh failed; Last refreshed and Data release "
         "say which data the numbers come from."),
    ]
    row = 4
    put_text(ws, row, 1, "Set up once", st.section)
    number = 1
    for text in steps_setup:
        row += 1
        ws.write_number(row, 0, number, st.step)
        put_text(ws, row, 1, text, st.text)
        number += 1
    row += 2
    put_text(ws, row, 1, "Use", st.section)
    for text in steps_use:
        row += 1
        ws.write_number(row, 0, number, st.step)
        put_text(ws, row, 1, text, st.text)
        number += 1
    row += 2
    put_text(ws, row, 1, "Notes", st.section)
    notes = [
        ("Needs Excel 365 or 2021: every FACTOR_* formula spills a whole table. Until the "
         "functions are imported the cells show #NAME?."),
        ("Offline trial: set the environment variable XLFACTOR_SOURCE=sample before starting "
         "Excel; tickers are then sample portfolios (NoDur, Hlth, S1V1...), frequency M, 1949-2017."),
        ("Every output sheet shows the model, period, factor region and data release in its rows "
         "2-4; charts state the model, period and data release in their titles and footers."),
    ]
    for text in notes:
        row += 1
        put_text(ws, row, 1, text, st.note)
    row += 2
    put_text(ws, row, 1, "Sheets", st.section)
    guide = [
        ("Inputs", ("The named input cells that every formula reads, and the refresh stamp "
                    "(last refreshed, data release, status).")),
        ("Betas", ("FACTOR_BETAS, FACTOR_ALPHA, FACTOR_RSQ and FACTOR_TSTATS for all tickers, and a "
                   "chart of the factor exposures with confidence intervals.")),
        ("Stats", "FACTOR_STATS: the full regression summary of the first ticker."),
        ("Rolling", ("FACTOR_ROLLING for the first ticker, and a chart of the rolling alpha and "
                     "betas with bands of two standard errors.")),
        ("Factors", ("FACTOR_DATA: the factor returns in the sample, and a chart of their "
                     "cumulative returns.")),
        ("Analysis", ("FACTOR_ATTRIBUTION and FACTOR_COMPARE for the first ticker (with a waterfall "
                      "chart of the attribution), FACTOR_PORTFOLIO and FACTOR_GRS for all tickers.")),
        ("Regress", ("FACTOR_REGRESS on numbers typed into the sheet, next to Excel's own LINEST "
                     "for comparison.")),
        (CONF_SHEET, f"Settings xlwings reads from this workbook: UDF Modules = {UDF_MODULE}."),
    ]
    for name, text in guide:
        row += 1
        put_text(ws, row, 1, name, st.label)
        put_text(ws, row, 2, text, st.text)
    page_setup(ws)


def inputs_sheet(wb: Workbook, st: Styles, tickers: Sequence[str]) -> None:
    ws = wb.add_worksheet("Inputs")
    ws.set_tab_color("#FFC000")
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 3, 70)
    ws.set_column(4, 4, 15)
    ws.set_row(0, 24)
    put_text(ws, 0, 0, "Inputs", st.title)
    add_button(ws, 0, 3, "Refresh", REFRESH_MACRO, width=110)
    put_text(ws, 1, 0, "Yellow cells are yours to edit. Formulas on the other sheets read them "
             "through the names in column E.", st.subtitle)
    put_text(ws, 3, 0, "Assets", st.section)
    put_text(ws, 3, 1, "Ticker", st.name)
    put_text(ws, 3, 2, "Weight", st.name)
    put_text(ws, 3, 4, "Name", st.name)
    first = 4
    last = first + TICKER_ROWS - 1
    for i in range(TICKER_ROWS):
        value = tickers[i] if i < len(tickers) else None
        if value is None:
            ws.write_blank(first + i, 1, None, st.input)
        else:
            put_text(ws, first + i, 1, value, st.input)
        # Equal weights over the tickers given until the user types numbers over them; a
        # blank ticker gets a blank weight, so the two columns pair up as FACTOR_PORTFOLIO
        # pairs them (blanks dropped from both).
        ticker = cell(first + i, 1)
        ws.write_formula(first + i, 2, f'IF({ticker}="","",1/COUNTA({R.NAME_TICKERS}))',
                         st.input_pct)
    put_text(ws, first, 0, "Tickers, weights", st.label)
    put_text(ws, first + 1, 0, "(one per row)", st.note)
    notes = [
        "Yahoo Finance symbols such as AAPL or BRK-B; blank cells are ignored.",
        "The first ticker is the one shown on the Stats, Rolling and Analysis sheets.",
        "Weights: the portfolio on the Analysis sheet (FACTOR_PORTFOLIO), one per ticker.",
        "They start as equal weights (formulas); type your own over them, totalling 100%.",
    ]
    for i, text in enumerate(notes):
        put_text(ws, first + i, 3, text, st.note_indent)
    put_text(ws, first, 4, R.NAME_TICKERS, st.name)
    put_text(ws, first + 2, 4, R.NAME_WEIGHTS, st.name)
    define(wb, R.NAME_TICKERS, "Inputs", first, 1, last)
    define(wb, R.NAME_WEIGHTS, "Inputs", first, 2, last)
    total = last + 1
    put_text(ws, total, 1, "Total", st.total_label)
    weights = f"{cell(first, 2, absolute=True)}:{cell(last, 2, absolute=True)}"
    ws.write_formula(total, 2, f"SUM({weights})", st.total_pct)
    total_cell = cell(total, 2, absolute=True)
    # Red unless the weights add up to 100% (or to 100: percentages typed as numbers).
    ws.conditional_format(total, 2, total, 2, {
        "type": "formula",
        "criteria": f"=AND(ABS({total_cell}-1)>0.000001,ABS({total_cell}-100)>0.000001)",
        "format": wb.add_format({"font_color": "#C00000", "bg_color": "#FFC7CE"})})
    put_text(ws, total, 3, "The weights must total 100%; the total turns red when they do not.",
             st.note_indent)

    row = total + 2
    put_text(ws, row, 0, "Model and sample", st.section)
    settings: list[tuple[str, str, Any, Format, str]] = [
        (R.NAME_MODEL, "Model", "FF3", st.input,
         "CAPM, FF3, CARHART4, FF5, FF6, or a factor list such as MKT,SMB,MOM."),
        (R.NAME_REGION, "Factor region", "US", st.input,
         "French-library factors of a region (list); Emerging has monthly data only."),
        (R.NAME_START, "Start", datetime(2021, 1, 1), st.input_date,
         "First date, inclusive. Blank: three years before End."),
        (R.NAME_END, "End", datetime(2023, 12, 31), st.input_date,
         "Last date, inclusive. Blank: the last complete trading day."),
        (R.NAME_FREQ, "Frequency", "D", st.input,
         "D daily, W weekly (weeks end on Friday), M monthly; compounded from daily returns."),
        (R.NAME_SE, "Std. errors", "HAC", st.input,
         "classical, HC0-HC3 (White) or HAC (Newey-West): t-statistics, Stats, chart bands."),
        (R.NAME_LAGS, "HAC lags", None, st.input_int,
         "Newey-West lags. Blank: floor(4 (T/100)^(2/9))."),
        (R.NAME_WINDOW, "Rolling window", 252, st.input_int,
         "Periods per window: 252 days, 52 weeks or 12 months make about one year."),
        (R.NAME_REBALANCE, "Rebalancing", "daily", st.input,
         "Portfolio: daily keeps the weights constant; buy_and_hold lets them drift."),
        (R.NAME_RESULTS, "Results", "auto", st.input,
         "values: Refresh writes the numbers (Mac). auto: values on a Mac only."),
    ]
    for name, label, value, fmt, note in settings:
        row += 1
        put_text(ws, row, 0, label, st.label)
        if value is None:
            ws.write_blank(row, 1, None, fmt)
        elif isinstance(value, datetime):
            ws.write_datetime(row, 1, value, fmt)
        elif isinstance(value, (int, float)):
            ws.write_number(row, 1, value, fmt)
        else:
            put_text(ws, row, 1, value, fmt)
        put_text(ws, row, 3, note, st.note_indent)
        put_text(ws, row, 4, name, st.name)
        define(wb, name, "Inputs", row, 1)
        validate_input(ws, name, row)

    row += 2
    put_text(ws, row, 0, "Refresh", st.section)
    put_text(ws, row, 3, "Written by the Refresh button (macro SampleCall, then "
             "xlfactor.excel.refresh; see How to).", st.note_indent)
    stamps = [
        (R.NAME_LAST_REFRESHED, "Last refreshed", st.stamp, None),
        (R.NAME_RELEASE, "Data release", st.stamp_text, None),
        (R.NAME_SOURCES, "Data sources", st.stamp_text, None),
        (R.NAME_STATUS, "Status", st.stamp_text, "Not refreshed yet: press Refresh."),
    ]
    for name, label, fmt, initial in stamps:
        row += 1
        put_text(ws, row, 0, label, st.label_mid)
        ws.merge_range(row, 1, row, 3, "", fmt)
        if initial is not None:
            put_text(ws, row, 1, initial, fmt)
        put_text(ws, row, 4, name, st.name_mid)
        define(wb, name, "Inputs", row, 1)
        if name in (R.NAME_SOURCES, R.NAME_STATUS):
            # Room for two lines of a long status or source description.
            ws.set_row(row, 30)
    page_setup(ws)


def validate_input(ws: Worksheet, name: str, row: int) -> None:
    """Drop-downs and checks for the input cells (custom models stay possible)."""
    if name == R.NAME_MODEL:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": ["CAPM", "FF3", "CARHART4", "FF5", "FF6"],
            # A factor list such as MKT,SMB,MOM is valid too: offer the names, allow others.
            "show_error": False})
    elif name == R.NAME_FREQ:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": ["D", "W", "M"],
            "error_title": "Frequency", "error_message": "D, W or M"})
    elif name == R.NAME_REGION:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": list(REGIONS),
            "error_title": "Factor region", "error_message": ", ".join(REGIONS)})
    elif name == R.NAME_REBALANCE:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": list(REBALANCING),
            "error_title": "Rebalancing", "error_message": " or ".join(REBALANCING)})
    elif name == R.NAME_RESULTS:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": list(R.RESULTS_MODES),
            "error_title": "Results", "error_message": "auto, formulas or values"})
    elif name == R.NAME_SE:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": ["classical", "HC0", "HC1", "HC2", "HC3", "HAC"],
            "error_title": "Standard errors", "error_message": "classical, HC0-HC3 or HAC"})
    elif name in (R.NAME_LAGS, R.NAME_WINDOW):
        ws.data_validation(row, 1, row, 1, {
            "validate": "integer", "criteria": ">=", "value": 1 if name == R.NAME_LAGS else 3,
            "ignore_blank": True, "error_title": "Whole number",
            "error_message": "Enter a whole number (blank for the default)."})
    elif name in (R.NAME_START, R.NAME_END):
        ws.data_validation(row, 1, row, 1, {
            "validate": "date", "criteria": ">=", "value": datetime(1926, 7, 1),
            "ignore_blank": True, "error_title": "Date",
            "error_message": "Enter a date (the French library starts in July 1926)."})


def betas_sheet(wb: Workbook, st: Styles) -> None:
    ws = wb.add_worksheet("Betas")
    ws.set_column(0, 0, 12)
    ws.set_column(1, 7, 11)
    ws.set_column(8, 8, 3)
    sheet_header(ws, st, "Factor betas", button_col=9)
    n = TICKER_ROWS + 1
    betas = {0: st.ticker, 1: st.num(FMT_ALPHA), **{c: st.num(FMT_BETA) for c in range(2, 8)}}
    row = table_block(wb, ws, st, 4, "Alpha (per period) and betas:  " + shown(F_BETAS),
                      F_BETAS, "Out_Betas", betas, n)
    alpha = {0: st.ticker, 1: st.num(FMT_ALPHA), 2: st.num(FMT_PCT), 3: st.num(FMT_T),
             4: st.num(FMT_P)}
    # "Alpha (annualised, arithmetic)" needs three lines in a number-width column.
    row = table_block(wb, ws, st, row, "Annualised alpha, t and p:  " + shown(F_ALPHA),
                      F_ALPHA, "Out_Alpha", alpha, n, header_lines=3)
    fit = {0: st.ticker, 1: st.num(FMT_BETA), 2: st.num(FMT_BETA), 3: st.num(FMT_INT)}
    row = table_block(wb, ws, st, row, "Fit:  " + shown(F_RSQ), F_RSQ, "Out_Rsq", fit, n)
    tstats = {0: st.ticker, **{c: st.num(FMT_T) for c in range(1, 8)}}
    table_block(wb, ws, st, row, "t-statistics (standard errors as set on Inputs):  "
                + shown(F_TSTATS), F_TSTATS, "Out_Tstats", tstats, n)
    put_text(ws, 4, 9, "Exposure chart (drawn by Refresh)", st.note)
    define(wb, R.CHART_EXPOSURES.anchor, "Betas", 5, 9)
    page_setup(ws)


def stats_sheet(wb: Workbook, st: Styles) -> None:
    ws = wb.add_worksheet("Stats")
    ws.set_column(0, 0, 24)
    # Wide enough for the model, source and period lines of the summary: spilled blanks to
    # their right are empty strings, which stop text from overflowing.
    ws.set_column(1, 1, 44, st.num(FMT_4))
    ws.set_column(2, 2, 11, st.num(FMT_4))
    ws.set_column(3, 3, 11, st.num(FMT_T))
    ws.set_column(4, 4, 11, st.num(FMT_P))
    ws.set_column(5, 6, 12, st.num(FMT_4))
    sheet_header(ws, st, "Regression summary: first ticker", button_col=8)
    put_text(ws, 4, 0, "Everything about one regression:  " + shown(F_STATS), st.section)
    spill(ws, 5, 0, F_STATS, st.label)
    define(wb, "Out_Stats", "Stats", 5, 0)
    stats_formats(wb, ws)
    page_setup(ws)


#: Row label of FACTOR_STATS -> number format of its value in column B.
STATS_ROW_FORMATS = {
    "R-squared": FMT_BETA, "Adj. R-squared": FMT_BETA, "F-statistic": FMT_T,
    "Prob (F)": FMT_P, "Observations": FMT_INT, "Residual vol, annualised": FMT_PCT,
    "Durbin-Watson": FMT_T, "AIC": "0.0", "BIC": "0.0",
}


def stats_formats(wb: Workbook, ws: Worksheet, first: int = 6, last: int = 60) -> None:
    """Formats keyed on the row label in column A, so they follow the rows wherever they land.

    FACTOR_STATS mixes estimates, counts and fit statistics in one column, and the number of
    rows above the statistics depends on the model (and on a stale-data warning). Column B's
    own format suits the coefficient estimates; these rules override it per statistic.
    """
    rng = f"B{first}:B{last}"
    for label, code in STATS_ROW_FORMATS.items():
        ws.conditional_format(rng, {"type": "formula", "criteria": f'=$A{first}="{label}"',
                                    "format": wb.add_format({"num_format": code})})
    ws.conditional_format(rng, {"type": "formula", "criteria": f'=LEFT($A{first},6)="Alpha,"',
                                "format": wb.add_format({"num_format": FMT_PCT})})
    ws.conditional_format(f"A{first}:G{last}", {
        "type": "formula", "criteria": f'=$A{first}="Coefficient"',
        "format": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})})


def rolling_sheet(wb: Workbook, st: Styles) -> None:
    ws = wb.add_worksheet("Rolling")
    ws.set_column(0, 0, 12, st.date)
    ws.set_column(1, 1, 11, st.num(FMT_ALPHA))
    ws.set_column(2, 8, 11, st.num(FMT_BETA))
    ws.set_column(9, 9, 3)
    sheet_header(ws, st, "Rolling regression: first ticker", button_col=10)
    put_text(ws, 4, 0, "One row per window:  " + shown(F_ROLLING), st.section)
    preformat(ws, 5, 5, {c: st.header for c in range(9)})
    spill(ws, 5, 0, F_ROLLING, st.header)
    define(wb, "Out_Rolling", "Rolling", 5, 0)
    put_text(ws, 4, 10, "Rolling betas with bands of two standard errors (drawn by Refresh)",
             st.note)
    define(wb, R.CHART_ROLLING.anchor, "Rolling", 5, 10)
    ws.freeze_panes(6, 0)
    page_setup(ws)


def factors_sheet(wb: Workbook, st: Styles) -> None:
    ws = wb.add_worksheet("Factors")
    ws.set_column(0, 0, 12, st.date)
    ws.set_column(1, 7, 10, st.num(FMT_PCT))
    ws.set_column(8, 8, 3)
    sheet_header(ws, st, "Factor returns", button_col=9)
    put_text(ws, 4, 0, "Per period, shown in percent:  " + shown(F_DATA), st.section)
    preformat(ws, 5, 5, {c: st.header for c in range(8)})
    spill(ws, 5, 0, F_DATA, st.header)
    define(wb, "Out_Factors", "Factors", 5, 0)
    put_text(ws, 4, 9, "Cumulative factor returns (drawn by Refresh)", st.note)
    define(wb, R.CHART_FACTORS.anchor, "Factors", 5, 9)
    ws.freeze_panes(6, 0)
    page_setup(ws)


#: Rows of FACTOR_ATTRIBUTION's table: alpha, up to six factors, residual, sum of parts,
#: the arithmetic total, compounding and the compounded total.
ATTRIBUTION_ROWS = 1 + 6 + 5
#: FACTOR_GRS's first rows, always in this order, and their number formats; text follows.
GRS_FORMATS = (FMT_T, FMT_P, FMT_INT, FMT_INT, FMT_INT, FMT_INT, FMT_4, FMT_4)
GRS_TEXT_ROWS = 11  # assets, what was estimated (describe()), and room for a stale warning


def analysis_sheet(wb: Workbook, st: Styles) -> None:
    """Attribution and model comparison of the first ticker; portfolio and GRS of all."""
    ws = wb.add_worksheet("Analysis")
    # Column A fits the GRS labels ("Squared Sharpe, factors + assets").
    ws.set_column(0, 0, 31)
    ws.set_column(1, 8, 12)
    ws.set_column(9, 9, 3)
    sheet_header(ws, st, "Analysis: attribution, model comparison, portfolio, GRS test",
                 button_col=10)

    row = 4
    parts = {0: st.label, 1: st.num(FMT_PCT), 2: st.num(FMT_PCT), 3: st.num(FMT_PCT1)}
    top = row
    row = table_block(wb, ws, st, row, "Attribution, first ticker:  " + shown(F_ATTRIBUTION),
                      F_ATTRIBUTION, "Out_Attribution", parts, 1 + ATTRIBUTION_ROWS,
                      header_lines=2)
    # The compounding rows have no annualised value or share: FACTOR_ATTRIBUTION says #N/A
    # (as text; an error value if a tool converts it).
    first_value = cell(top + 2, 1)
    ws.conditional_format(top + 2, 1, row - 2, 3, {
        "type": "formula", "criteria": f"=OR(ISNA({first_value}),ISTEXT({first_value}))",
        "format": wb.add_format({"font_color": "#A6A6A6"})})
    emphasise(wb, ws, top + 2, row - 2, 3, 'LEFT($A{r},5)="total"',
              {"bold": True, "top": 1, "top_color": "#BFBFBF"})
    put_text(ws, top, 10, "Where the first ticker's excess return came from (drawn by Refresh)",
             st.note)
    define(wb, R.CHART_ATTRIBUTION.anchor, "Analysis", top + 1, 10)

    compare = {0: st.label, 1: st.num(FMT_ALPHA), 2: st.num(FMT_PCT), 3: st.num(FMT_T),
               4: st.num(FMT_BETA), 5: st.num(FMT_BETA), 6: st.num(FMT_1), 7: st.num(FMT_1),
               8: st.num(FMT_INT)}
    row = table_block(wb, ws, st, row, "Models compared on the same dates, first ticker:  "
                      + shown(F_COMPARE), F_COMPARE, R.NAME_OUT_COMPARE, compare,
                      1 + len(COMPARE_MODELS), header_lines=2)

    holdings = {0: st.ticker, 1: st.num(FMT_PCT1), 2: st.num(FMT_ALPHA),
                **{c: st.num(FMT_BETA) for c in range(3, 9)}}
    top = row
    row = table_block(wb, ws, st, row, "Portfolio, weights from Inputs:  " + shown(F_PORTFOLIO),
                      F_PORTFOLIO, "Out_Portfolio", holdings, 1 + 1 + TICKER_ROWS + 1)
    emphasise(wb, ws, top + 2, row - 2, 8, '$A{r}="PORTFOLIO"',
              {"bold": True, "bg_color": "#F2F2F2"})
    emphasise(wb, ws, top + 2, row - 2, 8, '$A{r}="weighted exposure"',
              {"italic": True, "top": 1, "top_color": "#BFBFBF"})

    put_text(ws, row, 0, "Are all alphas zero? GRS test, all tickers:  " + shown(F_GRS),
             st.section)
    for i, code in enumerate(GRS_FORMATS):
        preformat(ws, row + 1 + i, row + 1 + i, {0: st.label, 1: st.num(code)})
    text_top = row + 1 + len(GRS_FORMATS)
    preformat(ws, text_top, text_top + GRS_TEXT_ROWS - 1, {0: st.label, 1: st.text})
    spill(ws, row + 1, 0, F_GRS, st.label)
    define(wb, "Out_GRS", "Analysis", row + 1, 0)
    page_setup(ws)


def emphasise(wb: Workbook, ws: Worksheet, first: int, last: int, last_col: int,
              criterion: str, props: dict[str, Any]) -> None:
    """Format the rows of a spilled table whose label (column A) matches, wherever they land.

    ``criterion`` is a formula with ``{r}`` for the first row's number (1-based).
    """
    ws.conditional_format(first, 0, last, last_col, {
        "type": "formula", "criteria": "=" + criterion.format(r=first + 1),
        "format": wb.add_format(props)})


def regress_sheet(wb: Workbook, st: Styles, data: RegressData) -> None:
    ws = wb.add_worksheet("Regress")
    ws.set_column(0, 0, 10)
    ws.set_column(1, 4, 11)
    ws.set_column(5, 5, 3)
    ws.set_column(6, 6, 30)
    ws.set_column(7, 12, 11)
    ws.set_row(0, 24)
    factors = list(data.factors)
    first, last = data.dates[0], data.dates[-1]
    put_text(ws, 0, 0, "In-sheet regression: FACTOR_REGRESS next to Excel's LINEST", st.title)
    put_text(ws, 1, 0, f"{len(data.dates)} months of the {data.asset} ({REGRESS_ASSET_TEXT}) "
             f"excess return over RF on {', '.join(factors)}, {first:%Y-%m} to {last:%Y-%m}, "
             "decimals per month; offline sample (linearmodels.datasets.french).", st.subtitle)
    put_text(ws, 2, 0, "Type over the numbers and both results follow. LINEST needs no Python; "
             "FACTOR_REGRESS labels its rows and adds p-values and confidence intervals.",
             st.subtitle)
    head = 4
    labels = ["Month", f"{data.asset} excess", *factors]
    for c, text in enumerate(labels):
        put_text(ws, head, c, text, st.header)
    for i, day in enumerate(data.dates):
        r = head + 1 + i
        ws.write_datetime(r, 0, day, st.month)
        ws.write_number(r, 1, data.excess[i], st.num(FMT_PCT))
        for c, f in enumerate(factors, start=2):
            ws.write_number(r, c, data.factors[f][i], st.num(FMT_PCT))
    end = head + len(data.dates)
    y_with_label = f"{cell(head, 1)}:{cell(end, 1)}"
    x_with_labels = f"{cell(head, 2)}:{cell(end, 1 + len(factors))}"
    y = f"{cell(head + 1, 1)}:{cell(end, 1)}"
    x = f"{cell(head + 1, 2)}:{cell(end, 1 + len(factors))}"

    # FACTOR_REGRESS: header row, alpha + one row per factor, a blank row, seven statistics.
    col = 6
    k = len(factors) + 1
    regress = f"FACTOR_REGRESS({y_with_label},{x_with_labels})"
    put_text(ws, head - 1, col, "Python:  " + shown(regress), st.section)
    preformat(ws, head, head, {c: st.header for c in range(col, col + 7)})
    coef_formats = {col: st.label, col + 1: st.num(FMT_4), col + 2: st.num(FMT_4),
                    col + 3: st.num(FMT_T), col + 4: st.num(FMT_P), col + 5: st.num(FMT_4),
                    col + 6: st.num(FMT_4)}
    preformat(ws, head + 1, head + k, coef_formats)
    stat_formats = [FMT_BETA, FMT_BETA, FMT_T, FMT_P, FMT_INT, FMT_4]
    for i, code in enumerate(stat_formats):
        preformat(ws, head + k + 2 + i, head + k + 2 + i, {col: st.label, col + 1: st.num(code)})
    # The last statistic is text: the standard-error type.
    last_stat = head + k + 2 + len(stat_formats)
    preformat(ws, last_stat, last_stat, {col: st.label, col + 1: st.text})
    spill(ws, head, col, regress, st.header)
    define(wb, "Out_Regress", "Regress", head, col)

    # LINEST: five rows, coefficients in reverse column order and the intercept last. The
    # array's size is known, so the whole range is given; older Excel then shows it too.
    top = last_stat + 2
    linest = f"LINEST({y},{x},TRUE,TRUE)"
    put_text(ws, top, col, "Excel:  " + shown(linest), st.section)
    for c, text in enumerate([*reversed(factors), "Intercept"], start=col + 1):
        put_text(ws, top + 1, c, text, st.header)
    put_text(ws, top + 1, col, "LINEST row", st.header_left)
    row_labels = ["Coefficient", "Std. error", "R² | std. error of y", "F | residual df",
                  "SS regression | SS residual"]
    for i, text in enumerate(row_labels):
        put_text(ws, top + 2 + i, col, text, st.label)
    lin_formats = [[FMT_4] * k, [FMT_4] * k, [FMT_BETA, FMT_4], [FMT_T, FMT_INT], [FMT_4, FMT_4]]
    for i, codes in enumerate(lin_formats):
        for j, code in enumerate(codes):
            ws.write_blank(top + 2 + i, col + 1 + j, None, st.num(code))
    ws.write_dynamic_array_formula(top + 2, col + 1, top + 6, col + k, linest, st.num(FMT_4))

    # The two agree to rounding: LINEST column j is FACTOR_REGRESS row k - j.
    check = top + 8
    put_text(ws, check, col, "LINEST minus FACTOR_REGRESS", st.section)
    put_text(ws, check + 1, col, "Coefficient", st.label)
    put_text(ws, check + 2, col, "Std. error", st.label)
    for j in range(k):
        regress_row = head + k - j
        lin_col = col + 1 + j
        for offset, value_col in ((1, col + 1), (2, col + 2)):
            theirs = cell(regress_row, value_col)
            # Blank until FACTOR_REGRESS has numbers (e.g. before Import Functions), rather
            # than LINEST minus an empty cell.
            ws.write_formula(check + offset, lin_col,
                             f'IF(ISNUMBER({theirs}),{cell(top + 1 + offset, lin_col)}-{theirs},"")',
                             st.num(FMT_TINY))
    page_setup(ws)


def conf_sheet(wb: Workbook, st: Styles) -> None:
    """xlwings' settings sheet, active (named ``xlwings.conf``).

    xlwings reads the key/value pairs from A1 down to the first blank row, and a key found
    here wins over the add-in's setting even when its value is empty. So only keys with a
    value we want sit in that block; the interpreter keys wait below the gap, where the
    add-in's (or the user's xlwings.conf file's) settings keep applying.
    """
    ws = wb.add_worksheet(CONF_SHEET)
    ws.set_tab_color("#A9D08E")
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 100)
    active = [
        ("UDF Modules", UDF_MODULE,
         "Module(s) that Import Functions reads: the FACTOR_* worksheet functions."),
        ("Debug UDFs", False, ("TRUE: run the functions in a visible Python for debugging "
                               "(Windows; start it yourself).")),
        ("Use UDF Server", False, ("TRUE: Refresh runs inside the functions' Python process "
                                   "(faster start); FALSE: a fresh Python per click.")),
        ("Show Console", False, ("TRUE: show the Python console window while Python runs "
                                 "(Windows).")),
    ]
    for r, (key, value, note) in enumerate(active):
        put_text(ws, r, 0, key, st.conf_key)
        if isinstance(value, bool):
            ws.write_boolean(r, 1, value, st.conf_value)
        else:
            put_text(ws, r, 1, value, st.conf_value)
        put_text(ws, r, 2, note, st.note)
    row = len(active) + 1
    put_text(ws, row, 0, "How xlwings reads this sheet", st.section)
    rules = [
        ("xlwings reads the key/value pairs from A1 down to the first blank row; everything below "
         "the blank row is ignored."),
        ("A key in that block overrides the xlwings add-in and xlwings.conf files, even with an "
         "empty value: add only rows that have a value."),
        ("The optional keys below are parked for that reason. To use one, fill in column B and move "
         "the row up into the block (no blank row in between)."),
        ("The sheet must be named exactly xlwings.conf (xlwings' quickstart ships it as "
         "_xlwings.conf, which switches it off)."),
    ]
    for text in rules:
        row += 1
        put_text(ws, row, 0, text, st.note)
    row += 2
    parked = [
        ("Interpreter_Win", (r"Full path of python.exe or pythonw.exe, e.g. "
                             r"C:\Users\me\miniforge3\envs\xlf\pythonw.exe")),
        ("Interpreter_Mac", "Full path of python, e.g. /Users/me/miniforge3/envs/xlf/bin/python"),
        ("PYTHONPATH", ("Extra folders for Python's import path (the workbook's folder is "
                        "added anyway).")),
        ("Conda Path", r"Conda installation folder, e.g. C:\Users\me\miniforge3 (with Conda Env)."),
        ("Conda Env", "Conda environment name, e.g. xlf (with Conda Path)."),
    ]
    put_text(ws, row, 0, "Optional keys (inactive here)", st.section)
    for key, note in parked:
        row += 1
        put_text(ws, row, 0, key, st.conf_parked)
        ws.write_blank(row, 1, None, st.conf_parked)
        put_text(ws, row, 2, note, st.note)
    page_setup(ws)


# -- the workbook -------------------------------------------------------------------------------
def build(path: str | Path = TEMPLATE, *, tickers: Sequence[str] = DEFAULT_TICKERS,
          vba_project: bytes | None = None, xlwings_version: str | None = None) -> Path:
    """Write the template to ``path`` and return it.

    Parameters
    ----------
    path : path
        Output file; must end in ``.xlsm`` (Excel refuses macros in ``.xlsx``).
    tickers : sequence of str
        Initial tickers on the Inputs sheet (at most ten); written as text, neutralised.
    vba_project, xlwings_version : optional
        The VBA project binary and the xlwings version it belongs to; default: from the
        installed xlwings package (see :func:`xlwings_vba_project`).
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsm":
        raise ValueError(f"the template must be an .xlsm file, got {path.name}")
    if vba_project is None or xlwings_version is None:
        vba_project, xlwings_version = xlwings_vba_project()
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({
        "title": "xlfactor template",
        "subject": "Fama-French factor regressions with xlwings worksheet functions",
        "author": "xlfactor",
        "company": "",
        "comments": "Generated by workbook/generate.py; regenerate rather than edit.",
        "created": CREATED,
    })
    wb.set_custom_property("xlfactor_version", XLFACTOR_VERSION)
    wb.set_custom_property("xlwings_version", xlwings_version)
    wb.add_vba_project(io.BytesIO(vba_project), is_stream=True)
    st = Styles(wb)
    how_to_sheet(wb, st, xlwings_version)
    inputs_sheet(wb, st, list(tickers)[:TICKER_ROWS])
    betas_sheet(wb, st)
    stats_sheet(wb, st)
    rolling_sheet(wb, st)
    factors_sheet(wb, st)
    analysis_sheet(wb, st)
    regress_sheet(wb, st, regress_data())
    conf_sheet(wb, st)
    wb.close()
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the xlfactor template workbook.")
    parser.add_argument("--out", type=Path, default=TEMPLATE, help="output .xlsm file")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

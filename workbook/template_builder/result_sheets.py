"""The result sheets of one spilled table each or a few: Betas, Stats, Rolling, Factors.

They share :func:`sheet_header` (title, the inputs in use, the refresh stamp, a Refresh
button) and :func:`table_block` (a heading over a pre-formatted spilled table), which the
Analysis sheet uses too.
"""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from template_builder.formats import (
    FMT_ALPHA,
    FMT_BETA,
    FMT_INT,
    FMT_P,
    FMT_PCT,
    FMT_T,
    Styles,
    kind_format,
)
from template_builder.formulas import (
    F_ALPHA,
    F_BETAS,
    F_DATA,
    F_ROLLING,
    F_RSQ,
    F_STATS,
    F_TSTATS,
    shown,
)
from template_builder.inputs_sheet import TICKER_ROWS
from template_builder.writing import (
    add_button,
    define,
    label_criterion,
    label_is,
    page_setup,
    preformat,
    put_text,
    spill,
)
from template_builder.xlwings_setup import REFRESH_MACRO
from xlfactor.excel import refresh as R
from xlfactor.excel.tables import COEFFICIENT_COLUMNS, STATS_FIT_ROWS

#: The Stats sheet's rows (1-based) that the label-keyed formats cover: FACTOR_STATS spills
#: from row 6, and row 60 leaves room for six factors, notes and data warnings.
STATS_FIRST_ROW = 6
STATS_LAST_ROW = 60


def sheet_header(ws: Worksheet, st: Styles, title: str, button_col: int) -> None:
    """Write a result sheet's title, the inputs in use and the refresh stamp (rows 1-4).

    The context cells reference the Inputs names, so every sheet says which model, period
    and data release its numbers belong to.

    Parameters
    ----------
    ws : Worksheet
        The result sheet.
    st : Styles
        The workbook's styles.
    title : str
        The sheet's title, in A1.
    button_col : int
        Zero-based column of the Refresh button, right of the sheet's tables.
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
    """Write a section heading, then a spilled FACTOR_* table with its cells pre-formatted.

    Parameters
    ----------
    wb, ws : Workbook, Worksheet
        The workbook (for the output name) and the sheet.
    st : Styles
        The workbook's styles.
    row : int
        Zero-based row of the heading; the table spills from the row below.
    heading : str
        The section heading.
    formula : str
        The FACTOR_* formula, without ``=``.
    out_name : str
        The defined name of the table's anchor cell (refresh finds the table by it).
    col_formats : dict of int to Format
        Style of each column's cells below the header.
    rows : int
        Rows to pre-format, the header included: the most the table can have.
    header_lines : int, default 1
        Height of the header row in lines, for labels that wrap.

    Returns
    -------
    int
        The first free row after the block (one blank row below it).
    """
    put_text(ws, row, 0, heading, st.section)
    ws.set_row(row + 1, 15 * header_lines + 3)
    width = max(col_formats) + 1
    preformat(ws, row + 1, row + 1, {c: st.header for c in range(width)})
    preformat(ws, row + 2, row + rows, col_formats)
    spill(ws, row + 1, 0, formula, st.header)
    define(wb, out_name, ws.name, row + 1, 0)
    return row + rows + 2


def coefficient_formats(st: Styles, first_col: int = 0) -> dict[int, Format]:
    """Column styles of a coefficient table (FACTOR_STATS, FACTOR_REGRESS) from ``first_col``.

    The label column is bold; the others follow the kinds of
    :data:`xlfactor.excel.tables.COEFFICIENT_COLUMNS`.
    """
    return {first_col + i: st.label if i == 0 else st.value(c.kind)
            for i, c in enumerate(COEFFICIENT_COLUMNS)}


def betas_sheet(wb: Workbook, st: Styles) -> None:
    """Add the Betas sheet: alphas, betas, fit and t-statistics of every ticker."""
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
    row = table_block(wb, ws, st, row, "Annualised alpha, t and p (standard errors as set on "
                      "Inputs):  " + shown(F_ALPHA),
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
    """Add the Stats sheet: FACTOR_STATS of the first ticker, formatted row by row."""
    ws = wb.add_worksheet("Stats")
    ws.set_column(0, 0, 24)
    # Column formats suit the coefficient table; the statistics below it get theirs from
    # the label rules of stats_formats. Column B is wide enough for the model, source and
    # period lines of the summary: spilled blanks to their right are empty strings, which
    # stop text from overflowing.
    columns = coefficient_formats(st)
    ws.set_column(1, 1, 44, columns[1])
    ws.set_column(2, 2, 11, columns[2])
    ws.set_column(3, 3, 11, columns[3])
    ws.set_column(4, 4, 11, columns[4])
    ws.set_column(5, 5, 12, columns[5])
    ws.set_column(6, 6, 12, columns[6])
    sheet_header(ws, st, "Regression summary: first ticker", button_col=8)
    anchor = STATS_FIRST_ROW - 1  # zero-based: the label rules start at the spill's anchor
    put_text(ws, anchor - 1, 0, "Everything about one regression:  " + shown(F_STATS), st.section)
    spill(ws, anchor, 0, F_STATS, st.label)
    define(wb, "Out_Stats", "Stats", anchor, 0)
    stats_formats(wb, ws)
    page_setup(ws)


def stats_formats(wb: Workbook, ws: Worksheet, first: int = STATS_FIRST_ROW,
                  last: int = STATS_LAST_ROW) -> None:
    """Format FACTOR_STATS by the row label in column A, wherever the rows land.

    FACTOR_STATS mixes estimates, counts and fit statistics in one column, and the number
    of rows above the statistics depends on the model (and on data warnings). Column B's
    own format suits the coefficient estimates; one rule per row of
    :data:`xlfactor.excel.tables.STATS_FIT_ROWS` overrides it with the format of the row's
    kind, and the coefficient table's header row is set off like a header.

    Parameters
    ----------
    wb, ws : Workbook, Worksheet
        The workbook (which owns the rules' styles) and the Stats sheet.
    first, last : int
        The 1-based rows the rules cover.
    """
    rng = f"B{first}:B{last}"
    numeric = [s for s in STATS_FIT_ROWS if kind_format(s.kind) is not None]
    # Labels given in full before prefixes: Excel lets the earlier rule win, so a row named
    # in full never takes a prefix rule's format (the order xlfactor.excel.tables.find_row
    # resolves them in). sorted() is stable: otherwise in the rows' order.
    for spec in sorted(numeric, key=lambda s: s.prefix):
        number = wb.add_format({"num_format": kind_format(spec.kind)})
        ws.conditional_format(rng, {"type": "formula", "format": number,
                                    "criteria": "=" + label_criterion(spec, f"$A{first}")})
    header = COEFFICIENT_COLUMNS[0].header
    last_col = xl_col_to_name(len(COEFFICIENT_COLUMNS) - 1)
    ws.conditional_format(f"A{first}:{last_col}{last}", {
        "type": "formula", "criteria": "=" + label_is(f"$A{first}", header),
        "format": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1})})


def rolling_sheet(wb: Workbook, st: Styles) -> None:
    """Add the Rolling sheet: FACTOR_ROLLING of the first ticker and its chart's anchor."""
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
    """Add the Factors sheet: FACTOR_DATA in the sample and its chart's anchor."""
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


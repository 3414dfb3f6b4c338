"""The Analysis sheet: attribution, model comparison, portfolio and GRS test.

The attribution block's columns, row count and total rows, and the GRS rows' formats,
come from the specs in :mod:`xlfactor.excel.tables` that FACTOR_ATTRIBUTION and
FACTOR_GRS are checked against.
"""

from __future__ import annotations

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from template_builder.formats import (
    FMT_1,
    FMT_ALPHA,
    FMT_BETA,
    FMT_INT,
    FMT_PCT,
    FMT_PCT1,
    FMT_T,
    Styles,
)
from template_builder.formulas import F_ATTRIBUTION, F_COMPARE, F_GRS, F_PORTFOLIO, shown
from template_builder.inputs_sheet import TICKER_ROWS
from template_builder.result_sheets import sheet_header, table_block
from template_builder.writing import (
    cell,
    define,
    emphasise,
    label_starts,
    page_setup,
    preformat,
    put_text,
    spill,
)
from xlfactor.analysis import COMPARE_MODELS
from xlfactor.excel import refresh as R
from xlfactor.excel.tables import ATTRIBUTION, GRS_ROWS

#: Rows for FACTOR_GRS's text after its numbers: the assets, what was estimated, and room
#: for data warnings.
GRS_TEXT_ROWS = 11


def attribution_formats(st: Styles) -> dict[int, Format]:
    """Column styles of FACTOR_ATTRIBUTION's table: bold parts, then each column's kind."""
    return {i: st.label if i == 0 else st.value(c.kind) for i, c in enumerate(ATTRIBUTION.columns)}


def analysis_sheet(wb: Workbook, st: Styles) -> None:
    """Add the Analysis sheet: attribution and model comparison of the first ticker, then the
    portfolio and the GRS test of all tickers.

    Parameters
    ----------
    wb : Workbook
        The workbook to add the sheet to.
    st : Styles
        The workbook's styles.
    """
    ws = wb.add_worksheet("Analysis")
    # Column A fits the GRS labels ("Squared Sharpe, factors + assets").
    ws.set_column(0, 0, 31)
    ws.set_column(1, 8, 12)
    ws.set_column(9, 9, 3)
    sheet_header(ws, st, "Analysis: attribution, model comparison, portfolio, GRS test",
                 button_col=10)

    row = 4
    top = row
    # Room for the largest model: a custom model may use every factor there is.
    row = table_block(wb, ws, st, row, "Attribution, first ticker:  " + shown(F_ATTRIBUTION),
                      F_ATTRIBUTION, "Out_Attribution", attribution_formats(st),
                      1 + ATTRIBUTION.most_rows, header_lines=2)
    last_col = len(ATTRIBUTION.columns) - 1
    # The compounding rows have no annualised value or share: FACTOR_ATTRIBUTION says #N/A
    # (as text; an error value if a tool converts it).
    first_value = cell(top + 2, 1)
    ws.conditional_format(top + 2, 1, row - 2, last_col, {
        "type": "formula", "criteria": f"=OR(ISNA({first_value}),ISTEXT({first_value}))",
        "format": wb.add_format({"font_color": "#A6A6A6"})})
    emphasise(wb, ws, top + 2, row - 2, last_col, label_starts("$A{r}", ATTRIBUTION.total_start),
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
    # Header, the portfolio, one row per ticker Inputs holds, the weighted exposure.
    row = table_block(wb, ws, st, row, "Portfolio, weights from Inputs:  " + shown(F_PORTFOLIO),
                      F_PORTFOLIO, "Out_Portfolio", holdings, 1 + 1 + TICKER_ROWS + 1)
    emphasise(wb, ws, top + 2, row - 2, 8, '$A{r}="PORTFOLIO"',
              {"bold": True, "bg_color": "#F2F2F2"})
    emphasise(wb, ws, top + 2, row - 2, 8, '$A{r}="weighted exposure"',
              {"italic": True, "top": 1, "top_color": "#BFBFBF"})

    put_text(ws, row, 0, "Are all alphas zero? GRS test, all tickers:  " + shown(F_GRS),
             st.section)
    # GRS's numbers come in a fixed order, so their formats go by position.
    for i, spec in enumerate(GRS_ROWS):
        preformat(ws, row + 1 + i, row + 1 + i, {0: st.label, 1: st.value(spec.kind)})
    text_top = row + 1 + len(GRS_ROWS)
    preformat(ws, text_top, text_top + GRS_TEXT_ROWS - 1, {0: st.label, 1: st.text})
    spill(ws, row + 1, 0, F_GRS, st.label)
    define(wb, "Out_GRS", "Analysis", row + 1, 0)
    page_setup(ws)

"""The Inputs sheet: the named cells every formula reads, and the refresh stamp."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from template_builder.formats import Styles
from template_builder.writing import add_button, cell, define, page_setup, put_text
from template_builder.xlwings_setup import REFRESH_MACRO
from xlfactor.domain.frequency import FREQUENCIES
from xlfactor.domain.models import MODELS
from xlfactor.domain.options import COV_TYPES
from xlfactor.domain.regions import REGIONS
from xlfactor.engine.portfolio import REBALANCING
from xlfactor.excel import refresh as R

#: Rows for tickers and weights; the result tables reserve room for this many tickers.
TICKER_ROWS = 10


def inputs_sheet(wb: Workbook, st: Styles, tickers: Sequence[str]) -> None:
    """Add the Inputs sheet: tickers and weights, model and sample, the refresh stamp.

    Every input cell gets the defined name the formulas and the refresh read
    (:mod:`xlfactor.excel.refresh` lists them).

    Parameters
    ----------
    wb : Workbook
        The workbook to add the sheet to.
    st : Styles
        The workbook's styles.
    tickers : sequence of str
        The initial tickers, at most :data:`TICKER_ROWS`.
    """
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
    """Add the drop-down or check of one named input cell (custom models stay possible).

    Parameters
    ----------
    ws : Worksheet
        The Inputs sheet.
    name : str
        The input's defined name (one of :mod:`xlfactor.excel.refresh`'s ``NAME_*``).
    row : int
        Zero-based row of the input cell, in column B.
    """
    if name == R.NAME_MODEL:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": list(MODELS),
            # A factor list such as MKT,SMB,MOM is valid too: offer the names, allow others.
            "show_error": False})
    elif name == R.NAME_FREQ:
        ws.data_validation(row, 1, row, 1, {
            "validate": "list", "source": list(FREQUENCIES),
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
            "validate": "list", "source": list(COV_TYPES),
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


"""The Regress sheet: FACTOR_REGRESS on numbers typed into the sheet, next to LINEST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xlsxwriter.workbook import Workbook

from template_builder.formats import FMT_4, FMT_BETA, FMT_INT, FMT_PCT, FMT_T, FMT_TINY, Styles
from template_builder.formulas import shown
from template_builder.result_sheets import coefficient_formats
from template_builder.writing import cell, define, page_setup, preformat, put_text, spill
from xlfactor.excel.tables import COEFFICIENT_COLUMNS, REGRESS_FIT_ROWS

REGRESS_ASSET = "Hlth"
REGRESS_ASSET_TEXT = "health-care industry portfolio"
REGRESS_MONTHS = 24


@dataclass(frozen=True)
class RegressData:
    """The in-sheet example: monthly excess returns of one portfolio and three factors."""

    asset: str
    dates: list[datetime]
    excess: list[float]
    factors: dict[str, list[float]]


def regress_data(asset: str = REGRESS_ASSET, months: int = REGRESS_MONTHS) -> RegressData:
    """The example's numbers: the last ``months`` months of the offline sample.

    Parameters
    ----------
    asset : str
        A portfolio of the sample; its excess return over RF is the dependent variable.
    months : int
        How many months, counted back from the sample's last.

    Returns
    -------
    RegressData
        ``asset`` minus RF, and MKT, SMB and HML, in decimals per month.
    """
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


def regress_sheet(wb: Workbook, st: Styles, data: RegressData) -> None:
    """Add the Regress sheet: ``data`` typed in, FACTOR_REGRESS and LINEST on it, and
    their differences.

    Parameters
    ----------
    wb : Workbook
        The workbook to add the sheet to.
    st : Styles
        The workbook's styles.
    data : RegressData
        The numbers to type in (see :func:`regress_data`).
    """
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

    # FACTOR_REGRESS: header row, alpha + one row per factor, a blank row, the statistics.
    col = 6
    k = len(factors) + 1
    regress = f"FACTOR_REGRESS({y_with_label},{x_with_labels})"
    put_text(ws, head - 1, col, "Python:  " + shown(regress), st.section)
    preformat(ws, head, head, {c: st.header for c in range(col, col + len(COEFFICIENT_COLUMNS))})
    preformat(ws, head + 1, head + k, coefficient_formats(st, first_col=col))
    # The statistics come in a fixed order, so their formats go by position.
    first_stat = head + k + 2
    for i, spec in enumerate(REGRESS_FIT_ROWS):
        preformat(ws, first_stat + i, first_stat + i, {col: st.label, col + 1: st.value(spec.kind)})
    spill(ws, head, col, regress, st.header)
    define(wb, "Out_Regress", "Regress", head, col)

    # LINEST: five rows, coefficients in reverse column order and the intercept last. The
    # array's size is known, so the whole range is given; older Excel then shows it too.
    top = first_stat + len(REGRESS_FIT_ROWS) + 1
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
            ours = cell(top + 1 + offset, lin_col)
            ws.write_formula(check + offset, lin_col, f'IF(ISNUMBER({theirs}),{ours}-{theirs},"")',
                             st.num(FMT_TINY))
    page_setup(ws)


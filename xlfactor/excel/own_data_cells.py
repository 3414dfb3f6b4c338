"""The worksheet functions on data the user typed into the sheet (no download):
FACTOR_REGRESS on ranges of numbers and FACTOR_FIT on the user's own dated returns,
laid out like the other tables (:mod:`xlfactor.excel.cells`).
"""

from __future__ import annotations

from typing import Any

from xlfactor.excel import sheet
from xlfactor.excel.cells import per_ticker_table, region_arg
from xlfactor.excel.sheet import Table, cell_safe, with_header
from xlfactor.excel.tables import REGRESS_FIT_ROWS, coefficient_header


@cell_safe
def regress(y_range, x_range, labels=None, se_type=None, lags=None, header=True,
            small_sample=None) -> Table:
    """Coefficient table then fit statistics, for data typed into the sheet."""
    from xlfactor import api
    from xlfactor.excel.inputs import orient_like_linest, split_header

    show = sheet.bool_arg(header, True, "header")
    sheet.reject_error_values(y_range, "y_range")
    sheet.reject_error_values(x_range, "x_range")
    y_rows, x_rows = orient_like_linest(y_range, x_range)
    y, _ = split_header(y_rows, "y_range")
    x, found_labels = split_header(x_rows, "x_range")
    names = _labels(labels) or found_labels
    if names:  # echoed into the coefficient column: keep them from reading as formulas
        names = [sheet.inert_text(n) for n in names]
    res = api.regress(y, x, names, sheet.text_arg(se_type, "se_type") or "classical",
                      sheet.int_arg(lags, None, "lags", minimum=1),
                      small_sample=sheet.bool_arg(small_sample, False, "small_sample"))
    asset = res.assets[0]
    rows: list[list[Any]] = []
    for coef, values in res.asset_table(asset).iterrows():
        rows.append([coef, *values.tolist()])
    rows.append([])
    # In the order of REGRESS_FIT_ROWS, whose labels they take.
    values = [res.rsquared[asset], res.rsquared_adj[asset], res.fstat[asset],
              res.f_pvalue[asset], int(res.nobs[asset]), res.resid_std[asset],
              res.info.se_label]
    rows.extend([spec.label, v] for spec, v in zip(REGRESS_FIT_ROWS, values, strict=True))
    return with_header(coefficient_header(res.conf_level), rows, show)


def _labels(value) -> list[str] | None:
    if value is None:
        return None
    sheet.reject_error_values(value, "labels")
    cells = [c for c in sheet.flatten(value) if c is not None and str(c).strip()]
    return [sheet.cell_text(c) for c in cells] or None


@cell_safe
def fit_returns(dates, returns, model=None, freq=None, se_type=None, lags=None, header=True,
                region=None, excess=None, small_sample=None) -> Table:
    """Own returns in sheet ranges: one row per return column (labels from a header row)."""
    import pandas as pd

    from xlfactor.domain.errors import InvalidInputError
    from xlfactor.excel.inputs import as_rows, split_header
    from xlfactor.own_returns import fit_returns as fit

    show = sheet.bool_arg(header, True, "header")
    sheet.reject_error_values(dates, "dates")
    sheet.reject_error_values(returns, "returns")
    values, labels = split_header(returns, "returns")
    date_rows = as_rows(dates, "dates")
    if len(date_rows) == len(values) + 1:  # a "Date" label above the dates
        date_rows = date_rows[1:]
    if len(date_rows) != len(values) or any(len(r) != 1 for r in date_rows):
        raise InvalidInputError(f"dates must be one column as long as the returns "
                                f"({len(values)} rows), got {len(date_rows)} rows")
    index = pd.DatetimeIndex([_date_cell(r[0], i) for i, r in enumerate(date_rows)])
    names = labels or [f"r{j + 1}" if len(values[0]) > 1 else "returns"
                       for j in range(len(values[0]))]
    frame = pd.DataFrame(values, index=index, columns=[sheet.inert_text(n) for n in names])
    res = fit(frame, sheet.text_arg(model, "model"), sheet.text_arg(freq, "freq"),
              sheet.text_arg(se_type, "se_type") or "classical",
              sheet.int_arg(lags, None, "lags", minimum=1), region=region_arg(region),
              excess=sheet.bool_arg(excess, False, "excess"),
              small_sample=sheet.bool_arg(small_sample, False, "small_sample"))
    cols = ["Series", *(c.capitalize() if c == "alpha" else c for c in res.coef_names),
            "t(Alpha)", "R²", "Adj. R²", "N"]

    def row(name):
        return [*res.row("params", name).tolist(), res.tstats.loc[name, "alpha"],
                res.rsquared[name], res.rsquared_adj[name], int(res.nobs[name])]

    order = list(frame.columns)
    table = per_ticker_table(res, dict(res.failed), order, show, cols, row)
    if res.warnings:  # below the table, as FACTOR_STATS shows them
        table += [[]] + [["Warning", w] for w in res.warnings]
        table = sheet.rectangle(table)
    return table


def _date_cell(value, row: int):
    from xlfactor.domain.dates import parse_date
    from xlfactor.domain.errors import InvalidInputError

    day = parse_date(value, f"dates row {row + 1}")
    if day is None:
        raise InvalidInputError(f"dates row {row + 1} is blank")
    return day

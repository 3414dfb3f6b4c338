"""Excel error values in ranges are refused whatever conversion delivered them.

With xlwings' ``err_to_str`` in effect an error cell arrives as its text (``#N/A``);
without it (a caller of the plain function, another bridge, an older declaration) COM's
VT_ERROR code arrives as a plain integer, 0x800A0000 + the XlCVError number, which used
to be taken for a (huge) number. The codes here are the ones xlwings' own Windows engine
knows (tools.registration.EXCEL_ERROR_CODES, copied from its ``cell_errors`` table) and
#SPILL! from Microsoft's XlCVError list (xlErrSpill = 2045).
"""

from __future__ import annotations

import pytest
from tools.registration import EXCEL_ERROR_CODES, excel_call

from xlfactor import udfs

CODES = {**EXCEL_ERROR_CODES, "#SPILL!": -2146828288 + 2045}
Y = [[1.0], [2.5], [2.9], [4.2], [5.1], [6.3]]
X = [[1.0], [2.0], [3.5], [3.9], [5.2], [6.1]]


def only_message(table) -> str:
    assert isinstance(table, list) and len(table) == 1 and len(table[0]) == 1, table
    return table[0][0]


@pytest.mark.parametrize("error", sorted(CODES))
@pytest.mark.parametrize("as_number", [int, float])
def test_a_bare_error_code_in_a_regress_range_is_refused(error, as_number):
    code = as_number(CODES[error])
    y = [row[:] for row in Y]
    y[2] = [code]
    want = f"#VALUE! y_range contains the Excel error {error} (row 3, column 1)"
    assert only_message(udfs.FACTOR_REGRESS(y, X)) == want
    x = [row[:] for row in X]
    x[4] = [code]
    assert only_message(udfs.FACTOR_REGRESS(Y, x)) == \
        f"#VALUE! x_range contains the Excel error {error} (row 5, column 1)"


@pytest.mark.parametrize("error", sorted(EXCEL_ERROR_CODES))
def test_the_same_message_with_xlwings_conversion_in_effect(error):
    y = [row[:] for row in Y]
    y[2] = [EXCEL_ERROR_CODES[error]]  # converted to text by err_to_str on the way in
    via_excel = only_message(excel_call("FACTOR_REGRESS", y, X))
    assert via_excel == only_message(udfs.FACTOR_REGRESS(y, X))
    assert via_excel == f"#VALUE! y_range contains the Excel error {error} (row 3, column 1)"


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#SPILL!"])
def test_a_bare_error_code_in_fit_ranges_is_refused(error):
    dates = [["2021-01-29"], ["2021-02-26"], ["2021-03-31"]]
    returns = [[0.01], [CODES[error]], [0.02]]
    assert only_message(udfs.FACTOR_FIT(dates, returns)) == \
        f"#VALUE! returns contains the Excel error {error} (row 2, column 1)"
    dates[1] = [CODES[error]]
    assert only_message(udfs.FACTOR_FIT(dates, [[0.01], [0.03], [0.02]])) == \
        f"#VALUE! dates contains the Excel error {error} (row 2, column 1)"


def test_whole_numbers_that_are_no_error_codes_are_data():
    y = [[int(v[0] * 10)] for v in Y]  # plain integers, as some callers pass them
    table = udfs.FACTOR_REGRESS(y, X)
    assert len(table) > 2 and table[0][0] == "Coefficient", table
    lags = udfs.FACTOR_REGRESS(Y, X, None, "HAC", CODES["#N/A"])
    assert only_message(lags) == "#VALUE! lags contains the Excel error #N/A"

"""Fuzzing every worksheet function with what a spreadsheet can hand over.

Whatever lands in the argument cells, a UDF must answer with a non-empty rectangular
table of plain cell values, and when it fails, with ONE cell whose text starts with '#'.
Each function is fuzzed twice: called directly with arbitrary (also jagged, nested) Python
values, and through :func:`tools.registration.excel_call` with the values COM can
deliver (scalars, rectangular 2-D arrays, COM error codes, the "missing" marker), converted
by the real xlwings machinery.

Data come from the bundled offline sample (``XLFACTOR_SOURCE=sample``); any attempt to
open a network connection is recorded and fails the example.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tools.registration import EXCEL_ERROR_CODES, MISSING, excel_call

from xlfactor import udfs
from xlfactor.data.memo import forget_all

UDF_NAMES = sorted(
    name for name, obj in vars(udfs).items()
    if inspect.isfunction(obj) and obj.__module__ == "xlfactor.excel.udfs" and not name.startswith("_")
)
CELL_TYPES = (str, float, int, bool, dt.datetime)
FUZZ = settings(max_examples=60, deadline=dt.timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow])

# -- what cells can hold -----------------------------------------------------------------------
ERROR_TEXTS = ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
               "#CALC!", "#GETTING_DATA", " #n/a "]
NASTY_TEXTS = ["=cmd|' /c calc'!A1", "../../x", "..\\..\\x", "/etc/passwd", "AAPL\x00", "",
               "   ", "ÄÖÜß", "股票", "ﬁ", "\u202eLPAA", "1e309", "nan", "inf", "-1", "0",
               "TRUE", "FALSE", "Yes", "2020-02-30", "2020-01-01T00:00:00+05:00", "9999-12-31",
               "MKT,SMB,MOM", "MKT,,", "ff3;capm", "NoDur, Hlth", "x" * 300]
PLAUSIBLE_TEXTS = ["NoDur", "Hlth", "S1V1", "AAPL", "FF3", "CAPM", "CARHART4", "FF5", "M", "D",
                   "W", "monthly", "HC0", "HC3", "HAC", "classical", "geometric",
                   "1990-01-31", "2016-12-31", "1949-01-01"]

texts = st.one_of(st.sampled_from(ERROR_TEXTS + NASTY_TEXTS + PLAUSIBLE_TEXTS),
                  st.text(max_size=8))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 0.5, 2.0, 12.0, 252.0]))
serial_dates = st.one_of(st.integers(17899, 42825),  # 1949-01-01 .. 2017-03-31, the sample
                         st.floats(min_value=-1e6, max_value=3e6, allow_nan=False))
datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 12, 31))
# COM delivers every number as a float and dates as datetimes; the direct calls also get ints.
com_scalars = st.one_of(st.none(), st.booleans(), floats, serial_dates.map(float), datetimes,
                        texts, st.sampled_from(sorted(EXCEL_ERROR_CODES.values())))
py_scalars = st.one_of(com_scalars, st.integers(-(2 ** 64), 2 ** 64), serial_dates)


def com_value() -> st.SearchStrategy[Any]:
    """One argument as COM passes it: a scalar or a rectangular 2-D array (tuple rows)."""
    def grid(shape: tuple[int, int]) -> st.SearchStrategy[Any]:
        rows, cols = shape
        row = st.tuples(*[com_scalars] * cols)
        return st.tuples(*[row] * rows)

    arrays = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(grid)
    return st.one_of(com_scalars, arrays, st.just(MISSING))


def py_value() -> st.SearchStrategy[Any]:
    """Any small, possibly jagged, nested list of cell-like values."""
    return st.recursive(py_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def plausible(name: str) -> st.SearchStrategy[Any]:
    """Values that make sense for the argument ``name``, so the success path is fuzzed too."""
    def dates(first: int, last: int) -> st.SearchStrategy[Any]:
        serials = st.integers(first, last)  # Excel serial numbers
        return st.one_of(serials.map(float), serials.map(
            lambda n: dt.datetime(1899, 12, 30) + dt.timedelta(days=n)), serials.map(
            lambda n: f"{dt.date(1899, 12, 30) + dt.timedelta(days=n):%Y-%m-%d}"))

    numbers = st.floats(-0.5, 0.5, allow_nan=False)
    one_ticker = st.sampled_from(["NoDur", "Hlth", "S3M3", "money"])
    options: dict[str, st.SearchStrategy[Any]] = {
        "tickers": st.one_of(
            one_ticker, st.sampled_from(["NoDur,Hlth", "S1V1; S5M5", "NoDur,ZZZZ"]),
            st.lists(st.one_of(one_ticker, st.sampled_from([None, "ZZZZ", "../x"]))
                     .map(lambda v: [v]), min_size=1, max_size=3)),
        "ticker": one_ticker,
        "model": st.sampled_from(["FF3", "CAPM", "CARHART4", "MKT,MOM", "ff3"]),
        # Sample months 1949-01 .. 2017-03: start early, end late, or a few days apart
        # (no complete month: an empty table).
        "start_date": st.one_of(dates(17899, 31000), st.just("1990-01-02")),
        "end_date": st.one_of(dates(33000, 42825), st.just("1990-01-20")),
        "freq": st.sampled_from(["M", "m", "Monthly"]),  # the sample is monthly
        "se_type": st.sampled_from(["classical", "HC0", "HC1", "HC2", "HC3", "HAC", None]),
        "lags": st.one_of(st.none(), st.integers(1, 30).map(float)),
        "window": st.integers(3, 120).map(float),
        "header": st.sampled_from([True, False, None, "FALSE", 1.0]),
        "small_sample": st.sampled_from([True, False, None, "TRUE", 0.0]),
        "layout": st.sampled_from(["table", "series", None, "TABLE"]),
        "excess": st.sampled_from([True, False, None]),
        "annualize": st.sampled_from([True, False, "geometric", None, 0.0]),
        "labels": st.one_of(st.none(), st.just([["a", "b"]]), st.just([["a"], ["a"]])),
        "y_range": st.lists(st.lists(numbers, min_size=1, max_size=1), min_size=1, max_size=30),
        "x_range": st.lists(st.lists(numbers, min_size=2, max_size=2), min_size=1, max_size=30),
    }
    return options.get(name, st.none())


# -- environment -------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def offline_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """The bundled sample for all data, a private cache, and no network at all."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access attempted during the fuzz test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLFACTOR_SOURCE", "sample")
        mp.setenv("XLFACTOR_OFFLINE", "1")
        mp.setenv("XLFACTOR_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cache")))
        for var in ("XLFACTOR_PRICE_DIR", "XLFACTOR_FRENCH_DIR"):
            mp.delenv(var, raising=False)
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        forget_all()
        yield attempts
        forget_all()


def check_result(result: Any, attempts: list[Any]) -> None:
    seen = list(attempts)
    attempts.clear()  # each example answers for its own attempts (and shrinks correctly)
    assert not seen, f"network access attempted: {seen[:1]}"
    assert isinstance(result, list) and result, result
    assert all(isinstance(row, list) and row for row in result), result
    width = len(result[0])
    assert all(len(row) == width for row in result), result
    for row in result:
        for cell in row:
            assert isinstance(cell, CELL_TYPES), (type(cell), cell)
            if isinstance(cell, float):
                assert math.isfinite(cell), result  # missing numbers are "#N/A" text
    if len(result) == 1 and width == 1:
        # A lone cell is an error message (no UDF answers with a single plain value).
        cell = result[0][0]
        assert isinstance(cell, str) and cell.startswith("#") and len(cell) > 1, result
    else:
        # A multi-cell answer is a table, never an error cell blown up into a rectangle.
        assert any(c not in ("", "#N/A") for c in result[0]), result
    texts = [c for row in result for c in row if isinstance(c, str)]
    assert not any("Traceback" in t for t in texts), result
    # cell_safe turns a raw exception into "#VALUE! unexpected <Type>: ..."; every failure
    # the fuzzer can provoke must be a deliberate, specific message instead.
    assert not any(t.startswith("#VALUE! unexpected") for t in texts), result
    # Input echoed back (bad tickers, labels) must not turn into a formula in a CSV export.
    assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in texts), result


def _params(name: str, excel: bool = False) -> list[inspect.Parameter]:
    """The UDF's parameters; from Excel, without the reserved ``caller`` (which xlwings
    fills with the calling cell, never with a formula argument)."""
    params = inspect.signature(getattr(udfs, name)).parameters.values()
    return [p for p in params if not (excel and p.name == "caller")]


def _draw_args(data: st.DataObject, name: str, junk: st.SearchStrategy[Any],
               trailing_missing: bool) -> list[Any]:
    """Arguments for ``name``: all sensible, one of them junk, or junk mixed in anywhere.

    Mostly-sensible calls reach the computation and the table layout; the rest stress
    the argument checks.
    """
    params = _params(name, excel=trailing_missing)
    required = sum(p.default is inspect.Parameter.empty for p in params)
    everything = st.just(len(params))
    count = data.draw(st.one_of(everything, st.integers(required, len(params))), label="count") \
        if trailing_missing else len(params)
    mode = data.draw(st.sampled_from(["sensible", "one junk", "mixed"]), label="mode")
    junk_at = data.draw(st.integers(0, max(count - 1, 0)), label="junk at")
    args = []
    for i, p in enumerate(params[:count]):
        if mode == "mixed":
            strategy = st.one_of(junk, plausible(p.name))
        elif mode == "one junk" and i == junk_at:
            strategy = junk
        else:
            strategy = plausible(p.name)
        args.append(data.draw(strategy, label=p.name))
    return args


@pytest.mark.parametrize("name", UDF_NAMES)
@FUZZ
@given(data=st.data())
def test_direct_call_never_raises(offline_sample, name, data):
    params = _params(name)
    args = _draw_args(data, name, py_value(), trailing_missing=False)
    # Python callers may also leave trailing optional arguments out.
    cut = data.draw(st.integers(sum(p.default is inspect.Parameter.empty for p in params),
                                len(params)), label="given")
    check_result(getattr(udfs, name)(*args[:cut]), offline_sample)


@pytest.mark.parametrize("name", UDF_NAMES)
@FUZZ
@given(data=st.data())
def test_excel_call_never_raises(offline_sample, name, data):
    args = _draw_args(data, name, com_value(), trailing_missing=True)
    check_result(excel_call(name, *args), offline_sample)


def test_sample_is_used_and_reachable(offline_sample):
    # The fuzzed success path is real: a plausible call computes on the sample.
    table = udfs.FACTOR_BETAS("NoDur", "FF3", "1990-01-01", "2016-12-31", "M")
    check_result(table, offline_sample)
    assert table[1][0] == "NODUR" and isinstance(table[1][2], float)
    from xlfactor.data.settings import Settings

    assert Settings.from_env().sample
    assert Path(str(Settings.from_env().cache_dir)).name.startswith("fuzz-cache")


@st.composite
def sheet_regression(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    """y and x ranges of matching height with blanks, odd numbers and optional headers."""
    n = draw(st.integers(1, 25))
    k = draw(st.integers(1, 3))
    cell = st.floats(-10, 10, allow_nan=False)
    if draw(st.booleans()):  # half the cases clean, so the success path is fuzzed as well
        cell = st.one_of(cell, st.floats(-1e3, 1e3, allow_nan=False), st.none(), st.sampled_from(
            [0.0, 1e308, -1e308, 5e-324, math.inf, math.nan, True, "", "x"]))
    y = [[draw(cell)] for _ in range(n)]
    x = [[draw(cell) for _ in range(k)] for _ in range(n)]
    if draw(st.booleans()):
        y = [["y"], *y]
        x = [[f"f{j}" for j in range(k)], *x]
    if draw(st.booleans()):  # LINEST's other orientation: observations in a row
        y = [list(c) for c in zip(*y)]
        x = [list(c) for c in zip(*x)]
    labels = draw(st.one_of(st.none(), st.just([[f"L{j}" for j in range(k)]])))
    return y, x, labels


@FUZZ
@given(case=sheet_regression(), se=st.sampled_from([None, "HC1", "HC3", "HAC"]))
@example(case=([[1.0], [2.0], [2.5], [4.0], [4.1], [5.5], [6.0], [8.5], [9.0], [9.7]],
               [[1.0, 3.0], [2.0, 1.0], [3.0, 4.0], [4.0, 2.0], [5.0, 7.0], [6.0, 1.0],
                [7.0, 2.0], [8.0, 8.0], [9.0, 5.0], [10.0, 1.0]], None), se="HAC")
def test_regress_on_sheet_shaped_data(offline_sample, case, se):
    y, x, labels = case
    for result in (udfs.FACTOR_REGRESS(y, x, labels, se),
                   excel_call("FACTOR_REGRESS", y, x, labels if labels else MISSING, se)):
        check_result(result, offline_sample)
        if len(result) > 1:
            k = len(x[0]) if len(y[0]) == 1 else len(x)
            assert result[0][0] == "Coefficient"
            assert result[1][0] == "alpha" and "" not in [r[0] for r in result[1:k + 2]]
            assert result[k + 2][0] == ""  # k + 1 coefficients, then the gap row


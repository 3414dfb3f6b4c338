"""The bad-input matrix: each case at the Python API (exception type and message) and in a
cell (a short readable message, never a traceback, never a plausible number).

Data come from the bundled offline sample (monthly portfolios such as NoDur, Hlth), so
nothing here needs the network or recorded data.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import xlfactor
from xlfactor.data.settings import Settings
from xlfactor.domain.errors import (
    CollinearityError,
    DataUnavailableError,
    InsufficientDataError,
    InvalidInputError,
    UnknownModelError,
    UnknownTickerError,
)
from xlfactor.excel import udfs

S = Settings(sample=True)
GOOD = {"model": "FF3", "start": "1990-01-01", "end": "2000-12-31", "freq": "M"}


@pytest.fixture(autouse=True)
def offline_sample(monkeypatch, tmp_path):
    monkeypatch.setenv("XLFACTOR_SOURCE", "sample")
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path))


def fit(tickers="NoDur", **kw):
    args = {**GOOD, **kw}
    return xlfactor.fit(tickers, args["model"], args["start"], args["end"], args["freq"],
                        args.get("se", "classical"), args.get("lags"), settings=S)


def betas_cell(tickers="NoDur", **kw):
    a = {**GOOD, **kw}
    return udfs.FACTOR_BETAS(tickers, a["model"], a["start"], a["end"], a["freq"])


def y_x(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = 0.1 + x @ [1.0, -0.5] + rng.normal(size=n)
    return [[v] for v in y], x.tolist()


Y, X = y_x()

# (case id, API call, exception type, API message regex, UDF call, cell message regex)
CASES = [
    ("unknown ticker", lambda: fit("ZZZZ"), UnknownTickerError, "unknown sample portfolio 'ZZZZ'",
     lambda: betas_cell("ZZZZ"), r"^#N/A unknown sample portfolio 'ZZZZ'"),
    ("empty ticker", lambda: fit(""), InvalidInputError, "no tickers given",
     lambda: betas_cell(""), r"^#VALUE! no tickers given"),
    ("blank range", lambda: fit([[None], [""]]), InvalidInputError, "no tickers given",
     lambda: betas_cell([[None], [""]]), r"^#VALUE! no tickers given"),
    ("ticker with spaces", lambda: fit("NO DUR"), InvalidInputError, "ticker",
     lambda: betas_cell([["NO DUR"]]), r"^#VALUE! invalid ticker 'NO DUR'"),
    ("unicode ticker", lambda: fit("ÄPPL"), InvalidInputError, "ticker",
     lambda: betas_cell("ÄPPL"), r"^#VALUE! invalid ticker"),
    ("path-like ticker", lambda: fit("../../x"), InvalidInputError, "ticker",
     lambda: betas_cell("../../x"), r"^#VALUE! invalid ticker '\.\./\.\./x'"),
    ("formula-like ticker", lambda: fit("=cmd|' /c calc'!A1"), InvalidInputError, "ticker",
     lambda: betas_cell("=cmd|' /c calc'!A1"), r"^#VALUE! invalid ticker"),
    ("over-long ticker", lambda: fit("A" * 40), InvalidInputError, "ticker",
     lambda: betas_cell("A" * 40), r"^#VALUE! invalid ticker"),
    ("start after end", lambda: fit(start="2001-01-01", end="2000-01-01"), InvalidInputError,
     "start 2001-01-01 is after end 2000-01-01",
     lambda: betas_cell(start="2001-01-01", end="2000-01-01"), r"^#VALUE! start 2001-01-01 is after end"),
    ("start in the future", lambda: fit(start="2999-01-01", end=None), InvalidInputError, "in the future",
     lambda: betas_cell(start="2999-01-01", end=None), r"^#VALUE! start 2999-01-01 is in the future"),
    ("before any history", lambda: fit(start="1850-01-01", end="1890-01-01"), InvalidInputError,
     "before any factor history",
     lambda: betas_cell(start="1850-01-01", end="1890-01-01"), r"^#VALUE! start 1850-01-01 is before"),
    ("before the data", lambda: fit(start="1930-01-01", end="1940-12-31"), InsufficientDataError,
     "no factor data in the requested period",
     lambda: betas_cell(start="1930-01-01", end="1940-12-31"), r"^#N/A no factor data"),
    ("impossible date", lambda: fit(start="2020-02-30"), InvalidInputError, "not a date",
     lambda: betas_cell(start="2020-02-30"), r"^#VALUE! start: '2020-02-30' is not a date"),
    ("date as text garbage", lambda: fit(end="soon"), InvalidInputError, "not a date",
     lambda: betas_cell(end="soon"), r"^#VALUE! end: 'soon' is not a date"),
    ("negative serial date", lambda: fit(start=-3.0), InvalidInputError, "not a valid Excel date",
     lambda: betas_cell(start=-3.0), r"^#VALUE! start: -3.0 is not a valid Excel date"),
    ("too few observations", lambda: fit(start="2000-01-01", end="2000-04-30"), InsufficientDataError,
     "need at least 6",
     lambda: betas_cell(start="2000-01-01", end="2000-04-30"), r"^#N/A .*need at least 6"),
    ("unknown model", lambda: fit(model="FF7"), UnknownModelError, "unknown model 'FF7'",
     lambda: betas_cell(model="FF7"), r"^#VALUE! unknown model 'FF7'"),
    ("unknown factor", lambda: fit(model="MKT,QMJ"), UnknownModelError, "unknown factor 'QMJ'",
     lambda: betas_cell(model="MKT,QMJ"), r"^#VALUE! unknown factor 'QMJ'"),
    ("repeated factor", lambda: fit(model="MKT,SMB,MKT"), UnknownModelError, "MKT listed twice",
     lambda: betas_cell(model="MKT,SMB,MKT"), r"^#VALUE! factor MKT listed twice"),
    ("factor the sample lacks", lambda: fit(model="FF5"), DataUnavailableError, "no RMW, CMA factor",
     lambda: betas_cell(model="FF5"), r"^#N/A .*no RMW, CMA factor"),
    ("bad frequency", lambda: fit(freq="Q"), InvalidInputError, "unknown frequency 'Q'",
     lambda: betas_cell(freq="Q"), r"^#VALUE! unknown frequency 'Q'; use D, W or M"),
    ("frequency the sample lacks", lambda: fit(freq="W"), InvalidInputError, "monthly only",
     lambda: betas_cell(freq="W"), r"^#VALUE! the offline sample is monthly only: use freq M"),
    ("negative lags", lambda: fit(se="HAC", lags=-1), InvalidInputError, "at least 1",
     lambda: udfs.FACTOR_TSTATS("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", "HAC", -1),
     r"^#VALUE! lags must be at least 1"),
    ("zero lags", lambda: fit(se="HAC", lags=0), InvalidInputError, "at least 1",
     lambda: udfs.FACTOR_TSTATS("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", "HAC", 0),
     r"^#VALUE! lags must be at least 1"),
    ("fractional lags", lambda: fit(se="HAC", lags=2.5), InvalidInputError, "whole number",
     lambda: udfs.FACTOR_SE("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", "HAC", 2.5),
     r"^#VALUE! lags must be a whole number"),
    ("lags beyond the sample", lambda: fit(se="HAC", lags=500), InvalidInputError, "smaller than the sample",
     lambda: udfs.FACTOR_SE("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", "HAC", 500),
     r"^#(VALUE|N/A)! .*smaller than the sample"),
    ("unknown SE type", lambda: fit(se="robustest"), InvalidInputError, "unknown standard-error type",
     lambda: udfs.FACTOR_SE("NoDur", "FF3", "1990-01-01", "2000-12-31", "M", "robustest"),
     r"^#VALUE! unknown standard-error type 'robustest'"),
    ("window longer than sample",
     lambda: xlfactor.rolling("NoDur", "FF3", 500, "1990-01-01", "2000-12-31", "M", settings=S),
     InsufficientDataError, "longer than the sample",
     lambda: udfs.FACTOR_ROLLING("NoDur", "FF3", 500, "1990-01-01", "2000-12-31", "M"),
     r"^#N/A window 500 is longer than the sample"),
    ("window too short",
     lambda: xlfactor.rolling("NoDur", "FF3", 3, "1990-01-01", "2000-12-31", "M", settings=S),
     InvalidInputError, "too short",
     lambda: udfs.FACTOR_ROLLING("NoDur", "FF3", 3, "1990-01-01", "2000-12-31", "M"),
     r"^#VALUE! window 3 is too short"),
    ("fractional window",
     lambda: xlfactor.rolling("NoDur", "FF3", 36.5, "1990-01-01", "2000-12-31", "M", settings=S),
     InvalidInputError, "whole number",
     lambda: udfs.FACTOR_ROLLING("NoDur", "FF3", 36.5, "1990-01-01", "2000-12-31", "M"),
     r"^#VALUE! window must be a whole number"),
    ("all-NaN returns", lambda: xlfactor.regress([[None]] * 30, X), InsufficientDataError, "0 aligned",
     lambda: udfs.FACTOR_REGRESS([[None]] * 30, X), r"^#N/A 0 aligned observations"),
    ("constant returns", lambda: xlfactor.regress([[1.0]] * 30, X), InsufficientDataError, "constant",
     lambda: udfs.FACTOR_REGRESS([[1.0]] * 30, X), r"^#N/A returns of 'y' are constant"),
    ("collinear regressors",
     lambda: xlfactor.regress(Y, [[r[0], r[0] * 2] for r in X]), CollinearityError, "collinear",
     lambda: udfs.FACTOR_REGRESS(Y, [[r[0], r[0] * 2] for r in X]), r"^#NUM! the regressors are perfectly collinear"),
    ("constant regressor",
     lambda: xlfactor.regress(Y, [[r[0], 3.0] for r in X]), CollinearityError, "collinear",
     lambda: udfs.FACTOR_REGRESS(Y, [[r[0], 3.0] for r in X]), r"^#NUM! the regressors are perfectly collinear"),
    ("text in y", lambda: xlfactor.regress([["abc"]] + Y[1:], X), InvalidInputError, "row 1, column 1",
     lambda: udfs.FACTOR_REGRESS([[1.0], ["abc"]] + Y[2:], X), r"^#VALUE! y_range row 2, column 1: 'abc' is not a number"),
    ("boolean in X", lambda: xlfactor.regress(Y, [[True, 1.0]] + X[1:]), InvalidInputError, "not a number",
     lambda: udfs.FACTOR_REGRESS(Y, [[True, 1.0]] + X[1:]), r"^#VALUE! X row 1, column 1: True is not a number"),
    ("infinite value", lambda: xlfactor.regress([[float("inf")]] + Y[1:], X), InvalidInputError, "non-finite",
     lambda: udfs.FACTOR_REGRESS([[float("inf")]] + Y[1:], X), r"^#VALUE! y row 1, column 1: missing or non-finite value inf"),
    ("lengths differ", lambda: xlfactor.regress(Y[:-1], X), InvalidInputError, "y has 29 rows but X has 30",
     lambda: udfs.FACTOR_REGRESS(Y[:-1], X), r"^#VALUE! y has 29 rows but X has 30"),
    ("label count", lambda: xlfactor.regress(Y, X, ["a"]), InvalidInputError, "1 labels for 2 X columns",
     lambda: udfs.FACTOR_REGRESS(Y, X, [["a"]]), r"^#VALUE! 1 labels for 2 X columns"),
    ("duplicate labels", lambda: xlfactor.regress(Y, X, ["a", "a"]), InvalidInputError, "distinct",
     lambda: udfs.FACTOR_REGRESS(Y, X, [["a", "a"]]), r"^#VALUE! labels must be distinct"),
    ("Excel error in a date", lambda: fit(start="#N/A"), InvalidInputError, "not a date",
     lambda: betas_cell(start="#N/A"), r"^#VALUE! start contains the Excel error #N/A"),
    ("Excel error in a range", lambda: xlfactor.regress([["#DIV/0!"]] + Y[1:], X), InvalidInputError,
     "not a number",
     lambda: udfs.FACTOR_REGRESS([["#DIV/0!"]] + Y[1:], X), r"^#VALUE! y_range contains the Excel error #DIV/0!"),
    ("Excel error in tickers", lambda: fit([["NoDur"], ["#REF!"]]), InvalidInputError, "ticker",
     lambda: betas_cell([["NoDur"], ["#REF!"]]), r"^#VALUE! tickers contains the Excel error #REF!"),
    ("model as a number", lambda: fit(model=5), UnknownModelError, "unknown",
     lambda: betas_cell(model=5), r"^#VALUE! unknown model '5'"),
    ("header not boolean", lambda: udfs.FACTOR_BETAS("NoDur", header="maybe"), None, None,
     lambda: udfs.FACTOR_BETAS("NoDur", header="maybe"), r"^#VALUE! header must be TRUE or FALSE"),
    ("annualize unknown", lambda: udfs.FACTOR_ALPHA("NoDur", annualize="sometimes"), None, None,
     lambda: udfs.FACTOR_ALPHA("NoDur", annualize="sometimes"), r"^#VALUE! annualize must be"),
    ("two tickers for STATS", lambda: udfs.FACTOR_STATS("NoDur,Hlth"), None, None,
     lambda: udfs.FACTOR_STATS("NoDur,Hlth"), r"^#VALUE! FACTOR_STATS takes one ticker"),
    ("ranges nested too deep", lambda: fit([[[[["NoDur"]]]]]), InvalidInputError, "nested",
     lambda: betas_cell([[[[[["NoDur"]]]]]]), r"^#VALUE! .*nested"),
]


def test_confidence_level_outside_zero_one():  # API only: cells use 95%
    with pytest.raises(InvalidInputError, match="confidence level"):
        xlfactor.regress(Y, X, conf_level=1.5)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_api_raises_a_specific_error(case):
    _, call, exc, pattern, *_ = case
    if exc is None:  # a cell-only argument: the API has no such parameter
        assert call()[0][0].startswith("#")
        return
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cell_shows_a_short_readable_message(case):
    *_, udf_call, cell_pattern = case
    result = udf_call()
    text = result[0][0]
    assert isinstance(text, str) and re.search(cell_pattern, text), text
    assert "Traceback" not in text and len(text) <= 250
    if text.startswith("#"):
        assert len(result) == 1 and len(result[0]) == 1  # no number next to an error


def test_matrix_has_at_least_40_cases():
    assert len(CASES) >= 40


def test_duplicate_and_lower_case_tickers_are_one_row():
    table = betas_cell([["nodur"], ["NoDur"], ["NODUR"]])
    assert [row[0] for row in table] == ["Ticker", "NODUR"]


def test_end_in_the_future_is_clamped_not_an_error():
    table = betas_cell(start="2010-01-01", end="2999-12-31")
    assert table[1][0] == "NODUR" and isinstance(table[1][1], float)


def test_one_bad_ticker_fills_only_its_row():
    table = betas_cell([["NoDur"], ["ZZZZ"], ["../x"], ["Hlth"]])
    assert [r[0] for r in table[1:]] == ["NODUR", "ZZZZ", "../x", "HLTH"]
    assert isinstance(table[1][1], float) and isinstance(table[4][1], float)
    assert table[2][1].startswith("#N/A unknown") and table[3][1].startswith("#VALUE! invalid ticker")
    assert table[2][2:] == ["#N/A"] * 3


def test_huge_in_sheet_range_is_handled():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100_000, 3))
    y = x @ [0.5, -0.2, 1.0] + rng.normal(size=100_000)
    table = udfs.FACTOR_REGRESS(y.reshape(-1, 1).tolist(), x.tolist(), [["a", "b", "c"]])
    assert table[0][0] == "Coefficient" and table[2][0] == "a"
    assert abs(table[2][1] - 0.5) < 0.02


def test_unknown_ticker_in_returns_keeps_a_labelled_column():
    table = udfs.FACTOR_RETURNS("NoDur,ZZZZ", "2010-01-01", "2010-03-31", "M")
    assert table[0] == ["Date", "NODUR", "ZZZZ: #N/A unknown ticker"]
    assert all(row[2] == "#N/A" and isinstance(row[1], float) for row in table[1:])
    only_bad = udfs.FACTOR_RETURNS("ZZZZ", "2010-01-01", "2010-03-31", "M")
    assert only_bad[0][0].startswith("#N/A unknown sample portfolio 'ZZZZ'")


@pytest.mark.parametrize("call", [
    lambda: udfs.FACTOR_ROLLING("NoDur,Hlth", "FF3", 36, "1990-01-01", "2000-12-31", "M"),
    lambda: udfs.FACTOR_ATTRIBUTION("NoDur,Hlth", "FF3", "1990-01-01", "2000-12-31", "M"),
    lambda: udfs.FACTOR_COMPARE("NoDur,Hlth", "1990-01-01", "2000-12-31", "M"),
])
def test_one_ticker_functions_reject_several(call):
    assert call() == [["#VALUE! one ticker expected, got 2: NODUR, HLTH"]]

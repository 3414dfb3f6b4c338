"""Ticker parsing: accepted symbols, rejected input, Excel-range shapes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlfactor.domain.errors import InvalidInputError, XlFactorError
from xlfactor.domain.tickers import (
    MAX_TICKER_LENGTH,
    is_valid_ticker,
    normalize_ticker,
    normalize_tickers,
)

GOOD = {
    "AAPL": "AAPL",
    " aapl ": "AAPL",
    "^GSPC": "^GSPC",
    "^gspc": "^GSPC",
    "BRK-B": "BRK-B",
    "brk-b": "BRK-B",
    "EURUSD=X": "EURUSD=X",
    "OCDO.L": "OCDO.L",
    "ocdo.l": "OCDO.L",
    "BTC-USD": "BTC-USD",
    "WSU.DE": "WSU.DE",
    "7203.T": "7203.T",
    "A" * MAX_TICKER_LENGTH: "A" * MAX_TICKER_LENGTH,
}

BAD = [
    "BRK B",  # space inside
    "../../x",
    "..\\x",
    "/etc/passwd",
    "=cmd|' /c calc'!A1",
    "+SUM(A1)",
    "@SUM(A1)",
    "-AAPL",
    ".L",
    "AAPL/",
    "AA PL",
    "AAPL\x00",
    "ÄPFEL",  # non-ASCII letter
    "ß",  # upper-cases to ASCII "SS": must still be rejected
    "ﬁ",  # ligature, upper-cases to "FI"
    "ＡＡＰＬ",  # full-width letters
    "A" * (MAX_TICKER_LENGTH + 1),
    "^",
    "^^GSPC",
]


@pytest.mark.parametrize(("raw", "expected"), sorted(GOOD.items()))
def test_good_tickers_are_normalised(raw: str, expected: str) -> None:
    assert is_valid_ticker(raw)
    assert normalize_ticker(raw) == expected


@pytest.mark.parametrize("raw", BAD)
def test_bad_tickers_are_rejected(raw: str) -> None:
    assert not is_valid_ticker(raw)
    with pytest.raises(InvalidInputError, match="invalid ticker"):
        normalize_ticker(raw)


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_single_ticker_is_rejected(raw: object) -> None:
    with pytest.raises(InvalidInputError, match="empty ticker"):
        normalize_ticker(raw)


@pytest.mark.parametrize("raw", ["", "  ,; ", None, [], [[None, ""], ["", None]], ((),)])
def test_no_tickers_given(raw: object) -> None:
    with pytest.raises(InvalidInputError, match="^no tickers given$"):
        normalize_tickers(raw)


def test_separated_string_is_split_deduplicated_in_order() -> None:
    assert normalize_tickers("msft, AAPL;brk-b ;msft\n^gspc,  aapl") == [
        "MSFT",
        "AAPL",
        "BRK-B",
        "^GSPC",
    ]


def test_excel_range_with_blanks() -> None:
    excel_range = [["AAPL", None], ["", "msft"], [None, None], ["aapl", "EURUSD=X"]]
    assert normalize_tickers(excel_range) == ["AAPL", "MSFT", "EURUSD=X"]


def test_single_column_and_single_row_ranges() -> None:
    assert normalize_tickers([["SPY"], ["QQQ"]]) == ["SPY", "QQQ"]
    assert normalize_tickers(["SPY", "QQQ", "spy"]) == ["SPY", "QQQ"]
    assert normalize_tickers(("SPY",)) == ["SPY"]


def test_numbers_from_excel_cells() -> None:
    # a Tokyo code typed into a cell arrives as a float; NaN is an empty cell
    assert normalize_tickers([[7203.0, math.nan], [6758]]) == ["7203", "6758"]


@pytest.mark.parametrize("raw", [1.5, -3, True, math.inf, {"a": 1}, object(), b"AAPL"])
def test_non_text_cells_are_rejected(raw: object) -> None:
    with pytest.raises(InvalidInputError):
        normalize_tickers([raw])


def test_numpy_and_pandas_containers() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    assert normalize_tickers(np.array([["aapl", None], ["msft", ""]], dtype=object)) == [
        "AAPL",
        "MSFT",
    ]
    assert normalize_tickers(pd.Series(["spy", "qqq"])) == ["SPY", "QQQ"]


def test_one_bad_item_rejects_the_whole_list() -> None:
    with pytest.raises(InvalidInputError, match=r"'\.\./\.\./x'"):
        normalize_tickers([["AAPL"], ["../../x"]])


def test_formula_injection_is_quoted_not_echoed_raw() -> None:
    with pytest.raises(InvalidInputError) as info:
        normalize_ticker("=cmd|' /c calc'!A1")
    message = str(info.value)
    assert message.startswith("invalid ticker ")
    assert "=cmd|' /c calc'!A1" in message  # quoted inside the repr


def test_long_input_is_truncated_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as info:
        normalize_ticker("X" * 5000 + " tail")
    message = str(info.value)
    assert len(message) < 150
    assert "..." in message
    assert "tail" not in message


def test_deep_nesting_is_rejected() -> None:
    deep: object = "AAPL"
    for _ in range(20):
        deep = [deep]
    with pytest.raises(InvalidInputError, match="nested"):
        normalize_tickers(deep)


def test_error_is_an_xlfactor_value_error() -> None:
    with pytest.raises(ValueError) as info:
        normalize_ticker("BRK B")
    assert isinstance(info.value, XlFactorError)
    assert info.value.cell_message().startswith("#VALUE! invalid ticker")


cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="ABCXYZabc0129.-=^ ,;\t", max_size=25),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=5),
)
nested = st.recursive(cells, lambda inner: st.lists(inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(nested)
def test_normalize_tickers_only_raises_invalid_input(raw: object) -> None:
    try:
        result = normalize_tickers(raw)
    except InvalidInputError:
        return
    assert result, "a successful parse returns at least one ticker"
    assert len(result) == len(set(result))
    for ticker in result:
        assert is_valid_ticker(ticker)
        assert ticker == ticker.upper()
        assert ticker.isascii()
        assert len(ticker) <= MAX_TICKER_LENGTH


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_single_ticker_result_is_always_valid(raw: str) -> None:
    try:
        ticker = normalize_ticker(raw)
    except InvalidInputError:
        return
    assert is_valid_ticker(ticker)
    assert ticker == raw.strip().upper()

"""A cold workbook is one download: the first cell fetches every ticker the formulas name.

Yahoo is replaced at ``yfinance.download`` by a counting stand-in that returns a price
table for whatever it is asked (the numbers do not matter here, the number of calls does);
factors come from the real French files.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_xlwings import FakeBook, FakeCaller
from openpyxl import Workbook

from xlfactor.excel import prefetch, udfs
from xlfactor.excel.books import FileBook

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "xlfactor_template.xlsm"


#: The stand-in's trading days: each ticker's closes are one walk over them.
CALENDAR = pd.bdate_range("2000-01-03", "2030-12-31", name="Date")


class CountingYahoo:
    """``yfinance.download`` stand-in: one call, any tickers. Each ticker has one made-up
    random walk over a fixed calendar, so any request for it sees the same closes."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @staticmethod
    @functools.cache
    def walk(ticker: str) -> pd.Series:
        rng = np.random.default_rng(zlib.crc32(ticker.encode()))
        steps = rng.normal(0, 0.01, len(CALENDAR))
        return pd.Series(100 * np.exp(np.cumsum(steps)), index=CALENDAR)

    def __call__(self, tickers, start, end, **kwargs) -> pd.DataFrame:
        self.calls.append(list(tickers))
        last = pd.Timestamp(end) - pd.Timedelta(days=1)
        frame = pd.DataFrame({t: self.walk(t).loc[start:last] for t in tickers})
        frame.columns = pd.MultiIndex.from_product([["Close"], frame.columns],
                                                   names=["Price", "Ticker"])
        return frame


@pytest.fixture()
def yahoo(monkeypatch, tmp_cache, french_dir) -> CountingYahoo:
    import yfinance

    fake = CountingYahoo()
    monkeypatch.setattr(yfinance, "download", fake)
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(french_dir / "vintage_202510" / "zip"))
    for name in ("XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE", "XLFACTOR_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    prefetch.forget()
    yield fake
    prefetch.forget()


TICKERS = [f"T{i:02d}" for i in range(50)]
ARGS = ("FF3", "2021-01-01", "2021-12-31")


def fifty_cells(path: Path) -> Path:
    """A sheet of fifty FACTOR_BETAS cells, one ticker each, a few in an input range."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for i, ticker in enumerate(TICKERS[:45]):
        ws.cell(row=i + 1, column=1).value = f'=FACTOR_BETAS("{ticker}","FF3","2021-01-01",' \
                                             '"2021-12-31")'
    inputs = wb.create_sheet("My inputs")
    for i, ticker in enumerate(TICKERS[45:]):
        inputs.cell(row=i + 1, column=1).value = ticker
        ws.cell(row=46 + i, column=1).value = (f"=FACTOR_BETAS('My inputs'!A{i + 1},\"FF3\","
                                               "DATE(2021,1,1),\"2021-12-31\")")
    target = path / "fifty.xlsx"
    wb.save(target)
    return target


def recalculate(book: FakeBook, with_caller: bool) -> list[list[list]]:
    """Excel's recalculation: each FACTOR_BETAS cell in turn, its arguments evaluated."""
    out = []
    for sheet in book.order:
        for (row, col), text in sorted(book.formulas[sheet].items()):
            ticker = text.split("(")[1].split(",")[0].strip('"')
            if "!" in ticker:
                ticker = TICKERS[45 + row - 46]
            caller = FakeCaller(book, sheet, f"A{row}") if with_caller else None
            out.append(udfs.FACTOR_BETAS(ticker, *ARGS, caller=caller))
    return out


def test_plan_reads_every_ticker_and_the_union_of_periods(tmp_path):
    plan = prefetch.plan(FileBook(fifty_cells(tmp_path)))
    assert plan.tickers == tuple(TICKERS)
    assert plan.start == pd.Timestamp("2021-01-01") and plan.end == pd.Timestamp("2021-12-31")
    assert plan.formulas == 50 and plan.unreadable == ()
    assert plan.factor_requests == (("FF3", None, None),)


def test_plan_of_the_template_follows_its_input_names():
    plan = prefetch.plan(FileBook(TEMPLATE))
    assert plan.tickers == ("AAPL", "MSFT", "JNJ", "XOM")
    assert plan.start == pd.Timestamp("2021-01-01") and plan.end == pd.Timestamp("2023-12-31")
    assert plan.formulas == 10  # every FACTOR_* call naming tickers (not DATA or REGRESS)


def test_a_cold_workbook_is_one_download(yahoo, tmp_path):
    book = FakeBook(fifty_cells(tmp_path))
    tables = recalculate(book, with_caller=True)
    assert len(yahoo.calls) == 1 and sorted(yahoo.calls[0]) == sorted(TICKERS)
    assert all(t[1][0] == ticker for t, ticker in zip(tables, TICKERS))
    assert all(isinstance(t[1][2], float) for t in tables)


def test_without_the_prefetch_it_is_one_download_per_cell(yahoo, tmp_path):
    """The reference for the test above: what a cold sheet costs cell by cell."""
    book = FakeBook(fifty_cells(tmp_path))
    recalculate(book, with_caller=False)
    assert len(yahoo.calls) == 50


def test_the_same_numbers_with_and_without_the_prefetch(yahoo, tmp_path, monkeypatch):
    book = FakeBook(fifty_cells(tmp_path))
    warm = recalculate(book, with_caller=True)
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path / "other-cache"))
    yahoo.calls.clear()
    cold = recalculate(book, with_caller=False)
    assert len(yahoo.calls) == 50  # the second pass really went cell by cell
    assert len(warm) == len(cold) == 50
    for one, other in zip(warm, cold):
        assert one[0] == other[0] and one[1][0] == other[1][0]  # cell and ticker
        assert np.isfinite(one[1][1:]).all()
        np.testing.assert_allclose(one[1][1:], other[1][1:], rtol=1e-12)


def test_a_new_ticker_triggers_one_more_scan(yahoo, tmp_path, monkeypatch):
    book = FakeBook(fifty_cells(tmp_path))
    recalculate(book, with_caller=True)
    scans = []
    real_plan = prefetch.plan
    monkeypatch.setattr(prefetch, "plan", lambda *a, **k: scans.append(1) or real_plan(*a, **k))
    prefetch.prefetch_workbook(FakeCaller(book, "Sheet1"), "T03")
    assert scans == []
    prefetch.prefetch_workbook(FakeCaller(book, "Sheet1"), "NEWT")
    assert scans == [1]
    prefetch.prefetch_workbook(FakeCaller(book, "Sheet1"), "NEWT")  # seen now: no rescan
    assert scans == [1]


def test_a_broken_caller_never_breaks_the_cell(yahoo):
    assert prefetch.prefetch_workbook(object(), "AAPL") is False
    table = udfs.FACTOR_BETAS("T01", *ARGS, caller="not a range")
    assert table[1][0] == "T01"


def test_unreadable_formulas_are_listed_not_fatal(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"] = '=FACTOR_BETAS(VLOOKUP("x",B1:C2,2),"FF3")'
    ws["A2"] = '=FACTOR_BETAS("AAPL","FF3","2020-01-01","2020-12-31")'
    ws["A3"] = '=FACTOR_BETAS("MSFT","FF3","not a date")'
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    plan = prefetch.plan(FileBook(path))
    assert plan.tickers == ("AAPL", "MSFT")
    assert [u.split(":")[0] for u in plan.unreadable] == ["S!A1", "S!A3"]
    assert "VLOOKUP" in plan.unreadable[0] and "not a date" in plan.unreadable[1]

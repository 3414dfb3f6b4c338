"""The memo policy (xlfactor.data.memo) as properties: a memo never changes an answer.

Whatever sequence of fits, data replacements and newly listed tickers a workbook goes
through, every answer equals the answer of a process that remembers nothing. The
oracle is the same call after :func:`forget_all`, and, independently, statsmodels on
the data as they are stored at that moment.

Each guard of the policy has a test that fails without it: removing the sample token
(aligned samples keyed by request only) or the fit token (fits keyed by request only)
makes ``test_answers_follow_the_data`` serve an old sample or fit after a replacement;
removing the "answers with missing tickers are not kept" rule in the Yahoo source makes
``test_a_ticker_missing_once_is_asked_again`` serve the old answer.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlfactor import api
from xlfactor.data.french import FrenchLibrary, read_french_path
from xlfactor.data.memo import Memo, forget_all, same_token
from xlfactor.data.price_files import PriceFiles
from xlfactor.data.store import Store
from xlfactor.data.yahoo import YahooPrices

FF3 = "F-F_Research_Data_Factors_daily"
TICKERS = ("AAPL", "MSFT", "XOM")
FIRST, LAST = pd.Timestamp("2019-01-01"), pd.Timestamp("2023-06-30")
PERIOD = ("2020-01-01", "2022-12-31")


@pytest.fixture(scope="module")
def recorded(shared_data):
    """Real closes and the real FF3 daily file."""
    prices = shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    closes = PriceFiles(prices).get_prices(list(TICKERS), FIRST.date(), LAST.date()).prices
    zips = shared_data / "kenneth_french" / "vintage_202510" / "zip"
    return closes, read_french_path(zips / f"{FF3}_CSV.zip")


@pytest.fixture()
def cache(recorded, tmp_path, monkeypatch):
    """An offline cache holding the FF3 file and the closes, as a session leaves it."""
    closes, french = recorded
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("XLFACTOR_OFFLINE", "1")  # a miss is an error, never a download
    store = Store(tmp_path)
    FrenchLibrary(store=store)._save(FF3, french)
    for name in TICKERS:
        YahooPrices(store=store)._save(name, closes[name].dropna(), FIRST, LAST)
    forget_all()
    yield store, closes
    forget_all()


def _statsmodels(store: Store, ticker: str) -> np.ndarray:
    """OLS of the stored closes' excess returns on the stored factors (the oracle)."""
    closes = store.get_frame(f"yahoo:{ticker}").frame["close"]
    factors = store.get_frame(f"french:{FF3}").frame
    data = pd.concat([closes.pct_change(fill_method=None).rename("y"), factors], axis=1,
                     join="inner").loc[PERIOD[0]:PERIOD[1]].dropna()
    X = sm.add_constant(data[["MKT", "SMB", "HML"]])
    return sm.OLS(data["y"] - data["RF"], X).fit().params.to_numpy()


events = st.lists(
    st.one_of(
        st.tuples(st.just("fit"), st.sets(st.sampled_from(TICKERS), min_size=1),
                  st.sampled_from(["classical", "HC1", "HAC"])),
        st.tuples(st.just("replace"), st.sampled_from(TICKERS),
                  st.floats(min_value=0.5, max_value=1.5)),
    ),
    min_size=2, max_size=8,
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events)
def test_answers_follow_the_data(cache, events):
    """Fits interleaved with replacements of cached series (another process refreshing
    them): every fit equals a memory-less process's fit and statsmodels on the stored
    data."""
    store, closes = cache
    for name in TICKERS:  # each example starts from the recorded data
        YahooPrices(store=store)._save(name, closes[name].dropna(), FIRST, LAST)
    for event in events:
        if event[0] == "replace":
            _, name, scale = event
            # a re-adjusted history: the later half scaled, as a dividend adjustment would
            series = closes[name].dropna().copy()
            series.loc["2021-06-01":] *= scale
            YahooPrices(store=Store(store.directory))._save(name, series, FIRST, LAST)
            continue
        _, names, se = event
        names = sorted(names)
        warm = api.fit(names, "FF3", *PERIOD, "D", se)
        for name in names:
            np.testing.assert_allclose(warm.params.loc[name].to_numpy(),
                                       _statsmodels(store, name), rtol=1e-9, atol=1e-12)
        forget_all()
        cold = api.fit(names, "FF3", *PERIOD, "D", se)
        np.testing.assert_array_equal(warm.params.to_numpy(), cold.params.to_numpy())
        np.testing.assert_array_equal(warm.std_errors.to_numpy(), cold.std_errors.to_numpy())


def test_a_ticker_missing_once_is_asked_again(cache, monkeypatch):
    """Yahoo says "possibly delisted" for a new listing one minute and serves it the next:
    the answer without it must not be remembered."""
    store, closes = cache
    source = YahooPrices(store=store)  # online, but the network is this fake
    listed = {"now": False}

    def fetch(symbols, first, last):
        found = {t: closes["MSFT"].loc[first:last] for t in symbols
                 if t != "NEWCO" or listed["now"]}
        for name, series in found.items():
            source._save(name, series, first, last)
        return found, {} if listed["now"] else {"NEWCO": "possibly delisted"}

    monkeypatch.setattr(source, "_fetch", fetch)
    first = source.get_prices(["AAPL", "NEWCO"], date(2020, 1, 1), date(2020, 12, 31))
    assert list(first.missing) == ["NEWCO"]
    listed["now"] = True
    second = source.get_prices(["AAPL", "NEWCO"], date(2020, 1, 1), date(2020, 12, 31))
    assert list(second.missing) == []
    assert second.prices["NEWCO"].notna().sum() > 200


def test_a_complete_answer_is_remembered_until_its_data_change(cache, monkeypatch):
    store, closes = cache
    source = YahooPrices(store=store, offline=True)
    calls = []
    real = source._get_prices
    monkeypatch.setattr(source, "_get_prices", lambda *a: calls.append(a) or real(*a))
    one = source.get_prices(["AAPL"], date(2020, 1, 1), date(2020, 12, 31))
    assert source.get_prices(["AAPL"], date(2020, 1, 1), date(2020, 12, 31)) is one
    assert len(calls) == 1
    YahooPrices(store=Store(store.directory))._save("AAPL", closes["AAPL"].dropna() * 2,
                                                   FIRST, LAST)
    two = source.get_prices(["AAPL"], date(2020, 1, 1), date(2020, 12, 31))
    assert len(calls) == 2
    np.testing.assert_allclose(two.prices["AAPL"].to_numpy(), 2 * one.prices["AAPL"].to_numpy())


# -- the Memo class itself -------------------------------------------------------------
def test_tokens_compare_objects_by_identity_and_values_by_value():
    frame = pd.DataFrame({"a": [1.0]})
    assert same_token((frame, "v1", 3), (frame, "v1", 3))
    assert not same_token((frame,), (frame.copy(),))  # equal content is not the same data
    assert not same_token(("v1",), ("v2",))
    assert not same_token((1,), (1.0,))  # a version number is not a float
    assert same_token((pd.Timestamp("2020-01-01"),), (pd.Timestamp("2020-01-01"),))


def test_an_entry_is_served_only_under_its_token_and_before_its_expiry(monkeypatch):
    memo = Memo("test", 4)
    data = object()
    memo.put("k", "answer", (data, "v1"))
    assert memo.get("k", (data, "v1")) == "answer"
    assert memo.get("k", (object(), "v1")) is None
    assert memo.get("k", (data, "v2")) is None
    clock = {"now": 1000.0}
    monkeypatch.setattr("xlfactor.data.memo.time.time", lambda: clock["now"])
    memo.put("t", "fresh", expires=1010.0)
    assert memo.get("t") == "fresh"
    clock["now"] = 1010.0
    assert memo.get("t") is None and len(memo) == 1


def test_a_weighted_memo_keeps_its_budget():
    memo = Memo("bytes", 100, max_weight=10, weigh=len)
    memo.put("a", "xxxx")
    memo.put("b", "yyyy")
    memo.put("c", "zzzz")  # 12 > 10: the least recently used goes
    assert memo.get("a") is None and memo.get("b") == "yyyy" and memo.get("c") == "zzzz"
    memo.put("huge", "x" * 11)  # heavier than the whole budget: not kept, nothing evicted
    assert memo.get("huge") is None and memo.get("b") == "yyyy"

"""In-process memos never outlive the data they were built from.

A warm cell reuses parsed factor files, assembled prices, the aligned sample and the fit.
When another process (or a refresh) replaces a cached series, the next call in this
process must see the new data, not the memoised answer.
"""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from xlfactor import api
from xlfactor.data.french import FrenchLibrary, read_french_path
from xlfactor.data.memo import Memo, forget_all
from xlfactor.data.price_files import PriceFiles
from xlfactor.data.store import Store
from xlfactor.data.yahoo import YahooPrices

FF3 = "F-F_Research_Data_Factors_daily"
ARGS = ("AAPL", "FF3", "2020-01-01", "2022-12-31")


@pytest.fixture()
def cache(shared_data, tmp_path, monkeypatch):
    """A cache holding the FF3 daily file and AAPL prices, as a real session leaves it."""
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("XLFACTOR_OFFLINE", "1")  # any miss would be an error, not a download
    store = Store(tmp_path)
    zips = shared_data / "kenneth_french" / "vintage_202510" / "zip"
    FrenchLibrary(store=store)._save(FF3, read_french_path(zips / f"{FF3}_CSV.zip"))
    prices = shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    closes = PriceFiles(prices).get_prices(["AAPL"], date(2019, 1, 1), date(2023, 6, 30)).prices["AAPL"]
    YahooPrices(store=store)._save("AAPL", closes, pd.Timestamp("2019-01-01"), pd.Timestamp("2023-06-30"))
    forget_all()
    yield store, closes
    forget_all()


def _expected(closes: pd.Series, factors: pd.DataFrame) -> np.ndarray:
    rets = closes.pct_change(fill_method=None)
    data = pd.concat([rets.rename("y"), factors], axis=1, join="inner").loc["2020-01-01":"2022-12-31"]
    fit = sm.OLS(data["y"] - data["RF"], sm.add_constant(data[["MKT", "SMB", "HML"]])).fit()
    return fit.params.to_numpy()


def test_a_replaced_price_series_is_seen_by_the_next_call(cache):
    store, closes = cache
    factors = read_french_path_from_store(store)
    first = api.fit(*ARGS).params.iloc[0].to_numpy()
    np.testing.assert_allclose(first, _expected(closes, factors), rtol=1e-10)
    assert api.fit(*ARGS).params.iloc[0].to_numpy().tolist() == first.tolist()  # memo hit

    # another process refreshes AAPL with different (say, re-adjusted) prices
    changed = closes.copy()
    changed.loc["2021-06-01":] *= np.linspace(1.0, 1.3, len(changed.loc["2021-06-01":]))
    YahooPrices(store=Store(store.directory))._save(
        "AAPL", changed, pd.Timestamp("2019-01-01"), pd.Timestamp("2023-06-30"))
    second = api.fit(*ARGS).params.iloc[0].to_numpy()
    assert not np.allclose(second, first)
    np.testing.assert_allclose(second, _expected(changed, factors), rtol=1e-10)


def test_results_handed_out_cannot_corrupt_the_memo(cache):
    res = api.fit(*ARGS)
    before = res.params.iloc[0].to_numpy().copy()
    with pytest.raises(ValueError):
        res.row("params", "AAPL")[1] = 99.0  # read-only arrays
    sample, _, _ = api.build_sample(*ARGS)
    sample.excess.iloc[:, 0] = 0.5  # the caller's own copy
    np.testing.assert_array_equal(api.fit(*ARGS).params.iloc[0].to_numpy(), before)


def test_memo_is_thread_safe_and_bounded():
    memo = Memo("test", 50)
    errors = []

    def work(seed: int) -> None:
        try:
            for i in range(5_000):
                memo.put((seed, i % 97), i)
                memo.get((seed, (i * 7) % 97))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(memo) <= 50


def read_french_path_from_store(store: Store) -> pd.DataFrame:
    frame = store.get_frame(f"french:{FF3}").frame
    return frame[["MKT", "SMB", "HML", "RF"]]

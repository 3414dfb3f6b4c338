"""regress(...).summary() and annualisation: the frequency is known or nothing is annualised.

A regression on undated arrays has no frequency: its summary says the figures are per
period, names rows by their labels, and annualising raises. Dated data carry their
frequency (median spacing of the dates), or the caller states it with ``freq=``; the
annualised alpha is then alpha x 12 / 52 / 252, computed here by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xlfactor
from xlfactor.domain.errors import InvalidInputError


def data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 0.04, size=(n, 2))
    return 0.002 + X @ [1.1, 0.3] + rng.normal(0.0, 0.02, size=n), X


def test_summary_of_an_undated_regression_is_per_period():
    y, X = data()
    res = xlfactor.regress(y, X)
    text = res.summary()
    assert "Frequency    not known: figures are per period, not annualised" in text
    assert "annualised" not in text.replace("not annualised", "")
    assert "First row       1" in text and "Last row        60" in text
    assert "daily" not in text and "x252" not in text
    for annualise in (res.alpha_annualized, lambda: res.alpha_annualized("geometric"),
                      res.resid_vol_annualized):
        with pytest.raises(InvalidInputError, match="frequency of these data is not known"):
            annualise()
    assert repr(res) == text


@pytest.mark.parametrize("freq, periods, spacing", [("M", 12, "ME"), ("W", 52, "W-FRI"),
                                                    ("D", 252, "B")])
def test_dated_data_carry_their_frequency(freq, periods, spacing):
    y, X = data()
    days = pd.date_range("2015-01-01", periods=60, freq=spacing)
    res = xlfactor.regress(pd.Series(y, index=days, name="fund"),
                           pd.DataFrame(X, index=days, columns=["MKT", "SMB"]))
    alpha = np.linalg.lstsq(np.column_stack([np.ones(60), X]), y, rcond=None)[0][0]
    word = {"M": "monthly", "W": "weekly", "D": "daily"}[freq]
    text = res.summary()
    assert f"Frequency                 {word}" in text or f"Frequency    {word}" in text
    assert f"Period       {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}" in text
    assert f"Alpha, annualised (x{periods})" in text
    assert res.alpha_annualized()["fund"] == pytest.approx(alpha * periods, rel=1e-12)
    assert res.alpha_annualized("geometric")["fund"] == pytest.approx(
        (1 + alpha) ** periods - 1, rel=1e-12)
    resid = y - np.column_stack([np.ones(60), X]) @ np.linalg.lstsq(
        np.column_stack([np.ones(60), X]), y, rcond=None)[0]
    vol = np.sqrt(resid @ resid / (60 - 3) * periods)
    assert res.resid_vol_annualized()["fund"] == pytest.approx(vol, rel=1e-12)
    assert f"First date                {days[0]:%Y-%m-%d}" in text


def test_freq_given_for_arrays_and_checked_against_dates():
    y, X = data()
    res = xlfactor.regress(y, X, freq="weekly")
    assert res.info.frequency == "W" and "Alpha, annualised (x52)" in res.summary()
    months = pd.date_range("2015-01-31", periods=60, freq="ME")
    with pytest.raises(InvalidInputError, match="the dates are monthly .* but freq is daily"):
        xlfactor.regress(pd.Series(y, index=months), pd.DataFrame(X, index=months), freq="D")
    with pytest.raises(InvalidInputError, match="unknown frequency 'Q'"):
        xlfactor.regress(y, X, freq="Q")


def test_quarterly_dates_are_per_period_not_daily():
    y, X = data()
    quarters = pd.date_range("2000-03-31", periods=60, freq="QE")
    res = xlfactor.regress(pd.Series(y, index=quarters), pd.DataFrame(X, index=quarters))
    assert res.info.frequency is None and "per period" in res.summary()
    with pytest.raises(InvalidInputError, match="not known"):
        res.alpha_annualized()

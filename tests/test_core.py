"""Models, dates, alignment rules and rolling windows."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

import xlfactor
from xlfactor.data.settings import Settings
from xlfactor.domain.dates import last_complete_trading_day, parse_date, resolve_period
from xlfactor.domain.errors import (
    CollinearityError,
    InsufficientDataError,
    InvalidInputError,
    UnknownModelError,
)
from xlfactor.domain.frequency import check_frequency
from xlfactor.domain.models import resolve_model
from xlfactor.engine.align import period_asset_returns
from xlfactor.engine.rolling import rolling_ols, window_sums

SAMPLE = Settings(sample=True)


@pytest.mark.parametrize("name,factors", [
    ("capm", ("MKT",)), ("ff3", ("MKT", "SMB", "HML")), ("Carhart", ("MKT", "SMB", "HML", "MOM")),
    ("FF5", ("MKT", "SMB", "HML", "RMW", "CMA")), ("ff6", ("MKT", "SMB", "HML", "RMW", "CMA", "MOM")),
    ("mkt, smb, umd", ("MKT", "SMB", "MOM")), ("Mkt-RF,HML", ("MKT", "HML")),
])
def test_models_resolve_case_insensitively(name, factors):
    assert resolve_model(name).factors == factors


def test_unknown_model_and_repeated_factor_are_clear():
    with pytest.raises(UnknownModelError, match="unknown model 'FF9'"):
        resolve_model("FF9")
    with pytest.raises(UnknownModelError, match="unknown factor 'QMJ'"):
        resolve_model("MKT,QMJ")
    with pytest.raises(UnknownModelError, match="SMB listed twice"):
        resolve_model("MKT,SMB,smb")


@pytest.mark.parametrize("value,expected", [
    ("2020-01-01", "2020-01-01"), (43831, "2020-01-01"), (43831.75, "2020-01-01"),
    (datetime(2020, 1, 1, 15, 30), "2020-01-01"), (date(2020, 1, 1), "2020-01-01"),
    (pd.Timestamp("2020-01-01", tz="US/Eastern"), "2020-01-01"), ("  ", None), (None, None),
])
def test_parse_date_accepts_excel_and_iso(value, expected):
    got = parse_date(value)
    assert (got is None and expected is None) or got == pd.Timestamp(expected)


@pytest.mark.parametrize("bad", ["2020-13-01", "yesterday", True, -5, 1e9, [1]])
def test_parse_date_rejects_garbage(bad):
    with pytest.raises(InvalidInputError):
        parse_date(bad, "start")


def test_period_defaults_and_checks():
    today = date(2024, 6, 10)  # a Monday
    assert last_complete_trading_day(today) == pd.Timestamp("2024-06-07")
    s, e = resolve_period(None, None, today=today)
    assert e == pd.Timestamp("2024-06-07") and s == pd.Timestamp("2021-06-07")
    with pytest.raises(InvalidInputError, match="after end"):
        resolve_period("2024-01-02", "2024-01-01", today=today)
    with pytest.raises(InvalidInputError, match="in the future"):
        resolve_period("2030-01-01", None, today=today)
    # an end in the future is clamped to the last complete trading day
    assert resolve_period("2024-01-01", "2030-01-01", today=today)[1] == pd.Timestamp("2024-06-07")


def test_frequency_names():
    assert [check_frequency(f) for f in ("d", "Weekly", "M", None, "")] == ["D", "W", "M", "D", "D"]
    with pytest.raises(InvalidInputError, match="use D, W or M"):
        check_frequency("Q")


def test_only_complete_months_enter():
    idx = pd.bdate_range("2020-01-01", "2020-04-15")
    prices = pd.DataFrame({"A": np.linspace(100, 120, len(idx))}, index=idx)
    got = period_asset_returns(prices, "M", pd.Timestamp("2020-01-15"), pd.Timestamp("2020-04-30"))
    # January starts before `start`, April is cut short by the data: only Feb and March
    complete = got["A"].dropna()
    assert list(complete.index) == [pd.Timestamp("2020-02-29"), pd.Timestamp("2020-03-31")]
    feb = prices.loc["2020-02-28", "A"] / prices.loc["2020-01-31", "A"] - 1
    assert got.loc["2020-02-29", "A"] == pytest.approx(feb, rel=1e-15)


def test_collinear_and_short_samples_are_errors():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 1))
    with pytest.raises(CollinearityError):
        xlfactor.regress(rng.normal(size=50), np.hstack([x, 2 * x]))
    with pytest.raises(InsufficientDataError, match="need at least 4"):
        xlfactor.regress([1.0, 2.0, 3.0], [[1.0], [2.0], [4.0]])


def test_one_failing_asset_does_not_stop_the_others():
    res = xlfactor.fit("NoDur,Hlth", "FF3", "2000-01-01", "2005-12-31", "M", settings=SAMPLE)
    assert res.assets == ["NODUR", "HLTH"]
    const = pd.DataFrame({"A": 1.0, "B": np.arange(1.0, 40.0)}, index=pd.RangeIndex(39))
    fac = pd.DataFrame({"F": np.random.default_rng(1).normal(size=39)})
    out = xlfactor.FactorModel(const, fac).fit()
    assert out.assets == ["B"] and "constant" in str(out.failed["A"])


def test_annualised_alpha_conventions():
    res = xlfactor.fit("NoDur", "FF3", "2000-01-01", "2005-12-31", "M", settings=SAMPLE)
    a = res.alpha["NODUR"]
    assert res.alpha_annualized()["NODUR"] == pytest.approx(12 * a, rel=1e-15)
    assert res.alpha_annualized("geometric")["NODUR"] == pytest.approx((1 + a) ** 12 - 1, rel=1e-14)


def test_window_sums_do_not_drift_over_long_histories():
    rng = np.random.default_rng(0)
    z = rng.normal(loc=5.0, size=(20_000, 2))
    got = window_sums(z, 250)
    exact = np.array([z[i:i + 250].sum(axis=0) for i in range(0, 20_000 - 249, 997)])
    np.testing.assert_allclose(got[::997], exact, rtol=1e-13)


def test_rolling_matches_statsmodels_on_20_years_of_real_daily_data(shared_data):
    prices = shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    french = shared_data / "kenneth_french" / "vintage_202510" / "zip"
    settings = Settings(price_dir=prices, french_dir=french)
    frame = xlfactor.rolling("JPM", "FF3", 252, "2005-10-11", "2025-10-08", with_std_errors=True,
                             settings=settings)
    sample, _, _ = xlfactor.build_sample("JPM", "FF3", "2005-10-11", "2025-10-08", settings=settings)
    data = pd.concat([sample.excess["JPM"], sample.factors], axis=1).dropna()
    assert len(data) > 5000
    X = sm.add_constant(data[["MKT", "SMB", "HML"]])
    for end in (251, 2000, len(data) - 1):  # sampled windows, the oracle being plain OLS
        fit = sm.OLS(data["JPM"].iloc[end - 251:end + 1], X.iloc[end - 251:end + 1]).fit()
        row = frame.loc[data.index[end]]
        np.testing.assert_allclose(row[["alpha", "MKT", "SMB", "HML"]], fit.params, rtol=1e-9)
        np.testing.assert_allclose(row[["se_alpha", "se_MKT", "se_SMB", "se_HML"]], fit.bse, rtol=1e-9)
        assert row["r2"] == pytest.approx(fit.rsquared, rel=1e-9)
    ref = RollingOLS(data["JPM"], X, window=252).fit()
    np.testing.assert_allclose(frame[["alpha", "MKT", "SMB", "HML"]].to_numpy(),
                               ref.params.dropna().to_numpy(), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("cov", ["HC0", "HC3", "HAC"])
def test_robust_rolling_windows_equal_ols_on_each_window(cov):
    rng = np.random.default_rng(11)
    X = np.column_stack([np.ones(300), rng.normal(size=(300, 2))])
    Y = X @ [0.1, 1.0, -0.5] + rng.standard_t(5, size=300)
    out = rolling_ols(Y, X, 60, cov_type=cov, lags=3 if cov == "HAC" else None)
    for end in (59, 150, 299):
        kw = {"maxlags": 3} if cov == "HAC" else None
        fit = sm.OLS(Y[end - 59:end + 1], X[end - 59:end + 1]).fit(cov_type=cov, cov_kwds=kw)
        np.testing.assert_allclose(out["std_errors"][end - 59, 0], fit.bse, rtol=1e-10)


def test_expanding_windows():
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(100), rng.normal(size=100)])
    Y = X @ [0.2, 1.5] + rng.normal(size=100)
    out = rolling_ols(Y, X, None, min_nobs=20)
    fit = sm.OLS(Y[:50], X[:50]).fit()
    np.testing.assert_allclose(out["params"][50 - 20, 0], fit.params, rtol=1e-12)
    assert out["nobs"][0] == 20


def test_rolling_window_checks():
    X = np.ones((10, 2))
    X[:, 1] = np.arange(10.0)
    with pytest.raises(InvalidInputError, match="too short"):
        rolling_ols(np.arange(10.0), X, 3)
    with pytest.raises(InsufficientDataError, match="longer than the sample"):
        rolling_ols(np.arange(10.0), X, 11)


def test_factor_returns_monthly_from_the_sample_are_the_published_values():
    from xlfactor.data.sample import sample_path

    raw = pd.read_csv(sample_path(), parse_dates=["dates"]).set_index("dates").loc["2001"]
    got = xlfactor.factor_returns("CARHART4", "2001-01-01", "2001-12-31", "M",
                                  sources=xlfactor.api.get_sources(SAMPLE))
    np.testing.assert_allclose(got["MKT"].to_numpy(), raw["MktRF"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["MOM"].to_numpy(), raw["Mom"].to_numpy(), rtol=1e-12)
    assert list(got.columns) == ["MKT", "SMB", "HML", "MOM", "RF"]


def test_a_month_ending_on_a_weekend_is_complete_on_its_last_friday():
    idx = pd.bdate_range("2023-12-01", "2024-06-28")  # 2024-06-30 is a Sunday
    prices = pd.DataFrame({"A": np.linspace(100, 130, len(idx))}, index=idx)
    got = period_asset_returns(prices, "M", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-28"))
    assert got["A"].dropna().index[-1] == pd.Timestamp("2024-06-30")
    assert len(got["A"].dropna()) == 6


def test_regress_keeps_labels_and_the_date_index():
    """DataFrame labels and the date index carry through; two indexes are aligned."""
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    days = pd.bdate_range("2021-01-01", periods=120)
    x = pd.DataFrame(rng.normal(size=(120, 2)), index=days, columns=["growth", "value"])
    y = pd.DataFrame({"fund": 0.5 * x["growth"] + rng.normal(size=120),
                      "other": rng.normal(size=120)}, index=days)
    res = xlfactor.regress(y.iloc[10:], x, se="HC3")  # x has 10 more dates: inner join
    assert list(res.params.index) == ["fund", "other"]
    assert res.coef_names == ["alpha", "growth", "value"]
    assert res.resid.index.equals(days[10:])
    fit = sm.OLS(y["fund"].iloc[10:], sm.add_constant(x.iloc[10:])).fit(cov_type="HC3")
    np.testing.assert_allclose(res.params.loc["fund"].to_numpy(), fit.params.to_numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(res.std_errors.loc["fund"].to_numpy(), fit.bse.to_numpy(),
                               rtol=1e-12)


def test_regress_refuses_an_infinity_in_an_array():
    y = np.ones((30, 1))
    y[4, 0] = np.inf
    x = np.arange(30.0)[:, None]
    with pytest.raises(InvalidInputError, match=r"at row 5: non-finite value inf"):
        xlfactor.regress(y, x)

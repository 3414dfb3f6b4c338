"""Never a silent wrong number: real files altered the way users' files get altered.

Every expectation comes from the unaltered real file or from statsmodels on data prepared
here with pandas, never from xlfactor's own output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from oracles import published_monthly_ff3

import xlfactor
from xlfactor import cli
from xlfactor.data.french import FrenchFiles
from xlfactor.data.price_files import PriceFiles
from xlfactor.domain.errors import DataFormatError
from xlfactor.excel import udfs

AUTO = "yahoo_csv/yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
ZIPS = "kenneth_french/vintage_202510/zip"
CSVS = "kenneth_french/vintage_202510/csv"


@pytest.fixture()
def folders(shared_data, tmp_path, tmp_cache, monkeypatch):
    """A private price folder (AAPL, MSFT) and French folder (the 202510 zips)."""
    px = tmp_path / "px"
    px.mkdir()
    for name in ("AAPL.csv", "MSFT.csv"):
        shutil.copy(shared_data / AUTO / name, px / name)
    fr = tmp_path / "fr"
    shutil.copytree(shared_data / ZIPS, fr)
    monkeypatch.setenv("XLFACTOR_PRICE_DIR", str(px))
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(fr))
    monkeypatch.delenv("XLFACTOR_SOURCE", raising=False)
    return px, fr


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def french_daily(shared_data: Path) -> pd.DataFrame:
    """The FF3 daily file read here with pandas (percent -> decimals): the oracle's factors."""
    raw = (shared_data / CSVS / "F-F_Research_Data_Factors_daily.csv").read_text().splitlines()
    start = next(i for i, line in enumerate(raw) if line.startswith(",Mkt-RF"))
    rows = [r.split(",") for r in raw[start + 1:] if r[:8].strip().isdigit()]
    frame = pd.DataFrame([[float(v) for v in r[1:5]] for r in rows],
                         index=pd.to_datetime([r[0].strip() for r in rows], format="%Y%m%d"),
                         columns=["MKT", "SMB", "HML", "RF"])
    return frame / 100.0


def ols(y: pd.Series, x: pd.DataFrame):
    return sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()


# -- 1. every row of a price file is read or rejected with its line --------------------------
@pytest.mark.parametrize("alteration, fields", [
    (lambda last: last.rsplit(",", 2)[0] + ",25", 5),  # cut inside the Close field
    (lambda last: last.rsplit(",", 2)[0], 4),  # cut before the Close field
    (lambda last: last + ",1", 7),  # a field too many
])
def test_a_damaged_row_is_an_error_with_its_line(folders, alteration, fields):
    px, _ = folders
    lines = lines_of(px / "AAPL.csv")
    lines[-1] = alteration(lines[-1])
    write_lines(px / "AAPL.csv", lines)
    with pytest.raises(DataFormatError, match=rf"AAPL.csv line {len(lines)}: {fields} fields, "
                                              r"the header has 6"):
        PriceFiles(px).get_prices(["AAPL"], pd.Timestamp("2020-01-01"),
                                  pd.Timestamp("2025-10-08"))


def test_the_cli_refuses_a_truncated_file(folders, capsys):
    px, fr = folders
    lines = lines_of(px / "AAPL.csv")
    lines[-1] = lines[-1].rsplit(",", 2)[0] + ",25"
    write_lines(px / "AAPL.csv", lines)
    code = cli.main(["betas", "AAPL", "--price-dir", str(px), "--french-dir", str(fr),
                     "--start", "2020-01-01", "--end", "2025-10-08", "--quiet"])
    assert code != 0
    assert f"AAPL.csv line {len(lines)}" in capsys.readouterr().err


# -- 2. a return never spans a hole ---------------------------------------------------------------
def test_a_year_missing_from_a_price_file_leaves_returns_out(folders, shared_data):
    px, _ = folders
    lines = lines_of(px / "AAPL.csv")
    write_lines(px / "AAPL.csv", [line for line in lines if not line.startswith("2022-")])
    res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2024-12-31")

    # The oracle: returns only between consecutive factor days that both have a price.
    prices = pd.read_csv(px / "AAPL.csv", index_col=0, parse_dates=True)["Close"]
    factors = french_daily(shared_data).loc["2019-12-20":"2024-12-31"]
    on_days = prices.reindex(factors.index)
    returns = (on_days / on_days.shift(1) - 1).loc["2020-01-01":]
    frame = pd.concat([returns.rename("r"), factors], axis=1, sort=True).dropna()
    fit = ols(frame["r"] - frame["RF"], frame[["MKT", "SMB", "HML"]])
    assert int(res.nobs["AAPL"]) == len(frame) == int(fit.nobs)
    np.testing.assert_allclose(res.params.loc["AAPL"].to_numpy(), fit.params, rtol=1e-10)
    assert pd.Timestamp("2023-01-03") not in frame.index
    text = " | ".join(res.warnings)
    assert "AAPL: no prices for 251 trading days (2022-01-03 to 2022-12-30)" in text
    assert "AAPL: 252 returns left out" in text


def test_factor_returns_and_the_regression_agree_on_the_hole(folders):
    px, _ = folders
    lines = lines_of(px / "AAPL.csv")
    write_lines(px / "AAPL.csv", [line for line in lines if not line.startswith("2022-")])
    table = udfs.FACTOR_RETURNS("AAPL", "2022-12-01", "2023-01-10")
    by_date = {row[0].date().isoformat(): row[1] for row in table[1:]}
    assert by_date["2023-01-03"] == "#N/A"  # spans the hole: not a return
    assert isinstance(by_date["2023-01-04"], float)
    stats = udfs.FACTOR_STATS("AAPL", "FF3", "2020-01-01", "2024-12-31")
    warnings = [row[1] for row in stats if row[0] == "Warning"]
    assert any("no prices for 251 trading days" in w for w in warnings)


def test_null_rows_leave_their_returns_out(folders):
    px, _ = folders
    lines = lines_of(px / "AAPL.csv")
    at = next(i for i, line in enumerate(lines) if line.startswith("2021-06-15"))
    fields = lines[at].split(",")
    lines[at] = ",".join([fields[0], "null", "null", "null", "null", "null"])
    write_lines(px / "AAPL.csv", lines)
    full = xlfactor.fit("MSFT", "FF3", "2021-01-01", "2021-12-31")
    res = xlfactor.fit("AAPL", "FF3", "2021-01-01", "2021-12-31")
    assert int(res.nobs["AAPL"]) == int(full.nobs["MSFT"]) - 2  # 06-15 and 06-16
    assert any("AAPL: 2 returns left out" in w for w in res.warnings)


# -- 3. plausibility --------------------------------------------------------------------------------
def test_unadjusted_split_is_flagged_with_its_date(folders):
    px, _ = folders
    table = pd.read_csv(px / "AAPL.csv")
    before = table["Date"] < "2020-08-31"
    for col in ("Open", "High", "Low", "Close"):
        table.loc[before, col] *= 4.0  # as an export of unadjusted closes would show it
    table.to_csv(px / "AAPL.csv", index=False)
    res = xlfactor.fit("AAPL", "FF3", "2020-01-01", "2020-12-31")
    assert any("AAPL 2020-08-31" in w and "looks unadjusted" in w and "4:1" in w
               for w in res.warnings), res.warnings


def test_factor_file_in_decimals_is_refused(folders, shared_data):
    _, fr = folders
    source = (shared_data / CSVS / "F-F_Research_Data_Factors_daily.csv").read_text()
    out = []
    for line in source.splitlines():
        head = line.split(",")[0].strip()
        if head.isdigit() and len(head) == 8:
            parts = line.split(",")
            line = ",".join([parts[0], *(f"{float(v) / 100:.6f}" for v in parts[1:])])
        out.append(line)
    (fr / "F-F_Research_Data_Factors_daily_CSV.zip").unlink()
    (fr / "F-F_Research_Data_Factors_daily.csv").write_text("\r\n".join(out) + "\r\n")
    with pytest.raises(DataFormatError, match="F-F_Research_Data_Factors_daily.csv.*percent"):
        FrenchFiles(fr).get_factors(["MKT", "SMB", "HML"], "D")


def test_two_files_for_one_dataset_is_an_error_naming_both(folders, shared_data):
    _, fr = folders
    shutil.copy(shared_data / CSVS / "F-F_Research_Data_Factors_daily.csv", fr)
    with pytest.raises(DataFormatError, match="F-F_Research_Data_Factors_daily_CSV.zip.*"
                                              "F-F_Research_Data_Factors_daily.csv"):
        FrenchFiles(fr).get_factors(["MKT", "SMB", "HML"], "D")


# -- 5. published factors first ---------------------------------------------------------------------
def test_monthly_betas_use_the_published_monthly_file(folders, shared_data):
    px, fr = folders
    res = xlfactor.fit("MSFT", "FF3", "2010-01-01", "2022-12-31", freq="M")
    monthly = published_monthly_ff3(fr / "F-F_Research_Data_Factors_CSV.zip")
    closes = pd.read_csv(px / "MSFT.csv", index_col=0, parse_dates=True)["Close"]
    month_end = closes.groupby(closes.index.to_period("M")).last()
    returns = (month_end / month_end.shift(1) - 1).loc["2010-01":"2022-12"]
    frame = pd.concat([returns.rename("r"), monthly], axis=1, join="inner").dropna()
    fit = ols(frame["r"] - frame["RF"], frame[["MKT", "SMB", "HML"]])
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(), fit.params, rtol=1e-10)
    assert round(fit.params[1], 4) == 1.0698  # the published-file betas the issue quotes
    assert "published monthly" in res.info.factor_source.lower() or any(
        "published monthly" in n for n in res.info.notes)


def test_compounding_daily_factors_stays_available_and_is_said(folders, shared_data):
    """The explicit option compounds the daily file (the market as a total return, as
    docs/methods.md states), computed here with pandas from the raw daily CSV."""
    px, _ = folders
    res = xlfactor.fit("MSFT", "FF3", "2010-01-01", "2022-12-31", freq="M",
                       factor_frequency="D")
    assert any("compounded from daily" in w for w in (*res.warnings, *res.info.notes))
    daily = french_daily(shared_data).loc["2010-01-01":"2022-12-31"]
    growth = (1 + daily).resample("ME").prod()
    monthly = pd.DataFrame({
        "MKT": (1 + daily["MKT"] + daily["RF"]).resample("ME").prod() - growth["RF"],
        "SMB": growth["SMB"] - 1, "HML": growth["HML"] - 1, "RF": growth["RF"] - 1})
    closes = pd.read_csv(px / "MSFT.csv", index_col=0, parse_dates=True)["Close"]
    month_end = closes.resample("ME").last()
    returns = (month_end / month_end.shift(1) - 1).loc["2010-01":"2022-12"]
    frame = pd.concat([returns.rename("r"), monthly], axis=1, join="inner").dropna()
    fit = ols(frame["r"] - frame["RF"], frame[["MKT", "SMB", "HML"]])
    np.testing.assert_allclose(res.params.loc["MSFT"].to_numpy(), fit.params, rtol=1e-10)


# -- 6. the sample is what was asked, or says why not -----------------------------------------------
def test_a_sample_shorter_than_asked_is_said(folders):
    res = xlfactor.fit("AAPL", "FF3", "2025-06-02", "2025-10-08")
    assert res.last_date["AAPL"] == pd.Timestamp("2025-10-08") and res.warnings == ()
    res = xlfactor.fit("AAPL", "FF3", "2025-06-02", "2025-11-28")
    text = " | ".join(res.warnings)
    # prices end 2025-10-08: 17 factor days follow to 2025-10-31, the factors' last day
    assert "AAPL: prices end 2025-10-08: sample shortened by 17 trading days" in text
    # factors end 2025-10-31: November's 20 weekdays to the 28th are not in any release
    assert "factors end 2025-10-31: sample shortened by 20 weekdays" in text


def test_a_period_cut_short_by_the_prices_counts_as_lost(folders):
    """Monthly: prices end 2025-10-08, the factors 2025-10-31, so October is lost (its
    return would need the 31st's close); weekly: the weeks ending 10, 17, 24, 31 October."""
    res = xlfactor.fit("AAPL", "FF3", "2025-01-01", "2025-10-31", freq="M")
    assert res.last_date["AAPL"] == pd.Timestamp("2025-09-30")
    assert "AAPL: prices end 2025-10-08: sample shortened by 1 month" in res.warnings
    res = xlfactor.fit("AAPL", "FF3", "2025-01-01", "2025-10-31", freq="W",
                       factor_frequency="D")
    assert "AAPL: prices end 2025-10-08: sample shortened by 4 weeks" in res.warnings
    # a request ending with the prices loses nothing to them and says nothing of them
    res = xlfactor.fit("AAPL", "FF3", "2025-01-01", "2025-09-30", freq="M")
    assert not [w for w in res.warnings if "prices end" in w]


# -- 4. the cache never loses data and never blocks a read ------------------------------------
@pytest.fixture()
def web_yahoo(monkeypatch, tmp_cache, shared_data):
    """Prices from a stand-in ``yfinance.download`` serving the real AAPL file; French
    factors from the real zips."""
    import yfinance

    closes = pd.read_csv(shared_data / AUTO / "AAPL.csv", index_col=0, parse_dates=True)
    frame = closes[["Close"]].rename(columns={"Close": "AAPL"})
    frame.columns = pd.MultiIndex.from_product([["Close"], ["AAPL"]])

    def download(tickers, start, end, **kwargs):
        return frame.loc[start:pd.Timestamp(end) - pd.Timedelta(days=1)]

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setenv("XLFACTOR_FRENCH_DIR", str(shared_data / ZIPS))
    for name in ("XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE", "XLFACTOR_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    from xlfactor.data.memo import forget_all

    forget_all()
    yield
    forget_all()


def test_a_cache_that_cannot_be_written_costs_no_data(web_yahoo, monkeypatch):
    from xlfactor.data.store import Store
    from xlfactor.domain.errors import CacheError

    def read_only(self, *args, **kwargs):
        raise CacheError(f"xlfactor cache {self.path} failed: attempt to write a readonly "
                         "database")

    monkeypatch.setattr(Store, "put_frame", read_only)
    res = xlfactor.fit("AAPL", "FF3", "2021-01-01", "2021-12-31")
    assert int(res.nobs["AAPL"]) == 252  # NYSE trading days in 2021
    assert any("the cache could not be written" in w and "readonly" in w for w in res.warnings)
    cell = udfs.FACTOR_STATS("AAPL", "FF3", "2021-01-01", "2021-12-31")
    assert any(row[0] == "Warning" and "could not be written" in row[1] for row in cell)


def test_an_unwritable_cache_folder_still_reads_and_computes(web_yahoo, monkeypatch):
    import xlfactor.data.store.sqlite as store_sqlite

    monkeypatch.setattr(store_sqlite.os, "access", lambda path, mode: False)
    res = xlfactor.fit("AAPL", "FF3", "2021-01-01", "2021-12-31")
    assert int(res.nobs["AAPL"]) == 252  # NYSE trading days in 2021
    assert any("not writable" in w for w in res.warnings)


def test_an_entry_stamped_in_the_future_is_not_fresh(tmp_cache):
    from datetime import datetime, timedelta, timezone

    from xlfactor.data.store import CachedFrame

    future = CachedFrame(pd.DataFrame(), {}, datetime.now(timezone.utc) + timedelta(days=30))
    assert future.age_seconds == float("inf")
    recent = CachedFrame(pd.DataFrame(), {}, datetime.now(timezone.utc) + timedelta(seconds=5))
    assert recent.age_seconds < 60


def test_a_cached_row_that_expands_too_far_is_dropped(tmp_cache, monkeypatch):
    import xlfactor.data.store as store_mod
    import xlfactor.data.store.codec as store_codec

    store = store_mod.Store(tmp_cache)
    frame = pd.DataFrame({"x": np.zeros(300_000)},
                         index=pd.date_range("1900-01-01", periods=300_000, freq="h"))
    store.put_frame("big", frame)
    store._memo.clear()
    monkeypatch.setattr(store_codec, "MAX_PAYLOAD_BYTES", 1 << 20)
    with pytest.warns(store_mod.CacheWarning, match="expands beyond"):
        assert store.get_frame("big") is None


# -- 7. errors name the real cause -------------------------------------------------------------------
@pytest.mark.usefixtures("folders")
def test_offline_weekly_ff6_says_unreachable(monkeypatch):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: connection refused
    monkeypatch.delenv("XLFACTOR_FRENCH_DIR")
    monkeypatch.setenv("XLFACTOR_FRENCH_URL", f"http://127.0.0.1:{port}/")
    cell = udfs.FACTOR_BETAS("AAPL", "FF6", "2021-01-01", "2021-12-31", "W")
    text = cell[0][0]
    assert text.startswith("#N/A offline: Kenneth French Data Library unreachable"), text
    assert "not published" not in text


def test_warnings_are_listed_by_factor_info(folders):
    px, _ = folders
    lines = lines_of(px / "AAPL.csv")
    write_lines(px / "AAPL.csv", [line for line in lines if not line.startswith("2022-")])
    xlfactor.fit("AAPL", "FF3", "2020-01-01", "2024-12-31")
    rows = udfs.FACTOR_INFO()
    assert any(r[0] == "Data warning" and "AAPL: no prices for 251 trading days" in r[1]
               for r in rows)


def test_other_commands_warn_on_stderr_too(folders, capsys):
    px, fr = folders
    lines = lines_of(px / "AAPL.csv")
    write_lines(px / "AAPL.csv", [line for line in lines if not line.startswith("2022-")])
    code = cli.main(["attribution", "AAPL", "--price-dir", str(px), "--french-dir", str(fr),
                     "--start", "2020-01-01", "--end", "2024-12-31", "--quiet"])
    assert code == 0
    err = capsys.readouterr().err
    assert "xlfactor: warning: AAPL: no prices for 251 trading days" in err

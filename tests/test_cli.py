"""The command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import statsmodels.api as sm


def run(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "xlfactor.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=120, check=False)


def test_demo_prints_labelled_table_and_writes_png(tmp_path, tmp_cache):
    out = run("demo", "--chart", str(tmp_path / "demo.png"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "offline sample" in text
    for label in ("CARHART4", "monthly", "alpha", "MKT", "SMB", "HML", "MOM", "R-squared",
                  "Adj. R-squared", "Observations", "NODUR"):
        assert label in text
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_demo_numbers_equal_statsmodels_on_the_bundled_file(tmp_path, tmp_cache):
    out = run("betas", "NoDur", "--model", "CARHART4", "--start", "1990-01-01", "--end",
              "2016-12-31", "--freq", "M", "--source", "sample", "--format", "csv", "-q")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(pd.io.common.StringIO(out.stdout))
    from xlfactor.data.sample import sample_path

    raw = pd.read_csv(sample_path(), parse_dates=["dates"]).set_index("dates")
    raw = raw.loc["1990-01-01":"2016-12-01"]
    fit = sm.OLS(raw["NoDur"] - raw["RF"], sm.add_constant(raw[["MktRF", "SMB", "HML", "Mom"]])).fit()
    got = table.set_index("coefficient")
    assert list(got.index) == ["alpha", "MKT", "SMB", "HML", "MOM"]
    assert got["estimate"].to_numpy() == pytest.approx(fit.params.to_numpy(), rel=1e-9)
    assert got["t"].to_numpy() == pytest.approx(fit.tvalues.to_numpy(), rel=1e-9)
    assert got["nobs"].iloc[0] == fit.nobs == 324


def test_betas_on_local_files_with_hac(shared_data, tmp_cache):
    prices = shared_data / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    french = shared_data / "kenneth_french" / "vintage_202510" / "zip"
    out = run("betas", "AAPL", "MSFT", "--model", "ff5", "--start", "2020-01-01", "--end",
              "2023-01-01", "--se", "HAC", "--lags", "5", "--price-dir", str(prices),
              "--french-dir", str(french), "-q")
    assert out.returncode == 0, out.stderr
    for label in ("FF5", "Newey-West HAC, 5 lags", "202510 CRSP", "AAPL", "MSFT", "RMW", "CMA",
                  "2020-01-02 to 2022-12-30"):
        assert label in out.stdout


def test_bad_input_is_one_readable_line(tmp_cache):
    out = run("betas", "AAPL", "--model", "FF7", "--source", "sample", "-q")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "xlfactor: error: unknown model 'FF7'; valid models: CAPM, FF3, CARHART4, FF5, FF6 "
        "or a factor list such as 'MKT,SMB,MOM'"
    )
    assert "Traceback" not in out.stderr


def test_start_after_end_and_bad_ticker(tmp_cache):
    out = run("betas", "NoDur", "--start", "2010-01-01", "--end", "2009-01-01", "--source", "sample")
    assert out.returncode == 2 and "start 2010-01-01 is after end 2009-01-01" in out.stderr
    out = run("betas", "../../etc", "--source", "sample")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "ticker" in out.stderr


def test_models_lists_all(tmp_cache):
    out = run("models")
    assert out.returncode == 0
    for name in ("CAPM", "FF3", "CARHART4", "FF5", "FF6"):
        assert name in out.stdout


@pytest.mark.parametrize("args,labels", [
    (["portfolio", "NoDur", "Hlth", "--weights", "60", "40", "--rebalance", "buy_and_hold"],
     ["portfolio (buy and hold)", "weighted exposure", "NODUR", "HLTH"]),
    (["grs", "S1V1", "S5V5", "NoDur"], ["GRS F-statistic", "df denominator", "H0: all alphas are zero"]),
    (["attribution", "BusEq"], ["total (compounded)", "sum of parts", "residual"]),
    (["compare", "NoDur"], ["CAPM", "FF3", "CARHART4", "FF5: not fitted", "AIC", "BIC"]),
])
def test_analysis_commands(args, labels, tmp_cache):
    out = run(*args, "--start", "1990-01-01", "--end", "2010-12-31", "--freq", "M",
              "--source", "sample", "-q")
    # the sample has no RMW/CMA: compare could not fit FF5 and FF6, and says so
    assert out.returncode == (1 if args[0] == "compare" else 0), out.stderr
    for label in labels:
        assert label in out.stdout


def test_attribution_chart_png(tmp_path, tmp_cache):
    out = run("attribution", "BusEq", "--start", "1990-01-01", "--end", "2010-12-31", "--freq", "M",
              "--source", "sample", "--chart", str(tmp_path / "a.png"), "-q")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_region_is_a_clear_cli_error(tmp_cache):
    out = run("betas", "NoDur", "--region", "Mars", "--source", "sample", "-q")
    assert out.returncode == 2 and "unknown region 'Mars'; valid regions" in out.stderr

"""Benchmarks: xlfactor against its references, measured in the same run.

Run from the project root::

    python bench/run.py            # everything (a few minutes on 2 cores)
    python bench/run.py batch warm # a subset: batch rolling warm startup network scale prefetch

Every figure is a ratio against a reference timed in the same process, medians of several
runs; every benchmark first asserts that xlfactor's numbers equal the reference's
(relative 1e-9), so speed is never bought with wrong numbers. Real factor returns come
from ``tests/data`` when present (asset returns are simulated from them); otherwise
simulated factors are used and the output says so.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from xlfactor.data.memo import forget_all

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XLFACTOR_SHARED_DATA", ROOT / "tests" / "data"))
sys.path.insert(0, str(ROOT))

RTOL = 1e-9


def timeit(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(label: str, ours: float, ref: float, target: str = "") -> None:
    ratio = ref / ours if ours > 0 else float("inf")
    print(f"  {label:<46} xlfactor {ours * 1e3:9.2f} ms   reference {ref * 1e3:10.2f} ms   "
          f"ratio {ratio:7.1f}x  {target}")


def close(a, b, what: str) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=RTOL, atol=0,
                               err_msg=what)


# -- data ---------------------------------------------------------------------------------
def factor_matrix(n_obs: int, factors: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """Daily factor returns (T x k): the last ``n_obs`` real days where available."""
    from xlfactor.data.french import FrenchFiles, combine_factor_files  # noqa: F401

    zips = SHARED / "kenneth_french" / "vintage_202510" / "zip"
    if zips.is_dir():
        data = FrenchFiles(zips).get_factors(list(factors), "D").returns.dropna()
        if len(data) >= n_obs:
            return data[list(factors)].to_numpy()[-n_obs:], "real French factors (202510)"
        reps = -(-n_obs // len(data))
        stacked = np.vstack([data[list(factors)].to_numpy()] * reps)[-n_obs:]
        return stacked, f"real French factors (202510), {len(data)} days repeated to {n_obs}"
    rng = np.random.default_rng(1)
    return rng.normal(0.0, 0.01, size=(n_obs, len(factors))), "simulated factors"


def simulated_assets(F: np.ndarray, n_assets: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    betas = rng.normal(0.0, 0.5, size=(F.shape[1], n_assets)) + np.r_[1.0, np.zeros(F.shape[1] - 1)][:, None]
    alpha = rng.normal(0.0, 2e-4, size=n_assets)
    noise = rng.standard_t(5, size=(F.shape[0], n_assets)) * 0.01
    return alpha + F @ betas + noise


# -- 1. batch -------------------------------------------------------------------------------
def bench_batch() -> None:
    import statsmodels.api as sm

    import xlfactor
    from xlfactor.engine.model import FactorModel

    print("\n1. Batch: 500 assets x FF5 x 2,520 daily observations, full statistics")
    F, origin = factor_matrix(2520, ("MKT", "SMB", "HML", "RMW", "CMA"))
    Y = simulated_assets(F, 500)
    print(f"   data: {origin}; simulated asset returns")
    idx = pd.RangeIndex(2520)
    dep = pd.DataFrame(Y, index=idx, columns=[f"A{i}" for i in range(500)])
    fac = pd.DataFrame(F, index=idx, columns=["MKT", "SMB", "HML", "RMW", "CMA"])
    X = sm.add_constant(F)
    lags = int(np.floor(4 * (2520 / 100) ** (2 / 9)))

    for cov, sm_cov, kwds, target in (("classical", "nonrobust", None, "target >= 25x"),
                                      ("HAC", "HAC", {"maxlags": lags}, "target >= 10x")):
        def ref(sm_cov=sm_cov, kwds=kwds):
            out = []
            for j in range(Y.shape[1]):
                fit = sm.OLS(Y[:, j], X).fit(cov_type=sm_cov, cov_kwds=kwds)
                out.append((fit.params, fit.bse, fit.tvalues, fit.pvalues, fit.rsquared,
                            fit.rsquared_adj))
            return out

        def stats(res):
            return (res.params, res.std_errors, res.tstats, res.pvalues, res.rsquared,
                    res.rsquared_adj)

        def engine(cov=cov):
            return stats(FactorModel(dep, fac).fit(cov, lags))

        def api_arrays(cov=cov):  # what a Python user calls, on plain arrays
            return stats(xlfactor.regress(Y, F, se=cov, lags=lags))

        def api_frames(cov=cov):  # and on labelled DataFrames
            return stats(xlfactor.regress(dep, fac, se=cov, lags=lags))

        expected = ref()
        for ours in (engine, api_arrays, api_frames):
            got = ours()
            for j in (0, 137, 499):
                for e, g, what in zip(expected[j], [x.iloc[j] for x in got],
                                      ["params", "se", "t", "p", "r2", "adjr2"]):
                    close(g, e, f"{cov} asset {j} {what} ({ours.__name__})")
        assert list(api_frames()[0].index) == list(dep.columns)  # labels carried through
        own = _own_returns_case(Y, cov, lags)
        if own is not None:
            got = own()
            for j in (0, 137, 499):
                for e, g, what in zip(expected[j], [x.iloc[j] for x in got],
                                      ["params", "se", "t", "p", "r2", "adjr2"]):
                    close(g, e, f"{cov} asset {j} {what} (fit_returns)")
        reference = timeit(ref, 3)
        label = f"{cov} SEs ({'Newey-West, ' + str(lags) + ' lags' if cov == 'HAC' else 'OLS'})"
        line(f"{label}, engine", timeit(engine), reference, target)
        line(f"{label}, xlfactor.regress(arrays)", timeit(api_arrays), reference, target)
        line(f"{label}, xlfactor.regress(DataFrames)", timeit(api_frames), reference, target)
        if own is not None:
            line(f"{label}, xlfactor.fit_returns(DataFrame)", timeit(own), reference, target)


def _own_returns_case(Y: np.ndarray, cov: str, lags: int):
    """``fit_returns`` on the same excess returns, dated on the real factor days (the
    factor file is parsed once, before timing: what is timed is alignment and fit)."""
    zips = SHARED / "kenneth_french" / "vintage_202510" / "zip"
    prices = SHARED / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    if not zips.is_dir():
        return None
    import xlfactor
    from xlfactor.data.french import FrenchFiles
    from xlfactor.data.settings import Settings

    factors = ("MKT", "SMB", "HML", "RMW", "CMA")
    days = FrenchFiles(zips).get_factors(list(factors), "D").returns.dropna().index[-2520:]
    frame = pd.DataFrame(Y, index=days, columns=[f"A{i}" for i in range(Y.shape[1])])
    settings = Settings(french_dir=zips, price_dir=prices)

    def own():
        res = xlfactor.fit_returns(frame, "FF5", "D", cov, lags, excess=True,
                                   settings=settings)
        return (res.params, res.std_errors, res.tstats, res.pvalues, res.rsquared,
                res.rsquared_adj)

    own()  # parse the factor files once
    return own


# -- 2. rolling -----------------------------------------------------------------------------
def bench_rolling() -> None:
    import statsmodels.api as sm
    from statsmodels.regression.rolling import RollingOLS

    from xlfactor.engine.rolling import rolling_ols

    print("\n2. Rolling: 252-day windows, alpha/betas with SEs, 100 assets x 2,520 days (FF3)")
    F, origin = factor_matrix(2520, ("MKT", "SMB", "HML"))
    Y = simulated_assets(F, 100, seed=2)
    X = sm.add_constant(F)
    print(f"   data: {origin}; simulated asset returns")
    n_ref = 10  # RollingOLS is slow: time it on 10 assets and scale to 100
    ours = rolling_ols(Y, X, 252)
    for j in range(n_ref):
        fit = RollingOLS(Y[:, j], X, window=252).fit()
        close(ours["params"][:, j], fit.params[251:], f"rolling params asset {j}")
        close(ours["std_errors"][:, j], fit.bse[251:], f"rolling SE asset {j}")
    t_ours = timeit(lambda: rolling_ols(Y, X, 252))
    t_ref = timeit(lambda: [RollingOLS(Y[:, j], X, window=252).fit().bse for j in range(n_ref)], 3)
    line("classical SEs (RollingOLS timed on 10, x10)", t_ours, t_ref * 100 / n_ref, "target >= 100x")

    # 20 years of real daily data: cumulative sums would drift; windowed sums must not
    F20, origin20 = factor_matrix(5040, ("MKT", "SMB", "HML"))
    X20 = sm.add_constant(F20)
    y20 = simulated_assets(F20, 1, seed=3)[:, 0]
    out = rolling_ols(y20, X20, 252)
    worst = 0.0
    for end in range(251, 5040, 479):
        fit = sm.OLS(y20[end - 251:end + 1], X20[end - 251:end + 1]).fit()
        got = out["params"][end - 251, 0]
        close(got, fit.params, f"20y window ending {end}")
        worst = max(worst, float(np.max(np.abs(got - fit.params) / np.abs(fit.params))))
    print(f"   20 years ({origin20}): worst relative error vs OLS on sampled windows {worst:.1e}")

    hac = rolling_ols(Y[:, :20], X, 252, cov_type="HAC", lags=5)
    for end in (251, 1200, 2519):
        fit = sm.OLS(Y[end - 251:end + 1, 7], X[end - 251:end + 1]).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
        close(hac["std_errors"][end - 251, 7], fit.bse, "rolling HAC")
    t_hac = timeit(lambda: rolling_ols(Y[:, :20], X, 252, cov_type="HAC", lags=5), 3)
    print(f"   rolling HAC SEs (no statsmodels equivalent), 20 assets: {t_hac:.2f} s; "
          f"equal to statsmodels OLS HAC on sampled windows")


# -- 3. warm cell ------------------------------------------------------------------------------
def bench_warm() -> None:
    import statsmodels.api as sm

    print("\n3. Warm cell: FACTOR_BETAS('AAPL','FF3', 3 years daily), data cached")
    prices_dir = SHARED / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
    zips = SHARED / "kenneth_french" / "vintage_202510" / "zip"
    if not prices_dir.is_dir():
        print("   skipped: tests/data not found")
        return
    cache = tempfile.mkdtemp()
    os.environ["XLFACTOR_CACHE_DIR"] = cache
    from xlfactor.data import french as french_mod
    from xlfactor.data.french import FrenchLibrary, read_french_path
    from xlfactor.data.price_files import PriceFiles
    from xlfactor.data.store import Store
    from xlfactor.data.yahoo import YahooPrices

    store = Store(cache)
    name = "F-F_Research_Data_Factors_daily"
    FrenchLibrary(store=store)._save(name, read_french_path(zips / f"{name}_CSV.zip"))
    closes = PriceFiles(prices_dir).get_prices(["AAPL"], pd.Timestamp("2019-01-01").date(),
                                               pd.Timestamp("2023-01-01").date()).prices["AAPL"]
    YahooPrices(store=store)._save("AAPL", closes.dropna(), pd.Timestamp("2019-01-01"),
                                   pd.Timestamp("2023-01-01"))

    from xlfactor import api, udfs

    parses = {"n": 0}
    real_parse = french_mod.read_french_zip

    def counting(*a, **k):
        parses["n"] += 1
        return real_parse(*a, **k)

    french_mod.read_french_zip = counting
    args = ("AAPL", "FF3", "2020-01-01", "2023-01-01")
    first = udfs.FACTOR_BETAS(*args)
    sample, _, _ = api.build_sample(*args)
    y = sample.excess["AAPL"].dropna()
    X = sm.add_constant(sample.factors.loc[y.index])
    fit = sm.OLS(y, X).fit()
    close(first[1][1:], fit.params.to_numpy(), "warm cell vs statsmodels")
    t_cell = timeit(lambda: udfs.FACTOR_BETAS(*args), 200)
    t_ref = timeit(lambda: sm.OLS(y, X).fit(), 200)
    line("whole cell path vs one bare OLS(y, X).fit()", t_cell, t_ref, "target ratio >= 1x")
    before = parses["n"]
    t0 = time.perf_counter()
    for i in range(100):
        udfs.FACTOR_BETAS("AAPL", "FF3", f"2020-01-{1 + i % 28:02d}", "2023-01-01")
    elapsed = time.perf_counter() - t0
    print(f"   100 cells with different start dates (each a new alignment and regression): "
          f"{elapsed * 1e3:.0f} ms in all, {elapsed * 10:.2f} ms per cell; "
          f"factor files parsed during them: {parses['n'] - before} (reused from memory)")
    french_mod.read_french_zip = real_parse


# -- 4. start-up -------------------------------------------------------------------------------
def bench_startup() -> None:
    print("\n4. Start-up: importing the UDF module (what Excel loads)")

    def wall(code: str) -> float:
        runs = []
        for _ in range(5):
            out = subprocess.run([sys.executable, "-c",
                                  f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            runs.append(float(out.stdout.strip()))
        return statistics.median(runs)

    total = wall("import xlfactor.udfs")
    base = wall("import xlwings")
    own = wall("import xlwings; t=time.perf_counter(); import xlfactor.udfs")
    print(f"  import xlfactor.udfs, fresh interpreter:       {total:6.3f} s")
    print(f"  of which xlwings itself (already loaded in Excel's Python): {base:6.3f} s")
    print(f"  xlfactor's own share on top of xlwings:       {own:6.3f} s   target <= 0.3 s")
    probe = ("import sys, json; {}; print(json.dumps(sorted(m for m in ('yfinance', 'statsmodels', "
             "'matplotlib', 'scipy', 'xlfactor.api') if m in sys.modules)))")
    loaded = {code: json.loads(subprocess.run([sys.executable, "-c", probe.format(code)],
                                              capture_output=True, text=True, check=True,
                                              cwd=ROOT).stdout)
              for code in ("import xlwings", "import xlfactor.udfs")}
    extra = sorted(set(loaded["import xlfactor.udfs"]) - set(loaded["import xlwings"]))
    print(f"  heavy modules xlwings itself loads: {loaded['import xlwings']}; "
          f"added by xlfactor.udfs: {extra} (none expected)")
    imp = subprocess.run([sys.executable, "-X", "importtime", "-c", "import xlfactor.udfs"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    rows = [r for r in imp.stderr.splitlines() if "xlfactor" in r]
    print("  python -X importtime (xlfactor modules, cumulative microseconds):")
    for r in rows:
        print("   ", r.split("import time:")[-1].strip())


# -- 5. network economy ---------------------------------------------------------------------
def bench_network() -> None:
    print("\n5. Network economy: HTTP requests counted at the boundary")
    bodies = SHARED / "yahoo_chart_json" / "node-yahoo-finance2" / "bodies"
    zips = SHARED / "kenneth_french" / "vintage_202510" / "zip"
    if not bodies.is_dir():
        print("   skipped: tests/data not found")
        return
    from bench.boundary import french_server, patched_yahoo

    tickers = ["MSFT", "NVDA", "TSLA"]
    with patched_yahoo(bodies) as yahoo, french_server(zips) as (url, french_hits):
        from xlfactor import api
        from xlfactor.data import yahoo as yahoo_mod
        from xlfactor.data.settings import Settings

        cache = tempfile.mkdtemp()
        settings = Settings(cache_dir=Path(cache), french_url=url)
        yahoo_mod.reset_download_call_count()
        api.fit(tickers, "CARHART4", "2021-02-01", "2021-12-31", settings=settings)
        cold = (len(yahoo.requests), yahoo_mod.download_call_count(), len(french_hits))
        print(f"  cold, {len(tickers)} tickers + FF3 and momentum files: "
              f"{cold[0]} Yahoo requests ({cold[0] / len(tickers):.1f} per ticker, target <= 2), "
              f"{cold[1]} yf.download call(s), {cold[2]} French requests (target 2)")
        forget_all()  # a new process: nothing in memory, all in the cache
        api.fit(tickers, "CARHART4", "2021-02-01", "2021-12-31", settings=settings)
        warm = (len(yahoo.requests) - cold[0], len(french_hits) - cold[2])
        print(f"  warm cache (fresh objects): {warm[0]} Yahoo requests, {warm[1]} French requests "
              f"(target 0 and 0)")


def bench_prefetch() -> None:
    print("\n7. A cold workbook of 50 FACTOR_BETAS cells, one ticker each")
    bodies = SHARED / "yahoo_chart_json" / "node-yahoo-finance2" / "bodies"
    zips = SHARED / "kenneth_french" / "vintage_202510" / "zip"
    if not bodies.is_dir():
        print("   skipped: tests/data not found")
        return
    from openpyxl import Workbook

    from bench.boundary import patched_yahoo
    from xlfactor import udfs
    from xlfactor.data import yahoo as yahoo_mod
    from xlfactor.excel import prefetch
    from xlfactor.excel.books import FileBook

    tickers = [f"Z{i:02d}" for i in range(50)]
    args = ("FF3", "2015-01-01", "2017-12-31")
    folder = Path(tempfile.mkdtemp())
    wb = Workbook()
    for i, t in enumerate(tickers):
        wb.active.cell(row=i + 1, column=1).value = f'=FACTOR_BETAS("{t}","{args[0]}",' \
                                                   f'"{args[1]}","{args[2]}")'
    wb.save(folder / "cold.xlsx")
    saved = {k: os.environ.get(k) for k in ("XLFACTOR_FRENCH_DIR", "XLFACTOR_CACHE_DIR",
                                            "XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE")}
    os.environ["XLFACTOR_FRENCH_DIR"] = str(zips)
    for key in ("XLFACTOR_PRICE_DIR", "XLFACTOR_SOURCE"):  # the prices come from Yahoo here
        os.environ.pop(key, None)
    results = {}
    try:
        for label, with_prefetch in (("cell by cell", False), ("with the prefetch", True)):
            os.environ["XLFACTOR_CACHE_DIR"] = str(folder / label.replace(" ", "-"))
            forget_all()
            with patched_yahoo(bodies, every_symbol=True) as yahoo:
                yahoo_mod.reset_download_call_count()
                start = time.perf_counter()
                if with_prefetch:  # what the first cell does with its caller's workbook
                    prefetch.fetch(prefetch.plan(FileBook(folder / "cold.xlsx")))
                tables = [udfs.FACTOR_BETAS(t, *args) for t in tickers]
                elapsed = time.perf_counter() - start
            assert all(isinstance(t[1][2], float) for t in tables), tables[0]
            results[label] = (yahoo_mod.download_call_count(), len(yahoo.requests), elapsed,
                              tables)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        forget_all()
    assert results["cell by cell"][3] == results["with the prefetch"][3]  # the same numbers
    for label, (calls, requests, elapsed, _) in results.items():
        print(f"  {label:<18} {calls:3d} yf.download call(s), {requests:4d} Yahoo requests, "
              f"{elapsed:6.2f} s  (target: 1 call)")
    # one cold pass each (a second would be warm): a single measurement, not a median
    line("cold workbook: with the prefetch vs cell by cell", results["with the prefetch"][2],
         results["cell by cell"][2], "(one cold pass each)")


# -- 6. scale ------------------------------------------------------------------------------------
def _scale_child(n_assets: int) -> None:
    import resource

    from xlfactor.engine.model import FactorModel

    F, _ = factor_matrix(5040, ("MKT", "SMB", "HML", "RMW", "CMA", "MOM"))
    Y = simulated_assets(F, n_assets, seed=4)
    idx = pd.RangeIndex(len(F))
    dep = pd.DataFrame(Y, index=idx)
    fac = pd.DataFrame(F, index=idx, columns=["MKT", "SMB", "HML", "RMW", "CMA", "MOM"])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    res = FactorModel(dep, fac).fit("HAC")
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert np.isfinite(res.params.to_numpy()).all()
    print(json.dumps({"n": n_assets, "seconds": elapsed, "peak_mb": peak / 1024,
                      "input_mb": Y.nbytes / 2**20, "base_mb": base / 1024}))


def bench_scale() -> None:
    import statsmodels.api as sm

    print("\n6. Scale: 20 years daily (5,040 days) x FF6, static betas with HAC SEs")
    F, origin = factor_matrix(5040, ("MKT", "SMB", "HML", "RMW", "CMA", "MOM"))
    print(f"   data: {origin}; simulated asset returns")
    rows = []
    for n in (300, 1000, 3000):
        out = subprocess.run([sys.executable, str(Path(__file__)), "_scale", str(n)],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in rows:
        print(f"  {r['n']:>5} assets: {r['seconds']:6.2f} s, {r['seconds'] / r['n'] * 1e3:5.2f} ms/asset, "
              f"peak RSS {r['peak_mb']:7.0f} MB (input {r['input_mb']:.0f} MB)")
    Y = simulated_assets(F, 3, seed=4)
    X = sm.add_constant(F)
    from xlfactor.engine.ols import ols

    res = ols(Y, X, "HAC")
    for j in range(3):
        fit = sm.OLS(Y[:, j], X).fit(cov_type="HAC", cov_kwds={"maxlags": res.lags})
        close(res.std_errors[j], fit.bse, "scale HAC")
    slope = rows[-1]["seconds"] / rows[-1]["n"] / (rows[0]["seconds"] / rows[0]["n"])
    print(f"  time per asset at 3,000 vs 300: {slope:.2f}x (1.0 = linear); "
          f"statsmodels agrees on sampled assets")


BENCHES = {"batch": bench_batch, "rolling": bench_rolling, "warm": bench_warm,
           "startup": bench_startup, "network": bench_network, "scale": bench_scale,
           "prefetch": bench_prefetch}


def main(argv: list[str]) -> None:
    if argv[:1] == ["_scale"]:
        _scale_child(int(argv[1]))
        return
    chosen = argv or list(BENCHES)
    import numpy

    print(f"xlfactor benchmarks: Python {sys.version.split()[0]}, numpy {numpy.__version__}, "
          f"{os.cpu_count()} cores")
    for name in chosen:
        BENCHES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Excel worksheet functions (xlwings classic UDFs).

Point the ``UDF Modules`` setting of the workbook's ``xlwings.conf`` sheet (or the
xlwings add-in) at ``xlfactor.udfs`` and click *Import Functions*. Every function returns
a 2-D array that Excel 365 spills into the cells below and to the right; errors come back
as one short text cell such as ``#N/A unknown ticker 'ZZZZ'``.

This module is what Excel imports: it holds only the declarations. The work is done in
:mod:`xlfactor.excel.cells`, imported on the first call, so Excel starts quickly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import xlwings as xw

CATEGORY = "xlfactor"

#: What the Insert Function dialog says about each argument, by argument name.
ARGUMENT_DOCS = {
    "tickers": "Ticker, comma-separated tickers, or a range of tickers (blanks ignored)",
    "ticker": "One ticker",
    "model": 'CAPM, FF3, CARHART4, FF5, FF6 or factors like "MKT,SMB,MOM" (default FF3)',
    "start_date": (
        'First date, inclusive: a date or "YYYY-MM-DD" (default: 3 years before end_date)'
    ),
    "end_date": "Last date, inclusive (default: last complete trading day)",
    "freq": "D, W or M: daily, weekly or monthly returns (default D)",
    "header": "TRUE to include a header row (default TRUE)",
    "se_type": "classical, HC0, HC1, HC2, HC3 or HAC (Newey-West); default classical",
    "lags": "Newey-West lags for HAC (default floor(4(T/100)^(2/9)))",
    "dates": "Dates of the returns: one column, same length (an optional label on top)",
    "returns": ("Your returns in decimals per period: one column per series, labels in an "
                "optional header row"),
    "small_sample": ("TRUE: Stata's convention for HAC and HC0, x n/(n-k) with t tests; "
                     "default FALSE (statsmodels, R)"),
    "region": (
        "Factor region: US (default), Developed, Developed ex US, Europe, Japan, "
        "Asia Pacific ex Japan, North America, Emerging"
    ),
}

#: Arguments that take ranges: always read as lists of rows, even from a single cell.
RANGE_ARGUMENTS = frozenset({"tickers", "weights", "y_range", "x_range", "labels", "dates",
                             "returns"})


def _worksheet_function(
    *,
    fetches: bool = True,
    **docs: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a UDF: every argument documented, Excel errors passed in as text
    (``err_to_str``, so ``#N/A`` in an input is named instead of read as blank), ranges
    as 2-D lists; ``docs`` adds or overrides argument descriptions.

    ``fetches``: the function may download or read cached market data, so the Insert
    Function dialog must not run it on every keystroke (``call_in_wizard=False``).
    A ``caller`` parameter is xlwings' reserved name for the calling cell: it is not a VBA
    parameter and the dialog does not show it.
    """

    def declare(func: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(list(inspect.signature(func).parameters)):
            if name == "caller":
                continue
            options = {"ndim": 2} if name in RANGE_ARGUMENTS else {}
            func = xw.arg(
                name, err_to_str=True, doc=docs.get(name) or ARGUMENT_DOCS[name], **options
            )(func)
        return xw.func(category=CATEGORY, call_in_wizard=not fetches)(func)

    return declare


def _cells(caller: Any = None, tickers: Any = None):
    """The cell functions. Called from a cell (``caller``), the workbook's first cold call
    first fetches every ticker its formulas name in one download
    (:mod:`xlfactor.excel.prefetch`)."""
    from xlfactor.excel import cells

    if caller is not None:
        from xlfactor.excel.prefetch import prefetch_workbook

        prefetch_workbook(caller, tickers)
    return cells


@_worksheet_function()
def FACTOR_BETAS(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    header=True,
    region=None,
    caller=None,
):
    """Alpha and factor betas per ticker: Ticker, Alpha, one beta per factor in model order."""
    return _cells(caller, tickers).betas(tickers, model, start_date, end_date, freq, header, region)


@_worksheet_function(
    annualize='TRUE: also alpha x252/52/12 (default); "geometric": '
    "compounded; FALSE: per period only"
)
def FACTOR_ALPHA(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    annualize=True,
    header=True,
    region=None,
    se_type=None,
    lags=None,
    small_sample=None,
    caller=None,
):
    """Alpha per period, annualised, with its t-statistic and p-value (the chosen standard errors), per ticker."""
    return _cells(caller, tickers).alpha(
        tickers, model, start_date, end_date, freq, annualize, header, region, se_type, lags,
        small_sample,
    )


@_worksheet_function()
def FACTOR_RSQ(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    header=True,
    region=None,
    caller=None,
):
    """R-squared, adjusted R-squared and number of observations per ticker."""
    return _cells(caller, tickers).rsq(tickers, model, start_date, end_date, freq, header, region)


@_worksheet_function(lags="Ljung-Box lags (default min(10, N/5) per ticker)")
def FACTOR_DIAGNOSTICS(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    lags=None,
    header=True,
    region=None,
    caller=None,
):
    """Residual checks per ticker: Jarque-Bera, Breusch-Pagan, Ljung-Box, Durbin-Watson."""
    return _cells(caller, tickers).diagnostics(tickers, model, start_date, end_date, freq, lags,
                                               header, region)


@_worksheet_function()
def FACTOR_TSTATS(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    se_type=None,
    lags=None,
    header=True,
    region=None,
    small_sample=None,
    caller=None,
):
    """t-statistics of alpha and each beta per ticker, with the chosen standard errors."""
    return _cells(caller, tickers).coef_stat("TSTATS")(
        tickers, model, start_date, end_date, freq, se_type, lags, header, region, small_sample
    )


@_worksheet_function()
def FACTOR_PVALUES(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    se_type=None,
    lags=None,
    header=True,
    region=None,
    small_sample=None,
    caller=None,
):
    """Two-sided p-values of alpha and each beta per ticker, with the chosen standard errors."""
    return _cells(caller, tickers).coef_stat("PVALUES")(
        tickers, model, start_date, end_date, freq, se_type, lags, header, region, small_sample
    )


@_worksheet_function()
def FACTOR_SE(
    tickers,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    se_type=None,
    lags=None,
    header=True,
    region=None,
    small_sample=None,
    caller=None,
):
    """Standard errors of alpha and each beta per ticker: classical, HC0-HC3 or HAC."""
    return _cells(caller, tickers).coef_stat("SE")(
        tickers, model, start_date, end_date, freq, se_type, lags, header, region, small_sample
    )


@_worksheet_function(ticker="One ticker")
def FACTOR_STATS(
    ticker,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    se_type=None,
    lags=None,
    region=None,
    small_sample=None,
    caller=None,
):
    """Full regression summary: coefficients with SE, t, p and CI; R², F, N, residual vol, DW, data release."""
    return _cells(caller, ticker).stats(
        ticker, model, start_date, end_date, freq, se_type, lags, region, small_sample
    )


@_worksheet_function(ticker="One ticker", window="Window length in periods (default 252)")
def FACTOR_ROLLING(
    ticker,
    model=None,
    window=252,
    start_date=None,
    end_date=None,
    freq=None,
    header=True,
    region=None,
    caller=None,
):
    """Rolling-window alpha and betas: one row per window end date, then R²."""
    return _cells(caller, ticker).rolling(
        ticker, model, window, start_date, end_date, freq, header, region
    )


@_worksheet_function()
def FACTOR_DATA(model=None, start_date=None, end_date=None, freq=None, header=True, region=None):
    """Fama-French factor returns (decimals per period) and RF, one row per date."""
    return _cells().factor_data(model, start_date, end_date, freq, header, region)


@_worksheet_function(excess="TRUE for returns in excess of RF (default FALSE)")
def FACTOR_RETURNS(
    tickers, start_date=None, end_date=None, freq=None, excess=False, header=True, caller=None
):
    """Total returns of the tickers from adjusted prices (decimals per period), one row per date."""
    return _cells(caller, tickers).asset_returns(
        tickers, start_date, end_date, freq, excess, header
    )


@_worksheet_function(
    fetches=False,
    y_range="Dependent variable: one column (optional label on top) or one row (label first)",
    x_range="Regressors: one column each (optional labels on top); one row each if y_range is a row",
    labels="Names of the regressors (default: x_range's header row or x1, x2...)",
)
def FACTOR_REGRESS(y_range, x_range, labels=None, se_type=None, lags=None, header=True,
                   small_sample=None):
    """OLS with intercept on sheet ranges: LINEST in natural order with labels, t, p, CI, adj. R², robust SEs."""
    return _cells().regress(y_range, x_range, labels, se_type, lags, header, small_sample)


@_worksheet_function(fetches=False)
def FACTOR_MODELS():
    """The factor models and their factors."""
    return _cells().models()


@_worksheet_function()
def FACTOR_INFO():
    """Version, data sources, cache location and size, data releases and last fetch time."""
    return _cells().info()


@_worksheet_function(
    weights="One weight per ticker, summing to 1 (or 100)",
    rebalance="daily: constant weights, rebalanced every period (default); buy_and_hold: weights drift",
)
def FACTOR_PORTFOLIO(
    tickers,
    weights,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    rebalance=None,
    header=True,
    region=None,
    caller=None,
):
    """Weighted portfolio regression: the portfolio's alpha and betas, each holding's, and the weighted exposure."""
    return _cells(caller, tickers).portfolio(
        tickers, weights, model, start_date, end_date, freq, rebalance, header, region
    )


@_worksheet_function()
def FACTOR_GRS(
    tickers, model=None, start_date=None, end_date=None, freq=None, region=None, caller=None
):
    """Gibbons-Ross-Shanken F-test that all alphas are zero: statistic, p-value, degrees of freedom."""
    return _cells(caller, tickers).grs(tickers, model, start_date, end_date, freq, region)


@_worksheet_function(
    ticker="One ticker",
    layout="table: alpha, factor and residual parts of the return (default); series: cumulative by date",
)
def FACTOR_ATTRIBUTION(
    ticker,
    model=None,
    start_date=None,
    end_date=None,
    freq=None,
    layout=None,
    header=True,
    region=None,
    caller=None,
):
    """Return attribution: alpha, each factor's contribution (beta x factor return) and residual; parts add up to the total."""
    return _cells(caller, ticker).attribution(
        ticker, model, start_date, end_date, freq, layout, header, region
    )


@_worksheet_function(ticker="One ticker")
def FACTOR_COMPARE(
    ticker,
    start_date=None,
    end_date=None,
    freq=None,
    se_type=None,
    header=True,
    region=None,
    caller=None,
):
    """CAPM, FF3, Carhart, FF5 and FF6 side by side: alpha, t, R², adjusted R², AIC, BIC, N."""
    return _cells(caller, ticker).compare(
        ticker, start_date, end_date, freq, se_type, header, region
    )


@_worksheet_function(
    excess="TRUE if the returns are already in excess of RF (default FALSE: RF is subtracted)",
    freq="D, W or M (default: from the dates); weekly/monthly returns may be dated any day "
         "of their period")
def FACTOR_FIT(dates, returns, model=None, freq=None, se_type=None, lags=None, header=True,
               region=None, excess=None, small_sample=None):
    """Your own returns (a fund, a strategy) on a factor model: alpha, betas, t(alpha), R² and N per column."""
    return _cells().fit_returns(dates, returns, model, freq, se_type, lags, header, region,
                                excess, small_sample)


#: The worksheet functions, re-exported by :mod:`xlfactor.udfs` (the module Excel names).
__all__ = [name for name in list(globals()) if name.startswith("FACTOR_")]

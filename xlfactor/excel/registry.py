"""The worksheet functions, each declared once.

A :class:`FunctionSpec` says everything the rest of the Excel shell needs to know about a
``FACTOR_*`` function: its parameters (kind, default, the text Excel's Insert Function
dialog shows, whether it takes a range), whether it fetches market data, and which cell
adapter of :mod:`xlfactor.excel.cells` computes its table. Every reader takes it from here:

* :mod:`xlfactor.excel.udfs` generates the xlwings declarations from the specs;
* :mod:`xlfactor.excel.prefetch` reads the data-deciding arguments (tickers, period,
  model, frequency, region) of each formula through :meth:`FunctionSpec.bind`;
* :mod:`xlfactor.excel.values` and the template refresh shape evaluated formula
  arguments with :meth:`FunctionSpec.cell_arguments`, the conversions declared here;
* ``docs/generate_reference.py`` writes docs/functions.md from the registration.

Adding a worksheet function is one entry in :data:`FUNCTIONS` plus its cell adapter.

This module imports nothing heavy: Excel loads it with :mod:`xlfactor.udfs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: How a parameter is read: ``tickers`` a ticker, a list or a range of them; ``ticker``
#: one ticker; ``date`` a date cell or ISO text; ``text`` a word; ``flag`` TRUE/FALSE or a
#: word (``annualize``); ``number`` a count or a length; ``range`` a block of cells.
Kind = Literal["tickers", "ticker", "date", "text", "flag", "number", "range"]

#: What the Insert Function dialog says about each argument, unless a function says
#: otherwise.
ARGUMENT_DOCS: dict[str, str] = {
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

#: The kind of each argument name (a name means the same in every function).
KINDS: dict[str, Kind] = {
    "tickers": "tickers", "ticker": "ticker", "model": "text", "start_date": "date",
    "end_date": "date", "freq": "text", "header": "flag", "se_type": "text",
    "lags": "number", "dates": "range", "returns": "range", "small_sample": "flag",
    "region": "text", "annualize": "flag", "window": "number", "excess": "flag",
    "y_range": "range", "x_range": "range", "labels": "range", "weights": "range",
    "rebalance": "text", "layout": "text",
}

#: Units or conventions of the arguments that have them (shown in docs/functions.md).
UNITS: dict[str, str] = {
    "lags": "periods", "window": "periods", "returns": "decimals per period",
    "y_range": "decimals per period", "x_range": "decimals per period",
    "weights": "fractions (or percent) of the portfolio",
}

#: Arguments that take ranges: always read as lists of rows, even from a single cell.
RANGE_ARGUMENTS = frozenset(name for name, kind in KINDS.items()
                            if kind in ("tickers", "range"))


@dataclass(frozen=True)
class Param:
    """One argument of a worksheet function.

    Attributes
    ----------
    name : str
        The argument's name, as Excel's dialog and the VBA wrapper show it.
    kind : Kind
        How its cell value is read (see :data:`Kind`).
    doc : str
        The dialog's text for it.
    required : bool
        No default: the formula must give it.
    default : object
        The value a formula that leaves it out gets.
    units : str or None
        Units or convention of the value, if any.
    """

    name: str
    kind: Kind
    doc: str
    required: bool = False
    default: Any = None
    units: str | None = None

    @property
    def is_range(self) -> bool:
        """Read as a 2-D list of rows even from one cell (``ndim=2`` in xlwings)."""
        return self.name in RANGE_ARGUMENTS


@dataclass(frozen=True)
class FunctionSpec:
    """One worksheet function: its parameters and the cell adapter that computes it.

    Attributes
    ----------
    name : str
        ``FACTOR_*`` name.
    doc : str
        One line for the Insert Function dialog and docs/functions.md.
    params : tuple of Param
        In formula order.
    adapter : str
        Attribute of the cell module that computes the table from the arguments in
        formula order; ``"coef_stat:TSTATS"`` calls ``coef_stat("TSTATS")``.
    fetches : bool
        The function downloads or reads market data: the dialog must not run it on every
        keystroke (``call_in_wizard=False``), and a call from a cell prefetches the
        workbook's tickers first.
    module : str
        The module of :mod:`xlfactor.excel` holding the adapter: ``cells`` for market
        data, ``own_data_cells`` for data typed into the sheet.
    """

    name: str
    doc: str
    params: tuple[Param, ...]
    adapter: str
    fetches: bool = True
    module: str = "cells"
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.name: i for i, p in enumerate(self.params)})

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in formula order."""
        return tuple(p.name for p in self.params)

    @property
    def ticker_param(self) -> Param | None:
        """The first parameter when it names tickers (the data the call fetches)."""
        first = self.params[0] if self.params else None
        return first if first is not None and first.kind in ("tickers", "ticker") else None

    @property
    def takes_caller(self) -> bool:
        """The declaration has xlwings' reserved ``caller`` argument (the calling cell),
        used to prefetch the workbook's tickers: functions that fetch per ticker."""
        return self.fetches and self.ticker_param is not None

    def position(self, name: str) -> int | None:
        """Index of parameter ``name`` in formula order, None if the function has none."""
        return self._index.get(name)

    def cell_arguments(self, values: Iterable[Any]) -> list[Any]:
        """Evaluated formula arguments (scalars, or rows of a range) as the declaration
        receives them: Excel error values as their text (``err_to_str``); a range
        parameter as 2-D rows even for one cell; any other as a scalar for one cell, a
        list for one row or column, else the rows (a range read without ``ndim``).

        Raises
        ------
        ValueError
            More arguments than the function declares.
        """
        values = list(values)
        if len(values) > len(self.params):
            raise ValueError(f"{self.name} takes at most {len(self.params)} arguments, "
                             f"got {len(values)}")
        values = [error_texts(v) for v in values]
        return [_as_rows(v) if p.is_range else range_value(v)
                for p, v in zip(self.params, values)]

    def compute(self, args: Iterable[Any]) -> Any:
        """The table this function gives for ``args``, arguments as the declaration
        receives them, in formula order; those left out get the declared defaults (its
        cell adapter; never raises)."""
        import importlib

        args = list(args)
        args += [p.default for p in self.params[len(args):]]
        adapter, _, which = self.adapter.partition(":")
        compute = getattr(importlib.import_module(f"xlfactor.excel.{self.module}"), adapter)
        return (compute(which) if which else compute)(*args)

    def bind(self, values: Iterable[Any]) -> dict[str, Any]:
        """Name -> argument as the declaration receives it; defaults filled in."""
        shaped = self.cell_arguments(values)
        shaped += [p.default for p in self.params[len(shaped):]]
        return dict(zip(self.names, shaped))


def error_texts(value: Any) -> Any:
    """``value`` (a scalar or rows) with each Excel error value of the formula evaluator
    replaced by its text, as ``err_to_str`` hands errors to a declaration."""
    from xlfactor.excel.coercion import ExcelError

    if isinstance(value, ExcelError):
        return str(value)
    if isinstance(value, list):
        return [[str(v) if isinstance(v, ExcelError) else v for v in row] for row in value]
    return value


def _as_rows(value: Any) -> Any:
    if value is None:
        return None
    return value if isinstance(value, list) else [[value]]


def range_value(value: Any) -> Any:
    """Rows of a range as xlwings reads a range without ``ndim``: a scalar for one cell,
    a list for one row or one column, else the rows."""
    if not isinstance(value, list):
        return value
    if len(value) == 1 and len(value[0]) == 1:
        return value[0][0]
    if len(value) == 1:
        return list(value[0])
    if all(len(row) == 1 for row in value):
        return [row[0] for row in value]
    return value


def _spec(name: str, doc: str, adapter: str, signature: str, *, fetches: bool = True,
          module: str = "cells", **docs: str) -> FunctionSpec:
    """A spec from a compact signature: ``"tickers, model=None, window=252"``; ``docs``
    overrides the dialog text of some arguments."""
    params = []
    for item in filter(None, (s.strip() for s in signature.split(","))):
        pname, _, default = item.partition("=")
        params.append(Param(
            pname, KINDS[pname], docs.get(pname) or ARGUMENT_DOCS[pname],
            required=not default, default=_literal(default) if default else None,
            units=UNITS.get(pname)))
    return FunctionSpec(name, doc, tuple(params), adapter, fetches, module)


def _literal(text: str) -> Any:
    return {"None": None, "True": True, "False": False}.get(text) if text in (
        "None", "True", "False") else int(text)


_PERIOD = "start_date=None, end_date=None, freq=None"
_FIT = f"tickers, model=None, {_PERIOD}"
_SE = "se_type=None, lags=None"

#: Every worksheet function, in the order docs/functions.md lists them.
FUNCTIONS: dict[str, FunctionSpec] = {s.name: s for s in (
    _spec("FACTOR_BETAS",
          "Alpha and factor betas per ticker: Ticker, Alpha, one beta per factor in model "
          "order.", "betas", f"{_FIT}, header=True, region=None"),
    _spec("FACTOR_ALPHA",
          "Alpha per period, annualised, with its t-statistic and p-value (the chosen "
          "standard errors), per ticker.", "alpha",
          f"{_FIT}, annualize=True, header=True, region=None, {_SE}, small_sample=None",
          annualize='TRUE: also alpha x252/52/12 (default); "geometric": '
                    "compounded; FALSE: per period only"),
    _spec("FACTOR_RSQ",
          "R-squared, adjusted R-squared and number of observations per ticker.", "rsq",
          f"{_FIT}, header=True, region=None"),
    _spec("FACTOR_DIAGNOSTICS",
          "Residual checks per ticker: Jarque-Bera, Breusch-Pagan, Ljung-Box, "
          "Durbin-Watson.", "diagnostics", f"{_FIT}, lags=None, header=True, region=None",
          lags="Ljung-Box lags (default min(10, N/5) per ticker)"),
    _spec("FACTOR_TSTATS",
          "t-statistics of alpha and each beta per ticker, with the chosen standard "
          "errors.", "coef_stat:TSTATS",
          f"{_FIT}, {_SE}, header=True, region=None, small_sample=None"),
    _spec("FACTOR_PVALUES",
          "Two-sided p-values of alpha and each beta per ticker, with the chosen standard "
          "errors.", "coef_stat:PVALUES",
          f"{_FIT}, {_SE}, header=True, region=None, small_sample=None"),
    _spec("FACTOR_SE",
          "Standard errors of alpha and each beta per ticker: classical, HC0-HC3 or HAC.",
          "coef_stat:SE", f"{_FIT}, {_SE}, header=True, region=None, small_sample=None"),
    _spec("FACTOR_STATS",
          "Full regression summary: coefficients with SE, t, p and CI; R², F, N, residual "
          "vol, DW, data release.", "stats",
          f"ticker, model=None, {_PERIOD}, {_SE}, region=None, small_sample=None"),
    _spec("FACTOR_ROLLING",
          "Rolling-window alpha and betas: one row per window end date, then R².",
          "rolling", f"ticker, model=None, window=252, {_PERIOD}, header=True, region=None",
          window="Window length in periods (default 252)"),
    _spec("FACTOR_DATA",
          "Fama-French factor returns (decimals per period) and RF, one row per date.",
          "factor_data", f"model=None, {_PERIOD}, header=True, region=None"),
    _spec("FACTOR_RETURNS",
          "Total returns of the tickers from adjusted prices (decimals per period), one "
          "row per date.", "asset_returns", f"tickers, {_PERIOD}, excess=False, header=True",
          excess="TRUE for returns in excess of RF (default FALSE)"),
    _spec("FACTOR_REGRESS",
          "OLS with intercept on sheet ranges: LINEST in natural order with labels, t, p, "
          "CI, adj. R², robust SEs.", "regress",
          f"y_range, x_range, labels=None, {_SE}, header=True, small_sample=None",
          fetches=False, module="own_data_cells",
          y_range="Dependent variable: one column (optional label on top) or one row "
                  "(label first)",
          x_range="Regressors: one column each (optional labels on top); one row each if "
                  "y_range is a row",
          labels="Names of the regressors (default: x_range's header row or x1, x2...)"),
    _spec("FACTOR_MODELS", "The factor models and their factors.", "models", "",
          fetches=False),
    _spec("FACTOR_INFO",
          "Version, data sources, cache location and size, data releases and last fetch "
          "time.", "info", ""),
    _spec("FACTOR_PORTFOLIO",
          "Weighted portfolio regression: the portfolio's alpha and betas, each holding's, "
          "and the weighted exposure.", "portfolio",
          f"tickers, weights, model=None, {_PERIOD}, rebalance=None, header=True, "
          "region=None",
          weights="One weight per ticker, summing to 1 (or 100)",
          rebalance="daily: constant weights, rebalanced every period (default); "
                    "buy_and_hold: weights drift"),
    _spec("FACTOR_GRS",
          "Gibbons-Ross-Shanken F-test that all alphas are zero: statistic, p-value, "
          "degrees of freedom.", "grs", f"{_FIT}, region=None"),
    _spec("FACTOR_ATTRIBUTION",
          "Return attribution: alpha, each factor's contribution (beta x factor return) and "
          "residual; parts add up to the total.", "attribution",
          f"ticker, model=None, {_PERIOD}, layout=None, header=True, region=None",
          ticker="One ticker",
          layout="table: alpha, factor and residual parts of the return (default); "
                 "series: cumulative by date"),
    _spec("FACTOR_COMPARE",
          "CAPM, FF3, Carhart, FF5 and FF6 side by side: alpha, t, R², adjusted R², AIC, "
          "BIC, N.", "compare", f"ticker, {_PERIOD}, se_type=None, header=True, region=None"),
    _spec("FACTOR_FIT",
          "Your own returns (a fund, a strategy) on a factor model: alpha, betas, "
          "t(alpha), R² and N per column.", "fit_returns",
          f"dates, returns, model=None, freq=None, {_SE}, header=True, region=None, "
          "excess=None, small_sample=None", module="own_data_cells",
          excess="TRUE if the returns are already in excess of RF (default FALSE: RF is "
                 "subtracted)",
          freq="D, W or M (default: from the dates); weekly/monthly returns may be dated "
               "any day of their period"),
)}


def spec(name: str) -> FunctionSpec | None:
    """The spec of worksheet function ``name`` (any case, as Excel reads names)."""
    return FUNCTIONS.get(name.upper())

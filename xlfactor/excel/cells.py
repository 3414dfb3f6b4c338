"""What each worksheet function computes, as 2-D tables (see :mod:`xlfactor.udfs`).

Functions take raw cell arguments, validate them with :mod:`xlfactor.excel.sheet`, call the
public API and lay the answer out: a header row (optional), then one row per ticker or
date, coefficients in natural order (alpha first, then factors in model order).
"""

from __future__ import annotations

from typing import Any

from xlfactor.excel import sheet
from xlfactor.excel.sheet import NA, Table, cell_safe, error_row, with_header
from xlfactor.excel.tables import ATTRIBUTION, coefficient_header

SE_HEADERS = {"TSTATS": "t", "PVALUES": "p", "SE": "SE"}


def split_ticker_argument(raw: Any) -> tuple[list[str], dict[str, Exception], list[str]]:
    """Valid tickers, per-ticker errors, and the display order of everything given."""
    from xlfactor.domain.errors import InvalidInputError
    from xlfactor.domain.tickers import normalize_ticker, split_tickers

    sheet.reject_error_values(raw, "tickers")
    order: list[str] = []
    good: list[str] = []
    bad: dict[str, Exception] = {}
    for piece in split_tickers(raw):
        try:
            name = normalize_ticker(piece)
        except InvalidInputError as err:
            name = str(piece).strip()[:24]
            bad[name] = err
        if name not in order:
            order.append(name)
            if name not in bad:
                good.append(name)
    if not order:
        raise InvalidInputError("no tickers given")
    return good, bad, order


def region_arg(value) -> str | None:
    return sheet.text_arg(value, "region")


def _fit(tickers, model, start, end, freq, se=None, lags=None, region=None, small_sample=None):
    from xlfactor.domain.request import NO_TICKERS, Request
    from xlfactor.pipeline import estimate

    good, bad, order = split_ticker_argument(tickers)
    res = None
    if good:
        try:
            # The tickers were normalised one by one above (so each can fail on its own row).
            request = Request.build(
                NO_TICKERS, sheet.text_arg(model, "model"), sheet.date_arg(start, "start"),
                sheet.date_arg(end, "end"), sheet.text_arg(freq, "freq") or "D",
                region=region_arg(region), se=sheet.text_arg(se, "se_type") or "classical",
                lags=sheet.int_arg(lags, None, "lags", minimum=1),
                small_sample=sheet.bool_arg(small_sample, False, "small_sample"),
            ).with_tickers(tuple(good))
            res = estimate(request)
        except Exception as err:
            if len(order) == 1 or isinstance(err, _whole_call_errors()):
                raise
            bad.update({t: err for t in good})
    if res is not None:
        bad.update(res.failed)
    return res, bad, order


def _whole_call_errors() -> tuple[type, ...]:
    """Errors about the call's shared arguments: no per-ticker row can help."""
    from xlfactor.domain.errors import DataUnavailableError, InvalidInputError

    return (InvalidInputError, DataUnavailableError)


def per_ticker_table(res, bad, order, header, columns, row_of) -> Table:
    if res is None or not res.assets:  # nothing computed: one message, not a table of them
        raise bad[order[0]]
    rows = []
    width = len(columns)
    for name in order:
        if res is not None and name in res.assets:
            rows.append([name, *row_of(name)])
        else:
            rows.append(error_row(name, bad.get(name, KeyError(name)), width))
    return with_header(columns, rows, header)


@cell_safe
def betas(tickers, model=None, start=None, end=None, freq=None, header=True, region=None) -> Table:
    show = sheet.bool_arg(header, True, "header")
    res, bad, order = _fit(tickers, model, start, end, freq, region=region)
    coefs = res.coef_names if res is not None else ["alpha"]
    cols = ["Ticker", *(c.capitalize() if c == "alpha" else c for c in coefs)]
    return per_ticker_table(res, bad, order, show, cols, lambda t: res.row("params", t).tolist())


@cell_safe
def alpha(tickers, model=None, start=None, end=None, freq=None, annualize=None,
          header=True, region=None, se_type=None, lags=None, small_sample=None) -> Table:
    """Alpha, its t and p under the same standard errors FACTOR_TSTATS takes (the new
    arguments come last, so formulas written before them keep their meaning)."""
    show = sheet.bool_arg(header, True, "header")
    method = _annualize_method(annualize)
    res, bad, order = _fit(tickers, model, start, end, freq, se_type, lags, region,
                           small_sample)
    cols = ["Ticker", "Alpha (per period)", "t", "p"]
    if method:
        cols.insert(2, f"Alpha (annualised, {method})")

    def row(t):
        values = [res.alpha[t], res.tstats.loc[t, "alpha"], res.pvalues.loc[t, "alpha"]]
        if method:
            values.insert(1, res.alpha_annualized(method)[t])
        return values

    return per_ticker_table(res, bad, order, show, cols, row)


def _annualize_method(value) -> str | None:
    from xlfactor.domain.errors import InvalidInputError

    v = sheet.scalar(value, "annualize")
    if v is None or v is True or (isinstance(v, (int, float)) and v == 1):
        return "arithmetic"
    if v is False or (isinstance(v, (int, float)) and v == 0):
        return None
    text = str(v).strip().lower()
    if text in ("true", "arithmetic", "simple"):
        return "arithmetic"
    if text in ("geometric", "compound", "compounded"):
        return "geometric"
    if text in ("false", "none", "no"):
        return None
    raise InvalidInputError(f"annualize must be TRUE, FALSE or 'geometric', got {v!r}")


@cell_safe
def rsq(tickers, model=None, start=None, end=None, freq=None, header=True, region=None) -> Table:
    show = sheet.bool_arg(header, True, "header")
    res, bad, order = _fit(tickers, model, start, end, freq, region=region)
    cols = ["Ticker", "R²", "Adj. R²", "N"]
    return per_ticker_table(res, bad, order, show, cols, lambda t: [
        res.rsquared[t], res.rsquared_adj[t], int(res.nobs[t])])


#: FACTOR_DIAGNOSTICS columns after Ticker, and the results' diagnostics they show.
DIAGNOSTIC_COLUMNS = (
    ("Jarque-Bera", "jb_stat"), ("JB p", "jb_pvalue"), ("Skewness", "skew"),
    ("Kurtosis", "kurtosis"), ("Breusch-Pagan", "bp_stat"), ("BP p", "bp_pvalue"),
    ("Ljung-Box", "lb_stat"), ("LB p", "lb_pvalue"), ("LB lags", "lb_lags"),
    ("Durbin-Watson", "durbin_watson"),
)


@cell_safe
def diagnostics(tickers, model=None, start=None, end=None, freq=None, lags=None, header=True,
                region=None) -> Table:
    """Residual diagnostics per ticker (statsmodels' tests; see
    :meth:`xlfactor.engine.results.FactorResults.diagnostics`)."""
    show = sheet.bool_arg(header, True, "header")
    lb_lags = sheet.int_arg(lags, None, "lags", minimum=1)
    res, bad, order = _fit(tickers, model, start, end, freq, region=region)
    table = res.diagnostics(lb_lags) if res is not None and res.assets else None
    cols = ["Ticker", *(label for label, _ in DIAGNOSTIC_COLUMNS)]

    def row(name):
        values = table.loc[name]
        return [int(values[key]) if key == "lb_lags" else float(values[key])
                for _, key in DIAGNOSTIC_COLUMNS]

    return per_ticker_table(res, bad, order, show, cols, row)


def coef_stat(which: str):
    """FACTOR_TSTATS / FACTOR_PVALUES / FACTOR_SE: one statistic per coefficient."""
    attr = {"TSTATS": "tstats", "PVALUES": "pvalues", "SE": "std_errors"}[which]

    @cell_safe
    def compute(tickers, model=None, start=None, end=None, freq=None, se_type=None,
                lags=None, header=True, region=None, small_sample=None) -> Table:
        show = sheet.bool_arg(header, True, "header")
        res, bad, order = _fit(tickers, model, start, end, freq, se_type, lags, region,
                               small_sample)
        coefs = res.coef_names if res is not None else ["alpha"]
        cols = ["Ticker", *(f"{SE_HEADERS[which]}({c})" for c in coefs)]
        return per_ticker_table(res, bad, order, show, cols, lambda t: getattr(res, attr).loc[t].tolist())

    return compute


@cell_safe
def stats(ticker, model=None, start=None, end=None, freq=None, se_type=None, lags=None,
          region=None, small_sample=None) -> Table:
    good, bad, order = split_ticker_argument(ticker)
    if len(order) != 1:
        from xlfactor.domain.errors import InvalidInputError

        raise InvalidInputError("FACTOR_STATS takes one ticker")
    if bad:
        raise next(iter(bad.values()))
    res, bad, _ = _fit(good, model, start, end, freq, se_type, lags, region, small_sample)
    if good[0] in bad:
        raise bad[good[0]]
    return stats_table(res, good[0])


def stats_table(res, name: str) -> Table:
    """The full summary of one asset: what was estimated, coefficients, fit statistics.

    The fit statistics are the rows :data:`xlfactor.excel.tables.STATS_FIT_ROWS` describes.
    """
    rows: list[list[Any]] = [[k, v] for k, v in res.info.describe()]
    rows.append(["Asset", name])
    rows.append([])
    rows.append(coefficient_header(res.conf_level))
    table = res.asset_table(name)
    for coef, values in table.iterrows():
        rows.append([coef, *values.tolist()])
    rows.append([])
    rows.extend([k, v] for k, v in res.asset_stats(name))
    return sheet.rectangle(rows)


@cell_safe
def rolling(ticker, model=None, window=None, start=None, end=None, freq=None,
            header=True, region=None) -> Table:
    from xlfactor import api

    show = sheet.bool_arg(header, True, "header")
    name = sheet.text_arg(ticker, "ticker")  # blanks and lists are judged by api.rolling
    frame = api.rolling(
        name, sheet.text_arg(model, "model"), sheet.int_arg(window, 252, "window", minimum=3),
        sheet.date_arg(start, "start"), sheet.date_arg(end, "end"),
        sheet.text_arg(freq, "freq") or "D", region=region_arg(region),
    )
    cols = ["Date", *(c.capitalize() if c == "alpha" else c for c in frame.columns[:-2]), "R²"]
    rows = [[d.to_pydatetime(), *vals[:-1]] for d, vals in zip(frame.index, frame.to_numpy().tolist())]
    return with_header(cols, rows, show)


@cell_safe
def factor_data(model=None, start=None, end=None, freq=None, header=True, region=None) -> Table:
    from xlfactor import api

    show = sheet.bool_arg(header, True, "header")
    frame = api.factor_returns(sheet.text_arg(model, "model"), sheet.date_arg(start, "start"),
                               sheet.date_arg(end, "end"), sheet.text_arg(freq, "freq") or "D",
                               region=region_arg(region))
    if frame.empty:
        # A header alone (or, without it, one blank cell) would read as a successful answer.
        from xlfactor.domain.errors import InsufficientDataError

        raise InsufficientDataError("no factor data in the requested period")
    rows = [[d.to_pydatetime(), *v] for d, v in zip(frame.index, frame.to_numpy().tolist())]
    return with_header(["Date", *frame.columns], rows, show)


@cell_safe
def asset_returns(tickers, start=None, end=None, freq=None, excess=False, header=True) -> Table:
    from xlfactor import api

    show = sheet.bool_arg(header, True, "header")
    names = sheet.tickers_arg(tickers)
    frame = api.asset_returns(names, sheet.date_arg(start, "start"), sheet.date_arg(end, "end"),
                              sheet.text_arg(freq, "freq") or "D",
                              excess=sheet.bool_arg(excess, False, "excess"))
    missing = frame.attrs.get("missing", ())
    rows = [[d.to_pydatetime(), *v, *[NA] * len(missing)]
            for d, v in zip(frame.index, frame.to_numpy().tolist())]
    # A ticker without prices keeps its column, labelled with the reason, rather than
    # vanishing: its file's or response's own error where its source gave one.
    reasons = getattr(missing, "reasons", {})
    labels = [*frame.columns,
              *(f"{t}: {reasons[t].cell_message()}" if t in reasons
                else f"{t}: #N/A unknown ticker" for t in missing)]
    return with_header(["Date", *labels], rows, show)


@cell_safe
def models() -> Table:
    from xlfactor.domain.models import MODELS

    rows = [[m.name, ", ".join(m.factors), m.description] for m in MODELS.values()]
    rows.append(["custom", "e.g. MKT,SMB,MOM", "any list of MKT, SMB, HML, RMW, CMA, MOM"])
    return with_header(["Model", "Factors", "Description"], rows, True)


@cell_safe
def info() -> Table:
    from xlfactor.status import status_rows

    return with_header(["Item", "Value"], status_rows(), True)


# -- beyond single regressions -------------------------------------------------------------
def _common_args(model, start, end, freq, region) -> dict:
    return {
        "model": sheet.text_arg(model, "model"), "start": sheet.date_arg(start, "start"),
        "end": sheet.date_arg(end, "end"), "freq": sheet.text_arg(freq, "freq") or "D",
        "region": region_arg(region),
    }


def _weights(value) -> list[float]:
    from xlfactor.domain.errors import InvalidInputError

    sheet.reject_error_values(value, "weights")
    cells = [c for c in sheet.flatten(value) if c is not None and not (isinstance(c, str) and not c.strip())]
    if any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in cells):
        raise InvalidInputError("weights must be numbers")
    return [float(c) for c in cells]


@cell_safe
def portfolio(tickers, weights, model=None, start=None, end=None, freq=None, rebalance=None,
              header=True, region=None) -> Table:
    """Holding, weight, alpha and betas: the portfolio, each holding, the weighted exposure."""
    from xlfactor import analysis

    show = sheet.bool_arg(header, True, "header")
    names = sheet.tickers_arg(tickers)
    res = analysis.portfolio(names, _weights(weights), rebalance=sheet.text_arg(rebalance, "rebalance"),
                             **_common_args(model, start, end, freq, region))
    table = res.table()
    cols = ["Holding", "Weight", *(c.capitalize() if c == "alpha" else c for c in table.columns[1:])]
    rows = [[sheet.inert_text(str(i)), *v] for i, v in zip(table.index, table.to_numpy().tolist())]
    return with_header(cols, rows, show)


@cell_safe
def grs(tickers, model=None, start=None, end=None, freq=None, region=None) -> Table:
    """The GRS statistic, p-value, degrees of freedom and sample, as label/value rows."""
    from xlfactor import analysis

    test = analysis.grs(sheet.tickers_arg(tickers), **_common_args(model, start, end, freq, region))
    rows = [list(r) for r in test.table()]
    rows.append(["Assets", ", ".join(test.assets)])
    rows.extend([k, v] for k, v in test.info.describe())
    return sheet.rectangle(rows)


@cell_safe
def attribution(ticker, model=None, start=None, end=None, freq=None, output=None,
                header=True, region=None) -> Table:
    """``output`` "table" (default): parts over the period; "series": cumulative by date."""
    from xlfactor import analysis
    from xlfactor.domain.errors import InvalidInputError

    show = sheet.bool_arg(header, True, "header")
    name = sheet.text_arg(ticker, "ticker")  # blanks and lists are judged by the API
    kind = (sheet.text_arg(output, "output") or "table").lower()
    if kind not in ("table", "series"):
        raise InvalidInputError(f"output must be 'table' or 'series', got {kind!r}")
    att = analysis.attribution(name, **_common_args(model, start, end, freq, region))
    if kind == "series":
        cum = att.cumulative
        rows = [[d.to_pydatetime(), *v] for d, v in zip(cum.index, cum.to_numpy().tolist())]
        return with_header(["Date", *cum.columns], rows, show)
    table = att.table
    rows = [[i, *v] for i, v in zip(table.index, table.to_numpy().tolist())]
    return with_header(ATTRIBUTION.headers, rows, show)


@cell_safe
def compare(ticker, start=None, end=None, freq=None, se_type=None, header=True,
            region=None) -> Table:
    """CAPM, FF3, CARHART4, FF5, FF6 on common dates: alpha, t, R², adj. R², AIC, BIC, N."""
    from xlfactor import analysis

    show = sheet.bool_arg(header, True, "header")
    name = sheet.text_arg(ticker, "ticker")  # blanks and lists are judged by the API
    args = _common_args(None, start, end, freq, region)
    args.pop("model")
    table = analysis.compare(name, se=sheet.text_arg(se_type, "se_type") or "classical", **args)
    rows = [[i, *v] for i, v in zip(table.index, table.astype(object).to_numpy().tolist())]
    rows += [[m, f"not fitted: {why}"] for m, why in table.attrs.get("skipped", {}).items()]
    return with_header(["Model", *table.columns], rows, show)

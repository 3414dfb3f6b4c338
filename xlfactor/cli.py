"""Command line: ``xlfactor demo``, ``xlfactor betas AAPL MSFT --model FF3 ...`` and friends.

Errors print one readable line to stderr; tracebacks are shown only with ``--debug``.
Every command exits by one rule (docs/reliability.md, "Exit codes"): 0 when everything
asked for was computed, 1 when some of it was not (a ticker, a table, a model, a chart, an
output file), 2 for a bad command line or input, 3 when nothing could be computed.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from pathlib import Path

from xlfactor.domain.errors import InvalidInputError, XlFactorError

DEMO_PORTFOLIOS = ("NoDur", "BusEq", "Hlth", "Money")

#: Everything asked for was computed (and written).
EXIT_OK = 0
#: Some of it was not: a ticker not estimated, a table or a model in error, a chart or an
#: output file not written. What was computed is printed or written.
EXIT_INCOMPLETE = 1
#: Bad command line or input (an argument, an option, an input file, a workbook's Inputs):
#: fix it; trying again will not help. argparse's own usage errors exit 2 as well.
EXIT_USAGE = 2
#: Nothing was computed: no data for anything asked (offline and not cached, a source
#: unreachable, every ticker unknown, every table of a workbook failed).
EXIT_NO_DATA = 3


def _common(p: argparse.ArgumentParser, *, model: str = "FF3") -> None:
    p.add_argument("--model", default=model, help="CAPM, FF3, CARHART4, FF5, FF6 or a list like MKT,SMB,MOM")
    p.add_argument("--start", help="first date, YYYY-MM-DD (default: three years before end)")
    p.add_argument("--end", help="last date, inclusive (default: last complete trading day)")
    p.add_argument("--freq", default="D", help="D, W or M (default D)")
    p.add_argument("--se", default="classical", help="classical, HC0, HC1, HC2, HC3 or HAC")
    p.add_argument("--lags", type=int, help="Newey-West lags for --se HAC (default: 4(T/100)^(2/9))")
    p.add_argument("--region", default=None,
                   help="French factor region: US (default), Developed, 'Developed ex US', Europe, "
                        "Japan, 'Asia Pacific ex Japan', 'North America', Emerging")
    _sources(p)


def _sources(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("data sources")
    src.add_argument("--source", choices=("web", "sample"), default=None,
                     help="web (Yahoo + French library, cached) or the bundled offline sample")
    src.add_argument("--price-dir", type=Path, help="folder of Yahoo-format CSV files to use instead of Yahoo")
    src.add_argument("--french-dir", type=Path, help="folder of French library zips/CSVs to use instead of the web")
    src.add_argument("--cache-dir", type=Path, help="cache folder (default: user cache dir)")
    src.add_argument("--offline", action="store_true", help="use cached data only")


def _version_line() -> str:
    """``xlfactor X.Y.Z (Python A.B.C)``: what a bug report needs first."""
    import platform

    from xlfactor import __version__

    return f"xlfactor {__version__} (Python {platform.python_version()})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlfactor", description="Fama-French factor regressions from the command line."
    )
    parser.add_argument("--version", action="version", version=_version_line())
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    # The same flags after the subcommand; SUPPRESS keeps a flag given before it.
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS)
    flags.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    add = functools.partial(sub.add_parser, parents=[flags])

    demo = add("demo", help="offline example on bundled real data; writes a PNG chart")
    demo.add_argument("--chart", type=Path, default=Path("xlfactor-demo.png"), help="PNG output path")

    betas = add("betas", help="alpha, betas and statistics per ticker")
    betas.add_argument("tickers", nargs="+")
    _common(betas)
    betas.add_argument("--format", choices=("table", "csv"), default="table")
    betas.add_argument("--chart", type=Path, help="also write an exposure chart (PNG)")
    betas.add_argument("--small-sample", action="store_true",
                       help="HAC/HC0 standard errors as Stata computes them (x n/(n-k), t tests)")
    betas.add_argument("--compound-daily", action="store_true",
                       help="weekly/monthly: compound daily factors instead of using the "
                            "library's published weekly/monthly files")

    fac = add("factors", help="factor returns for a model and period")
    _common(fac)
    fac.add_argument("--csv", type=Path, help="write to this CSV file instead of printing")

    roll = add("rolling", help="rolling-window alpha and betas")
    roll.add_argument("ticker")
    roll.add_argument("--window", type=int, default=252, help="window length in periods (default 252)")
    _common(roll)
    roll.add_argument("--csv", type=Path, help="write to this CSV file instead of printing")

    port = add("portfolio", help="regression of a weighted portfolio and of its holdings")
    port.add_argument("tickers", nargs="+")
    port.add_argument("--weights", nargs="+", type=float, required=True,
                      help="one weight per ticker, summing to 1 (or 100)")
    port.add_argument("--rebalance", default="daily", choices=("daily", "buy_and_hold"),
                      help="daily: constant weights, rebalanced every period; buy_and_hold: drift")
    _common(port)
    port.add_argument("--chart", type=Path, help="also write an exposure chart (PNG)")

    grs = add("grs", help="Gibbons-Ross-Shanken test that all alphas are zero")
    grs.add_argument("tickers", nargs="+")
    _common(grs)

    att = add("attribution", help="split a ticker's excess return into alpha, factors, residual")
    att.add_argument("ticker")
    _common(att)
    att.add_argument("--chart", type=Path, help="also write a waterfall chart (PNG)")

    cmp_ = add("compare", help="fit CAPM, FF3, CARHART4, FF5 and FF6 side by side")
    cmp_.add_argument("ticker")
    _common(cmp_)

    own = add("fit", help="regress your own returns (a CSV: dates, then one column per series)")
    own.add_argument("file", type=Path, help="CSV with a date column first and a header row")
    _common(own)
    own.set_defaults(freq=None)
    own.add_argument("--prices", action="store_true", help="the columns are prices, not returns")
    own.add_argument("--excess", action="store_true",
                     help="the returns are already in excess of the risk-free rate")
    own.add_argument("--small-sample", action="store_true",
                     help="HAC/HC0 standard errors as Stata computes them (x n/(n-k), t tests)")
    own.add_argument("--compound-daily", action="store_true",
                     help="weekly/monthly: compound daily factors instead of the published files")
    order = own.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       help="dates like 01/03/2021 are day first (1 March)")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="dates like 01/03/2021 are month first (3 January)")

    book = add("refresh", help="compute a workbook's FACTOR_* formulas and write a values copy")
    book.add_argument("workbook", type=Path, help="an .xlsx or .xlsm workbook (only read)")
    book.add_argument("--output", "-o", type=Path,
                      help="the values copy (.xlsx; default: WORKBOOK-values.xlsx beside it)")
    _sources(book)

    add("models", help="list the factor models")
    add("info", help="version, cache location and contents")
    return parser


#: Seconds a source may stay silent on the command line: no spreadsheet is waiting, and a
#: slow first byte is not an outage (Excel's cells use XLFACTOR_NET_WAIT, 4 s by default).
CLI_NET_WAIT = 30.0


def _settings(args: argparse.Namespace):
    from xlfactor.data.settings import Settings

    return Settings.from_env(
        cache_dir=args.cache_dir, offline=args.offline or None,
        price_dir=args.price_dir, french_dir=args.french_dir,
        sample={"sample": True, "web": False}.get(args.source),
        net_wait=None if os.environ.get("XLFACTOR_NET_WAIT") else CLI_NET_WAIT,
    )


class _Progress:
    """Stage progress on stderr with tqdm; silent when not a terminal or with --quiet."""

    def __init__(self, total: int, quiet: bool) -> None:
        self._bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, leave=False, unit="step")

    def step(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_description(label)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _fit(args, tickers, progress: _Progress):
    from xlfactor import api

    sources = api.get_sources(_settings(args))
    res = api.fit(tickers, args.model, args.start, args.end, args.freq, args.se, args.lags,
                  sources=sources, progress=progress.step, region=args.region,
                  factor_frequency="D" if getattr(args, "compound_daily", False) else None,
                  small_sample=getattr(args, "small_sample", False))
    for line in res.warnings:
        print(f"xlfactor: warning: {line}", file=sys.stderr)
    return res


def _not_computed(failed: dict) -> int:
    """Name on stderr what was asked for and not computed; the exit status that says so."""
    for name, why in failed.items():
        print(f"xlfactor: not computed: {name}: {why}", file=sys.stderr)
    return EXIT_INCOMPLETE if failed else EXIT_OK


def _cmd_betas(args) -> int:
    progress = _Progress(4, args.quiet)
    try:
        res = _fit(args, args.tickers, progress)
        progress.step("done")
    finally:
        progress.close()
    if args.format == "csv":
        from xlfactor.excel.export import long_table

        long_table(res).to_csv(sys.stdout, index=False)
    else:
        print(res.summary())
    if args.chart:
        from xlfactor.charts import exposure_chart

        print(f"\nchart written to {exposure_chart(res, args.chart)}")
    return _not_computed(res.failed)


def _cmd_demo(args) -> int:
    from xlfactor import api
    from xlfactor.charts import exposure_chart
    from xlfactor.data.settings import Settings

    sources = api.get_sources(Settings(sample=True))
    res = api.fit(list(DEMO_PORTFOLIOS), "CARHART4", "1990-01-01", "2016-12-31", "M",
                  sources=sources)
    print("xlfactor demo: offline sample data (no network)\n")
    print(res.summary())
    path = exposure_chart(res, args.chart)
    print(f"\nchart written to {path}")
    return EXIT_OK


def _print_or_save(frame, path: Path | None) -> None:
    if path:
        from xlfactor.excel.export import safe_csv

        safe_csv(frame, path)
        print(f"written {len(frame)} rows to {path}")
    else:
        with __import__("pandas").option_context("display.max_rows", 30, "display.width", 120):
            print(frame)


def _cmd_factors(args) -> int:
    from xlfactor import api

    frame = api.factor_returns(args.model, args.start, args.end, args.freq,
                               sources=api.get_sources(_settings(args)), region=args.region)
    print(f"# {frame.attrs.get('source')}, release {frame.attrs.get('release') or 'unknown'}; "
          f"decimal returns per period", file=sys.stderr)
    _print_or_save(frame, args.csv)
    return EXIT_OK


def _cmd_rolling(args) -> int:
    from xlfactor import api

    frame = api.rolling(args.ticker, args.model, args.window, args.start, args.end, args.freq,
                        args.se, args.lags, sources=api.get_sources(_settings(args)),
                        region=args.region)
    _print_or_save(frame, args.csv)
    return EXIT_OK


def _analysis_kw(args) -> dict:
    from xlfactor import api

    return {"sources": api.get_sources(_settings(args)), "region": args.region}


def _header(info) -> str:
    """The labelled description of a result; its data warnings also go to stderr."""
    from xlfactor.engine.report import format_pairs

    for line in getattr(info, "warnings", ()):
        print(f"xlfactor: warning: {line}", file=sys.stderr)
    return format_pairs(info.describe())


def _cmd_portfolio(args) -> int:
    from xlfactor import analysis
    from xlfactor.engine.report import format_table

    res = analysis.portfolio(args.tickers, args.weights, args.model, args.start, args.end,
                             args.freq, args.se, args.lags, rebalance=args.rebalance,
                             **_analysis_kw(args))
    print(_header(res.portfolio.info))
    print()
    print(format_table(res.table(), "holding"))
    print()
    print(res.portfolio.summary().split("\n\n", 1)[1])
    if args.chart:
        from xlfactor.charts import exposure_chart

        print(f"\nchart written to {exposure_chart(res.portfolio, args.chart)}")
    return EXIT_OK


def _cmd_grs(args) -> int:
    from xlfactor import analysis
    from xlfactor.engine.report import format_pairs

    test = analysis.grs(args.tickers, args.model, args.start, args.end, args.freq,
                        **_analysis_kw(args))
    print(_header(test.info))
    print(f"Assets       {', '.join(test.assets)}\n")
    print(format_pairs(test.table()))
    verdict = "rejected" if test.grs.pvalue < 0.05 else "not rejected"
    print(f"\nH0: all alphas are zero -- {verdict} at the 5% level")
    return EXIT_OK


def _cmd_attribution(args) -> int:
    from xlfactor import analysis
    from xlfactor.engine.report import format_table

    att = analysis.attribution(args.ticker, args.model, args.start, args.end, args.freq,
                               args.se, **_analysis_kw(args))
    print(_header(att.results.info))
    print(f"Asset        {att.results.assets[0]}\n")
    print(format_table(att.table, "part (decimal returns)"))
    if args.chart:
        from xlfactor.charts import attribution_chart, save_figure

        print(f"\nchart written to {save_figure(attribution_chart(att), args.chart)}")
    return EXIT_OK


def _cmd_compare(args) -> int:
    from xlfactor import analysis
    from xlfactor.engine.report import format_table

    table = analysis.compare(args.ticker, start=args.start, end=args.end, freq=args.freq,
                             se=args.se, **_analysis_kw(args))
    print(_header(table.attrs["info"]))
    print()
    print(format_table(table, "model"))
    skipped = table.attrs.get("skipped", {})
    for name, why in skipped.items():
        print(f"{name}: not fitted: {why}")
    return _not_computed(skipped)


def _cmd_models(args) -> int:
    from xlfactor.domain.models import MODELS

    for spec in MODELS.values():
        print(f"{spec.name:<9} {', '.join(spec.factors):<28} {spec.description}")
    print("custom    any comma-separated list of MKT, SMB, HML, RMW, CMA, MOM")
    return EXIT_OK


def _cmd_fit(args) -> int:
    from xlfactor.own_returns import fit_returns, read_returns_file

    frame = read_returns_file(args.file, args.dayfirst)
    res = fit_returns(frame, args.model, args.freq, args.se, args.lags,
                      kind="prices" if args.prices else "returns", excess=args.excess,
                      start=args.start, end=args.end, region=args.region,
                      factor_frequency="D" if args.compound_daily else None,
                      small_sample=args.small_sample, settings=_settings(args))
    for line in res.warnings:
        print(f"xlfactor: warning: {line}", file=sys.stderr)
    print(res.summary())
    return _not_computed(res.failed)


def _cmd_refresh(args) -> int:
    from xlfactor.excel.file_refresh import refresh_file

    _settings_to_environment(args)  # the cell functions read their settings from there
    report = refresh_file(args.workbook, args.output)
    for line in report.warnings:
        print(line, file=sys.stderr)
    for line in report.errors:
        print(f"error in {line}", file=sys.stderr)
    print(f"wrote {report.output}: {_written(report)}")
    return refresh_status(report)


def _written(report) -> str:
    """What the values copy holds, counted from the tables as written."""
    tables = len(report.computed) + len(report.not_computed)
    parts = [f"{len(report.complete)} complete", f"{len(report.partial)} with cells in error",
             f"{len(report.failed)} failed"]
    if report.not_computed:
        parts.append(f"{len(report.not_computed)} not computed")
    return f"{tables} FACTOR_* tables: " + ", ".join(parts)


def refresh_status(report) -> int:
    """The exit status of ``xlfactor refresh`` from its report (see :data:`EXIT_OK` & co.).

    A template whose refresh stopped gives 2 for invalid Inputs, 3 otherwise (no data);
    a workbook where every table failed gives 3; any table, ticker or chart not computed
    gives 1.
    """
    outcome = report.outcome
    if outcome is not None and not outcome.ok:
        return EXIT_USAGE if isinstance(outcome.error, InvalidInputError) else EXIT_NO_DATA
    asked = report.computed or report.not_computed
    if asked and not report.complete and not report.partial:
        return EXIT_NO_DATA
    if report.errors or (outcome is not None and not outcome.complete):
        return EXIT_INCOMPLETE
    return EXIT_OK


def _settings_to_environment(args: argparse.Namespace) -> None:
    settings = _settings(args)
    pairs = {"XLFACTOR_CACHE_DIR": settings.cache_dir, "XLFACTOR_PRICE_DIR": settings.price_dir,
             "XLFACTOR_FRENCH_DIR": settings.french_dir,
             "XLFACTOR_OFFLINE": "1" if settings.offline else None,
             "XLFACTOR_NET_WAIT": settings.net_wait}
    for key, value in pairs.items():
        if value is not None:
            os.environ[key] = str(value)
    if settings.sample:
        os.environ["XLFACTOR_SOURCE"] = "sample"
    else:  # --source web must win over an XLFACTOR_SOURCE=sample in the environment
        os.environ.pop("XLFACTOR_SOURCE", None)


def _cmd_info(args) -> int:
    from xlfactor.status import status_rows

    rows = status_rows()
    width = max(len(str(k)) for k, _ in rows)
    for key, value in rows:
        print(f"{str(key).ljust(width)}  {value}")
    return EXIT_OK


COMMANDS = {
    "demo": _cmd_demo, "betas": _cmd_betas, "factors": _cmd_factors,
    "rolling": _cmd_rolling, "models": _cmd_models, "info": _cmd_info,
    "portfolio": _cmd_portfolio, "grs": _cmd_grs, "attribution": _cmd_attribution,
    "compare": _cmd_compare, "refresh": _cmd_refresh, "fit": _cmd_fit,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        return COMMANDS[args.command](args)
    except XlFactorError as err:
        if args.debug:
            raise
        print(f"xlfactor: error: {err}", file=sys.stderr)
        # raised before anything was printed: bad input, or no data for anything asked
        return EXIT_USAGE if isinstance(err, InvalidInputError) else EXIT_NO_DATA
    except BrokenPipeError:  # output piped into head & co. (before OSError: a subclass)
        sys.stderr.close()
        return EXIT_OK
    except OSError as err:  # an output path: unwritable, a missing folder...
        if args.debug:
            raise
        print(f"xlfactor: error: {err}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""What the template workbook's Refresh buttons run (xlwings ``RunPython``).

The whole chain lives in the VBA project that ``workbook/generate.py`` copies from
xlwings' standalone quickstart; no VBA of our own is involved::

    button "Refresh"  ->  macro SampleCall (module Module1)
      ->  RunPython "import xlfactor_template; xlfactor_template.main()"
          (SampleCall builds the module name from the workbook's file name)
      ->  workbook/xlfactor_template.py: main()  ->  xlfactor.excel.refresh.main()

:func:`refresh` reads the inputs from the workbook's defined names, lets
:mod:`xlfactor.api` download whatever the cache lacks, makes Excel recompute every
FACTOR_* formula, redraws the charts and stamps the time and the data release. Progress
shows in Excel's status bar, which is handed back afterwards even when something fails;
a failure becomes one readable line in the status cell, never a traceback dialog.

xlwings is imported only by :func:`main`, so this module (and its tests) need no Excel:
anything with the small object model described by the ``*Like`` protocols of
:mod:`xlfactor.excel.template` will do; the charts are drawn by :mod:`xlfactor.charts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xlfactor.excel.sheet import MAX_MESSAGE, error_words, without_code
from xlfactor.excel.template import (  # noqa: F401 - the template's names, as before
    CHART_ATTRIBUTION,
    CHART_EXPOSURES,
    CHART_FACTORS,
    CHART_ROLLING,
    CHART_SPOTS,
    DEFAULT_WINDOW,
    INPUT_NAMES,
    NAME_END,
    NAME_FREQ,
    NAME_LAGS,
    NAME_LAST_REFRESHED,
    NAME_MODEL,
    NAME_OUT_COMPARE,
    NAME_REBALANCE,
    NAME_REGION,
    NAME_RELEASE,
    NAME_RESULTS,
    NAME_SE,
    NAME_SOURCES,
    NAME_START,
    NAME_STATUS,
    NAME_TICKERS,
    NAME_WEIGHTS,
    NAME_WINDOW,
    OPTIONAL_INPUTS,
    OUTPUT_PREFIX,
    RESULTS_MODES,
    STAMP_NAMES,
    AppLike,
    BookLike,
    ChartSpot,
    NameLike,
    SheetInputs,
    defined_names,
    present_names,
    read_inputs,
    write_name,
)

if TYPE_CHECKING:
    from xlfactor.engine.results import EstimationInfo, FactorResults

# -- outcome ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a refresh did.

    Attributes
    ----------
    ok : bool
        The refresh ran to its end (stamps written); results may still be incomplete.
    message : str
        The status line written to the workbook.
    warnings : list of str
        What was asked for and not computed: tickers not estimated, tables in error,
        charts not drawn. Empty when everything was computed.
    error : Exception or None
        Why the refresh stopped, when ``ok`` is False.
    """

    ok: bool
    message: str
    warnings: list[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def complete(self) -> bool:
        """Everything the workbook asks for was computed."""
        return self.ok and not self.warnings


# -- entry point -----------------------------------------------------------------------------
def main() -> None:
    """RunPython entry point: refresh the workbook that called Python."""
    import xlwings as xw

    book = xw.Book.caller()
    try:
        mode = results_mode(book)
    except Exception as err:  # noqa: BLE001 - a button must never end in a traceback dialog
        try:
            write_name(book, NAME_STATUS, failure_message("reading the inputs", err))
        except Exception:  # noqa: BLE001, S110 - nowhere left to report
            pass
        return
    if mode == "values":
        from xlfactor.excel.values import refresh_live

        refresh(book, values=refresh_live)
    else:
        refresh(book)


def results_mode(book: BookLike, platform: str | None = None) -> str:
    """``formulas`` or ``values``: the Inputs cell ``Results`` (``auto`` when absent or
    blank), where ``auto`` means values on a Mac (no classic worksheet functions there)."""
    import sys

    from xlfactor.excel import sheet

    value = None
    if NAME_RESULTS in present_names(book):
        value = sheet.text_arg(book.names[NAME_RESULTS].refers_to_range.value, "results")
    mode = (value or "auto").strip().lower()
    if mode not in RESULTS_MODES:
        from xlfactor.domain.errors import InvalidInputError

        raise InvalidInputError(f"Results must be auto, formulas or values, not {value!r}")
    if mode == "auto":
        return "values" if (platform or sys.platform) == "darwin" else "formulas"
    return mode


def refresh(book: BookLike, *, clock: Callable[[], datetime] = datetime.now,
            values: Callable[[BookLike], Any] | None = None) -> Outcome:
    """Fetch data, recalculate, redraw charts and stamp the workbook; never raises.

    Parameters
    ----------
    book : xlwings.Book or anything shaped like it
        The workbook generated by ``workbook/generate.py`` (its defined names are used).
    clock : callable
        Source of the "last refreshed" time (local time, as Excel shows it).
    values : callable, optional
        Values mode: called instead of Excel's recalculation to compute the FACTOR_*
        formulas and write their tables; returns the
        :class:`~xlfactor.excel.values.Report` of the tables as written.

    Notes
    -----
    The status line starts with ``OK`` only when everything was computed; otherwise
    with ``INCOMPLETE`` and the tables that failed (by their ``Out_`` names), the tables
    with cells in error, the tickers not estimated and the charts not drawn.
    """
    from xlfactor.data.reachability import clear as clear_outages
    from xlfactor.excel.prefetch import forget

    clear_outages()  # pressing Refresh means: try the network again now
    forget()  # and let the next cold cell batch its workbook's tickers again
    app = book.app
    previous = _read_status_bar(app)
    progress = _Progress(app, total=4)
    try:
        progress.start(1, "reading the inputs")
        inputs = read_inputs(book)
        progress.start(2, "loading data")
        res = _fit(inputs, progress.detail)
        warnings = [_failed_line(name, err) for name, err in res.failed.items()]
        if NAME_OUT_COMPARE in present_names(book):
            prefetch_comparison(inputs, progress.detail)
        warnings += portfolio_warnings(inputs)
        if values is None:
            progress.start(3, "recalculating the FACTOR_* formulas")
            recalculate(book)
            tables = anchor_errors(book)
        else:
            progress.start(3, "computing the FACTOR_* formulas (values mode)")
            tables = _report_problems(values(book))
        progress.start(4, "drawing charts")
        from xlfactor.charts import draw_charts

        charts = draw_charts(book, inputs, res, progress.detail)
        table_lines = _table_lines(book, *tables)
        message = _success_line(res, [*table_lines, *warnings, *charts])
        write_name(book, NAME_LAST_REFRESHED, clock())
        write_name(book, NAME_RELEASE, _release_text(res.info))
        write_name(book, NAME_SOURCES, _sources_text(res.info))
        write_name(book, NAME_STATUS, message)
        return Outcome(True, message, [*table_lines, *warnings, *charts])
    except Exception as err:  # noqa: BLE001 - a button must never end in a traceback dialog
        message = failure_message(progress.label, err)
        try:
            write_name(book, NAME_STATUS, message)
        except Exception:  # noqa: BLE001, S110 - nowhere left to report; Excel stays usable
            pass
        return Outcome(False, message, error=err)
    finally:
        _restore_status_bar(app, previous)


# -- steps ---------------------------------------------------------------------------------
def _fit(inputs: SheetInputs, progress: Callable[[str], None]) -> FactorResults:
    from xlfactor import api

    # The same request as the Betas sheet's formulas: it fills the on-disk cache that the
    # worksheet functions (running in xlwings' UDF process) read on recalculation.
    return api.fit(inputs.tickers, inputs.model, inputs.start, inputs.end, inputs.freq,
                   inputs.se, inputs.lags, progress=progress, region=inputs.region)


def prefetch_comparison(inputs: SheetInputs, progress: Callable[[str], None]) -> None:
    """Load the factor files of every model FACTOR_COMPARE fits, so Excel's recalculation
    does not download them. A file the source lacks is not an error here: FACTOR_COMPARE
    lists that model as not fitted."""
    from xlfactor import api
    from xlfactor.analysis import COMPARE_MODELS
    from xlfactor.domain.errors import XlFactorError

    progress("factors for the model comparison")
    for model in COMPARE_MODELS:
        try:
            api.load_factors(model, inputs.freq, region=inputs.region)
        except XlFactorError:  # FACTOR_COMPARE lists the model as not fitted
            pass


def portfolio_warnings(inputs: SheetInputs) -> list[str]:
    """Why the Analysis sheet's FACTOR_PORTFOLIO cannot compute, checked as it checks.

    Weights pair with the tickers in order, blank cells dropped from both; a workbook
    without a Weights range has nothing to check.
    """
    from xlfactor.domain.errors import InvalidInputError, XlFactorError
    from xlfactor.engine.portfolio import check_rebalance, check_weights
    from xlfactor.excel import sheet

    if inputs.weights is None:
        return []
    try:
        check_rebalance(sheet.text_arg(inputs.rebalance, "rebalance"))
        sheet.reject_error_values(inputs.weights, "weights")
        cells = [c for c in sheet.flatten(inputs.weights)
                 if c is not None and not (isinstance(c, str) and not c.strip())]
        if any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in cells):
            raise InvalidInputError("weights must be numbers")
        check_weights([float(c) for c in cells], len(inputs.tickers))
    except XlFactorError as err:
        return [f"portfolio not computed ({error_words(err)})"]
    return []


def recalculate(book: BookLike) -> int:
    """Make Excel recompute every FACTOR_* formula; return how many were re-entered.

    The worksheet functions are not volatile, so a plain recalculation would skip them
    while their arguments are unchanged. Re-entering each anchor formula marks it dirty,
    on every platform, and keeps it a dynamic-array formula (``formula2``).
    """
    touched = 0
    for name in defined_names(book):
        if name.name.rsplit("!", 1)[-1].startswith(OUTPUT_PREFIX):
            rng = name.refers_to_range
            formula = rng.formula2
            if isinstance(formula, str) and formula.startswith("="):
                rng.formula2 = formula
                touched += 1
    book.app.calculate()
    return touched


def anchor_errors(book: BookLike) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """After Excel's recalculation: ``(failed, [])`` where ``failed`` lists ``(sheet,
    address, message)`` for each ``Out_`` anchor that shows an error in place of its table:
    a function's message, or Excel's own code (``#SPILL!``, ``#NAME?`` while the functions
    are not imported). Only the anchor cell is read (one COM call per table), so a table
    with a row in error is not seen here; the tickers not estimated are reported from the
    fit."""
    from xlfactor.excel.values import failed_anchor

    failed = []
    for name in defined_names(book):
        if not name.name.rsplit("!", 1)[-1].startswith(OUTPUT_PREFIX):
            continue
        try:
            rng = name.refers_to_range
            try:
                value = rng.options(err_to_str=True).value  # type: ignore[attr-defined]
            except AttributeError:  # not xlwings: the value as it is
                value = rng.value
        except Exception:  # noqa: BLE001, S112 - an anchor that cannot be read is skipped
            continue
        if isinstance(value, (list, tuple)):
            value = next(iter(value), None)
        if failed_anchor(value):
            failed.append((rng.sheet.name, str(rng.address).replace("$", "").split(":")[0],
                           value))
    return failed, []


def _report_problems(report: Any) -> tuple[list[tuple[str, str, str]],
                                           list[tuple[str, str, str]]]:
    """``(failed, partial)`` tables of a values-mode report as ``(sheet, address, message)``."""
    def rows(tables: Any) -> list[tuple[str, str, str]]:
        return [(c.cell.sheet, c.cell.address, c.problem) for c in tables]

    return rows(report.failed), rows(report.partial)


def _table_lines(book: BookLike, failed: list[tuple[str, str, str]],
                 partial: list[tuple[str, str, str]]) -> list[str]:
    """``tables failed: Portfolio, GRS (unknown ticker 'JNJ'); Regress (...)`` and
    ``errors in tables: Betas, Alpha``: each table by the name of its ``Out_`` anchor,
    else ``Sheet!A1``; failed tables grouped by their reason."""
    labels = _anchor_labels(book)

    def label(sheet: str, address: str) -> str:
        return labels.get((sheet, address), f"{sheet}!{address}")

    lines = []
    if failed:
        by_reason: dict[str, list[str]] = {}
        for sheet, address, message in failed:
            by_reason.setdefault(without_code(message), []).append(label(sheet, address))
        groups = "; ".join(f"{', '.join(names)} ({why})" for why, names in by_reason.items())
        lines.append(f"tables failed: {groups}")
    if partial:
        lines.append("errors in tables: " + ", ".join(label(s, a) for s, a, _ in partial))
    return lines


def _anchor_labels(book: BookLike) -> dict[tuple[str, str], str]:
    """``(sheet, address) -> "Portfolio"`` for the ``Out_Portfolio`` style names."""
    labels = {}
    for name in defined_names(book):
        short = name.name.rsplit("!", 1)[-1]
        if not short.startswith(OUTPUT_PREFIX):
            continue
        try:
            rng = name.refers_to_range
            key = (rng.sheet.name, str(rng.address).replace("$", "").split(":")[0])
        except Exception:  # noqa: BLE001, S112 - an anchor that cannot be read keeps its address
            continue
        labels[key] = short.removeprefix(OUTPUT_PREFIX)
    return labels


# -- text -------------------------------------------------------------------------------------
def failure_message(step: str, err: BaseException) -> str:
    """One readable line for the status cell, e.g. ``Refresh failed while loading data: ...``."""
    text = f"Refresh failed while {step}: {error_words(err)}" if step else \
        f"Refresh failed: {error_words(err)}"
    return text[:MAX_MESSAGE]


def _failed_line(name: str, err: BaseException) -> str:
    return f"{name} not estimated ({error_words(err)})"


def _success_line(res: FactorResults, not_computed: Iterable[str]) -> str:
    """``OK: 3 tickers, FF3, daily, ...`` when everything was computed, else
    ``INCOMPLETE: 3 of 4 tickers, ... Not computed: ...`` (what failed comes first, as the
    cell shows only its start)."""
    from xlfactor.domain.frequency import FREQUENCY_WORDS

    info = res.info
    period = f"{info.start:%Y-%m-%d} to {info.end:%Y-%m-%d}" if info.start is not None else ""
    n = len(res.assets)
    asked = n + len(res.failed)
    extra = "; ".join(not_computed)
    head = "INCOMPLETE" if extra else "OK"
    count = f"{n} of {asked}" if asked != n else f"{n}"
    region = "" if info.region == "US" else f" ({info.region})"
    text = (f"{head}: {count} ticker{'s' if asked != 1 else ''}, {info.model}{region}, "
            f"{FREQUENCY_WORDS.get(info.frequency, info.frequency)}, {period}")
    return (text + (f". Not computed: {extra}" if extra else ""))[:MAX_MESSAGE]


def _release_text(info: EstimationInfo) -> str:
    text = info.release or "not stated by the source"
    return text + ("  (STALE: download failed, cached copy used)" if info.stale else "")


def _sources_text(info: EstimationInfo) -> str:
    return f"prices: {info.price_source}; factors: {info.factor_source}"


def _read_status_bar(app: AppLike) -> str | bool:
    try:
        return app.status_bar
    except Exception:  # noqa: BLE001 - unknown previous text: give the bar back to Excel
        return False


def _restore_status_bar(app: AppLike, previous: str | bool) -> None:
    try:
        # False hands the status bar back to Excel (xlwings reads it as False then too).
        app.status_bar = previous if isinstance(previous, str) and previous else False
    except Exception:  # noqa: BLE001, S110 - Excel resets the bar itself when it can
        pass


class _Progress:
    """Step counter shown in the status bar; remembers the step for failure messages."""

    def __init__(self, app: AppLike, total: int) -> None:
        self.app = app
        self.total = total
        self.index = 0
        self.label = ""

    def start(self, index: int, label: str) -> None:
        self.index = index
        self.label = label
        self._show(label)

    def detail(self, text: str) -> None:
        self._show(f"{self.label}: {text}")

    def _show(self, text: str) -> None:
        try:
            self.app.status_bar = f"xlfactor refresh {self.index}/{self.total}: {text}..."
        except Exception:  # noqa: BLE001, S110 - the status bar is a courtesy only
            pass

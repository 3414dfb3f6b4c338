"""One download for a cold workbook: every ticker its ``FACTOR_*`` formulas name.

Excel computes worksheet functions one at a time. Fifty cells that each name one ticker
would cost fifty sequential Yahoo round trips when nothing is cached. Instead, the first
cell of a workbook to run reads every ``FACTOR_*`` formula of every sheet (through
:class:`~xlfactor.excel.books.LiveBook`), evaluates their ticker and date arguments, and
fetches all those tickers over the union of their periods in **one** batched download,
together with the factor files they need. Every later cell finds its data in the cache.

A prefetch is an optimisation only: anything it cannot read is skipped, and any failure
leaves the cells to fetch for themselves (an unreachable source is remembered, so they
fail fast; see :mod:`xlfactor.data.reachability`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any

from xlfactor.excel import registry
from xlfactor.excel.books import (
    FORMULA_SHEET,
    BookView,
    LiveBook,
    calls_worksheet_function,
)

#: A workbook is scanned again after this many seconds, or at once when a cell names a
#: ticker the last scan did not see.
RESCAN_SECONDS = 600.0


@dataclass(frozen=True)
class Plan:
    """What a workbook's formulas need.

    Attributes
    ----------
    tickers : tuple of str
        Every valid ticker named, in order of first appearance.
    start, end : pandas.Timestamp or None
        The union of the formulas' periods (inclusive), as the cells will resolve them.
    factor_requests : tuple of (model, freq, region)
        The factor data the formulas ask for.
    formulas : int
        ``FACTOR_*`` calls read.
    unreadable : tuple of str
        ``Sheet!A1: reason`` for formulas whose arguments could not be evaluated.
    """

    tickers: tuple[str, ...]
    start: Any
    end: Any
    factor_requests: tuple[tuple[Any, Any, Any], ...] = ()
    formulas: int = 0
    unreadable: tuple[str, ...] = field(default_factory=tuple)


def plan(book: BookView, cells: Any = None) -> Plan:
    """Read every ``FACTOR_*`` formula of ``book`` (or of ``cells``, formula cells of it)
    and collect what it will fetch.

    Only the arguments that decide the data are evaluated (tickers, dates, model,
    frequency, region), each on its own and read by the same helpers as the cells, so an
    argument the evaluator cannot read costs only itself.
    """
    from xlfactor.excel.formula import calls, parse
    from xlfactor.excel.calls import evaluator_of

    evaluator = evaluator_of(book)
    tickers: dict[str, None] = {}
    requests: dict[tuple[Any, Any, Any], None] = {}
    starts, ends, unreadable, count = [], [], [], 0
    for cell in book.formula_cells("FACTOR_") if cells is None else cells:
        if not calls_worksheet_function(cell.formula):
            continue
        try:
            found = calls(parse(cell.formula))
        except ValueError as err:
            unreadable.append(f"{cell.sheet}!{cell.address}: {err}")
            continue
        for call in found:
            spec = registry.spec(call.name)
            if spec is None or spec.ticker_param is None:
                continue
            count += 1
            read = _Reader(evaluator, call, spec, cell.sheet)
            tickers.update(dict.fromkeys(read.tickers()))
            period = read.period()
            if read.problems:
                unreadable.append(f"{cell.sheet}!{cell.address}: {read.problems[0]}")
            if period is not None:
                starts.append(period[0])
                ends.append(period[1])
            requests[(read.text("model"), read.text("freq"), read.text("region"))] = None
    return Plan(tuple(tickers), min(starts, default=None), max(ends, default=None),
                tuple(requests), count, tuple(unreadable))


class _Reader:
    """One FACTOR_* call's data-deciding arguments, each evaluated on its own and read
    as the cell function reads it."""

    def __init__(self, evaluator: Any, call: Any, spec: registry.FunctionSpec,
                 sheet: str) -> None:
        self.evaluator, self.sheet = evaluator, sheet
        self.spec, self.call = spec, call
        self.problems: list[str] = []

    def _value(self, name: str) -> Any:
        i = self.spec.position(name)
        if i is None or i >= len(self.call.args):
            return None
        try:
            value = self.evaluator.evaluate(self.call.args[i], self.sheet)
            padded = [None] * i + [value]  # shaped by position, as the declaration reads it
            return self.spec.cell_arguments(padded)[i]
        except Exception as err:  # noqa: BLE001 - the cell itself will say what is wrong
            self.problems.append(f"{name}: {err}")
            return None

    def tickers(self) -> list[str]:
        from xlfactor.domain.errors import XlFactorError
        from xlfactor.excel.cells import split_ticker_argument

        name = self.spec.ticker_param.name
        try:
            return split_ticker_argument(self._value(name))[0]
        except XlFactorError as err:
            self.problems.append(f"{name}: {err}")
            return []

    def period(self) -> tuple[Any, Any] | None:
        from xlfactor.domain.dates import resolve_period
        from xlfactor.domain.errors import XlFactorError
        from xlfactor.excel import sheet

        try:
            return resolve_period(sheet.date_arg(self._value("start_date"), "start"),
                                  sheet.date_arg(self._value("end_date"), "end"))
        except XlFactorError as err:
            self.problems.append(str(err))
            return None

    def text(self, name: str) -> str | None:
        from xlfactor.domain.errors import XlFactorError
        from xlfactor.excel import sheet

        try:
            return sheet.text_arg(self._value(name), name)
        except XlFactorError:
            return None


def fetch(plan_: Plan) -> None:
    """Download what ``plan_`` lists: all tickers in one call, then each factor dataset."""
    from xlfactor import api
    from xlfactor.domain.errors import XlFactorError
    from xlfactor.domain.models import resolve_model
    from xlfactor.domain.request import Request
    from xlfactor.pipeline import get_sources, load_prices

    if not plan_.tickers:
        return
    for model, freq, region in plan_.factor_requests:  # as the cells load them: first
        try:
            api.load_factors(model or "FF3", freq or "D", region=region)
        except XlFactorError:
            pass  # the cells that need it will say why
    # The plan's tickers are already normalised, its period resolved: the request is built
    # without validating them again.
    request = Request(tuple(plan_.tickers), resolve_model("CAPM"), plan_.start, plan_.end)
    load_prices(request, get_sources().prices)


def prefetch_for(book: BookView, cells: Iterable[Any], report: Any) -> None:
    """One download for everything ``cells`` (formula cells of ``book``) name; a failure
    is a warning in ``report`` (a values :class:`~xlfactor.excel.values.Report`), no more."""
    try:
        fetch(plan(book, cells))
    except Exception as err:  # noqa: BLE001 - an optimisation: each formula fetches itself
        report.warnings.append(f"prefetch failed ({err}); each formula fetched on its own")


# -- once per workbook, from inside a worksheet function ------------------------------------
_lock = threading.Lock()
_scanned: dict[str, tuple[float, frozenset[str]]] = {}


def prefetch_workbook(caller: Any, tickers_arg: Any = None) -> bool:
    """Prefetch for the workbook of ``caller`` (the calling cell, an ``xlwings.Range``)
    unless it was scanned recently and saw the tickers of ``tickers_arg``. Never raises.

    Returns
    -------
    bool
        Whether a scan was made.
    """
    try:
        from xlfactor.excel.cells import split_ticker_argument

        book = LiveBook(caller.sheet.book, skip_sheets=frozenset({FORMULA_SHEET}))
        key = book.key
        wanted = frozenset(split_ticker_argument(tickers_arg)[0])
    except Exception:  # noqa: BLE001 - not a cell of a workbook, or no valid ticker
        return False
    with _lock:
        seen = _scanned.get(key)
        if seen is not None and time.monotonic() - seen[0] < RESCAN_SECONDS \
                and wanted <= seen[1]:
            return False
        # Recorded before the scan and the download: a workbook whose scan or download
        # fails is not scanned again by every other cell (Refresh calls forget()).
        _scanned[key] = (time.monotonic(), (seen[1] if seen else frozenset()) | wanted)
    try:
        found = plan(book)
        with _lock:
            _scanned[key] = (_scanned[key][0], _scanned[key][1] | frozenset(found.tickers))
        fetch(found)
    except Exception:  # noqa: BLE001, S110 - an optimisation: the cell fetches what it needs
        pass
    return True


def forget() -> None:
    """Scan every workbook again on its next cold call (after a Refresh, in tests)."""
    with _lock:
        _scanned.clear()

"""One download for a cold workbook: every ticker its ``FACTOR_*`` formulas name.

Excel computes worksheet functions one at a time. Fifty cells that each name one ticker
would cost fifty sequential Yahoo round trips when nothing is cached. Instead, the first
cell of a workbook to run reads every ``FACTOR_*`` formula of every sheet (through
:class:`~xlfactor.excel.books.LiveBook`), evaluates their ticker and date arguments, and
fetches all those tickers over the union of their periods in **one** batched download,
together with the factor files they need. Every later cell finds its data in the cache.

A prefetch is an optimisation only: anything it cannot read is skipped, and any failure
leaves the cells to fetch for themselves (an unreachable source is remembered, so they
fail fast; see :mod:`xlfactor.sources.reachability`).
"""

from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .books import BookView, LiveBook

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


def parameters(function_name: str) -> list[str]:
    """Argument names of a worksheet function, as declared in :mod:`xlfactor.udfs`."""
    from .. import udfs

    func = getattr(udfs, function_name, None)
    if func is None or not function_name.startswith("FACTOR_"):
        return []
    return [p for p in inspect.signature(func).parameters if p != "caller"]


def plan(book: BookView) -> Plan:
    """Read every ``FACTOR_*`` formula of ``book`` and collect what it will fetch."""
    from ..api import resolve_period
    from .evaluate import Evaluator
    from .formula import calls, parse

    evaluator = Evaluator(book)
    if hasattr(book, "attach"):
        book.attach(evaluator)
    tickers: dict[str, None] = {}
    requests: dict[tuple[Any, Any, Any], None] = {}
    starts, ends, unreadable, count = [], [], [], 0
    for cell in book.formula_cells():
        if "FACTOR_" not in cell.formula.upper():
            continue
        try:
            found = calls(parse(cell.formula))
        except ValueError as err:
            unreadable.append(f"{cell.sheet}!{cell.address}: {err}")
            continue
        for call in found:
            names = parameters(call.name)
            if not names or names[0] not in ("tickers", "ticker"):
                continue
            count += 1
            try:
                args = {n: evaluator.evaluate(node, cell.sheet)
                        for n, node in zip(names, call.args)}
                tickers.update(dict.fromkeys(_tickers(args.get(names[0]))))
                start, end = resolve_period(_plain(args.get("start_date")),
                                            _plain(args.get("end_date")))
            except Exception as err:  # noqa: BLE001 - a cell with bad arguments says so itself
                unreadable.append(f"{cell.sheet}!{cell.address}: {err}")
                continue
            starts.append(start)
            ends.append(end)
            requests[(_plain(args.get("model")), _plain(args.get("freq")),
                      _plain(args.get("region")))] = None
    return Plan(tuple(tickers), min(starts, default=None), max(ends, default=None),
                tuple(requests), count, tuple(unreadable))


def _plain(value: Any) -> Any:
    """A scalar argument as a cell function would read it; errors and blanks give None."""
    from .evaluate import ExcelError

    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (list, ExcelError)) or value == "":
        return None
    return value


def _tickers(value: Any) -> list[str]:
    """Valid tickers in an argument (a name, a list, a range); invalid pieces are skipped."""
    from ..errors import InvalidInputError
    from ..tickers import normalize_ticker, split_tickers
    from .evaluate import ExcelError

    cells = value if isinstance(value, list) else [[value]]
    good = []
    for row in cells:
        for item in row if isinstance(row, list) else [row]:
            if item is None or isinstance(item, ExcelError):
                continue
            for piece in split_tickers(item):
                try:
                    good.append(normalize_ticker(piece))
                except InvalidInputError:
                    continue
    return good


def fetch(plan_: Plan) -> None:
    """Download what ``plan_`` lists: all tickers in one call, then each factor dataset."""
    from .. import api
    from ..errors import XlFactorError

    if not plan_.tickers:
        return
    api.load_prices(list(plan_.tickers), plan_.start, plan_.end,
                    prices=api.get_sources().prices)
    for model, freq, region in plan_.factor_requests:
        try:
            api.load_factors(model or "FF3", freq or "D", region=region)
        except XlFactorError:
            pass  # the cells that need it will say why


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
        book = LiveBook(caller.sheet.book)
        key = book.key
        wanted = frozenset(_tickers(tickers_arg))
        with _lock:
            seen = _scanned.get(key)
            if seen is not None and time.monotonic() - seen[0] < RESCAN_SECONDS \
                    and wanted <= seen[1]:
                return False
            found = plan(book)
            _scanned[key] = (time.monotonic(), frozenset(found.tickers))
        fetch(found)
        return True
    except Exception:  # noqa: BLE001 - an optimisation: the cell fetches what it needs itself
        return False


def forget() -> None:
    """Scan every workbook again on its next cold call (after a Refresh, in tests)."""
    with _lock:
        _scanned.clear()

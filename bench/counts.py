"""What one cell and one template refresh cost in work, not time: formula parses,
requests built, tickers normalised, evaluators made, and the hops from the entry point to
the computation (modules on the call stack, consecutive frames of one module counted once).

    python bench/counts.py

Runs offline on the recorded files of ``tests/data`` (prices saved by yfinance, the
French library's zips) with a fresh cache in a temporary folder. The figures are counted
by a profiler hook on the functions' code objects, so they hold for any version of the
package that has these functions.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PRICES = DATA / "yahoo_csv" / "yfinance_autoadjust_CarlosGBerreteaga_2025-10-08"
FACTORS = DATA / "kenneth_french" / "vintage_202510" / "zip"
TEMPLATE = ROOT / "workbook" / "xlfactor_template.xlsm"
sys.path.insert(0, str(ROOT))


def _targets() -> dict[object, str]:
    """Code object -> label, for the functions whose calls are counted."""
    from xlfactor.domain import request, tickers
    from xlfactor.excel import evaluate, formula

    found = {
        formula.parse.__code__: "parse() calls",
        formula._Parser.__init__.__code__: "formula texts parsed",
        request.Request.build.__func__.__code__: "Request.build",
        tickers.normalize_ticker.__code__: "normalize_ticker",
        evaluate.Evaluator.__init__.__code__: "Evaluators made",
    }
    return found


class Trace:
    """Counts calls of the target functions and records the module stack at the first
    call of ``until`` (a function's qualified name in a module)."""

    def __init__(self, until: tuple[str, str]) -> None:
        self.targets = _targets()
        self.counts: Counter[str] = Counter()
        self.until = until
        self.stack: list[str] | None = None

    def __call__(self, frame, event, _arg):  # noqa: ANN001 - sys.setprofile's signature
        if event != "call":
            return
        label = self.targets.get(frame.f_code)
        if label is not None:
            self.counts[label] += 1
        if self.stack is None and frame.f_code.co_name == self.until[1] \
                and frame.f_globals.get("__name__") == self.until[0]:
            self.stack = _module_stack(frame)

    def run(self, func):  # noqa: ANN001, ANN201
        sys.setprofile(self)
        try:
            return func()
        finally:
            sys.setprofile(None)


def _module_stack(frame) -> list[str]:  # noqa: ANN001
    """Our modules on the stack, outermost first, consecutive repeats merged."""
    names = []
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("xlfactor") and (not names or names[-1] != name):
            names.append(name)
        frame = frame.f_back
    return names[::-1]


def hops(stack: list[str] | None) -> str:
    if not stack:
        return "not reached"
    return f"{len(stack) - 1} hops: " + " -> ".join(s.removeprefix("xlfactor.") for s in stack)


def one_cell() -> Trace:
    """FACTOR_BETAS of one ticker, cold (first call: the data are read and cached)."""
    import xlfactor.udfs as udfs

    trace = Trace(("xlfactor.engine.ols", "ols"))
    table = trace.run(lambda: udfs.FACTOR_BETAS("AAPL", "FF3", "2021-01-01", "2023-12-31"))
    assert table[1][0] == "AAPL", table
    return trace


def one_refresh(folder: Path) -> Trace:
    """``xlfactor refresh`` of the template (a copy), as the command runs it."""
    from xlfactor.excel.file_refresh import refresh_file

    book = folder / "book.xlsm"
    shutil.copy(TEMPLATE, book)
    trace = Trace(("xlfactor.excel.cells", "betas"))
    trace.run(lambda: refresh_file(book))
    return trace


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="xlfactor-counts-") as tmp:
        os.environ.update(XLFACTOR_CACHE_DIR=str(Path(tmp) / "cache"),
                          XLFACTOR_PRICE_DIR=str(PRICES), XLFACTOR_FRENCH_DIR=str(FACTORS))
        os.environ.pop("XLFACTOR_SOURCE", None)
        cell = one_cell()
        print("one FACTOR_BETAS cell (cold), to the OLS fit:")
        print(f"  {hops(cell.stack)}")
        print(f"  Request.build {cell.counts['Request.build']}, "
              f"normalize_ticker {cell.counts['normalize_ticker']}")
        refresh = one_refresh(Path(tmp))
        print("one template refresh (xlfactor refresh), to the first FACTOR_BETAS table:")
        print(f"  {hops(refresh.stack)}")
        for label in ("parse() calls", "formula texts parsed", "Request.build",
                      "normalize_ticker", "Evaluators made"):
            print(f"  {label:22} {refresh.counts[label]:6d}")


if __name__ == "__main__":
    main()

"""Regenerate the template workbook: ``python workbook/generate.py [--out PATH]``.

Writes ``workbook/xlfactor_template.xlsm`` with XlsxWriter, reproducibly (the same bytes on
every run with the same xlwings version). The work is done by the package
``template_builder`` next to this file, one concern per module: formats and styles, cell
helpers, the formulas, the xlwings VBA and settings sheet, one builder per sheet, and
:func:`template_builder.book.build`, which puts them together. The number formats and
block sizes of the result tables come from :mod:`xlfactor.excel.tables`, the specs the
worksheet functions lay their rows out with.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, this folder is on sys.path already; loaded from its path (as the tests
# do) it is not, and template_builder lives here.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from template_builder.book import SHEETS, TEMPLATE, build

__all__ = ["SHEETS", "TEMPLATE", "build", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the template (to ``--out``, default ``workbook/xlfactor_template.xlsm``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(description="Regenerate the xlfactor template workbook.")
    parser.add_argument("--out", type=Path, default=TEMPLATE, help="output .xlsm file")
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

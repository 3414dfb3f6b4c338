"""The module that xlfactor_template.xlsm's Refresh buttons import.

The buttons run the macro ``SampleCall`` that xlwings' quickstart VBA provides. It calls
``RunPython "import <name>; <name>.main()"`` where ``<name>`` is the workbook's file name
without its extension, and xlwings puts the workbook's folder on ``sys.path``. So this
file must sit next to the workbook and carry the same name; after renaming the workbook
to ``my_betas.xlsm``, copy this file to ``my_betas.py``.

All the work happens in :mod:`xlfactor.excel.refresh`; keeping this file a one-line shim means
copies of it never go stale when xlfactor is upgraded.
"""

from __future__ import annotations


def main() -> None:
    """Refresh the calling workbook (data, recalculation, charts, status cells)."""
    from xlfactor.excel.refresh import main as refresh_main

    refresh_main()

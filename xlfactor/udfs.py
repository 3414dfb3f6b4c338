"""The worksheet functions, at the module path Excel's ``UDF Modules`` setting names.

Workbooks say ``UDF Modules = xlfactor.udfs`` in their ``xlwings.conf`` sheet, and the VBA
that *Import Functions* writes calls ``xlfactor.udfs`` by name, so this path stays fixed.
The declarations themselves live in :mod:`xlfactor.excel.udfs`, with the rest of the Excel
shell; xlwings finds them here through ``dir()`` like any attribute of this module.
"""

from xlfactor.excel.udfs import *
from xlfactor.excel.udfs import __all__  # noqa: F401

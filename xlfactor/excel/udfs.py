"""Excel worksheet functions (xlwings classic UDFs).

Point the ``UDF Modules`` setting of the workbook's ``xlwings.conf`` sheet (or the
xlwings add-in) at ``xlfactor.udfs`` and click *Import Functions*. Every function returns
a 2-D array that Excel 365 spills into the cells below and to the right; errors come back
as one short text cell such as ``#N/A unknown ticker 'ZZZZ'``.

This module is what Excel imports: it holds only the declarations, generated from the
specs of :mod:`xlfactor.excel.registry`. The work is done in :mod:`xlfactor.excel.cells`,
imported on the first call, so Excel starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import xlwings as xw

from xlfactor.excel.registry import (  # noqa: F401 - the docs and ranges, as before
    ARGUMENT_DOCS,
    FUNCTIONS,
    RANGE_ARGUMENTS,
    FunctionSpec,
)

CATEGORY = "xlfactor"


def _run(name: str, caller: Any, args: tuple[Any, ...]) -> Any:
    """Compute worksheet function ``name`` from its arguments in formula order. Called
    from a cell (``caller``), the workbook's first cold call first fetches every ticker
    its formulas name in one download (:mod:`xlfactor.excel.prefetch`)."""
    if caller is not None:
        from xlfactor.excel.prefetch import prefetch_workbook

        prefetch_workbook(caller, args[0])
    return FUNCTIONS[name].compute(args)


def _declare(spec: FunctionSpec) -> Callable[..., Any]:
    """The xlwings declaration of ``spec``: a plain function with the spec's parameters
    (so xlwings' registration, Excel's dialog and the VBA wrapper see real names and
    defaults), every argument documented, Excel errors passed in as text (``err_to_str``,
    so ``#N/A`` in an input is named instead of read as blank), ranges as 2-D lists.

    A ``caller`` parameter is xlwings' reserved name for the calling cell: it is not a VBA
    parameter and the dialog does not show it.
    """
    params = [p.name if p.required else f"{p.name}={p.default!r}" for p in spec.params]
    caller = "caller" if spec.takes_caller else "None"
    if spec.takes_caller:
        params.append("caller=None")
    source = (f"def {spec.name}({', '.join(params)}):\n"
              f"    return _run({spec.name!r}, {caller}, ({''.join(n + ', ' for n in spec.names)}))\n")
    namespace: dict[str, Any] = {"_run": _run}
    exec(compile(source, f"<xlfactor.excel.udfs.{spec.name}>", "exec"), namespace)  # noqa: S102
    func = namespace[spec.name]
    func.__doc__, func.__module__, func.__qualname__ = spec.doc, __name__, spec.name
    for param in reversed(spec.params):
        options = {"ndim": 2} if param.is_range else {}
        func = xw.arg(param.name, err_to_str=True, doc=param.doc, **options)(func)
    return xw.func(category=CATEGORY, call_in_wizard=not spec.fetches)(func)


globals().update({name: _declare(spec) for name, spec in FUNCTIONS.items()})

#: The worksheet functions, re-exported by :mod:`xlfactor.udfs` (the module Excel names).
__all__ = list(FUNCTIONS)

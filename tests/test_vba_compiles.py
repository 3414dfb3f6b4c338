"""The VBA that xlwings' *Import Functions* writes for ``xlfactor.udfs`` compiles.

The module is produced by xlwings' own ``import_udfs`` (through
:mod:`tools.registration`), reduced to Excel's branch of its conditional compilation,
checked name by name against VBA's reserved identifiers and Excel's reference syntax, and
compiled by a real Basic compiler: LibreOffice Basic in VBA-support mode. Each wrapper is
compiled as a module of its own (so a failure names the function) and the whole module
as Excel imports it.
"""

from __future__ import annotations

import pytest
from tools import basic_compile, registration
from vba_names import (
    body_without_attributes,
    name_problems,
    procedures,
    resolve_excel_branch,
)


@pytest.fixture(scope="module")
def module_text() -> str:
    vba, _ = registration.import_functions("xlfactor.udfs", "Book1.xlsm")
    return resolve_excel_branch(body_without_attributes(vba))


@pytest.fixture(scope="module")
def wrappers(module_text) -> dict[str, tuple[list[str], str]]:
    return procedures(module_text)


def test_every_udf_has_a_wrapper(wrappers):
    assert set(wrappers) == set(registration.udf_metadata())


@pytest.mark.parametrize("name", ["end", "End", "output", "currency", "string", "AB12",
                                  "R1C1", "r", "C", "1x", "date", "input", "random"])
def test_name_check_rejects(name):
    assert name_problems(name)


@pytest.mark.parametrize("name", ["start_date", "end_date", "layout", "tickers", "se_type",
                                  "FACTOR_BETAS", "freq", "x_range"])
def test_name_check_accepts(name):
    assert name_problems(name) == []


def test_no_reserved_or_reference_like_names(wrappers):
    problems = {
        f"{func}({param})" if param else func: found
        for func, (params, _) in wrappers.items()
        for param in [None, *params]
        if (found := name_problems(param or func))
    }
    assert problems == {}


def test_parameters_are_readable_in_the_dialog(wrappers):
    """The Insert Function dialog shows these names: dates say which end they are."""
    for func, (params, _) in wrappers.items():
        assert "start" not in params and "end" not in params, func
        if "end_date" in params:
            assert params.index("start_date") == params.index("end_date") - 1


def test_excel_branch_is_resolved(module_text):
    assert "#" not in "".join(line.split('"')[0] for line in module_text.splitlines())
    assert "ThisWorkbook, Application.Caller)" in module_text


def test_an_unknown_directive_is_refused():
    with pytest.raises(ValueError, match="unexpected directive"):
        resolve_excel_branch('#If Win64 Then\nx\n#End If\n')


@pytest.fixture(scope="module")
def compiled(wrappers, module_text) -> dict[str, basic_compile.CompileResult]:
    ok, why = basic_compile.available()
    if not ok:
        basic_compile.skip_or_fail(why)
    sources = {name: text for name, (_, text) in wrappers.items()}
    sources["xlwings_udfs"] = module_text
    return basic_compile.compile_modules(sources)


def test_each_wrapper_compiles(compiled, wrappers):
    failed = {name: compiled[name].message for name in wrappers if not compiled[name].compiled}
    assert failed == {}


def test_the_whole_module_compiles(compiled):
    assert compiled["xlwings_udfs"].compiled, compiled["xlwings_udfs"].message


# -- the Insert Function dialog -------------------------------------------------------------
#: Functions that compute only from their arguments: the dialog may preview them.
NO_DATA = {"FACTOR_REGRESS", "FACTOR_MODELS"}


def test_the_dialog_never_fetches():
    """xlwings writes ``call_in_wizard=False`` as a guard that returns before Python is
    called while the Insert Function dialog is open."""
    meta = registration.udf_metadata()
    assert {name for name, info in meta.items() if info["call_in_wizard"]} == NO_DATA


def test_the_wizard_guard_is_in_the_vba(wrappers):
    guard = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function'
    for name, (_, text) in wrappers.items():
        assert (guard in text) == (name not in NO_DATA), name


def test_caller_is_not_a_dialog_argument():
    _, options = registration.import_functions("xlfactor.udfs", "Book1.xlsm")
    meta = registration.udf_metadata()
    for entry in options:
        name = entry["Macro"].rsplit("!", 1)[-1]
        shown = [a["name"] for a in meta[name]["args"] if a["name"] != "caller"]
        assert len(entry["ArgumentDescriptions"] or []) == len(shown), name

"""The LibreOffice Basic compile harness can both pass and fail VBA code.

A compile check that never fails proves nothing, so each kind of verdict is shown here on
code whose fate is known: valid VBA passes, including the exact shape of the wrappers
xlwings writes (``Application.Caller``, ``TypeOf ... Is Range``, ``On Error GoTo``), while
a reserved word as a parameter name and a plain syntax error fail the whole module.
All cases share one LibreOffice start (a module-scoped fixture).
"""

from __future__ import annotations

import pytest
from tools import basic_compile
from tools.basic_compile import CompileReport, CompileResult

ADD_ONE = "Function ADD_ONE(x, Optional y)\n ADD_ONE = x + 1\nEnd Function"
END_PARAM = "Function F(x, Optional end)\n F = x\nEnd Function"
SYNTAX_ERROR = "Function G(x\nEnd Function"
#: What xlwings' "Import Functions" writes for one UDF, Excel's branch of ``#If``.
FACTOR_BETAS = """\
Function FACTOR_BETAS(tickers, Optional model, Optional start_date)
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        FACTOR_BETAS = XLPy.CallUDF("xlfactor.udfs", "FACTOR_BETAS", \
Array(tickers, model, start_date), ThisWorkbook, Application.Caller)
        Exit Function
failed:
    FACTOR_BETAS = Err.Description
End Function"""
VBA_FEATURES = """\
Function VBA_ONLY(x, Optional y)
    On Error GoTo failed
    If TypeOf x Is Range Then
        VBA_ONLY = Array(x.Address, Application.Caller.Address)
        Exit Function
    End If
    VBA_ONLY = Array(x, y)
    Exit Function
failed:
    VBA_ONLY = Err.Description
End Function"""


def _param(name: str) -> str:
    return f"Function P(x, Optional {name})\n P = Array(x, {name})\nEnd Function"


CASES = {
    # Failing cases first: a failure must not spoil the modules compiled after it.
    "end parameter beside a good function": END_PARAM + "\n" + ADD_ONE,
    "syntax error": SYNTAX_ERROR,
    "good": ADD_ONE,
    "factor_betas": FACTOR_BETAS,
    "factor_betas crlf": FACTOR_BETAS.replace("\n", "\r\n"),
    "vba features": VBA_FEATURES,
    # The same procedure names in two entries: each entry has a namespace of its own.
    "factor_betas again": FACTOR_BETAS,
    "duplicate in one module": FACTOR_BETAS + "\n" + FACTOR_BETAS,
    "param end": _param("end"),
    "param start_date": _param("start_date"),
    "param end_date": _param("end_date"),
}


@pytest.fixture(scope="module")
def results() -> CompileReport:
    ok, why = basic_compile.available()
    if not ok:
        basic_compile.skip_or_fail(why)
    return basic_compile.compile_modules(CASES)


def test_every_module_gets_a_verdict(results):
    assert set(results) == set(CASES)
    assert all(isinstance(r, CompileResult) for r in results.values())
    assert results.timing["total_s"] > 0


def test_good_module_compiles(results):
    assert results["good"] == CompileResult(True, "")


def test_parameter_named_end_fails_the_whole_module(results):
    result = results["end parameter beside a good function"]
    # The sentinel is valid code in the same module: it not running shows that nothing
    # of the module compiled, ADD_ONE included (which compiles alone, see "good").
    assert not result.compiled
    assert "sentinel returned None" in result.message
    assert "- F (lines 1-3)" in result.message
    assert "declaration alone fails, line 1: Function F(x, Optional end)" in result.message
    assert "ADD_ONE" not in result.message


def test_syntax_error_fails(results):
    result = results["syntax error"]
    assert not result.compiled
    assert "- G (lines 1-2)" in result.message


@pytest.mark.parametrize("name", ["factor_betas", "factor_betas crlf", "vba features"])
def test_vba_only_constructs_compile(results, name):
    # XLPy, ThisWorkbook and Range are unknown to LibreOffice: names resolve at run time.
    assert results[name] == CompileResult(True, "")


def test_entries_are_compiled_independently(results):
    assert results["factor_betas again"].compiled
    duplicate = results["duplicate in one module"]
    assert not duplicate.compiled
    assert "Every procedure compiles on its own" in duplicate.message


@pytest.mark.parametrize(("name", "accepted"), [
    ("end", False),
    ("start_date", True),
    ("end_date", True),
])
def test_parameter_names(results, name, accepted):
    assert results[f"param {name}"].compiled is accepted


@pytest.mark.parametrize("code", [
    '#If App = "Microsoft Excel" Then\n' + ADD_ONE + "\n#End If",
    "  #Const X = 1\n" + ADD_ONE,
    "Function XLF_SENTINEL()\nEnd Function",
])
def test_code_the_harness_would_misjudge_is_refused(code):
    with pytest.raises(ValueError):
        basic_compile.compile_modules({"m": code})


def test_procedures_are_isolated_with_the_declarations_section():
    code = "Option Explicit\nDim k\n" + END_PARAM + "\n\nPrivate Sub S(a, _\n  b)\nEnd Sub"
    isolated = basic_compile._isolate_procedures(code)
    assert [i.label for i in isolated] == ["F (lines 3-5)", "S (lines 7-9)"]
    assert isolated[0].source == "Option Explicit\nDim k\n" + END_PARAM
    assert isolated[1].declaration_source == (
        "Option Explicit\nDim k\nPrivate Sub S(a, _\n  b)\nEnd Sub"
    )

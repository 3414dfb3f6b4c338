"""The Excel registration of xlfactor.udfs, as the real xlwings classic machinery sees it.

Off Windows ``@xw.func`` is a no-op, so these tests go through
:mod:`tools.registration`, which runs the real ``xlwings.udfs`` decorators and VBA
generator. Expectations come from the Python signatures of the UDFs and from Excel's
rules, never from the registration code itself.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import re
import sys
from pathlib import Path

import pytest
import xlwings
from tools import registration

import xlfactor.excel.udfs
import xlfactor.udfs
from xlfactor.data.memo import forget_all

ROOT = Path(__file__).resolve().parents[1]
RANGE_ARGS = {"tickers", "y_range", "x_range", "labels"}
#: Excel's limit for a MacroOptions text; xlwings silently cuts longer ones.
EXCEL_TEXT_LIMIT = 255


def _discovered_udfs() -> list[str]:
    """Every public function declared in xlfactor.excel.udfs (independent of registration)."""
    return sorted(
        name for name, obj in vars(xlfactor.excel.udfs).items()
        if inspect.isfunction(obj) and obj.__module__ == "xlfactor.excel.udfs"
        and not name.startswith("_")
    )


UDF_NAMES = _discovered_udfs()


def test_the_excel_module_path_offers_every_declared_function():
    """Workbooks name ``xlfactor.udfs``; every declaration must be reachable there, as the
    very same function, and nothing else that looks like a worksheet function."""
    offered = sorted(n for n in dir(xlfactor.udfs) if n.isupper() and not n.startswith("_"))
    assert offered == UDF_NAMES
    for name in UDF_NAMES:
        assert getattr(xlfactor.udfs, name) is getattr(xlfactor.excel.udfs, name)


@pytest.fixture(scope="module")
def metadata() -> dict[str, dict]:
    return registration.udf_metadata()


def test_discovery_finds_the_documented_functions():
    # The README and the workbook promise at least these; the list above is discovered.
    assert {"FACTOR_BETAS", "FACTOR_STATS", "FACTOR_REGRESS", "FACTOR_DATA"} <= set(UDF_NAMES)
    assert all(name.startswith("FACTOR_") for name in UDF_NAMES)


def test_every_public_function_is_registered(metadata):
    assert sorted(metadata) == UDF_NAMES


def test_plain_import_keeps_the_no_op_decorators():
    # What pytest calls directly must stay the plain function (FACTS.md, xlwings on Linux).
    if sys.platform.startswith("win"):
        pytest.skip("on Windows the normal import is decorated")
    for name in UDF_NAMES:
        assert not hasattr(getattr(xlfactor.udfs, name), "__xlfunc__")


@pytest.mark.parametrize("name", UDF_NAMES)
def test_function_metadata(metadata, name):
    meta = metadata[name]
    func = getattr(xlfactor.udfs, name)
    assert meta["name"] == name
    assert meta["category"] == "xlfactor"
    assert meta["sub"] is False
    assert meta["volatile"] is False
    assert meta["async_mode"] is None  # threading mode can hang on "#N/A waiting"
    description = meta["ret"]["doc"]
    assert description.strip() and description == func.__doc__
    assert len(description) <= EXCEL_TEXT_LIMIT
    assert "expand" not in meta["ret"]["options"]  # legacy dynamic arrays: Excel 365 spills


@pytest.mark.parametrize("name", UDF_NAMES)
def test_arguments_match_the_python_signature(metadata, name):
    params = list(inspect.signature(getattr(xlfactor.udfs, name)).parameters.values())
    args = metadata[name]["args"]
    assert [a["name"] for a in args] == [p.name for p in params]
    for arg, param in zip(args, params):
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        if param.default is inspect.Parameter.empty:
            assert "optional" not in arg, arg["name"]
        else:
            assert "optional" in arg, arg["name"]
            assert arg["optional"] == param.default and type(arg["optional"]) is type(param.default)


@pytest.mark.parametrize("name", UDF_NAMES)
def test_every_argument_is_documented_and_converted_safely(metadata, name):
    for arg in metadata[name]["args"]:
        if arg["name"] == "caller":  # xlwings' reserved name: the calling cell, not an input
            assert arg["options"] == {} and arg["optional"] is None
            continue
        doc = arg["doc"]
        assert doc.strip(), arg["name"]
        assert not doc.startswith("Positional argument"), f"{name}.{arg['name']} has no doc"
        assert len(doc) <= EXCEL_TEXT_LIMIT
        options = arg["options"]
        # Error cells arrive as "#N/A" text, not as None that would read as "blank".
        assert options.get("err_to_str") is True, f"{name}.{arg['name']}"
        if arg["name"] in RANGE_ARGS:
            # ndim=2: a one-cell range still arrives as [[v]], a column as rows.
            assert options.get("ndim") == 2, f"{name}.{arg['name']}"
        assert "expand" not in options
        assert arg["vba"] is None and arg["vararg"] is False


def _vba_functions(vba: str) -> dict[str, str]:
    """Function name -> its whole VBA block."""
    blocks = re.findall(r"^(Function (\w+)\(.*?^End Function)$", vba, flags=re.MULTILINE | re.DOTALL)
    return {name: block for block, name in blocks}


def test_vba_module_declares_every_function(metadata):
    vba = registration.vba_module()
    blocks = _vba_functions(vba)
    assert sorted(blocks) == UDF_NAMES
    for name in UDF_NAMES:
        params = inspect.signature(getattr(xlfactor.udfs, name)).parameters.values()
        expected = ", ".join(
            ("Optional " if p.default is not inspect.Parameter.empty else "") + p.name
            for p in params if p.name != "caller"
        )
        block = blocks[name]
        assert block.startswith(f"Function {name}({expected})\n"), block.splitlines()[0]
        # xlwings passes Nothing for "caller" and puts the calling Range there in Python
        names = ", ".join("Nothing" if p.name == "caller" else p.name for p in params)
        call = f'{name} = XLPy.CallUDF("xlfactor.udfs", "{name}", Array({names})'
        assert f"{call}, ThisWorkbook, Application.Caller)" in block
        assert f"{name} = Err.Description" in block  # a VBA error still lands in the cell
        assert "Application.Volatile" not in block
        assert max(len(line) for line in block.splitlines()) <= 1024  # VBA line limit


def test_vba_module_for_an_add_in_uses_the_active_workbook():
    vba = registration.vba_module(workbook_name="xlfactor.xlam")
    assert "ActiveWorkbook, Application.Caller)" in vba
    assert "ThisWorkbook" not in vba


def test_import_functions_writes_the_module_and_the_insert_function_texts(metadata):
    vba, macro_options = registration.import_functions()
    lines = vba.splitlines()
    assert lines[0] == 'Attribute VB_Name = "xlwings_udfs"'
    assert registration.vba_module() in vba
    by_macro = {m["Macro"]: m for m in macro_options}
    assert sorted(by_macro) == [f"'xlfactor_template.xlsm'!{n}" for n in UDF_NAMES]
    for name in UDF_NAMES:
        shown = by_macro[f"'xlfactor_template.xlsm'!{name}"]
        func = getattr(xlfactor.udfs, name)
        params = [p for p in inspect.signature(func).parameters if p != "caller"]
        # What the Insert Function dialog shows equals the declarations, uncut.
        assert shown["Description"] == func.__doc__
        assert shown["Category"] == "xlfactor"
        docs = shown["ArgumentDescriptions"] or []
        assert len(docs) == len(params)
        assert docs == [a["doc"] for a in metadata[name]["args"] if a["name"] != "caller"]


def test_registration_restores_sys_modules_and_xlwings():
    with registration.classic_xlwings():
        pass  # first time: genuine stdlib imports (asyncio...) may happen; they stay
    modules_before = dict(sys.modules)
    xlwings_before = dict(vars(xlwings))
    func_before = xlwings.func
    with registration.classic_xlwings() as reg:
        assert xlwings.func is reg.xlwings_udfs.xlfunc  # the real decorator inside
        assert "pythoncom" in sys.modules or "pywintypes" in sys.modules
        assert hasattr(reg.functions["FACTOR_BETAS"], "__xlfunc__")
    assert xlwings.func is func_before
    assert dict(vars(xlwings)) == xlwings_before
    assert sys.modules.keys() == modules_before.keys()
    assert all(sys.modules[k] is v for k, v in modules_before.items())
    assert sys.modules["xlfactor.udfs"] is xlfactor.udfs
    if not sys.platform.startswith("win"):
        assert importlib.util.find_spec("pythoncom") is None


def test_registration_restores_ctypes():
    import ctypes

    before = {n: getattr(ctypes, n, None) for n in ("windll", "oledll", "PyDLL")}
    with registration.classic_xlwings():
        pass
    assert {n: getattr(ctypes, n, None) for n in before} == before


def test_excel_engine_is_removed_after_a_call():
    names_before = [e.name for e in xlwings.engines]
    registration.excel_call("FACTOR_MODELS")
    assert [e.name for e in xlwings.engines] == names_before


def test_stand_in_engine_agrees_with_the_real_windows_engine():
    import math

    import numpy as np
    import pandas as pd

    reg = registration.load()
    if not reg.engine_is_real:
        pytest.skip(f"real engine unavailable: {reg.engine_note}")
    real, stand_in = reg.engine, registration.StandInExcelEngine()
    read_values = [[None, "", 1.5, "x", True, -2146826246, -2146826281, 7,
                    dt.datetime(2020, 1, 2, 3, 4, 5)]]
    for err_to_str in (True, False):
        args = (read_values, dt.datetime, None, None, err_to_str)
        assert stand_in.clean_value_data(*args) == real.clean_value_data(*args)
    write_values = [None, math.nan, np.float64(2.5), np.int64(3), "#N/A", 1.0, True, pd.NaT,
                    pd.NA, dt.datetime(2020, 1, 2), pd.Timestamp("2021-03-04"), dt.date(2020, 5, 6),
                    np.float64("nan")]
    for value in write_values:
        got = stand_in.prepare_xl_data_element(value, None)
        want = real.prepare_xl_data_element(value, None)
        assert got == want and type(got) is type(want), value


def test_forced_stand_in_engine_gives_the_same_excel_values(monkeypatch, tmp_path):

    monkeypatch.setenv("XLFACTOR_SOURCE", "sample")
    monkeypatch.setenv("XLFACTOR_CACHE_DIR", str(tmp_path))
    forget_all()
    monkeypatch.setattr(registration, "_import_windows_engine", lambda: (None, "forced"))
    with registration.classic_xlwings() as reg:
        pass
    assert isinstance(reg.engine, registration.StandInExcelEngine)
    assert not reg.engine_is_real and reg.engine_note == "forced"
    calls = [
        ("FACTOR_DATA", "CAPM", "1990-01-01", 33054.0, "M"),  # dates out
        ("FACTOR_BETAS", (("NoDur",), (None,), ("ZZZZ",)), "FF3", dt.datetime(1990, 1, 1),
         "2016-12-31", "M"),
        ("FACTOR_BETAS", "NoDur", -2146826246),  # #N/A error value in
        ("FACTOR_MODELS",),
    ]
    try:
        for call in calls:
            assert reg.call(*call) == registration.excel_call(*call), call[0]
    finally:
        forget_all()


def test_reference_docs_are_current():
    spec = importlib.util.spec_from_file_location(
        "_generate_reference", ROOT / "docs" / "generate_reference.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "run: python docs/generate_reference.py"
    for name in UDF_NAMES:
        assert f"\n## {name}\n" in committed

"""The template's in-sheet example, computed by an independent spreadsheet engine.

The numbers typed into the committed template's Regress sheet go through FACTOR_REGRESS
(as Excel would pass the ranges its formula names) and through the ``formulas`` package's
LINEST on the ranges of the sheet's own LINEST formula; both must agree.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries
from oracles import linest, linest_natural

from xlfactor.excel import udfs

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "xlfactor_template.xlsm"


def _formula(ws, name: str) -> str:
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            text = getattr(value, "text", value)  # dynamic arrays load as ArrayFormula
            if isinstance(text, str) and f"{name}(" in text:
                return text
    raise AssertionError(f"no {name} formula in the sheet")


def _values(ws, ref: str) -> list[list[object]]:
    lo_col, lo_row, hi_col, hi_row = range_boundaries(ref.replace("$", ""))
    return [[ws.cell(r, c).value for c in range(lo_col, hi_col + 1)]
            for r in range(lo_row, hi_row + 1)]


def _ranges(formula: str) -> list[str]:
    return re.findall(r"\$?[A-Z]+\$?\d+:\$?[A-Z]+\$?\d+", formula)


@pytest.fixture(scope="module")
def sheet():
    return load_workbook(TEMPLATE, keep_vba=True)["Regress"]


def test_factor_regress_equals_linest_of_the_template_example(sheet):
    y_ref, x_ref = _ranges(_formula(sheet, "FACTOR_REGRESS"))[:2]
    table = udfs.FACTOR_REGRESS(_values(sheet, y_ref), _values(sheet, x_ref))
    ly_ref, lx_ref = _ranges(_formula(sheet, "LINEST"))[:2]
    y = np.array(_values(sheet, ly_ref), dtype=float).ravel()
    X = np.array(_values(sheet, lx_ref), dtype=float)
    assert len(y) >= 24 and X.shape[1] == 3
    ref = linest_natural(linest(y, X))
    k = X.shape[1] + 1
    coefs = np.array([row[1] for row in table[1:1 + k]], dtype=float)
    ses = np.array([row[2] for row in table[1:1 + k]], dtype=float)
    stats = {row[0]: row[1] for row in table[k + 2:] if row and row[0]}
    np.testing.assert_allclose(coefs, ref["coefs"], rtol=1e-10)
    np.testing.assert_allclose(ses, ref["se"], rtol=1e-10)
    assert stats["R²"] == pytest.approx(ref["r2"], rel=1e-10)
    assert stats["F"] == pytest.approx(ref["F"], rel=1e-10)
    assert stats["Std. error of regression"] == pytest.approx(ref["sey"], rel=1e-10)
    assert stats["N"] == len(y)
    # labels come from the sheet's header row, in natural order
    assert [row[0] for row in table[1:1 + k]] == ["alpha", *[c for c in _values(sheet, x_ref)[0]]]


@pytest.fixture(scope="module")
def kind_formats() -> dict:
    """The generator's number format per value kind.

    Loading ``workbook/generate.py`` makes its package, ``template_builder``, importable.
    """
    spec = importlib.util.spec_from_file_location("xlfactor_generate",
                                                  TEMPLATE.parent / "generate.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return importlib.import_module("template_builder.formats").KIND_FORMATS


def test_regress_statistics_are_the_specs_the_template_formats_in_order(sheet, kind_formats):
    """The rows under the coefficients are REGRESS_FIT_ROWS, and the template pre-formats
    the cells they spill into with each row's kind, by position."""
    from xlfactor.excel.tables import REGRESS_FIT_ROWS

    formula = _formula(sheet, "FACTOR_REGRESS")
    y_ref, x_ref = _ranges(formula)[:2]
    table = udfs.FACTOR_REGRESS(_values(sheet, y_ref), _values(sheet, x_ref))
    k = len(_values(sheet, x_ref)[0]) + 1
    stats = table[k + 2:]
    # the labels Excel users see, written out: the specs could be renamed with the cells
    assert [row[0] for row in stats] == ["R²", "Adj. R²", "F", "Prob (F)", "N",
                                         "Std. error of regression", "Std. errors"]
    assert [row[0] for row in stats] == [s.label for s in REGRESS_FIT_ROWS]
    ref = sheet.parent.defined_names["Out_Regress"].attr_text.split("!")[1].replace("$", "")
    anchor = sheet[ref]  # the header row of FACTOR_REGRESS's spill
    first = anchor.row + k + 2
    formats = [sheet.cell(first + i, anchor.column + 1).number_format
               for i in range(len(REGRESS_FIT_ROWS))]
    assert formats == [kind_formats[s.kind] or "General" for s in REGRESS_FIT_ROWS]
